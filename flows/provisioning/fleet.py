"""A fleet of provisionings decided in bulk: one plan, one name lookup, one wait for all.

`provision-fleet` runs every request through the same steps as `provision-instance`
(`Provisioning`), but the work that one machine would repeat is done once for all:

1. one store query and at most one paginated Novita list find every name that exists
   already (adopted, never duplicated);
2. the provisionings share one planner per kind of machine and one read per template
   (`ProvisioningShared`): a hundred identical machines read the catalogue once;
3. creates run `concurrency` at a time, each one task run named `create-<name>`, within the
   Novita rate limit;
4. ONE wait task polls one paginated list for every machine until each runs;
5. each running machine is health-checked (`probe-<name>`), marked ready and told to its
   owner, `concurrency` at a time.

A machine costs two task runs (create, probe) and its status events; the fleet shows one
progress bar and one `provision-fleet` table. A request that fails is caught into its own
item: one failure never sinks the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field

from clients.novita import InstanceStatus
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.provisioning.adoption import ExistingInstance, find_instances_named
from flows.provisioning.artifacts import FleetProgress
from flows.provisioning.creation import ProvisioningFailedError
from flows.provisioning.dry_run import plan_only
from flows.provisioning.name_claim import NameClaim
from flows.provisioning.provisioning import Provisioning
from flows.provisioning.readiness import NotReadyError, ReadinessPhase
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.result import ProvisionResult
from flows.provisioning.shared import ProvisioningShared
from store import LifecycleStatus, ManagedInstance
from tasks.wait_for_status import wait_for_statuses

T = TypeVar("T")


class FleetItem(BaseModel):
    """The outcome of one request: its result, or why it failed."""

    name: str
    ok: bool
    result: ProvisionResult | None = None
    error: str | None = None


class FleetResult(BaseModel):
    """What `provision-fleet` returns: one item per request, in request order, and counts."""

    requested: int
    succeeded: int = Field(description="Requests that ended without error (ready, or as asked)")
    ready: int = Field(description="Requests whose machine is ready")
    failed: int
    items: list[FleetItem]

    @classmethod
    def of(cls, items: list[FleetItem]) -> FleetResult:
        """Count the items.

        Example:
            >>> FleetResult.of([FleetItem(name="a", ok=False, error="x")]).failed
            1

        """
        return cls(
            requested=len(items),
            succeeded=sum(item.ok for item in items),
            ready=sum(
                item.ok and item.result is not None and item.result.status == "ready"
                for item in items
            ),
            failed=sum(not item.ok for item in items),
            items=items,
        )

    def table_rows(self) -> list[dict[str, str]]:
        """One row per request, for the `provision-fleet` table artifact.

        Example:
            >>> fleet = FleetResult.of([FleetItem(name="a", ok=False, error="x")])
            >>> fleet.table_rows()[0]["outcome"]
            'FAILED'

        """
        rows = []
        for item in self.items:
            result = item.result
            price = result.price_per_hour if result else None
            rows.append(
                {
                    "name": item.name,
                    "outcome": "ok" if item.ok else "FAILED",
                    "status": result.status if result else "-",
                    "instance_id": (result.instance_id if result else None) or "-",
                    "region": (result.region if result else None) or "-",
                    "price_per_hour": f"${price}" if price is not None else "-",
                    "ssh": (result.connection_details.get("ssh") if result else None) or "-",
                    "error": item.error or "",
                }
            )
        return rows


async def bounded(concurrency: int, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run `jobs`, at most `concurrency` at a time; results in the order of `jobs`.

    Example:
        >>> async def one() -> int:
        ...     return 1
        >>> asyncio.run(bounded(2, [one, one, one]))
        [1, 1, 1]

    """
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(run(job) for job in jobs)))


class FleetProvisioning:
    """The steps of one fleet (see the module docstring).

    Example:
        ```python
        fleet = await FleetProvisioning(res, requests, concurrency=5).run()
        ```

    """

    def __init__(
        self,
        res: FlowResources,
        requests: Sequence[ProvisionRequest],
        concurrency: int,
        dry_run: bool = False,
    ) -> None:
        self.res = res
        self.requests = list(requests)
        self.concurrency = concurrency
        self.dry_run = dry_run
        self.logger = run_logger(__name__)
        shared = ProvisioningShared(res)
        self.provisionings = {
            r.name: Provisioning(res, r, dry_run, shared, artifacts=False) for r in self.requests
        }
        self.items: dict[str, FleetItem] = {}
        self.progress = FleetProgress(len(self.requests))

    async def run(self) -> FleetResult:
        """Claim the names, look up, create, wait, finish: every request ends as an item."""
        names = list(self.provisionings)
        if self.dry_run:
            existing = await find_instances_named(self.res, names)
            plans = [self._job(n, self._plan_only, existing.get(n)) for n in names]
            await bounded(self.concurrency, plans)
        else:
            claims = {n: self.provisionings[n].name_claim() for n in names}
            claimed = await self._claim_all(claims)
            try:
                existing = await find_instances_named(self.res, claimed)
                starts = [self._job(n, self._start, existing.get(n)) for n in claimed]
                started = await bounded(self.concurrency, starts)
            finally:
                await asyncio.gather(*(claims[n].release() for n in claimed))
            await self._finish_all([s for s in started if s is not None])
        result = FleetResult.of([self.items[r.name] for r in self.requests])
        await self.progress.done(result.ready, result.failed)
        await acreate_table_artifact(
            table=result.table_rows(),
            key="provision-fleet",
            description=f"Fleet of {result.requested}: {result.ready} ready, "
            f"{result.succeeded} succeeded, {result.failed} failed.",
        )
        return result

    async def _claim_all(self, claims: dict[str, NameClaim]) -> list[str]:
        """Claim every name before looking any up (waiting where another run holds one)."""

        async def claim(name: str) -> str | None:
            try:
                await claims[name].take(self.provisionings[name].deadline_at)
                return name
            except Exception as exc:  # one failure never sinks the others
                await self._failed(self.provisionings[name], exc)
                return None

        taken = await asyncio.gather(*(claim(name) for name in claims))
        return [name for name in taken if name is not None]

    def _job(
        self,
        name: str,
        step: Callable[[Provisioning, ExistingInstance | None], Awaitable[T]],
        existing: ExistingInstance | None,
    ) -> Callable[[], Awaitable[T | None]]:
        async def job() -> T | None:
            provisioning = self.provisionings[name]
            try:
                return await step(provisioning, existing)
            except Exception as exc:  # one failure never sinks the others
                await self._failed(provisioning, exc)
                return None

        return job

    async def _plan_only(
        self, provisioning: Provisioning, existing: ExistingInstance | None
    ) -> None:
        self._succeeded(await plan_only(provisioning, existing))

    async def _start(
        self, provisioning: Provisioning, existing: ExistingInstance | None
    ) -> tuple[Provisioning, ManagedInstance, bool]:
        record, adopted = await provisioning.start(existing)
        await self.progress.created()
        return provisioning, record, adopted

    async def _finish_all(self, started: list[tuple[Provisioning, ManagedInstance, bool]]) -> None:
        """One wait for every machine that has to come up, then finish each."""
        to_wait = [
            (p, record)
            for p, record, _ in started
            if p.request.wait_until_ready and record.status != LifecycleStatus.READY
        ]
        running = {}
        failed = {}
        if to_wait:
            policies = self.res.policies
            deadline = max(p.deadline_at for p, _ in to_wait) - time.monotonic()
            outcome = await wait_for_statuses(
                self.res.client,
                [record.instance_id for _, record in to_wait],
                [InstanceStatus.RUNNING],
                deadline_seconds=max(deadline, 0.0),
                poll_initial_seconds=policies.poll_initial_seconds,
                poll_max_seconds=policies.poll_max_seconds,
                give_up_on=[InstanceStatus.EXITED],
            )
            running, failed = outcome.reached, outcome.failed

        async def finish(p: Provisioning, record: ManagedInstance, adopted: bool) -> None:
            if record.instance_id in failed:
                message = failed[record.instance_id].message
                raise NotReadyError(message, ReadinessPhase.WAITING_FOR_RUNNING)
            self._succeeded(await p.finish(record, adopted, running.get(record.instance_id)))

        jobs = [self._finish_job(p, record, adopted, finish) for p, record, adopted in started]
        await bounded(self.concurrency, jobs)

    def _finish_job(
        self,
        provisioning: Provisioning,
        record: ManagedInstance,
        adopted: bool,
        finish: Callable[[Provisioning, ManagedInstance, bool], Awaitable[None]],
    ) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            try:
                await finish(provisioning, record, adopted)
            except Exception as exc:  # one failure never sinks the others
                await self._failed(provisioning, exc)

        return job

    def _succeeded(self, result: ProvisionResult) -> None:
        self.items[result.name] = FleetItem(name=result.name, ok=True, result=result)
        self.logger.info("%s: %s", result.name, result.status)

    async def _failed(self, provisioning: Provisioning, exc: Exception) -> None:
        error = await provisioning.failure(exc)
        # A provisioning failure reads as a sentence; anything else needs its kind.
        text = (
            str(error)
            if isinstance(error, ProvisioningFailedError)
            else f"{type(error).__name__}: {error}"
        )
        self.items[provisioning.name] = FleetItem(name=provisioning.name, ok=False, error=text)
        self.logger.warning("%s failed: %s", provisioning.name, text)
        await self.progress.failed()
