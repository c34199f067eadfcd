"""Delete an instance for good: delete call, wait until Novita has removed it, record, tell.

Deleting what is already gone is success, not an error: a 404 / not-found answer (to the
call or to the polls), an instance already being removed, or a record already `deleted`.
Delete is allowed from any status (it is the way out of a stuck start); the start flow
never overwrites a `deleted` record.
"""

from __future__ import annotations

import time
from typing import NoReturn

from pydantic import BaseModel, Field

from clients.novita import Instance, InstanceStatus, NovitaError
from clients.webhook_payload import WebhookEvent
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.errors import DeleteFailedError
from flows.instances.lookup import InstanceTarget
from store import DesiredState, LifecycleStatus, OperationKind, OperationOutcome
from store.statuses import NOVITA_GONE
from tasks.novita_actions import ActionOutcome, delete_instance
from tasks.wait_for_status import InstanceWaitError, wait_for_status


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
        self.logger = run_logger(__name__)
        self.journal = res.journal.operation(
            OperationKind.DELETE,
            self.instance_id,
            name=target.name,
            managed=target.managed,
            detail={"managed": target.managed},
        )

    async def run(self) -> DeleteResult:
        """Delete (unless already gone), wait until removed, mark deleted, tell the owner."""
        live = self.target.live
        gone_at_novita = live is None or live.status == InstanceStatus.REMOVED
        if self.record is not None and self.record.status == LifecycleStatus.DELETED:
            if gone_at_novita:
                message = f"{self.target.label} was already deleted; nothing to do"
                self.logger.info(message)
                await self.journal.record(OperationOutcome.SKIPPED, {"already_gone": True})
                return self._result(True, message)
        await self.journal.record(OperationOutcome.STARTED, {"novita_status": _status_of(live)})
        already_gone = gone_at_novita
        if live is None:
            self.logger.info("Novita no longer knows %s: already gone", self.target.label)
        elif live.status in NOVITA_GONE:
            self.logger.info(
                "Novita is already removing %s (%s): waiting only", self.target.label, live.status
            )
        else:
            already_gone = await self.request_delete()
        await self.journal.record(None, desired=DesiredState.DELETED)
        if not already_gone:
            await self.wait_until_removed()
        return await self.finish(already_gone)

    async def request_delete(self) -> bool:
        """Call delete; True when Novita says the instance does not exist (already gone)."""
        try:
            result = await delete_instance(self.res.client, self.instance_id)
        except NovitaError as exc:
            await self._fail(f"Novita refused to delete {self.target.label}: {exc}", exc)
        if result.outcome == ActionOutcome.ALREADY_GONE:
            self.logger.info("Delete of %s: not found, already gone", self.target.label)
            return True
        self.logger.info("Novita accepted the delete of %s", self.target.label)
        return False

    async def wait_until_removed(self) -> None:
        """Wait (one task run) until Novita reports `removed` or answers not-found."""
        policies = self.res.policies
        try:
            await wait_for_status(
                self.res.client,
                self.instance_id,
                [InstanceStatus.REMOVED],
                deadline_seconds=max(self.deadline_at - time.monotonic(), 0.0),
                poll_initial_seconds=policies.poll_initial_seconds,
                poll_max_seconds=policies.poll_max_seconds,
                missing_is_removed=True,
            )
        except InstanceWaitError as exc:
            message = (
                f"{self.target.label} was not removed in time "
                f"(Novita still reports {exc.last_status})"
            )
            await self._fail(message, exc)
        except NovitaError as exc:
            await self._fail(f"Lost track of the removal of {self.target.label}: {exc}", exc)
        self.logger.info("Novita has removed %s", self.target.label)

    async def finish(self, already_gone: bool) -> DeleteResult:
        """Mark the record deleted, record the history and send `instance.deleted`."""
        await self.journal.record(
            OperationOutcome.SUCCEEDED,
            {"already_gone": already_gone},
            status=LifecycleStatus.DELETED,
        )
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

    async def _fail(self, message: str, exc: Exception) -> NoReturn:
        self.logger.error(message)
        # Keep the status; the reason says what is wrong (fleet-sync may finish the job).
        current = (
            await self.res.store.get_instance(self.instance_id) if self.target.managed else None
        )
        await self.journal.record(
            OperationOutcome.FAILED,
            {"error": message},
            expect={current.status} if current else None,
            status=current.status if current else None,
            reason=message,
            otherwise=OperationOutcome.FAILED,
        )
        raise DeleteFailedError(message) from exc

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
