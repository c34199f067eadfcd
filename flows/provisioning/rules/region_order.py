"""Which region is tried next: the order of a provisioning's regions, in one place.

1. The order starts from the default table (DESIGN.md section 5), with the cluster ids
   Novita's `GET /clusters` gives (else the table's), and any cluster Novita lists that the
   table lacks appended; a custom priority (parameter `regions`, else the policies'
   `region_priority`) replaces it; a preferred `region` moves to the front (`region_order`).
2. A replacement for a reclaimed machine tries the region that reclaimed it last
   (`regions_avoiding`).
3. In that order, a region is skipped when it offers no deployable product of that name for
   the billing mode (`flows/provisioning/rules/plan.py`, reason recorded), and a region whose
   create is refused for capacity (`INSUFFICIENT_RESOURCE`, quota, rate limit) is blocked for
   this provisioning (and the fleet it belongs to): the next region is tried
   (`flows/provisioning/creation.py`, `create_with_failover`). Validation and auth errors
   never fail over. When every region fails, the error names each with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from clients.novita.catalog import Cluster, strip_region_suffix

DEFAULT_REGIONS: tuple[tuple[str, str], ...] = (
    ("AS-SGP-02", "as-sgp-2"),
    ("CN-HK-01", "cn-hongkong-1"),
    ("OC-AU-01", "oc-au-1"),
    ("US-CA-06", "us-ca-6"),
    ("US-WEST-01", "us-west-1"),
    ("EU-DE-01", "eu-de-1"),
    ("EU-WEST-01", "eu-west-1"),
    ("AS-IN-01", "as-in-1"),
)
"""Default priority (DESIGN.md section 5): (cluster name, cluster id)."""


class UnknownRegionError(ValueError):
    """A requested region matches no known cluster name or id."""


class Region(BaseModel):
    """One region to try: its cluster name (e.g. US-CA-06) and the cluster id sent to Novita."""

    name: str
    cluster_id: str


def _key(value: str) -> str:
    return strip_region_suffix(value).strip().casefold()


def known_regions(clusters: Sequence[Cluster] | None) -> list[Region]:
    """All regions by default priority; ids come from `GET /clusters` when it answered.

    Clusters Novita lists that the default table lacks are appended after it.

    Example:
        >>> [r.cluster_id for r in known_regions(None)][:2]
        ['as-sgp-2', 'cn-hongkong-1']

    """
    live = {_key(c.name): c for c in clusters or () if c.name}
    regions = [
        Region(name=name, cluster_id=live[_key(name)].id if _key(name) in live else cluster_id)
        for name, cluster_id in DEFAULT_REGIONS
    ]
    table = {_key(name) for name, _ in DEFAULT_REGIONS}
    regions += [
        Region(name=strip_region_suffix(c.name), cluster_id=c.id)
        for c in clusters or ()
        if c.name and _key(c.name) not in table
    ]
    return regions


def resolve_region(value: str, regions: Sequence[Region]) -> Region:
    """Find a region by cluster name or id, case aside.

    Raises:
        UnknownRegionError: naming the value and the allowed names.

    Example:
        >>> resolve_region("us-ca-6", known_regions(None)).name
        'US-CA-06'

    """
    wanted = _key(value)
    for region in regions:
        if wanted in (region.name.casefold(), region.cluster_id.casefold()):
            return region
    allowed = ", ".join(f"{r.name} ({r.cluster_id})" for r in regions)
    raise UnknownRegionError(f"unknown region {value!r}; allowed: {allowed}")


def region_order(
    clusters: Sequence[Cluster] | None,
    preferred: str | None = None,
    priority: Sequence[str] | None = None,
) -> list[Region]:
    """The regions to try, in order: a custom priority replaces the table; preferred goes first.

    Example:
        >>> [r.name for r in region_order(None, preferred="EU-DE-01")][:2]
        ['EU-DE-01', 'AS-SGP-02']
        >>> [r.name for r in region_order(None, priority=["us-ca-6", "AS-IN-01"])]
        ['US-CA-06', 'AS-IN-01']

    """
    regions = known_regions(clusters)
    ordered = [resolve_region(v, regions) for v in priority] if priority else list(regions)
    if preferred:
        first = resolve_region(preferred, regions)
        ordered = [first] + [r for r in ordered if r.cluster_id != first.cluster_id]
    unique: dict[str, Region] = {}
    for region in ordered:
        unique.setdefault(region.cluster_id, region)
    return list(unique.values())


def regions_avoiding(regions: Sequence[Region], avoid: str | None) -> list[Region]:
    """The same regions with the one to avoid (by cluster id or name) moved to the end.

    Example:
        >>> order = region_order(None, priority=["AS-SGP-02", "OC-AU-01", "US-CA-06"])
        >>> [r.name for r in regions_avoiding(order, "as-sgp-2")]
        ['OC-AU-01', 'US-CA-06', 'AS-SGP-02']

    """
    if not avoid:
        return list(regions)
    key = avoid.casefold()
    last = [r for r in regions if key in (r.cluster_id.casefold(), r.name.casefold())]
    return [r for r in regions if r not in last] + last
