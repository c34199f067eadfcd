"""Bring back one reclaimed instance: migrate it, else recreate it elsewhere, else report failure.

re-check (Novita still reports it exited, our record still wants it running) → claim
(atomic `→ migrating`, counting the attempt) → `POST /gpu/instance/migrate` → wait until it
runs (one wait task) → health-check → ready → `instance.migrated` (method "migrate"). When the
migrate is refused (e.g. `MIGRATE_INSUFFICIENT_RESOURCE`) or its job fails, the instance is
recreated through provisioning's steps, the reclaiming region tried last; once the new one is
ready the old one is deleted and `instance.migrated` carries both ids (method "recreate").
When every way fails: status `failed` with the reason, `instance.migration_failed`, and the
humans are told. How attempts are retried is in `flows/sweeps/migration/rules.py`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Literal, NoReturn

from pydantic import BaseModel

from clients.novita import NovitaError
from clients.webhook_payload import WebhookEvent
from flows.common.notifications import notify_humans
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.lookup import read_live
from flows.instances.view import (
    connection_details,
    live_event_data,
    port_views,
    record_event_data,
)
from flows.provisioning.creation import ProvisioningFailedError
from flows.provisioning.readiness import (
    NotReadyError,
    ReadinessPhase,
    ReadyInstance,
    bring_to_ready,
    quietly,
)
from flows.provisioning.request import RecreateImpossibleError
from flows.provisioning.rules.region_order import UnknownRegionError
from flows.sweeps.migration.recreate import Recreation
from flows.sweeps.migration.rules import CLAIMABLE, MigrationCandidate, recheck_reclaimed
from flows.sweeps.migration.wait import MigrateJobFailedError, wait_for_migration
from flows.sweeps.outcomes import InstanceSkippedError
from store import (
    InstanceConflictError,
    LifecycleStatus,
    ManagedInstance,
    OperationKind,
    OperationOutcome,
)
from tasks.novita_actions import ActionOutcome, delete_instance, migrate_instance

Method = Literal["migrate", "recreate"]


class MigrationOutcome(BaseModel):
    """A reclaimed instance that serves again.

    Example:
        >>> MigrationOutcome(instance_id="0123456789abcdef", name="a", method="migrate",
        ...                  new_instance_id="0123456789abcdef").method
        'migrate'

    """

    instance_id: str
    name: str
    method: Method
    new_instance_id: str
    region: str | None = None
    ready_at: datetime | None = None
    old_instance_deleted: bool | None = None


class MigrationFailedError(RuntimeError):
    """Every way to bring the instance back failed; the message says what happened."""


class _MigrateDidNotWorkError(RuntimeError):
    """The migrate itself was refused or did not bring the instance back: try a recreate."""


class Migration:
    """The steps of bringing back one reclaimed instance, sharing the run's resources.

    Example:
        ```python
        outcome = await Migration(res, candidate).run()
        ```

    """

    def __init__(self, res: FlowResources, candidate: MigrationCandidate) -> None:
        self.res = res
        self.candidate = candidate
        self.instance_id = candidate.instance_id
        self.label = f"{candidate.name!r} ({candidate.instance_id})"
        self.logger = run_logger(__name__)
        self.record: ManagedInstance | None = None
        self.attempt = candidate.attempts + 1
        minutes = res.policies.readiness_deadline_minutes
        self.started_at = time.monotonic()
        self.deadline_at = self.started_at + minutes * 60
        self.journal = res.journal.operation(
            OperationKind.MIGRATION, self.instance_id, name=candidate.name
        )

    @property
    def current_id(self) -> str:
        """The Novita id the record is on now (the new one after a recreate)."""
        return self.journal.instance_id

    async def run(self) -> MigrationOutcome:
        """Re-check, claim, migrate; recreate when the migrate fails.

        Raises:
            InstanceSkippedError: the re-read shows it must be left alone (nothing was done).
            MigrationFailedError: every way failed (recorded, webhook and humans told).

        """
        record = await self.recheck()
        await self.claim(record)
        try:
            return await self.migrate()
        except _MigrateDidNotWorkError as exc:
            self.logger.warning("Migrate of %s failed (%s): recreating it", self.label, exc)
            return await self.recreate(str(exc))

    # -- re-check and claim ---------------------------------------------------------------

    async def recheck(self) -> ManagedInstance:
        """Read Novita's live status and our record again right before acting."""
        live = await read_live(self.res, self.instance_id)
        record = await self.res.store.get_instance(self.instance_id)
        why = recheck_reclaimed(record, live)
        if why is not None or record is None:
            raise InstanceSkippedError(why or "no longer managed")
        return record

    async def claim(self, record: ManagedInstance) -> None:
        """Move our status to `migrating` atomically and count the attempt, in one step."""
        self.attempt = record.migration_attempts + 1
        claim = await self.journal.claim(
            record,
            allowed=CLAIMABLE,
            status=LifecycleStatus.MIGRATING,
            reason=f"reclaimed ({self.candidate.reclaimed_because}): migrating",
            migration_attempts="count",
            detail={
                "method": "migrate",
                "attempt": self.attempt,
                "reclaimed_because": self.candidate.reclaimed_because,
                "region": self.candidate.region,
            },
        )
        if not claim.won:
            raise InstanceSkippedError(claim.why or "our status changed meanwhile")
        self.record = claim.outcome.record if claim.outcome else record

    # -- migrate --------------------------------------------------------------------------

    async def migrate(self) -> MigrationOutcome:
        """`POST /gpu/instance/migrate`, wait until it runs, health-check, ready."""
        try:
            await migrate_instance(self.res.client, self.instance_id)
        except NovitaError as exc:
            raise _MigrateDidNotWorkError(f"migrate refused: {exc}") from exc
        self.logger.info("Novita accepted the migrate of %s: waiting for it to run", self.label)
        try:
            running = await wait_for_migration(self.res, self.instance_id, self.deadline_at)
        except (MigrateJobFailedError, NovitaError) as exc:
            raise _MigrateDidNotWorkError(str(exc)) from exc
        try:
            ready = await bring_to_ready(
                self.res, self.instance_id, self.deadline_at, quietly, running=running
            )
        except NotReadyError as exc:
            if exc.phase == ReadinessPhase.WAITING_FOR_RUNNING:
                raise _MigrateDidNotWorkError(str(exc)) from exc
            await self.fail(
                f"{self.label} runs again after the migrate but is not healthy: {exc}",
                f"NOT_READY_{exc.phase.upper()}",
                "migrate",
            )
        except NovitaError as exc:
            await self.fail(f"{self.label}: {exc}", exc.reason or type(exc).__name__, "migrate")
        region = ready.instance.cluster_name or self.candidate.region
        return await self.succeed("migrate", ready, region, old_deleted=None)

    # -- recreate -------------------------------------------------------------------------

    async def recreate(self, migrate_error: str) -> MigrationOutcome:
        """Provision a replacement (reclaiming region last), then delete the old instance."""
        record = self.record or await self.res.store.get_instance(self.instance_id)
        assert record is not None  # claimed above
        avoid = self.candidate.cluster_id or self.candidate.region
        recreation = Recreation(self.res, self.journal, record, avoid)
        try:
            _, ready = await recreation.run_to_ready(self.deadline_at)
        except (
            RecreateImpossibleError,
            ProvisioningFailedError,
            UnknownRegionError,
            NotReadyError,
            InstanceConflictError,
            NovitaError,
        ) as exc:
            created = recreation.instance_id
            kept = (
                f"; the old instance {self.instance_id} is kept"
                if created and created != self.instance_id
                else ""
            )
            await self.fail(
                f"migrate failed ({migrate_error}); recreate failed: {exc}{kept}",
                "RECREATE_FAILED",
                "recreate",
            )
        old_deleted = await self.delete_old()
        return await self.succeed("recreate", ready, recreation.region, old_deleted=old_deleted)

    async def delete_old(self) -> bool:
        """Delete the replaced instance; gone already counts as deleted."""
        try:
            result = await delete_instance(self.res.client, self.instance_id)
        except NovitaError as exc:  # the new one serves: a leftover is reported, not fatal
            self.logger.warning("The old instance %s was not deleted: %s", self.instance_id, exc)
            return False
        if result.outcome != ActionOutcome.ALREADY_GONE:
            self.logger.info("Deleted the old instance %s", self.instance_id)
        return True

    # -- outcomes -------------------------------------------------------------------------

    async def succeed(
        self, method: Method, ready: ReadyInstance, region: str | None, old_deleted: bool | None
    ) -> MigrationOutcome:
        """Record success, reset the attempt counter, tell the owner and the humans."""
        new_id = self.current_id
        migration: dict[str, Any] = {"from": self.instance_id, "to": new_id, "method": method}
        if region:
            migration["region"] = region
        detail: dict[str, Any] = migration | {"attempt": self.attempt}
        if old_deleted is not None:
            detail["old_instance_deleted"] = old_deleted
        done = await self.journal.record(
            OperationOutcome.SUCCEEDED, detail, migration_attempts="reset"
        )
        record = done.record
        instance = ready.instance
        data = self._event_data(record) | {
            "migration": migration,
            "portMappings": [p.model_dump() for p in port_views(instance)],
            "connectionDetails": connection_details(instance),
            "healthCheck": ready.health.model_dump(mode="json"),
        }
        url = record.webhook_url if record else None
        await self.res.webhooks.notify(
            url, WebhookEvent.MIGRATED, "ready", new_id, data, top_level=self._seed_migration()
        )
        verb = "migrated" if method == "migrate" else "recreated"
        how = verb if method == "migrate" else f"recreated as {new_id} in {region}"
        await notify_humans(
            self.res.policies,
            f"Novita: {self.candidate.name} {verb} after a spot reclaim",
            f"{self.label} was reclaimed ({self.candidate.reclaimed_because}) and {how}; "
            "it is ready again.",
        )
        self.logger.info("%s is ready again (%s)", self.label, how)
        return MigrationOutcome(
            instance_id=self.instance_id,
            name=self.candidate.name,
            method=method,
            new_instance_id=new_id,
            region=region,
            ready_at=record.ready_at if record else None,
            old_instance_deleted=old_deleted,
        )

    async def fail(self, message: str, code: str, method: Method) -> NoReturn:
        """Record `failed` with the reason, tell the owner and the humans, raise."""
        self.logger.error("Migration of %s failed: %s", self.label, message)
        done = await self.journal.record(
            OperationOutcome.FAILED,
            {"error": message, "code": code, "method": method, "attempt": self.attempt},
            status=LifecycleStatus.FAILED,
            reason=message,
        )
        record = done.record
        data = self._event_data(record) | {
            "error": {"code": code, "message": message},
            "migration": {
                "from": self.instance_id,
                "to": self.current_id if self.current_id != self.instance_id else None,
                "method": method,
                "attempt": self.attempt,
            },
        }
        await self.res.webhooks.notify(
            record.webhook_url if record else None,
            WebhookEvent.MIGRATION_FAILED,
            "failed",
            self.current_id,
            data,
        )
        await notify_humans(
            self.res.policies,
            f"Novita: migration of {self.candidate.name} failed",
            f"{self.label} was reclaimed and could not be brought back "
            f"(attempt {self.attempt}): {message}",
        )
        raise MigrationFailedError(message)

    def _seed_migration(self) -> dict[str, Any]:
        """`originalInstanceId` and `migration` as the seed system's `instance.migrated` has them.

        Only spot reclaims are migrated, by the sweep itself; `migrationTime` is this
        migration's duration in milliseconds, from its start until ready again.
        """
        elapsed_ms = round((time.monotonic() - self.started_at) * 1000)
        return {
            "originalInstanceId": self.instance_id,
            "migration": {
                "reason": "spot_reclaim",
                "triggeredBy": "automatic_migration",
                "migrationTime": elapsed_ms,
            },
        }

    def _event_data(self, record: ManagedInstance | None) -> dict[str, Any]:
        if record is not None:
            return record_event_data(record)
        return live_event_data(self.candidate.name, None)
