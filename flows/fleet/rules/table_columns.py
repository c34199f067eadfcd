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
- `last used`: the later of the last mark-used signal and the time it became ready;
- `auto-stop in`: minutes until the auto-stop threshold (the instance's own, else the
  policies' default, 20) is reached; `never` for 0, `due` once reached, `-` when auto-stop
  does not apply (not serving, desired state not running, busy, or unmanaged). The auto-stop
  rules decide it (`flows/sweeps/auto_stop/rules.py`), the same rules the sweep applies.

`flows/fleet/table.py` publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

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


def managed_row(
    record: ManagedInstance, live: Instance | None, policies: AutoStopDefault, now: datetime
) -> dict[str, str]:
    """The table row of a managed instance.

    Example:
        >>> from types import SimpleNamespace
        >>> row = managed_row(ManagedInstance(instance_id="a", name="a"), None,
        ...                   SimpleNamespace(auto_stop_minutes=20), utc_now())
        >>> row["novita status"], row["auto-stop in"]
        ('missing', '-')

    """
    since = running_since(record, live)
    cost = None
    if since is not None and record.price_per_hour is not None:
        hours = Decimal((now - since).total_seconds()) / Decimal(3600)
        cost = record.price_per_hour * max(hours, Decimal(0))
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
        "cost so far": format_cost(cost),
        "last used": format_ago(last_use(record), now),
        "auto-stop in": countdown(record, live, policies.auto_stop_minutes, now),
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
) -> list[dict[str, str]]:
    """Rows of the fleet table: managed instances by name, then unmanaged ones by name.

    Args:
        records: Managed records; deleted ones are left out.
        live: Every instance Novita lists, by id.
        policies: For the default auto-stop threshold.
        now: The moment the figures are computed for (default now).

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
    rows = [managed_row(r, live.get(r.instance_id), policies, now) for r in managed]
    return rows + [unmanaged_row(i, now) for i in others]


def fleet_description(rows: list[dict[str, str]], shown: int) -> str:
    """The artifact's description: counts, what cost means, and any rows left out.

    Example:
        >>> fleet_description([], 0).startswith("0 managed")
        True

    """
    managed = sum(1 for r in rows if r["managed"] == "yes")
    running = sum(1 for r in rows if r["novita status"] == InstanceStatus.RUNNING.value)
    text = (
        f"{managed} managed and {len(rows) - managed} unmanaged Novita instances "
        f"({running} running), as of {utc_now():%Y-%m-%d %H:%M} UTC. "
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
