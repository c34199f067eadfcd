"""Recreate a reclaimed instance elsewhere, composed of provisioning's own steps.

When a migrate fails, the migration sweep provisions a replacement from the record's stored
request (product, template, GPUs, disk, billing mode, regions) under the same name, with the
region that reclaimed it tried last: plan → template → create with failover → ready, the
same step functions `provision-instance` uses (`flows/provisioning/`). The new instance does
not get a record of its own: the managed record moves to the new id in the same journal step
as the `started` entry, so name, webhook URL and history stay, and the old id joins
`previous_instance_ids`. The caller deletes the old instance once the new one is ready.
"""

from __future__ import annotations

import time

from flows.common.journal import OperationJournal
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.provisioning.creation import (
    ProvisioningFailedError,
    RegionAttempt,
    create_with_failover,
)
from flows.provisioning.planning import ordered_regions
from flows.provisioning.readiness import ReadyInstance, bring_to_ready, quietly
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.rules.region_order import regions_avoiding
from flows.provisioning.shared import ProvisioningShared
from store import DesiredState, LifecycleStatus, ManagedInstance, OperationOutcome, utc_now


class Recreation:
    """One replacement of `old`; `instance_id` is the new id once it was created.

    Example:
        ```python
        recreation = Recreation(res, journal, record, avoid_region="as-sgp-2")
        record, ready = await recreation.run_to_ready(deadline_at)
        ```

    """

    def __init__(
        self,
        res: FlowResources,
        journal: OperationJournal,
        old: ManagedInstance,
        avoid_region: str | None,
    ) -> None:
        self.res = res
        self.journal = journal
        self.old = old
        self.avoid_region = avoid_region
        self.instance_id: str | None = None
        self.region: str | None = None
        self.attempts: list[RegionAttempt] = []

    async def request(self) -> ProvisionRequest:
        """The replacement's request: the stored one, the reclaiming region last.

        Raises:
            RecreateImpossibleError: the stored request cannot be provisioned again.
            UnknownRegionError: the stored regions name an unknown region.

        """
        stored = self.old.request
        order = await ordered_regions(
            self.res.client,
            stored.get("region"),
            stored.get("regions") or self.res.policies.region_priority,
        )
        names = [r.name for r in regions_avoiding(order, self.avoid_region)]
        return ProvisionRequest.replacement_for(self.old, names)

    async def run_to_ready(self, deadline_at: float) -> tuple[ManagedInstance, ReadyInstance]:
        """Plan, resolve the template, create (region failover), move the record, wait ready.

        Raises:
            ProvisioningFailedError: no region could create it.
            NotReadyError: created but not running and healthy by the deadline (the record
                is on the new id by then).
            NovitaError: a call failed in a way failover does not cover.

        """
        request = await self.request()
        shared = ProvisioningShared(self.res)
        template, image_auth = await shared.template(request.template_id)
        created, region = await create_with_failover(
            self.res.client,
            await shared.planner(request),
            request,
            template,
            image_auth,
            self.attempts,
        )
        new_id, old_id = created.instance_id, self.old.instance_id
        if new_id == old_id:  # an ambiguous create matched the old one
            raise ProvisioningFailedError(
                f"create in {region.region} answered ambiguously and only the old instance "
                f"{new_id} carries the name {request.name!r}",
                self.attempts,
            )
        chosen = region.chosen
        assert chosen is not None  # create only uses regions with a chosen product
        self.instance_id, self.region = new_id, region.region
        run_logger(__name__).info(
            "Recreated %s as %s in %s: the record moves from %s",
            request.name,
            new_id,
            region.region,
            old_id,
        )
        await self.journal.record(
            OperationOutcome.STARTED,
            {
                "method": "recreate",
                "from": old_id,
                "to": new_id,
                "region": region.region,
                "regions": [a.model_dump() for a in self.attempts],
            },
            move_to=new_id,
            fields={
                "cluster_id": region.cluster_id,
                "region": region.region,
                "product_id": chosen.product_id,
                "product_name": chosen.name,
                "billing_mode": request.billing_mode,
                "price_per_hour": region.total_price(request.gpu_num),
                "desired_state": DesiredState.RUNNING,
                "status": LifecycleStatus.CREATING,
                "status_reason": None,
                "created_at": utc_now(),
                "ready_at": None,
                "stopped_at": None,
            },
        )
        ready = await bring_to_ready(self.res, new_id, max(deadline_at, time.monotonic()), quietly)
        record = await self.res.store.get_instance(new_id)
        assert record is not None  # the step above moved it here
        return record, ready
