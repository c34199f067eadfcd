"""fleet-sync: the store follows Novita, unmanaged machines are left alone, webhooks come late.

Against the simulator over HTTP, a Prefect test server and real local receivers. The store
is shared by the whole session (the simulator is reset per test), so every assertion is
about the instances and deliveries the test itself made.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
from prefect import flow

from clients.novita import CreateInstanceRequest, Instance, InstanceStatus, NovitaClient
from clients.webhook_payload import WebhookEvent, build_webhook_body
from clients.webhook_retry_policy import WebhookRetryPolicy, policy_for
from clients.webhook_signature import verify_webhook_signature
from flows.common.flow_activity import FlowActivity
from flows.common.owner_webhooks import MAX_DELIVERY_ATTEMPTS
from flows.common.resources import open_flow_resources
from flows.fleet.redelivery import RedeliveryOutcome, redeliver_due_webhooks
from flows.fleet.rules.reconciliation import (
    REMOVED_OUTSIDE,
    abandoned_after,
    plan_reconciliation,
)
from flows.fleet_sync import fleet_sync
from flows.provision import provision_instance
from simulator.server import SimulatorServer
from store import (
    DeliveryStatus,
    DesiredState,
    LifecycleStatus,
    ManagedInstance,
    OperationKind,
    StateStore,
    WebhookDelivery,
    utc_now,
)
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver, _handler_for

GOOD = {"product_name": "RTX 4090 24GB", "template_id": "1001", "regions": ["US-CA-06"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def quick_webhook_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same attempt counts as in production, millisecond waits (covered by the sender's tests)."""

    def quick(event: WebhookEvent | str) -> WebhookRetryPolicy:
        return policy_for(event).model_copy(update={"initial_wait_s": 0.01})

    monkeypatch.setattr("clients.webhook_sender.policy_for", quick)


LateReceiver = tuple[str, Callable[[], Receiver]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def late_receiver() -> Iterator[LateReceiver]:
    """A receiver URL that nobody listens on yet; call the returned function to bring it up."""
    port = free_port()
    servers: list[ThreadingHTTPServer] = []
    ref: list[Receiver] = []

    def bring_up() -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(ref))
        ref.append(Receiver(url=f"http://127.0.0.1:{port}/hooks/novita"))
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return ref[0]

    yield f"http://127.0.0.1:{port}/hooks/novita", bring_up
    for server in servers:
        server.shutdown()
        server.server_close()


# -- the rules, without any I/O ---------------------------------------------------------------


def record(status: str, desired: str = "running", age_minutes: float = 0) -> ManagedInstance:
    stamp = utc_now() - timedelta(minutes=age_minutes)
    return ManagedInstance(
        instance_id="0123456789abcdef",
        name="a",
        status=status,
        desired_state=desired,
        created_at=stamp,
        updated_at=stamp,
    )


def live(status: str, **fields: str) -> dict[str, Instance]:
    return {"0123456789abcdef": Instance(id="0123456789abcdef", status=status, **fields)}


@pytest.mark.parametrize(
    ("ours", "novita", "age", "expected"),
    [
        ("ready", "exited", 0, "exited"),
        ("running", "exited", 0, "exited"),
        ("ready", "running", 0, None),
        ("stopped", "running", 0, "running"),
        ("exited", "running", 0, "running"),
        ("stopped", "exited", 0, None),
        ("failed", "exited", 0, None),
        ("failed", None, 0, "deleted"),
        ("ready", None, 0, "deleted"),
        ("ready", "removed", 0, "deleted"),
        ("ready", "removing", 0, None),
        ("ready", "toStart", 0, None),
        # a flow is acting: left alone, whatever Novita says ...
        ("creating", None, 1, None),
        ("starting", "exited", 1, None),
        ("health_checking", "running", 1, None),
        ("stopping", "exited", 1, None),
        ("migrating", "exited", 1, None),
        # ... unless it was abandoned (untouched for twice the readiness deadline)
        ("creating", None, 25, "deleted"),
        ("starting", "exited", 25, "exited"),
        ("health_checking", "running", 25, "running"),
        ("stopping", "exited", 25, "stopped"),
        ("deleted", None, 0, None),
    ],
)
def test_reconciliation_rules(ours: str, novita: str | None, age: float, expected: str | None):
    changes = plan_reconciliation(
        [record(ours, age_minutes=age)],
        live(novita) if novita else {},
        utc_now(),
        abandoned_after(10),
    )
    assert [str(c.to_status) for c in changes] == ([expected] if expected else [])
    if changes:
        assert changes[0].model_dump()["from"] == ours
        assert changes[0].novita_status == (novita or "missing")


@pytest.mark.parametrize(
    ("state", "age", "moves"),
    [
        ("ended", 0, True),  # e.g. wait_until_ready=false: the run completed, still creating
        ("acting", 60, False),  # a long per-run deadline: still its flow's, however old
        ("acting", 6 * 60, True),  # still "running" after 6 h: that run died unnoticed
        ("unknown", 5, False),
        ("unknown", 25, True),
    ],
)
def test_busy_records_follow_novita_only_once_no_flow_acts(
    state: str, age: float, moves: bool
) -> None:
    ids = frozenset({"0123456789abcdef"})
    activity = FlowActivity(**({state: ids} if state != "unknown" else {}))
    changes = plan_reconciliation(
        [record("creating", age_minutes=age)],
        live("running"),
        utc_now(),
        abandoned_after(10),
        activity,
    )
    assert [str(c.to_status) for c in changes] == (["running"] if moves else [])


def test_gone_reasons_and_spot_reclaim_reason() -> None:
    now, grace = utc_now(), abandoned_after(10)
    [outside] = plan_reconciliation([record("ready")], {}, now, grace)
    assert outside.reason == REMOVED_OUTSIDE
    [confirmed] = plan_reconciliation([record("ready", desired="deleted")], {}, now, grace)
    assert "removal confirmed" in confirmed.reason
    [reclaimed] = plan_reconciliation(
        [record("ready")], live("exited", billingMode="spot"), now, grace
    )
    assert "spot reclaimed" in reclaimed.reason


# -- the flow against the simulator -----------------------------------------------------------


async def test_removed_outside_and_stopped_outside_follow_novita_unmanaged_untouched(
    sim: SimulatorServer, store: StateStore, receiver: Receiver
) -> None:
    gone = await provision_instance(name=unique("gone"), webhook_url=receiver.url, **GOOD)
    stopped = await provision_instance(name=unique("stopped"), **GOOD)
    assert gone.status == stopped.status == "ready"
    gone_id, stopped_id = gone.instance_id or "", stopped.instance_id or ""
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        stranger_id = await client.create_instance(
            CreateInstanceRequest(
                name=unique("stranger"),
                product_id="rtx4090-24g.us-ca-6",
                rootfs_size=20,
                image_url="python:3.11-slim",
                cluster_id="us-ca-6",
            )
        )
        await client.delete_instance(gone_id)  # someone deletes it in the Novita console
        await client.stop_instance(stopped_id)  # and stops another one there
        sim.advance(30)  # removal done and its grace over (404); the stop done too
        assert (await client.get_instance(stopped_id)).status == InstanceStatus.EXITED
    sim.clear_requests()

    report = await fleet_sync()

    record_gone = await store.get_instance(gone_id)
    assert record_gone is not None and record_gone.status == LifecycleStatus.DELETED
    assert record_gone.status_reason == REMOVED_OUTSIDE
    assert record_gone.desired_state == DesiredState.RUNNING  # the owner never asked for it
    [sync] = await store.list_operations(gone_id, kind=OperationKind.SYNC)
    assert sync.outcome == "succeeded" and sync.flow_run_id
    assert sync.detail == {
        "from": "ready",
        "to": "deleted",
        "novita_status": "missing",
        "reason": REMOVED_OUTSIDE,
    }
    assert gone_id in report.marked_deleted
    [told] = [json.loads(r.body) for r in receiver.requests if b"instance.deleted" in r.body]
    assert told["instanceId"] == gone_id and told["data"]["reason"] == REMOVED_OUTSIDE

    record_stopped = await store.get_instance(stopped_id)
    assert record_stopped is not None and record_stopped.status == LifecycleStatus.EXITED
    assert record_stopped.stopped_at is not None
    changed = {c.instance_id: c.model_dump(mode="json") for c in report.changed}
    assert {k: changed[gone_id][k] for k in ("from", "to")} == {"from": "ready", "to": "deleted"}
    assert {k: changed[stopped_id][k] for k in ("from", "to")} == {"from": "ready", "to": "exited"}

    # the stranger is reported, never recorded, never acted on: only the list was called
    assert [u.instance_id for u in report.unmanaged] == [stranger_id]
    assert await store.get_instance(stranger_id) is None
    assert {r["path"] for r in sim.requests()} == {"/gpu/instances"}
    assert report.checked >= 2 and report.fleet_table_published


async def test_a_creating_record_whose_flow_ended_follows_novita(
    sim: SimulatorServer, store: StateStore
) -> None:
    result = await provision_instance(name=unique("nowait"), wait_until_ready=False, **GOOD)
    assert result.status == "creating"  # the flow run has completed; nobody polls any more
    sim.advance(10)  # Novita brings it up meanwhile

    report = await fleet_sync()

    kept = await store.get_instance(result.instance_id or "")
    assert kept is not None and kept.status == LifecycleStatus.RUNNING
    assert "no flow is acting" in (kept.status_reason or "")
    assert [c.instance_id for c in report.changed if c.to_status == "running"] == [
        result.instance_id
    ]


async def test_failed_delivery_is_redelivered_with_the_same_id(
    sim: SimulatorServer,
    store: StateStore,
    late_receiver: LateReceiver,
) -> None:
    url, bring_up = late_receiver
    result = await provision_instance(
        name=unique("late"), webhook_url=url, wait_until_ready=False, **GOOD
    )
    [kept] = await store.list_deliveries(instance_id=result.instance_id)
    assert kept.status == DeliveryStatus.FAILED and kept.attempts == 3  # receiver down
    assert kept.next_attempt_at is not None and kept.next_attempt_at > utc_now()
    # time passes: the delivery becomes due (the store's own call, not a back door)
    await store.mark_delivery_failed(
        kept.delivery_id, 0, kept.last_error or "down", next_attempt_at=utc_now()
    )
    receiver = bring_up()

    report = await fleet_sync()

    assert kept.delivery_id in report.redelivered
    [request] = receiver.requests
    assert request.headers["X-Webhook-Delivery"] == kept.delivery_id
    assert request.body == kept.payload.encode()  # the exact stored bytes
    assert verify_webhook_signature(
        WEBHOOK_SECRET, request.body, request.headers["X-Webhook-Signature"]
    )
    assert json.loads(request.body)["event"] == "instance.created"
    delivered = await store.get_delivery(kept.delivery_id)
    assert delivered is not None and delivered.status == DeliveryStatus.DELIVERED
    assert delivered.attempts == 4 and delivered.next_attempt_at is None

    again = await fleet_sync()  # delivered once: never sent again
    assert kept.delivery_id not in again.redelivered and len(receiver.requests) == 1


async def test_redelivery_fails_again_then_gives_up_at_the_cap(
    sim: SimulatorServer, store: StateStore, receiver: Receiver
) -> None:
    body = build_webhook_body(WebhookEvent.STOPPED, "stopped", "feedfacecafebeef", {"n": 1})
    young, old = unique("young"), unique("old")
    for delivery_id, attempts in ((young, 3), (old, MAX_DELIVERY_ATTEMPTS - 3)):
        await store.add_delivery(
            delivery_id, "feedfacecafebeef", "instance.stopped", receiver.url, body
        )
        await store.mark_delivery_failed(delivery_id, attempts, "HTTP 503", 503, utc_now())
    receiver.script(*[503] * 6)  # both rounds fail (3 attempts each)

    report = await fleet_sync()

    assert young in report.still_failing and old in report.given_up
    kept_young, kept_old = await store.get_delivery(young), await store.get_delivery(old)
    assert kept_young is not None and kept_young.status == DeliveryStatus.FAILED
    assert kept_young.attempts == 6 and kept_young.next_attempt_at is not None
    assert kept_young.next_attempt_at > utc_now() + timedelta(minutes=4)
    assert kept_old is not None and kept_old.status == DeliveryStatus.FAILED
    assert kept_old.attempts == MAX_DELIVERY_ATTEMPTS and kept_old.next_attempt_at is None
    assert {r.headers["X-Webhook-Delivery"] for r in receiver.requests} == {young, old}


async def test_redelivery_can_be_switched_off(
    sim: SimulatorServer, store: StateStore, receiver: Receiver
) -> None:
    body = build_webhook_body(WebhookEvent.STOPPED, "stopped", "feedfacecafebeef", {})
    delivery_id = unique("off")
    await store.add_delivery(
        delivery_id, "feedfacecafebeef", "instance.stopped", receiver.url, body
    )
    report = await fleet_sync(redeliver_webhooks=False)
    assert report.redelivered == [] and receiver.requests == []
    kept = await store.get_delivery(delivery_id)
    assert kept is not None and kept.status == DeliveryStatus.PENDING
    await fleet_sync(max_redeliveries=100)  # leave nothing due behind for other tests


@flow(persist_result=False)
async def two_redelivery_sweeps_at_once() -> list[RedeliveryOutcome]:
    """Two sweeps that both list the due deliveries before either sends one."""
    async with open_flow_resources() as res:
        listed = res.store.list_due_deliveries
        both_listed = asyncio.Barrier(2)

        async def list_then_wait(**kwargs: object) -> list[WebhookDelivery]:
            due = await listed(**kwargs)  # type: ignore[arg-type]
            await both_listed.wait()
            return due

        res.store.list_due_deliveries = list_then_wait  # type: ignore[method-assign]
        return list(
            await asyncio.gather(redeliver_due_webhooks(res, 100), redeliver_due_webhooks(res, 100))
        )


async def test_two_redelivery_sweeps_at_once_send_a_delivery_once(
    sim: SimulatorServer,
    store: StateStore,
    late_receiver: LateReceiver,
) -> None:
    url, bring_up = late_receiver
    result = await provision_instance(
        name=unique("lease"), webhook_url=url, wait_until_ready=False, **GOOD
    )
    [kept] = await store.list_deliveries(instance_id=result.instance_id)
    await store.mark_delivery_failed(
        kept.delivery_id, 0, kept.last_error or "down", next_attempt_at=utc_now()
    )
    receiver = bring_up()

    first, second = await two_redelivery_sweeps_at_once()

    assert len(receiver.requests) == 1  # sent once, by one sweep
    assert first.redelivered + second.redelivered == [kept.delivery_id]
    assert first.sent_elsewhere + second.sent_elsewhere == [kept.delivery_id]


async def test_a_machine_under_a_managed_name_in_no_record_is_reported(
    sim: SimulatorServer, store: StateStore
) -> None:
    name = unique("twin")
    managed = await provision_instance(name=name, wait_until_ready=False, **GOOD)
    async with NovitaClient(api_key=sim.api_key, base_url=sim.base_url) as client:
        duplicate = await client.create_instance(  # a second rental under the same name
            CreateInstanceRequest(
                name=name,
                product_id="rtx4090-24g.us-ca-6",
                rootfs_size=20,
                image_url="python:3.11-slim",
                cluster_id="us-ca-6",
            )
        )

    report = await fleet_sync()

    assert [u.instance_id for u in report.under_managed_names] == [duplicate]
    assert managed.instance_id not in {u.instance_id for u in report.unmanaged}
    record = await store.get_instance_by_name(name)
    assert record is not None and record.instance_id == managed.instance_id
