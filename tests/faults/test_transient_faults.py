"""30 provisionings through provision-fleet while Novita answers 5xx, 429 bursts and slow spikes.

The storm (`tests/faults/chaos.py`): 20 % random 5xx (500/502/503/504, seeded), every 2 s a
burst of 3-5 answers 429 `Retry-After: 1`, every 3 s 2-4 requests held 2 s, and every 2.5 s
the next create answered an ambiguous 500/502/504 (the create path must look the name up,
never create twice). Expected: all 30 ready, exactly 30 instances at Novita (one per name),
each webhook delivery id received once, every delivery row `delivered`.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from clients.webhook_sender import DELIVERY_HEADER
from flows.provision_fleet import FleetRequest, provision_fleet
from simulator.server import SimulatorServer
from store import DeliveryStatus, StateStore
from tests.faults.chaos import AMBIGUOUS_5XX, CREATE, Storm
from tests.faults.conftest import Figures
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.faults, pytest.mark.integration]

FLEET_SIZE = 30
CONCURRENCY = 10
EVENTS_PER_MACHINE = 4
"""instance.created, instance.running, instance.health_checking, instance.ready."""


async def test_fleet_of_30_under_transient_faults_all_ready_once(
    sim: SimulatorServer, receiver: Receiver, store: StateStore, figures: Figures, tmp_path: Path
) -> None:
    prefix = f"storm-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i:02d}" for i in range(FLEET_SIZE)]
    requests = [
        FleetRequest(
            name=name,
            product_name="RTX 4090 24GB",
            template_id="1001",
            webhook_url=receiver.url,
        )
        for name in names
    ]
    sim.clear_request_stats()
    storm = Storm(sim)
    started = time.monotonic()
    storm.start()
    try:
        fleet = await provision_fleet(requests=requests, concurrency=CONCURRENCY)
    finally:
        await storm.stop()
    elapsed = time.monotonic() - started

    stats = sim.request_stats()
    live = sim.state.list_instances(page_size=1000, name=prefix)["instances"]
    per_name = Counter(i["name"] for i in live)
    creates = sim.requests(path=CREATE, method="POST")
    ambiguous_creates = [c for c in creates if c["status"] in AMBIGUOUS_5XX]
    ids = {item.result.instance_id for item in fleet.items if item.result}
    deliveries = [d for d in await store.list_deliveries() if d.url == receiver.url]
    by_status = Counter(str(d.status) for d in deliveries)
    received = Counter(r.headers[DELIVERY_HEADER] for r in receiver.requests)
    ours = {d.delivery_id for d in deliveries}
    duplicates = {k: n for k, n in received.items() if n > 1}

    figures(
        "transient faults: 30 provisionings through provision-fleet",
        {
            "elapsed_seconds": round(elapsed, 1),
            "requested": fleet.requested,
            "ready": fleet.ready,
            "failed": fleet.failed,
            "errors": [item.error for item in fleet.items if not item.ok],
            "instances_at_novita": len(live),
            "distinct_names_at_novita": len(per_name),
            "names_with_two_instances": sorted(n for n, c in per_name.items() if c > 1),
            "create_calls": len(creates),
            "creates_answered_ambiguous_5xx": len(ambiguous_creates),
            "create_statuses": dict(Counter(str(c["status"]) for c in creates)),
            "api_requests": stats["total"],
            "answered_by_status": stats["byStatus"],
            "delivery_rows": len(deliveries),
            "delivery_rows_by_status": dict(by_status),
            "webhook_posts_received": sum(received.values()),
            "distinct_delivery_ids_received": len(received),
            "delivery_ids_received_twice": len(duplicates),
            **storm.figures(),
        },
    )

    # the storm really happened, and hit the create path with ambiguous answers
    answered = stats["byStatus"]
    assert int(answered.get("429", 0)) >= 3
    assert sum(int(answered.get(s, 0)) for s in ("500", "502", "503", "504")) >= 10
    assert len(ambiguous_creates) >= 1
    # every machine ready, one rental per name
    assert (fleet.requested, fleet.ready, fleet.failed) == (FLEET_SIZE, FLEET_SIZE, 0)
    assert len(ids) == FLEET_SIZE
    assert len(live) == FLEET_SIZE and set(per_name) == set(names)
    assert max(per_name.values()) == 1
    assert {i["id"] for i in live} == ids
    # webhooks: every delivery kept, delivered, and received exactly once per delivery id
    assert len(deliveries) == FLEET_SIZE * EVENTS_PER_MACHINE
    assert by_status == Counter({str(DeliveryStatus.DELIVERED): len(deliveries)})
    assert set(received) == ours
    assert duplicates == {}
