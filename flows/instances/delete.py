"""Delete an instance for good: delete call, wait until Novita has removed it, record, tell.

Deleting what is already gone is success, not an error: a 404 / not-found answer (to the
call or to the polls), an instance already being removed, or a record already `deleted`.
Delete is allowed from any status (it is the way out of a stuck start); the start flow
never overwrites a `deleted` record.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prefect import get_run_logger
from pydantic import BaseModel, Field

from clients.novita import Instance, InstanceStatus, NovitaError, NovitaNotFoundError
from clients.webhook_payload import WebhookEvent
from flows.flow_resources import FlowResources
from flows.instance_adoption import GONE_STATUSES
from flows.instance_lookup import InstanceTarget, read_live
from flows.lifecycle_errors import DeleteFailedError
from store import DesiredState, LifecycleStatus, OperationKind, OperationOutcome
from tasks.novita_actions import delete_instance


class DeleteResult(BaseModel):
    """What `delete-instance` returns."""

    instance_id: str
    name: str | None = None
    managed: bool = Field(description="False: Novita knew the instance, the store did not")
    status: str = Field(description="deleted")
    already_gone: bool = Field(
        description="True: Novita had already removed it (or it was deleted before)"
    )
    message: str


class Deletion:
    """The steps of one delete, sharing the run's resources and the target instance."""

    def __init__(self, res: FlowResources, target: InstanceTarget, deadline_minutes: float) -> None:
        self.res = res
        self.target = target
        self.instance_id = target.instance_id
        self.record = target.record
        self.deadline_at = time.monotonic() + deadline_minutes * 60
        self.logger = get_run_logger()

    async def run(self) -> DeleteResult:
        """Delete (unless already gone), wait until removed, mark deleted, tell the owner."""
        live = self.target.live
        gone_at_novita = live is None or live.status == InstanceStatus.REMOVED
        if self.record is not None and self.record.status == LifecycleStatus.DELETED:
            if gone_at_novita:
                message = f"{self.target.label} was already deleted; nothing to do"
                self.logger.info(message)
                await self._record(OperationOutcome.SKIPPED, {"already_gone": True})
                return self._result(True, message)
        await self._record(OperationOutcome.STARTED, {"novita_status": _status_of(live)})
        already_gone = gone_at_novita
        if live is None:
            self.logger.info("Novita no longer knows %s: already gone", self.target.label)
        elif live.status in GONE_STATUSES:
            self.logger.info(
                "Novita is already removing %s (%s): waiting only", self.target.label, live.status
            )
        else:
            already_gone = await self.request_delete()
        if self.target.managed:
            await self.res.store.set_desired_state(self.instance_id, DesiredState.DELETED)
        if not already_gone:
            await self.wait_until_removed()
        return await self.finish(already_gone)

    async def request_delete(self) -> bool:
        """Call delete; True when Novita says the instance does not exist (already gone)."""
        try:
            await delete_instance(self.res.client, self.instance_id)
        except NovitaNotFoundError:
            self.logger.info("Delete of %s: not found, already gone", self.target.label)
            return True
        except NovitaError as exc:
            message = f"Novita refused to delete {self.target.label}: {exc}"
            await self._fail(message)
            raise DeleteFailedError(message) from exc
        self.logger.info("Novita accepted the delete of %s", self.target.label)
        return False

    async def wait_until_removed(self) -> None:
        """Poll until Novita reports `removed` or answers not-found, within the deadline."""
        policies = self.res.policies
        wait = policies.poll_initial_seconds
        last: str | None = None
        while True:
            try:
                live = await read_live(self.res, self.instance_id)
            except NovitaError as exc:
                message = f"Lost track of the removal of {self.target.label}: {exc}"
                await self._fail(message)
                raise DeleteFailedError(message) from exc
            if live is None or live.status == InstanceStatus.REMOVED:
                self.logger.info("Novita has removed %s", self.target.label)
                return
            if live.status_raw != last:
                last = live.status_raw
                self.logger.info("%s is %s", self.target.label, last)
            remaining = self.deadline_at - time.monotonic()
            if remaining <= 0:
                message = (
                    f"{self.target.label} was not removed in time (Novita still reports {last})"
                )
                await self._fail(message)
                raise DeleteFailedError(message)
            await asyncio.sleep(min(wait, remaining))
            wait = min(wait * 2, policies.poll_max_seconds)

    async def finish(self, already_gone: bool) -> DeleteResult:
        """Mark the record deleted, record the history and send `instance.deleted`."""
        if self.target.managed:
            await self.res.store.set_status(self.instance_id, LifecycleStatus.DELETED)
        await self._record(OperationOutcome.SUCCEEDED, {"already_gone": already_gone})
        await self.res.webhooks.notify(
            self.target.webhook_url,
            WebhookEvent.DELETED,
            "deleted",
            self.instance_id,
            self.target.event_data() | {"alreadyGone": already_gone},
        )
        message = f"{self.target.label} deleted" + (
            " (it was already gone)" if already_gone else ""
        )
        self.logger.info(message)
        return self._result(already_gone, message)

    async def _fail(self, message: str) -> None:
        self.logger.error(message)
        if self.target.managed:
            # Keep the status; the reason says what is wrong (fleet-sync may finish the job).
            current = await self.res.store.get_instance(self.instance_id)
            if current is not None:
                await self.res.store.transition_status(
                    self.instance_id, {current.status}, current.status, reason=message
                )
        await self._record(OperationOutcome.FAILED, {"error": message})

    async def _record(self, outcome: OperationOutcome, detail: dict[str, Any]) -> None:
        await self.res.store.record_operation(
            self.instance_id,
            OperationKind.DELETE,
            outcome,
            flow_run_id=self.res.flow_run_id,
            detail=detail | {"managed": self.target.managed},
            name=self.target.name,
        )

    def _result(self, already_gone: bool, message: str) -> DeleteResult:
        return DeleteResult(
            instance_id=self.instance_id,
            name=self.target.name,
            managed=self.target.managed,
            status="deleted",
            already_gone=already_gone,
            message=message,
        )


def _status_of(live: Instance | None) -> str | None:
    return live.status_raw if live is not None else None
