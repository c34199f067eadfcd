"""get-instance: the details in memory, then the flow against the simulator and a Prefect server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from clients.novita import Instance, InstanceStatus, NovitaClient
from flows.get_instance import get_instance_flow
from flows.instances.details import describe, details_key, summary_lines
from flows.instances.lookup import InstanceLookupError
from flows.provision import provision_instance
from simulator.server import SimulatorServer
from store import ManagedInstance, StateStore
from tests.flows.test_use_event import emit_use_event

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_details_of_a_running_managed_instance() -> None:
    iid = "0123456789abcdef"
    record = ManagedInstance(
        instance_id=iid,
        name="Trainer_3",
        status="ready",
        region="US-CA-06",
        product_name="RTX 4090 24GB",
        price_per_hour=Decimal("0.35"),
        ready_at=NOW - timedelta(hours=3),
        last_used_at=NOW - timedelta(minutes=5),
        auto_stop_minutes=30,
    )
    live = Instance.model_validate(
        {
            "id": iid,
            "status": "running",
            "lastStartedAt": str(int((NOW - timedelta(hours=2)).timestamp())),
            "portMappings": [{"port": 8888, "endpoint": "https://h/8888", "type": "http"}],
            "connectComponentSSH": {"sshCommand": "ssh root@h -p 2222", "password": "hunter2"},
        }
    )
    details = describe(iid, record.name, record, live, 20, NOW)
    assert details.managed and details.novita_status == "running"
    assert (details.status, details.desired_state) == ("ready", "running")
    assert details.cost_so_far == Decimal("0.70")  # since Novita's last start, not ready
    assert details.auto_stop_in == "25 min" and details.auto_stop_minutes == 30
    assert details.connection_details == {
        "ssh": "ssh root@h -p 2222",
        "http_8888": "https://h/8888",
    }
    assert details.artifact_key == details_key("Trainer_3", iid) == "instance-trainer-3"
    text = "\n".join(summary_lines(details))
    assert "ssh root@h -p 2222" in text and "$0.70" in text and "hunter2" not in text
    assert "hunter2" not in details.model_dump_json()

    used = describe(iid, record.name, record, live, 20, NOW, used_event_at=NOW)
    assert used.last_used_at == NOW and used.auto_stop_in == "30 min"

    stopped = describe(iid, "x", None, live.model_copy(update={"status": "exited"}), 20, NOW)
    assert not stopped.managed and stopped.cost_so_far is None and stopped.auto_stop_in == "-"


async def test_get_instance_by_name_and_id_with_probe_and_artifact(
    sim: SimulatorServer, store: StateStore
) -> None:
    from prefect.artifacts import Artifact

    name = unique("Look_up")
    result = await provision_instance(name=name, product_name="RTX 4090 24GB", template_id="1001")
    iid = result.instance_id or ""
    record = await store.get_instance(iid)
    assert record is not None and record.price_per_hour

    details = await get_instance_flow(name=name, probe=True)
    assert details.instance_id == iid and details.managed
    assert details.novita_status == "running" and details.status == "ready"
    assert details.desired_state == "running" and details.region == record.region
    assert details.product == "RTX 4090 24GB" and details.price_per_hour == record.price_per_hour
    assert details.cost_so_far is not None and details.running_since is not None
    assert details.port_mappings and details.connection_details["ssh"].startswith("ssh ")
    assert details.auto_stop_in.endswith("min") and details.last_used_at is not None
    assert details.health is not None and details.health.healthy
    assert len(details.health.checked) == len(details.port_mappings)

    artifact = await Artifact.aget(f"instance-{name.lower().replace('_', '-')}")
    assert artifact is not None and artifact.type == "markdown"
    assert details.connection_details["ssh"] in str(artifact.data)

    by_id = await get_instance_flow(instance_id=iid)
    assert by_id.name == name and by_id.health is None  # no probe unless asked

    # a use event counts for "last used" and "auto-stop in", as it does for the sweep
    ago = datetime.now(UTC) - timedelta(minutes=40)
    await store.upsert_instance(instance_id=iid, ready_at=ago, last_used_at=None)
    assert (await get_instance_flow(instance_id=iid)).auto_stop_in == "due"
    await emit_use_event(iid)
    used = await get_instance_flow(instance_id=iid)
    assert used.last_used_at is not None and used.last_used_at > ago + timedelta(minutes=30)
    assert used.auto_stop_in.endswith("min")

    # an instance stopped outside is shown as Novita sees it, our record as it is
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        await client.stop_instance(iid)
    stopping = await get_instance_flow(instance_id=iid, probe=True)
    assert stopping.novita_status != InstanceStatus.RUNNING.value
    assert stopping.cost_so_far is None and stopping.auto_stop_in == "-"
    assert stopping.health is None  # nothing to probe on a machine that does not run


async def test_get_instance_of_an_unknown_name_fails_naming_it(sim: SimulatorServer) -> None:
    name = unique("nobody")
    state = await get_instance_flow(name=name, return_state=True)
    assert state.is_failed()
    assert f"name {name!r}" in (state.message or "")
    try:
        await state.aresult()
    except InstanceLookupError as exc:
        assert name in str(exc)
    else:
        raise AssertionError("a Failed run should carry the lookup error")
    assert sim.requests(path="/gpu/instance/stop") == []
