"""The fleet budget: `max_fleet_price_per_hour` makes provision-instance refuse before any create.

The rule in memory first, then the flow against the simulator, a Prefect test server and a
real webhook receiver (the owner hears `instance.failed` with the seed's top-level `error`).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from flows.common.dashboard_format import format_usd
from flows.provision import ProvisioningFailedError, provision_instance
from flows.provisioning.rules.budget import FleetBudget, running_price_per_hour
from simulator.server import SimulatorServer
from store import ManagedInstance, StateStore
from store.statuses import BILLED
from tests.webhooks.receiver import Receiver

CREATE = "/gpu/instance/create"
GOOD = {"product_name": "RTX 4090 24GB", "template_id": "1001", "regions": ["US-CA-06"]}


def record(iid: str, status: str, price: str | None) -> ManagedInstance:
    return ManagedInstance(
        instance_id=iid,
        name=iid,
        status=status,
        price_per_hour=Decimal(price) if price is not None else None,
    )


def test_the_running_fleet_is_what_runs_or_is_coming_up() -> None:
    records = [
        record("a", "ready", "0.35"),
        record("b", "creating", "0.30"),
        record("c", "migrating", "0.10"),
        record("d", "stopped", "5"),
        record("e", "failed", "5"),
        record("f", "deleted", "5"),
        record("g", "stopping", "5"),
        record("h", "running", None),
    ]
    assert running_price_per_hour(records) == Decimal("0.75")


def test_the_budget_refuses_only_above_its_limit() -> None:
    assert FleetBudget(current=Decimal("100")).refusal("x", Decimal("1")) is None  # no limit
    budget = FleetBudget(limit=Decimal("1.00"), current=Decimal("0.65"))
    assert budget.refusal("x", Decimal("0.35")) is None  # exactly the limit is allowed
    message = budget.refusal("trainer-2 (RTX 4090 24GB in US-CA-06)", Decimal("0.36"))
    assert message is not None
    assert "the running fleet costs $0.65/h now" in message
    assert "would bring it to $1.01/h, above max_fleet_price_per_hour $1.00/h" in message
    assert "unknown" in (budget.refusal("x", None) or "")


async def test_provisioning_over_budget_is_refused_before_any_create(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    from blocks import NovitaPolicies

    current = running_price_per_hour(await store.list_instances(statuses=BILLED))
    limit = current + Decimal("0.01")  # any machine costs more than a cent an hour
    policies = f"budget-{uuid.uuid4().hex[:8]}"
    await NovitaPolicies(
        poll_initial_seconds=0.1, poll_max_seconds=0.3, max_fleet_price_per_hour=float(limit)
    ).asave(policies, overwrite=True)
    name = f"over-{uuid.uuid4().hex[:8]}"

    with pytest.raises(ProvisioningFailedError) as refused:
        await provision_instance(
            name=name, webhook_url=receiver.url, policies_block=policies, **GOOD
        )
    assert refused.value.code == "OVER_BUDGET"
    message = str(refused.value)
    assert f"the running fleet costs {format_usd(current)}/h now" in message
    assert f"{name} (RTX 4090 24GB in US-CA-06) at $" in message
    assert "would bring it to $" in message and f"{format_usd(limit)}/h" in message
    assert sim.requests(path=CREATE) == []  # zero create calls
    assert await store.get_instance_by_name(name) is None

    [failed] = [json.loads(r.body) for r in receiver.requests]
    assert failed["event"] == "instance.failed"
    assert failed["error"] == {"code": "OVER_BUDGET", "message": message}


async def test_the_machines_of_one_fleet_see_each_other_in_the_budget(
    sim: SimulatorServer, store: StateStore
) -> None:
    from blocks import NovitaPolicies
    from flows.provision_fleet import FleetRequest, provision_fleet

    plan = await provision_instance(name=f"price-{uuid.uuid4().hex[:8]}", dry_run=True, **GOOD)
    price = plan.price_per_hour
    assert price is not None
    current = running_price_per_hour(await store.list_instances(statuses=BILLED))
    policies = f"budget-{uuid.uuid4().hex[:8]}"
    await NovitaPolicies(max_fleet_price_per_hour=float(current + price * Decimal("1.5"))).asave(
        policies, overwrite=True
    )
    names = [f"fleet-budget{i}-{uuid.uuid4().hex[:8]}" for i in range(3)]
    requests = [
        FleetRequest.model_validate({"name": n, "wait_until_ready": False, **GOOD}) for n in names
    ]

    # three creates at once: room for one, and the other two must see it
    fleet = await provision_fleet(requests=requests, concurrency=3, policies_block=policies)
    assert (fleet.succeeded, fleet.failed) == (1, 2)
    assert len(sim.requests(path=CREATE)) == 1
    refused = [item.error or "" for item in fleet.items if not item.ok]
    assert all(e.startswith("Over budget: the running fleet costs") for e in refused)
