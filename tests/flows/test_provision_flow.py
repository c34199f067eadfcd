"""provision-instance against the simulator over HTTP, a Prefect test server and a real receiver."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from clients.webhook_signature import verify_webhook_signature
from flows.lifecycle import stop_instance_flow
from flows.provision import ProvisioningFailedError, provision_instance
from simulator.server import SimulatorServer
from store import LifecycleStatus, StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver

PYTORCH = "1001"
PRIVATE = "1002"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def events_of(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["event"] for r in receiver.requests]


async def test_provision_reaches_ready_with_signed_webhooks(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    name = unique("ready")
    result = await provision_instance(
        name=name,
        product_name="RTX 4090 24GB",
        template_id=PYTORCH,
        webhook_url=receiver.url,
        regions=["US-CA-06"],
    )
    assert result.status == "ready"
    assert result.region == "US-CA-06" and result.cluster_id == "us-ca-6"
    # two RTX 4090 24GB in us-ca-6: the cheaper spot one wins, its price is in the result
    assert result.product_id == "rtx4090-24g-b.us-ca-6"
    assert result.price_per_hour == Decimal("0.3")
    assert {p.port for p in result.port_mappings} == {8888, 7860, 22}
    assert "ssh" in result.connection_details and result.ready_at is not None
    assert result.health_check is not None and result.health_check.healthy

    assert events_of(receiver) == [
        "instance.created",
        "instance.running",
        "instance.health_checking",
        "instance.ready",
    ]
    for request in receiver.requests:
        signature = request.headers["X-Webhook-Signature"]
        assert verify_webhook_signature(WEBHOOK_SECRET, request.body, signature)
        assert request.headers["X-Signature-SHA256"] == signature
        assert request.headers["X-Webhook-Delivery"]
    ready_body = json.loads(receiver.requests[-1].body)
    assert ready_body["instanceId"] == result.instance_id
    assert ready_body["data"]["region"] == "US-CA-06"

    record = await store.get_instance(result.instance_id or "")
    assert record is not None and record.status == LifecycleStatus.READY
    assert record.price_per_hour == Decimal("0.3")


async def test_preferred_region_is_tried_first(sim: SimulatorServer) -> None:
    result = await provision_instance(
        name=unique("pref"),
        product_name="RTX 4090 24GB",
        template_id=PYTORCH,
        region="eu-de-1",
        wait_until_ready=False,
    )
    assert result.region == "EU-DE-01"
    creates = sim.requests(path="/gpu/instance/create")
    assert [c["body"]["clusterId"] for c in creates] == ["eu-de-1"]


async def test_capacity_at_create_fails_over_and_history_says_why(
    sim: SimulatorServer, store: StateStore
) -> None:
    sim.set_capacity("as-sgp-2")
    result = await provision_instance(
        name=unique("failover"),
        product_name="RTX 4090 24GB",
        template_id=PYTORCH,
        wait_until_ready=False,
    )
    creates = sim.requests(path="/gpu/instance/create")
    assert [c["body"]["clusterId"] for c in creates] == ["as-sgp-2", "oc-au-1"]
    assert result.region == "OC-AU-01"  # CN-HK-01 skipped: not deployable there
    outcomes = {a.region: a.outcome for a in result.regions_tried}
    assert outcomes["AS-SGP-02"] == "refused" and outcomes["CN-HK-01"] == "skipped"
    history = await store.list_operations(instance_id=result.instance_id)
    regions = history[-1].detail["regions"]
    refused = next(r for r in regions if r["region"] == "AS-SGP-02")
    assert "INSUFFICIENT_RESOURCE" in refused["reason"]


async def test_every_region_failing_fails_the_run_naming_each(
    sim: SimulatorServer, receiver: Receiver
) -> None:
    for cluster in ("as-sgp-2", "oc-au-1", "us-ca-6", "us-west-1", "eu-de-1"):
        sim.set_capacity(cluster)
    with pytest.raises(ProvisioningFailedError) as caught:
        await provision_instance(
            name=unique("nowhere"),
            product_name="RTX 4090 24GB",
            template_id=PYTORCH,
            webhook_url=receiver.url,
        )
    message = str(caught.value)
    for region in (
        "AS-SGP-02",
        "CN-HK-01",
        "OC-AU-01",
        "US-CA-06",
        "US-WEST-01",
        "EU-DE-01",
        "EU-WEST-01",
        "AS-IN-01",
    ):
        assert region in message
    assert "RTX 4090 24GB (spot)" in message
    assert events_of(receiver) == ["instance.failed"]


async def test_private_image_template_sends_image_auth(sim: SimulatorServer) -> None:
    await provision_instance(
        name=unique("private"),
        product_name="RTX 4090 24GB",
        template_id=PRIVATE,
        rootfs_size=80,
        wait_until_ready=False,
    )
    body = sim.requests(path="/gpu/instance/create")[-1]["body"]
    assert body["imageAuth"] == "acme-puller:sim-registry-password"
    assert body["imageUrl"] == "registry.acme.example/ml/trainer:1.3.0"


async def test_same_name_twice_creates_one_instance(sim: SimulatorServer) -> None:
    name = unique("twice")
    first = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id=PYTORCH)
    second = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id=PYTORCH)
    assert second.instance_id == first.instance_id and second.adopted
    assert len(sim.requests(path="/gpu/instance/create")) == 1


async def test_dry_run_returns_the_plan_without_creating(sim: SimulatorServer) -> None:
    result = await provision_instance(
        name=unique("plan"),
        product_name="RTX 4090 24GB",
        template_id=PYTORCH,
        billing_mode="onDemand",
        dry_run=True,
    )
    assert sim.requests(path="/gpu/instance/create") == []
    assert result.status == "planned" and result.plan is not None
    assert [r.region for r in result.plan.regions][:2] == ["AS-SGP-02", "CN-HK-01"]
    assert result.region == "AS-SGP-02" and result.price_per_hour == Decimal("0.69")
    hk = next(r for r in result.plan.regions if r.region == "CN-HK-01")
    assert hk.chosen is None and "not available" in (hk.skipped_because or "")


async def test_provisioning_a_stopped_machine_again_starts_it(
    sim: SimulatorServer, store: StateStore
) -> None:
    name = unique("asleep")
    first = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id=PYTORCH)
    await stop_instance_flow(name=name)

    again = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id=PYTORCH)

    assert again.adopted and again.instance_id == first.instance_id
    assert again.status == "ready"
    assert [r["body"]["instanceId"] for r in sim.requests(path="/gpu/instance/start")] == [
        first.instance_id
    ]
    assert len(sim.requests(path="/gpu/instance/create")) == 1
    record = await store.get_instance(first.instance_id or "")
    assert record is not None and record.desired_state == "running"


async def test_the_deadline_covers_planning_too(sim: SimulatorServer) -> None:
    # Novita never answers the name lookup, a read before any create (catalogue reads may
    # come from the cache): the provisioning still ends on its deadline.
    sim.hang_requests(1, seconds=120, path="/gpu/instances")
    with pytest.raises(ProvisioningFailedError) as caught:
        await provision_instance(
            name=unique("slow"),
            product_name="RTX 4090 24GB",
            template_id=PYTORCH,
            deadline_minutes=0.05,
        )
    assert caught.value.code == "DEADLINE"
    assert "was not ready within its deadline (3 s)" in str(caught.value)
    assert sim.requests(path="/gpu/instance/create") == []
