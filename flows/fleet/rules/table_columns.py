"""The `novita-fleet` table's rows and columns: every machine of the account, one row each (pure).

One row per managed (non-deleted) instance, then one per Novita instance the store does not
manage (flagged `managed: no`, never acted on). The columns (`FLEET_COLUMNS`):

- `instance`, `name`, `managed` (yes/no), `status` (ours; Novita's for unmanaged ones),
  `novita status`, `desired state`, `region`, `product`;
- `price/h`: what the store recorded at provisioning (USD per hour, all GPUs);
- `running for`: since Novita's last start (`lastStartedAt`), else since ready; `-` unless
  Novita reports running;
- `cost so far`: price/h × hours in `running for`. A rough figure: it ignores billing
  granularity, earlier runs, storage and anything billed outside this run;
- `last used`: the latest of the last mark-used signal, the newest `novita.instance.used`
  event and the time it became ready;
- `auto-stop in`: minutes until the auto-stop threshold (the instance's own, else the
  policies' default, 20) is reached; `never` for 0, `due` once reached, `-` when auto-stop
  does not apply (not serving, desired state not running, busy, or unmanaged). The auto-stop
  rules decide it (`flows/sweeps/auto_stop/rules.py`), the same rules the sweep applies.

The description gives the counts and what the managed fleet costs: its $/h now (the prices
of the instances Novita reports running) and its cost so far (the sum of the column).
`flows/fleet/table.py` publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol, TypeVar

from clients.novita.instances import Instance, InstanceStatus
from flows.common.dashboard_format import (
    NONE,
    format_ago,
    format_cost,
    format_duration,
    format_usd,
)
from flows.sweeps.auto_stop.rules import countdown, last_use
from store.clock import utc_now
from store.models import LifecycleStatus, ManagedInstance

FLEET_COLUMNS = (
    "instance",
    "name",
    "managed",
    "status",
    "novita status",
    "desired state",
    "region",
    "product",
    "price/h",
    "running for",
    "cost so far",
    "last used",
    "auto-stop in",
)


class AutoStopDefault(Protocol):
    """Where the default auto-stop threshold comes from (the `NovitaPolicies` block)."""

    @property
    def auto_stop_minutes(self) -> int:
        """Idle minutes before auto-stop; 0 = never."""
        ...


def running_since(record: ManagedInstance | None, live: Instance | None) -> datetime | None:
    """When the current run began: Novita's last start, else ready time; None unless running.

    Example:
        >>> running_since(None, Instance(id="a", status="exited")) is None
        True

    """
    if live is None or live.status is not InstanceStatus.RUNNING:
        return None
    return live.last_started_at or (record.ready_at if record else None) or live.created_at


def cost_so_far(record: ManagedInstance, live: Instance | None, now: datetime) -> Decimal | None:
    """Price/h x hours of the current run; None when not running or the price is unknown.

    Example:
        >>> from datetime import timedelta
        >>> now = utc_now()
        >>> r = ManagedInstance(instance_id="a", name="a", price_per_hour=Decimal("0.30"))
        >>> started = str(int((now - timedelta(hours=2)).timestamp()))
        >>> round(cost_so_far(r, Instance(id="a", status="running", lastStartedAt=started), now), 2)
        Decimal('0.60')

    """
    since = running_since(record, live)
    if since is None or record.price_per_hour is None:
        return None
    hours = Decimal((now - since).total_seconds()) / Decimal(3600)
    return record.price_per_hour * max(hours, Decimal(0))


def managed_row(
    record: ManagedInstance,
    live: Instance | None,
    policies: AutoStopDefault,
    now: datetime,
    used_event_at: datetime | None = None,
) -> dict[str, str]:
    """The table row of a managed instance (`used_event_at`: its newest use event).

    Example:
        >>> from types import SimpleNamespace
        >>> row = managed_row(ManagedInstance(instance_id="a", name="a"), None,
        ...                   SimpleNamespace(auto_stop_minutes=20), utc_now())
        >>> row["novita status"], row["auto-stop in"]
        ('missing', '-')

    """
    since = running_since(record, live)
    return {
        "instance": record.instance_id,
        "name": record.name,
        "managed": "yes",
        "status": str(record.status),
        "novita status": live.status_raw if live is not None else "missing",
        "desired state": str(record.desired_state),
        "region": record.region or NONE,
        "product": record.product_name or NONE,
        "price/h": format_usd(record.price_per_hour),
        "running for": NONE if since is None else format_duration(now - since),
        "cost so far": format_cost(cost_so_far(record, live, now)),
        "last used": format_ago(last_use(record, used_event_at), now),
        "auto-stop in": countdown(record, live, policies.auto_stop_minutes, now, used_event_at),
    }


def unmanaged_row(instance: Instance, now: datetime) -> dict[str, str]:
    """The table row of a Novita instance the store does not manage (shown, never touched).

    Example:
        >>> unmanaged_row(Instance(id="a", name="x", status="exited"), utc_now())["managed"]
        'no'

    """
    since = running_since(None, instance)
    return {
        "instance": instance.id,
        "name": instance.name,
        "managed": "no",
        "status": instance.status_raw or NONE,
        "novita status": instance.status_raw or NONE,
        "desired state": NONE,
        "region": instance.cluster_name or instance.cluster_id or NONE,
        "product": instance.product_name or NONE,
        "price/h": NONE,
        "running for": NONE if since is None else format_duration(now - since),
        "cost so far": NONE,
        "last used": NONE,
        "auto-stop in": NONE,
    }


def unmanaged_instances(
    records: Iterable[ManagedInstance], live: Iterable[Instance]
) -> list[Instance]:
    """Novita instances no live record manages (removed ones left out), by name.

    Example:
        >>> unmanaged_instances([], [Instance(id="a", name="x", status="running")])[0].id
        'a'

    """
    managed = {r.instance_id for r in records if r.status is not LifecycleStatus.DELETED}
    return sorted(
        (i for i in live if i.id not in managed and i.status is not InstanceStatus.REMOVED),
        key=lambda i: (i.name, i.id),
    )


def fleet_rows(
    records: Iterable[ManagedInstance],
    live: Mapping[str, Instance],
    policies: AutoStopDefault,
    now: datetime | None = None,
    used_events: Mapping[str, datetime] | None = None,
) -> list[dict[str, str]]:
    """Rows of the fleet table: managed instances by name, then unmanaged ones by name.

    Args:
        records: Managed records; deleted ones are left out.
        live: Every instance Novita lists, by id.
        policies: For the default auto-stop threshold.
        now: The moment the figures are computed for (default now).
        used_events: Instance id -> its newest `novita.instance.used` event.

    Example:
        >>> from types import SimpleNamespace
        >>> fleet_rows([], {"a": Instance(id="a", name="x", status="running")},
        ...            SimpleNamespace(auto_stop_minutes=20))[0]["managed"]
        'no'

    """
    now = now or utc_now()
    managed = sorted(
        (r for r in records if r.status is not LifecycleStatus.DELETED),
        key=lambda r: (r.name, r.instance_id),
    )
    others = unmanaged_instances(managed, live.values())
    used = used_events or {}
    rows = [
        managed_row(r, live.get(r.instance_id), policies, now, used.get(r.instance_id))
        for r in managed
    ]
    return rows + [unmanaged_row(i, now) for i in others]


class FleetCost(NamedTuple):
    """What the managed fleet costs: USD per hour now, and USD so far (rough)."""

    per_hour: Decimal
    so_far: Decimal


def fleet_cost(
    records: Iterable[ManagedInstance], live: Mapping[str, Instance], now: datetime
) -> FleetCost:
    """The managed instances Novita reports running: their summed $/h and cost so far.

    Example:
        >>> r = ManagedInstance(instance_id="a", name="a", price_per_hour=Decimal("0.30"))
        >>> now = utc_now()
        >>> fleet_cost([r], {"a": Instance(id="a", status="running")}, now).per_hour
        Decimal('0.30')

    """
    per_hour, so_far = Decimal(0), Decimal(0)
    for record in records:
        instance = live.get(record.instance_id)
        serving = instance is not None and instance.status is InstanceStatus.RUNNING
        if record.status is LifecycleStatus.DELETED or not serving:
            continue
        per_hour += record.price_per_hour or Decimal(0)
        so_far += cost_so_far(record, instance, now) or Decimal(0)
    return FleetCost(per_hour, so_far)


def fleet_description(rows: list[dict[str, str]], shown: int, cost: FleetCost | None = None) -> str:
    """The artifact's description: counts, the fleet's cost, what cost means, rows left out.

    Example:
        >>> fleet_description([], 0).startswith("0 managed")
        True
        >>> fleet_description([], 0, FleetCost(Decimal("1.05"), Decimal("3.2")))[:80]
        '0 managed and 0 unmanaged Novita instances (0 running). The managed fleet costs '

    """
    managed = sum(1 for r in rows if r["managed"] == "yes")
    running = sum(1 for r in rows if r["novita status"] == InstanceStatus.RUNNING.value)
    text = (
        f"{managed} managed and {len(rows) - managed} unmanaged Novita instances "
        f"({running} running)"
    )
    if cost is not None:
        text += (
            f". The managed fleet costs {format_usd(cost.per_hour)}/h now and "
            f"{format_cost(cost.so_far)} so far"
        )
    text += (
        f", as of {utc_now():%Y-%m-%d %H:%M} UTC. "
        "Cost so far is rough: price/h x hours since the last start (else since ready); "
        "it ignores billing granularity, earlier runs and storage. Unmanaged instances are "
        "listed, never touched."
    )
    if shown < len(rows):
        text += f" The table shows the first {shown} of {len(rows)} rows."
    return text


class Named(Protocol):
    """Anything with a name and an id (a Novita instance as the report lists it)."""

    @property
    def name(self) -> str:
        """The instance name."""
        ...


NamedT = TypeVar("NamedT", bound=Named)


def under_managed_names(
    records: Iterable[ManagedInstance], unmanaged: Iterable[NamedT]
) -> list[NamedT]:
    """The unmanaged instances whose name a live managed record carries.

    Example:
        >>> r = ManagedInstance(instance_id="a", name="trainer", status="ready")
        >>> [i.id for i in under_managed_names([r], [Instance(id="b", name="trainer"),
        ...                                         Instance(id="c", name="other")])]
        ['b']

    """
    names = {r.name for r in records if r.status is not LifecycleStatus.DELETED}
    return [i for i in unmanaged if i.name in names]
