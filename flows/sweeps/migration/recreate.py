"""Recreate a reclaimed instance elsewhere: provisioning's plan → template → create → ready.

When a migrate fails, the migration sweep provisions a replacement from the record's stored
request (product, template, GPUs, disk, billing mode, regions), with the region that
reclaimed it tried last, under the same name. The new instance does not get a record of its
own: the managed record moves to the new id (`StateStore.replace_instance_id`), so name,
webhook URL and history stay, and the old id joins `previous_instance_ids`. The old instance
is deleted by the caller once the new one is ready.
"""

from __future__ import annotations

from typing import Any

from clients.endpoint_models import HealthReport
from clients.novita import Instance
from flows.flow_resources import FlowResources
from flows.provision import Provisioning, ProvisioningFailedError
from flows.provision_plan import RegionPlan
from flows.readiness import ReadinessPhase, ReadyInstance, bring_to_ready
from flows.region_order import Region, region_order
from store import DesiredState, LifecycleStatus, ManagedInstance, OperationKind, utc_now
from tasks.novita_catalog import fetch_clusters

REQUIRED_REQUEST_KEYS = ("product_name", "template_id")
"""What a stored request must hold for a recreate (the rest has defaults)."""


class RecreateImpossibleError(RuntimeError):
    """The record's stored request does not say enough to provision a replacement."""


def regions_avoiding(regions: list[Region], avoid: str | None) -> list[Region]:
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


def recreate_request(record: ManagedInstance, regions: list[str]) -> dict[str, Any]:
    """A provisioning request for a replacement of `record`, trying `regions` in that order.

    Raises:
        RecreateImpossibleError: the stored request lacks the product or the template.

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a",
        ...                     request={"product_name": "RTX 4090 24GB", "template_id": "1001"})
        >>> recreate_request(r, ["OC-AU-01"])["regions"]
        ['OC-AU-01']

    """
    stored = record.request
    missing = [k for k in REQUIRED_REQUEST_KEYS if not stored.get(k)]
    if missing:
        raise RecreateImpossibleError(
            f"the stored request of {record.name!r} lacks {', '.join(missing)}: cannot recreate"
        )
    return {
        "name": record.name,
        "product_name": stored["product_name"],
        "template_id": str(stored["template_id"]),
        "gpu_num": stored.get("gpu_num") or 1,
        "rootfs_size": stored.get("rootfs_size") or 60,
        "billing_mode": stored.get("billing_mode") or record.billing_mode or "spot",
        "region": None,
        "regions": regions,
        "webhook_url": record.webhook_url,
        "auto_stop_minutes": record.auto_stop_minutes,
        "wait_until_ready": True,
        "deadline_minutes": None,
        "dry_run": False,
    }


async def _quiet(phase: ReadinessPhase, instance: Instance, health: HealthReport | None) -> None:
    """Readiness phases of a migration are not sent one by one: `instance.migrated` sums up."""


class Recreation(Provisioning):
    """A provisioning that replaces `old`: the created instance takes over its record.

    Example:
        ```python
        recreation = await Recreation.prepare(res, record, avoid_region="as-sgp-2")
        record, ready = await recreation.run_to_ready()
        ```

    """

    def __init__(self, res: FlowResources, old: ManagedInstance, request: dict[str, Any]) -> None:
        super().__init__(res, request)
        self.old = old
        self.region: str | None = None

    @classmethod
    async def prepare(
        cls, res: FlowResources, old: ManagedInstance, avoid_region: str | None
    ) -> Recreation:
        """Order the regions (stored preference and priority, `avoid_region` last).

        Raises:
            RecreateImpossibleError: the stored request cannot be provisioned again.
            UnknownRegionError: the stored regions name an unknown region.

        """
        stored = old.request
        clusters = await fetch_clusters(res.client)
        order = region_order(
            clusters,
            stored.get("region"),
            stored.get("regions") or res.policies.region_priority,
        )
        names = [r.name for r in regions_avoiding(order, avoid_region)]
        return cls(res, old, recreate_request(old, names))

    async def run_to_ready(self) -> tuple[ManagedInstance, ReadyInstance]:
        """Plan, resolve the template, create (region failover), then wait until ready.

        Raises:
            ProvisioningFailedError: no region could create it.
            NotReadyError: created but not running and healthy by the deadline (the record
                is on the new id by then).
            NovitaError: a call failed in a way failover does not cover.

        """
        plan = await self.plan()
        template, image_auth = await self.resolve_template()
        record = await self.create(plan, template, image_auth)
        ready = await bring_to_ready(self.res, record.instance_id, self.deadline_at, _quiet)
        record = await self.res.store.get_instance(record.instance_id) or record
        return record, ready

    async def record_created(self, instance_id: str, region: RegionPlan) -> ManagedInstance:
        """Move the old record to the new id (same name, webhook and history)."""
        if instance_id == self.old.instance_id:  # an ambiguous create matched the old one
            raise ProvisioningFailedError(
                f"create in {region.region} answered ambiguously and only the old instance "
                f"{instance_id} carries the name {self.name!r}"
            )
        chosen = region.chosen
        assert chosen is not None  # create only uses regions with a chosen product
        self.instance_id = instance_id
        self.region = region.region
        self.logger.info(
            "Recreated %s as %s in %s: the record moves from %s",
            self.name,
            instance_id,
            region.region,
            self.old.instance_id,
        )
        record = await self.res.store.replace_instance_id(
            self.old.instance_id,
            instance_id,
            cluster_id=region.cluster_id,
            region=region.region,
            product_id=chosen.product_id,
            product_name=chosen.name,
            billing_mode=self.request["billing_mode"],
            price_per_hour=self._total_price(region),
            desired_state=DesiredState.RUNNING,
            status=LifecycleStatus.CREATING,
            status_reason=None,
            created_at=utc_now(),
            ready_at=None,
            stopped_at=None,
        )
        await self.res.store.record_operation(
            instance_id,
            OperationKind.MIGRATION,
            "started",
            flow_run_id=self.res.flow_run_id,
            detail={
                "method": "recreate",
                "from": self.old.instance_id,
                "to": instance_id,
                "region": region.region,
                "regions": [a.model_dump() for a in self.attempts],
            },
        )
        return record
