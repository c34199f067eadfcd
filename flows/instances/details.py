"""What `get-instance` tells about one machine: the model, its markdown and its log lines (pure).

Built from one live read (Novita's view) and the store's record, on a clock the caller gives,
with the same rules the fleet table uses: `running for` and `cost so far` from
`flows/fleet/rules/table_columns.py` (price/h x hours since the last start, a rough figure),
`last used` and `auto-stop in` from `flows/sweeps/auto_stop/rules.py`. Connection details
come from `flows/instances/view.py`, which leaves passwords out.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel, Field

from clients.endpoint_models import HealthReport
from clients.novita.instances import Instance
from flows.common.dashboard_format import (
    NONE,
    format_ago,
    format_cost,
    format_duration,
    format_moment,
    format_usd,
)
from flows.fleet.rules.table_columns import running_since
from flows.instances.view import PortView, connection_details, port_views
from flows.sweeps.auto_stop.rules import countdown, effective_threshold, last_use
from store.models import LifecycleStatus, ManagedInstance

KEY_PREFIX = "instance-"

T = TypeVar("T")


def details_key(name: str | None, instance_id: str) -> str:
    """The key of the markdown artifact: `instance-<name>` (lowercase, dashes), else the id.

    Example:
        >>> details_key("Trainer_1", "0123456789abcdef")
        'instance-trainer-1'
        >>> details_key(None, "0123456789abcdef")
        'instance-0123456789abcdef'

    """
    slug = re.sub(r"[^a-z0-9]+", "-", (name or instance_id).lower()).strip("-") or "unnamed"
    return KEY_PREFIX + slug


class InstanceDetails(BaseModel):
    """What `get-instance` returns: the live status, what it costs, how to connect."""

    instance_id: str
    name: str | None = None
    managed: bool = Field(description="False: Novita knows the instance, the store does not")
    novita_status: str = Field(description="What Novita reports now; 'missing' when unknown")
    status: str | None = Field(default=None, description="Our lifecycle status (managed only)")
    status_reason: str | None = None
    desired_state: str | None = Field(default=None, description="running, stopped or deleted")
    region: str | None = None
    product: str | None = None
    billing_mode: str | None = None
    gpu_num: int | None = None
    price_per_hour: Decimal | None = Field(default=None, description="USD/h the store recorded")
    running_since: datetime | None = Field(default=None, description="None unless running")
    cost_so_far: Decimal | None = Field(
        default=None, description="Rough: price/h x hours since the last start"
    )
    port_mappings: list[PortView] = Field(default_factory=list)
    connection_details: dict[str, str] = Field(
        default_factory=dict, description="ssh command, jupyter, http URLs (no passwords)"
    )
    last_used_at: datetime | None = None
    auto_stop_minutes: int | None = Field(default=None, description="Threshold; 0 = never")
    auto_stop_in: str = Field(default=NONE, description="'N min', 'due', 'never' or '-'")
    created_at: datetime | None = None
    ready_at: datetime | None = None
    stopped_at: datetime | None = None
    health: HealthReport | None = Field(default=None, description="Only with probe=true")
    artifact_key: str
    as_of: datetime


def describe(
    instance_id: str,
    name: str | None,
    record: ManagedInstance | None,
    live: Instance | None,
    default_threshold: int,
    now: datetime,
    used_event_at: datetime | None = None,
) -> InstanceDetails:
    """Everything `get-instance` shows, from our record and Novita's view at `now`.

    `used_event_at`: the instance's newest `novita.instance.used` event, which counts for
    "last used" and "auto-stop in" as it does for the auto-stop sweep.

    Example:
        >>> from datetime import UTC, timedelta
        >>> now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready",
        ...                     price_per_hour=Decimal("0.50"), ready_at=now - timedelta(hours=2))
        >>> d = describe(r.instance_id, "a", r, Instance(id=r.instance_id, status="running"),
        ...              20, now)
        >>> d.cost_so_far, d.auto_stop_in, d.novita_status
        (Decimal('1.00'), 'due', 'running')

    """
    managed = record is not None and record.status != LifecycleStatus.DELETED
    since = running_since(record, live)
    price = record.price_per_hour if record is not None else None
    cost = None
    if since is not None and price is not None:
        hours = Decimal(max((now - since).total_seconds(), 0.0)) / Decimal(3600)
        cost = (price * hours).quantize(Decimal("0.01"))
    auto_stop_minutes, auto_stop_in = None, NONE
    if managed and record is not None:
        auto_stop_minutes = effective_threshold(record, default_threshold)
        auto_stop_in = countdown(record, live, default_threshold, now, used_event_at)
    return InstanceDetails(
        instance_id=instance_id,
        name=name,
        managed=managed,
        novita_status=(live.status_raw or live.status.value) if live else "missing",
        status=str(record.status) if record else None,
        status_reason=record.status_reason if record else None,
        desired_state=str(record.desired_state) if record else None,
        region=_first(record and record.region, live and live.cluster_name),
        product=_first(record and record.product_name, live and live.product_name),
        billing_mode=_first(record and record.billing_mode, live and live.billing_mode),
        gpu_num=live.gpu_num if live else None,
        price_per_hour=price,
        running_since=since,
        cost_so_far=cost,
        port_mappings=port_views(live) if live else [],
        connection_details=connection_details(live) if live else {},
        last_used_at=last_use(record, used_event_at) if record else None,
        auto_stop_minutes=auto_stop_minutes,
        auto_stop_in=auto_stop_in,
        created_at=_first(record and record.created_at, live and live.created_at),
        ready_at=record.ready_at if record else None,
        stopped_at=record.stopped_at if record else None,
        artifact_key=details_key(name, instance_id),
        as_of=now,
    )


def _first(*values: T | None) -> T | None:
    # The store's facts first (what we asked for), Novita's when the store has none.
    return next((v for v in values if v), None)


def headline(details: InstanceDetails) -> str:
    """One line: who it is, what Novita says, what we want of it.

    Example:
        >>> from datetime import UTC
        >>> d = InstanceDetails(instance_id="0123456789abcdef", name="a", managed=False,
        ...                     novita_status="running", artifact_key="instance-a",
        ...                     as_of=datetime(2026, 1, 1, tzinfo=UTC))
        >>> headline(d)
        "'a' (0123456789abcdef): Novita reports running; not managed by this project"

    """
    who = f"{details.name!r} ({details.instance_id})" if details.name else details.instance_id
    ours = (
        f"our status {details.status}, desired state {details.desired_state}"
        if details.managed
        else "not managed by this project"
        if details.status is None
        else f"deleted by this project (our status {details.status})"
    )
    return f"{who}: Novita reports {details.novita_status}; {ours}"


def facts(details: InstanceDetails) -> list[tuple[str, str]]:
    """The (label, value) pairs shown in the artifact and the log, in reading order.

    Example:
        >>> from datetime import UTC
        >>> d = InstanceDetails(instance_id="0123456789abcdef", managed=False,
        ...                     novita_status="exited", artifact_key="instance-x",
        ...                     as_of=datetime(2026, 1, 1, tzinfo=UTC))
        >>> dict(facts(d))["cost so far"]
        '-'

    """
    as_of = details.as_of
    rows = [
        ("region", details.region or NONE),
        ("product", details.product or NONE),
        ("billing", details.billing_mode or NONE),
        ("price/h", format_usd(details.price_per_hour)),
        (
            "running for",
            NONE
            if details.running_since is None
            else format_duration(as_of - details.running_since),
        ),
        ("cost so far", format_cost(details.cost_so_far)),
        ("last used", format_ago(details.last_used_at, as_of)),
        ("auto-stop in", details.auto_stop_in),
        ("created", format_moment(details.created_at)),
    ]
    if details.status_reason:
        rows.append(("reason", details.status_reason))
    return rows


def health_lines(health: HealthReport | None) -> list[str]:
    """The probe's verdict and one line per endpoint; nothing when no probe was asked.

    Example:
        >>> health_lines(HealthReport(healthy=True))
        ['health now: healthy (0 endpoint(s) checked)']

    """
    if health is None:
        return []
    lines = [
        f"health now: {'healthy' if health.healthy else 'UNHEALTHY'} "
        f"({len(health.checked)} endpoint(s) checked)"
    ]
    for check in health.checked:
        state = "ok" if check.healthy else f"failing: {check.error or check.status_code}"
        lines.append(f"  {check.port}/{check.type} {check.endpoint}: {state}")
    return lines


def summary_lines(details: InstanceDetails) -> list[str]:
    """What the flow logs, so `prefect deployment run ... --watch` answers in the terminal.

    Example:
        >>> from datetime import UTC
        >>> d = InstanceDetails(instance_id="0123456789abcdef", name="a", managed=False,
        ...                     novita_status="running", artifact_key="instance-a",
        ...                     connection_details={"ssh": "ssh root@h -p 1"},
        ...                     as_of=datetime(2026, 1, 1, tzinfo=UTC))
        >>> [line for line in summary_lines(d) if "ssh" in line]
        ['  ssh: ssh root@h -p 1']

    """
    lines = [headline(details)]
    lines += [f"  {label}: {value}" for label, value in facts(details)]
    if details.connection_details:
        lines.append("connect:")
        lines += [f"  {kind}: {where}" for kind, where in details.connection_details.items()]
    else:
        lines.append("connect: nothing exposed (not running, or no ports)")
    if details.port_mappings:
        ports = ", ".join(f"{p.port}/{p.type} -> {p.endpoint}" for p in details.port_mappings)
        lines.append(f"ports: {ports}")
    return lines + health_lines(details.health)


def details_markdown(details: InstanceDetails) -> str:
    """The `instance-<name>` artifact: a heading, the facts table, how to connect, health.

    Example:
        >>> from datetime import UTC
        >>> d = InstanceDetails(instance_id="0123456789abcdef", name="a", managed=False,
        ...                     novita_status="running", artifact_key="instance-a",
        ...                     as_of=datetime(2026, 1, 1, tzinfo=UTC))
        >>> details_markdown(d).splitlines()[0]
        '# a'

    """
    parts = [
        f"# {details.name or details.instance_id}",
        "",
        headline(details) + f" (as of {format_moment(details.as_of)})",
        "",
        "| | |",
        "|---|---|",
        f"| instance | `{details.instance_id}` |",
    ]
    parts += [f"| {label} | {value} |" for label, value in facts(details)]
    parts += ["", "## Connect", ""]
    if details.connection_details:
        parts += [f"- **{kind}**: `{where}`" for kind, where in details.connection_details.items()]
    else:
        parts.append("Nothing exposed (not running, or no ports).")
    if details.port_mappings:
        parts += ["", "| port | type | endpoint |", "|---|---|---|"]
        parts += [f"| {p.port} | {p.type} | {p.endpoint} |" for p in details.port_mappings]
    if details.health is not None:
        parts += ["", "## Health now", ""] + [
            f"- {line.strip()}" for line in health_lines(details.health)
        ]
    return "\n".join(parts) + "\n"
