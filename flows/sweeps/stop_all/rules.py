"""Which instances does `stop-all` stop? Decided in memory for the whole account (pure).

One pass over the store's records and Novita's list (both read once) keeps the instances that
match the filters and splits them into *to stop* and *skipped* (with the reason):

- filters: `name_prefix` (the name starts with it), `regions` (a region name such as
  `US-CA-06` or a cluster id such as `us-ca-6`, either naming the same default region; case
  and Novita's " (California)" suffix aside), `include_unmanaged` (instances the store does
  not manage; default off).
- a managed instance is stopped when Novita reports it running or stopping; also when Novita
  reports it exited while its desired state is still running (a reclaimed spot machine):
  its desired state becomes stopped, so the migration sweep does not bring it back.
- a managed instance that a provisioning, start or migration is bringing up is skipped: a
  stop never races a start half-way (`stop-instance` with `force=true` can still stop it).
- an unmanaged instance is stopped when Novita reports it running or stopping and
  `include_unmanaged` is on; otherwise it is skipped, saying so.
- anything else (exited with desired state stopped, removed, in a start at Novita without a
  record) is *not running*: counted, not listed, never touched.

The $/h a stop saves is the price the store recorded at provisioning; an unmanaged instance
has no recorded price and is counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from pydantic import BaseModel, Field

from clients.novita.catalog import strip_region_suffix
from clients.novita.instances import Instance, InstanceStatus
from flows.provisioning.rules.region_order import DEFAULT_REGIONS
from flows.sweeps.outcomes import SkippedInstance
from store.models import DesiredState, LifecycleStatus, ManagedInstance
from store.statuses import BRINGING_UP, NOVITA_STOPPING


def _key(value: str) -> str:
    return strip_region_suffix(value).strip().casefold()


class StopAllFilters(BaseModel):
    """What `stop-all` was asked to match.

    Example:
        >>> StopAllFilters(name_prefix="train", regions=["us-ca-6"]).describe()
        "name starts with 'train', region in us-ca-6, managed only"

    """

    name_prefix: str | None = None
    regions: list[str] | None = None
    include_unmanaged: bool = False

    def describe(self) -> str:
        """The filters in words, for logs, the report and the notification."""
        parts = [f"name starts with {self.name_prefix!r}" if self.name_prefix else "any name"]
        parts.append(f"region in {', '.join(self.regions)}" if self.regions else "any region")
        parts.append("managed and unmanaged" if self.include_unmanaged else "managed only")
        return ", ".join(parts)

    def matches(self, name: str | None, places: Iterable[str | None]) -> bool:
        """True when the name has the prefix and one of `places` (region or id) is wanted.

        Example:
            >>> StopAllFilters(regions=["US-CA-06"]).matches("a", ["US-CA-06 (California)"])
            True
            >>> StopAllFilters(name_prefix="b").matches("a", [])
            False

        """
        if self.name_prefix and not (name or "").startswith(self.name_prefix):
            return False
        if not self.regions:
            return True
        wanted = set().union(*(_region_keys(r) for r in self.regions))
        return any(_region_keys(p) & wanted for p in places if p)


_ALIASES = {
    key: {_key(name), _key(cluster_id)}
    for name, cluster_id in DEFAULT_REGIONS
    for key in (_key(name), _key(cluster_id))
}
"""A default region's name and cluster id name the same place (`US-CA-06` is `us-ca-6`)."""


def _region_keys(value: str) -> set[str]:
    key = _key(value)
    return _ALIASES.get(key, {key})


class StopCandidate(BaseModel):
    """An instance `stop-all` stops (or would, in a dry run).

    Example:
        >>> StopCandidate(instance_id="0123456789abcdef", name="a", managed=True,
        ...               novita_status="running").running
        True

    """

    instance_id: str
    name: str = ""
    managed: bool
    novita_status: str = Field(description="What Novita reported when decided")
    region: str | None = None
    product: str | None = None
    price_per_hour: Decimal | None = Field(
        default=None, description="USD per hour the store recorded; None for unmanaged"
    )

    @property
    def running(self) -> bool:
        """True when stopping it saves money now (Novita runs or is stopping it)."""
        return self.novita_status != InstanceStatus.EXITED.value


class StopAllPlan(BaseModel):
    """The decisions: what matched, what to stop, what to leave (with why)."""

    filters: StopAllFilters
    to_stop: list[StopCandidate] = Field(default_factory=list)
    skipped: list[SkippedInstance] = Field(default_factory=list)
    not_running: int = Field(default=0, description="Matched, not running: left alone")

    def price_per_hour(self, ids: Iterable[str] | None = None) -> Decimal:
        """The $/h of the running candidates (only `ids` when given) with a recorded price.

        Example:
            >>> c = StopCandidate(instance_id="a", managed=True, novita_status="running",
            ...                   price_per_hour=Decimal("0.35"))
            >>> StopAllPlan(filters=StopAllFilters(), to_stop=[c, c]).price_per_hour()
            Decimal('0.70')

        """
        chosen = self._chosen(ids)
        return sum((c.price_per_hour or Decimal(0) for c in chosen), Decimal(0))

    def unpriced(self, ids: Iterable[str] | None = None) -> int:
        """How many running candidates (only `ids` when given) have no recorded price.

        Example:
            >>> c = StopCandidate(instance_id="a", managed=False, novita_status="running")
            >>> StopAllPlan(filters=StopAllFilters(), to_stop=[c]).unpriced()
            1

        """
        return sum(1 for c in self._chosen(ids) if c.price_per_hour is None)

    def _chosen(self, ids: Iterable[str] | None) -> list[StopCandidate]:
        wanted = set(ids) if ids is not None else None
        return [
            c for c in self.to_stop if c.running and (wanted is None or c.instance_id in wanted)
        ]


def decide_managed(record: ManagedInstance, live: Instance | None) -> StopCandidate | str | None:
    """One matching managed instance: a candidate, a reason to skip it, or None (not running).

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready")
        >>> decide_managed(r, Instance(id="0123456789abcdef", status="running")).managed
        True
        >>> r.status = "starting"
        >>> decide_managed(r, Instance(id="0123456789abcdef", status="running"))[:27]
        'a start, provisioning or mi'
        >>> decide_managed(r, None) is None
        True

    """
    if live is None or record.status == LifecycleStatus.DELETED:
        return None
    status = live.status
    reclaimed = status == InstanceStatus.EXITED and record.desired_state == DesiredState.RUNNING
    if status != InstanceStatus.RUNNING and status not in NOVITA_STOPPING and not reclaimed:
        return None
    if record.status in BRINGING_UP:
        return (
            "a start, provisioning or migration is bringing it up "
            f"(our status {record.status}, Novita reports {live.status_raw or status}); "
            "run stop-all again once it runs, or stop-instance with force=true"
        )
    return StopCandidate(
        instance_id=record.instance_id,
        name=record.name,
        managed=True,
        novita_status=live.status_raw or status.value,
        region=record.region or live.cluster_name,
        product=record.product_name or live.product_name,
        price_per_hour=record.price_per_hour,
    )


def plan_stop_all(
    records: Iterable[ManagedInstance], live: Sequence[Instance], filters: StopAllFilters
) -> StopAllPlan:
    """Decide every instance at once: managed records first, then Novita's other instances.

    Args:
        records: Every managed record that is not deleted (one store query).
        live: Every instance Novita lists (one paginated list call).
        filters: Name prefix, regions, include_unmanaged.

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="train-1", status="ready",
        ...                     region="US-CA-06", price_per_hour=Decimal("0.35"))
        >>> live = [Instance(id="0123456789abcdef", name="train-1", status="running"),
        ...         Instance(id="fedcba9876543210", name="train-2", status="running")]
        >>> plan = plan_stop_all([r], live, StopAllFilters(name_prefix="train"))
        >>> [c.name for c in plan.to_stop], [s.reason[:9] for s in plan.skipped]
        (['train-1'], ['unmanaged'])

    """
    by_id = {i.id: i for i in live}
    plan = StopAllPlan(filters=filters)
    managed_ids: set[str] = set()
    for record in records:
        managed_ids.add(record.instance_id)
        instance = by_id.get(record.instance_id)
        places = [record.region, record.cluster_id]
        places += [instance.cluster_name, instance.cluster_id] if instance else []
        if not filters.matches(record.name, places):
            continue
        decision = decide_managed(record, instance)
        if decision is None:
            plan.not_running += 1
        elif isinstance(decision, str):
            plan.skipped.append(
                SkippedInstance(instance_id=record.instance_id, name=record.name, reason=decision)
            )
        else:
            plan.to_stop.append(decision)
    for instance in live:
        if instance.id in managed_ids:
            continue
        if not filters.matches(instance.name, [instance.cluster_name, instance.cluster_id]):
            continue
        _add_unmanaged(plan, instance, filters.include_unmanaged)
    return plan


def _add_unmanaged(plan: StopAllPlan, instance: Instance, include: bool) -> None:
    if instance.status != InstanceStatus.RUNNING and instance.status not in NOVITA_STOPPING:
        plan.not_running += 1
        return
    if not include:
        plan.skipped.append(
            SkippedInstance(
                instance_id=instance.id,
                name=instance.name or None,
                reason="unmanaged (not in the store); include_unmanaged is off",
            )
        )
        return
    plan.to_stop.append(
        StopCandidate(
            instance_id=instance.id,
            name=instance.name,
            managed=False,
            novita_status=instance.status_raw or instance.status.value,
            region=instance.cluster_name or instance.cluster_id,
            product=instance.product_name,
        )
    )
