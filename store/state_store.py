"""The ``StateStore`` facade: one object that opens the database and does every store call.

Each public method is one transaction of its own. For several writes that must land
together (say, a status change and its operation record), use ``store.transaction()``,
which hands out the three repositories bound to one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.clock import utc_now
from store.engine import create_engine, session_factories
from store.instances import InstanceRepository
from store.journal import InstanceStep, StepOutcome, write_step
from store.models import (
    DeliveryStatus,
    DesiredState,
    LifecycleStatus,
    ManagedInstance,
    NameClaim,
    Operation,
    OperationKind,
    OperationOutcome,
    WebhookDelivery,
)
from store.name_claims import NameClaimRepository
from store.operations import OperationRepository
from store.schema import upgrade_to_head
from store.settings import describe_url, resolve_state_url
from store.webhook_deliveries import DeliveryRepository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreTransaction:
    """The repositories of one open transaction (see ``StateStore.transaction``)."""

    session: AsyncSession
    instances: InstanceRepository
    operations: OperationRepository
    deliveries: DeliveryRepository


class StateStore:
    """State of managed instances, operation history and webhook deliveries.

    The schema is created or upgraded (alembic, to head) on first use. Nothing secret is
    ever stored: callers pass requests and details without API keys, signing secrets or
    registry passwords (the models refuse keys that name one).

    Args:
        url: SQLAlchemy URL; default ``NOVITA_STATE_URL``, else the SQLite file
            ``data/novita-state.db`` of the project (``NOVITA_DATA_DIR`` moves it).
        echo: Log every SQL statement.

    Example:
        >>> async def main() -> None:
        ...     async with StateStore() as store:
        ...         await store.upsert_instance(instance_id="0123456789abcdef", name="trainer-1",
        ...                                     request={"product_name": "RTX 4090 24GB"})
        ...         if await store.transition_status("0123456789abcdef", {"stopped"}, "starting"):
        ...             ...
        ...     store = await StateStore.open("postgresql+asyncpg://user@db/state")
        ...     await store.close()

    """

    def __init__(self, url: str | URL | None = None, *, echo: bool = False) -> None:
        self.url: URL = resolve_state_url(url)
        self._echo = echo
        self._engine: AsyncEngine | None = None
        # (read sessions, write sessions), set once the schema is at head.
        self._sessions: (
            tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]] | None
        ) = None
        self._ready_lock = asyncio.Lock()

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    async def open(cls, url: str | URL | None = None, *, echo: bool = False) -> Self:
        """Create a store and bring its schema to head now (rather than on first use).

        Example:
            >>> async def main() -> None:
            ...     store = await StateStore.open()
            ...     try:
            ...         print(len(await store.list_instances()))
            ...     finally:
            ...         await store.close()

        """
        store = cls(url, echo=echo)
        await store._ensure_ready()
        return store

    async def __aenter__(self) -> Self:
        await self._ensure_ready()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the connections; the store may be used again (it reconnects)."""
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The engine, once the store is open (for tests and maintenance)."""
        if self._engine is None:
            raise RuntimeError("the store is not open; await store.open() or use async with")
        return self._engine

    async def _ensure_ready(
        self,
    ) -> tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]]:
        """Create the engine and upgrade the schema once, on first use."""
        if self._sessions is None:
            async with self._ready_lock:
                if self._sessions is None:
                    engine = create_engine(self.url, echo=self._echo)
                    try:
                        await upgrade_to_head(engine)
                    except BaseException:
                        await engine.dispose()
                        raise
                    self._engine = engine
                    self._sessions = session_factories(engine)
                    logger.debug("state store ready at %s", describe_url(self.url))
        return self._sessions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        """Open one write transaction for several steps; it commits when the block ends.

        Example:
            >>> async def stop(store: StateStore) -> None:
            ...     async with store.transaction() as tx:
            ...         await tx.instances.set_desired_state("0123456789abcdef", "stopped")
            ...         await tx.operations.record("0123456789abcdef", "stop", "started")

        """
        _, writes = await self._ensure_ready()
        async with writes.begin() as session:
            yield StoreTransaction(
                session=session,
                instances=InstanceRepository(session),
                operations=OperationRepository(session),
                deliveries=DeliveryRepository(session),
            )

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        reads, _ = await self._ensure_ready()
        async with reads.begin() as session:
            yield session

    # ----------------------------------------------------------------- instances

    async def upsert_instance(
        self, instance: ManagedInstance | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> ManagedInstance:
        """Insert a managed instance or update the given fields of an existing one.

        Only fields the caller set are written (keywords, a mapping's keys, or a model's
        explicitly set fields). ``request`` must not hold secrets.

        Raises:
            InstanceConflictError: ``name`` is taken by another live instance.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.upsert_instance(instance_id="0123456789abcdef", name="a",
            ...                                 region="AS-SGP-02", status="creating")

        """
        async with self.transaction() as tx:
            return await tx.instances.upsert(instance, **fields)

    async def get_instance(self, instance_id: str) -> ManagedInstance | None:
        """Return the managed instance with this current Novita id, or None.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     inst = await store.get_instance("0123456789abcdef")

        """
        async with self._read() as session:
            return await InstanceRepository(session).get(instance_id)

    async def get_instance_by_name(
        self, name: str, *, include_deleted: bool = False
    ) -> ManagedInstance | None:
        """Return the live instance with this name (or the latest deleted one, if asked).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     inst = await store.get_instance_by_name("trainer-1")

        """
        async with self._read() as session:
            return await InstanceRepository(session).get_by_name(
                name, include_deleted=include_deleted
            )

    async def list_instances(
        self,
        desired_state: DesiredState | str | Iterable[DesiredState | str] | None = None,
        statuses: Iterable[LifecycleStatus | str] | None = None,
        include_deleted: bool = False,
    ) -> list[ManagedInstance]:
        """Return instances matching every filter given, by name, in one indexed query.

        Deleted instances are left out unless ``include_deleted`` or ``statuses`` names them.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     idle = await store.list_instances(desired_state="running",
            ...                                       statuses={"ready", "running"})

        """
        async with self._read() as session:
            return await InstanceRepository(session).list(desired_state, statuses, include_deleted)

    async def set_status(
        self,
        instance_id: str,
        status: LifecycleStatus | str,
        reason: str | None = None,
        **timestamps: datetime | None,
    ) -> ManagedInstance:
        """Set the lifecycle status and reason (None clears it) and any timestamps given.

        Timestamps: ``created_at``, ``ready_at``, ``last_used_at``, ``stopped_at``,
        ``last_migration_at`` (aware datetimes, or None to clear).

        Raises:
            InstanceNotFoundError: No managed instance has this id.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.set_status("0123456789abcdef", "ready", ready_at=utc_now())

        """
        async with self.transaction() as tx:
            return await tx.instances.set_status(instance_id, status, reason, **timestamps)

    async def transition_status(
        self,
        instance_id: str,
        from_statuses: Iterable[LifecycleStatus | str],
        to_status: LifecycleStatus | str,
        reason: str | None = None,
        **timestamps: datetime | None,
    ) -> bool:
        """Atomically change the status only when it is one of ``from_statuses``.

        Returns True when this call changed it; of two concurrent calls only one does
        (this is how a second concurrent start is refused).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     if not await store.transition_status(
            ...             "0123456789abcdef", {"stopped", "exited"}, "starting"):
            ...         raise RuntimeError("already starting")

        """
        async with self.transaction() as tx:
            return await tx.instances.transition_status(
                instance_id, from_statuses, to_status, reason, **timestamps
            )

    async def set_desired_state(
        self, instance_id: str, desired_state: DesiredState | str
    ) -> ManagedInstance:
        """Record what the owner wants: running, stopped or deleted.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.set_desired_state("0123456789abcdef", DesiredState.STOPPED)

        """
        async with self.transaction() as tx:
            return await tx.instances.set_desired_state(instance_id, desired_state)

    async def mark_used(self, instance_id: str, at: datetime | None = None) -> ManagedInstance:
        """Record a use signal; ``last_used_at`` only moves forward (the latest wins).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.mark_used("0123456789abcdef", utc_now())

        """
        async with self.transaction() as tx:
            return await tx.instances.mark_used(instance_id, at)

    async def record_migration_attempt(
        self, instance_id: str, at: datetime | None = None
    ) -> ManagedInstance:
        """Increment ``migration_attempts`` and set ``last_migration_at`` (default now).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     inst = await store.record_migration_attempt("0123456789abcdef")

        """
        async with self.transaction() as tx:
            return await tx.instances.record_migration_attempt(instance_id, at)

    async def reset_migration_attempts(self, instance_id: str) -> ManagedInstance:
        """Set ``migration_attempts`` back to 0 (after a successful recovery).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.reset_migration_attempts("0123456789abcdef")

        """
        async with self.transaction() as tx:
            return await tx.instances.reset_migration_attempts(instance_id)

    async def replace_instance_id(self, old_id: str, new_id: str, **fields: Any) -> ManagedInstance:
        """Move a managed record to a new Novita id after a recreate; history follows.

        Keeps name, webhook and operation history, appends ``old_id`` to
        ``previous_instance_ids`` and applies ``fields`` in the same transaction.

        Raises:
            InstanceNotFoundError: ``old_id`` is not managed.
            InstanceConflictError: ``new_id`` is already managed.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.replace_instance_id("0123456789abcdef", "fedcba9876543210",
            ...                                     region="CN-HK-01", status="creating")

        """
        async with self.transaction() as tx:
            return await tx.instances.replace_instance_id(old_id, new_id, **fields)

    async def apply_step(self, step: InstanceStep) -> StepOutcome:
        """Write one step of an operation (claim, status, desired state, history) at once.

        Everything the step names lands in one transaction, or nothing does; a claim
        (``change.expect_status``) that another writer won applies nothing and appends
        ``step.otherwise`` instead of ``step.operation``. See ``store.journal``.

        Example:
            >>> from store.journal import OperationEntry, RecordChange
            >>> async def main(store: StateStore) -> None:
            ...     done = await store.apply_step(InstanceStep(
            ...         instance_id="0123456789abcdef",
            ...         change=RecordChange(expect_status={"ready"}, status="stopping"),
            ...         operation=OperationEntry(kind="stop", outcome="started")))
            ...     print(done.applied)

        """
        async with self.transaction() as tx:
            return await write_step(tx.instances, tx.operations, step)

    # ----------------------------------------------------------------- name claims

    async def claim_name(self, name: str, holder: str, lease: timedelta) -> bool:
        """Claim `name` for `holder` for `lease` (see ``store.name_claims``); False if taken.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     if await store.claim_name("trainer-1", "run-1", timedelta(minutes=15)):
            ...         await store.release_name("trainer-1", "run-1")

        """
        async with self.transaction() as tx:
            return await NameClaimRepository(tx.session).take(name, holder, lease)

    async def release_name(self, name: str, holder: str) -> None:
        """Release `holder`'s claim of `name`.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.release_name("trainer-1", "run-1")

        """
        async with self.transaction() as tx:
            await NameClaimRepository(tx.session).release(name, holder)

    async def get_name_claim(self, name: str) -> NameClaim | None:
        """The claim of `name` (lapsed or not), or None.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     claim = await store.get_name_claim("trainer-1")

        """
        async with self._read() as session:
            return await NameClaimRepository(session).get(name)

    # ----------------------------------------------------------------- operations

    async def record_operation(
        self,
        instance_id: str,
        kind: OperationKind | str,
        outcome: OperationOutcome | str,
        flow_run_id: str | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
        *,
        name: str | None = None,
    ) -> Operation:
        """Append an operation to the history (``detail`` must not hold secrets).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.record_operation("0123456789abcdef", "auto_stop", "succeeded",
            ...                                  flow_run_id="7c1e...", detail={"idle_min": 25})

        """
        async with self.transaction() as tx:
            return await tx.operations.record(
                instance_id, kind, outcome, flow_run_id, detail, at, name=name
            )

    async def list_operations(
        self,
        instance_id: str | None = None,
        kind: OperationKind | str | None = None,
        limit: int = 100,
    ) -> list[Operation]:
        """Return operations newest first; an id selects its record's whole history.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     history = await store.list_operations("0123456789abcdef", limit=20)

        """
        async with self._read() as session:
            return await OperationRepository(session).list(instance_id, kind, limit)

    # ----------------------------------------------------------------- webhook deliveries

    async def add_delivery(
        self,
        delivery_id: str,
        instance_id: str,
        event: str,
        url: str,
        payload: str | bytes,
        *,
        next_attempt_at: datetime | None = None,
        at: datetime | None = None,
    ) -> WebhookDelivery:
        """Keep a delivery (pending) before sending it; idempotent on ``delivery_id``.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.add_delivery("d-1", "0123456789abcdef", "instance.ready",
            ...                              "https://hooks.example/x", b'{"event":"..."}')

        """
        async with self.transaction() as tx:
            return await tx.deliveries.add(
                delivery_id,
                instance_id,
                event,
                url,
                payload,
                next_attempt_at=next_attempt_at,
                at=at,
            )

    async def mark_delivery_delivered(
        self, delivery_id: str, attempts: int, status_code: int | None
    ) -> WebhookDelivery:
        """Mark delivered; ``attempts`` of this round are added to the total.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.mark_delivery_delivered("d-1", attempts=2, status_code=200)

        """
        async with self.transaction() as tx:
            return await tx.deliveries.mark_delivered(delivery_id, attempts, status_code)

    async def mark_delivery_failed(
        self,
        delivery_id: str,
        attempts: int,
        error: str,
        status_code: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> WebhookDelivery:
        """Mark failed; due again at ``next_attempt_at`` (None: no automatic retry).

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     await store.mark_delivery_failed("d-1", 3, "HTTP 503", status_code=503,
            ...                                      next_attempt_at=utc_now())

        """
        async with self.transaction() as tx:
            return await tx.deliveries.mark_failed(
                delivery_id, attempts, error, status_code, next_attempt_at
            )

    async def list_due_deliveries(
        self, now: datetime | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Return pending or failed deliveries with ``next_attempt_at <= now``, oldest first.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     for delivery in await store.list_due_deliveries(utc_now()):
            ...         ...

        """
        async with self._read() as session:
            return await DeliveryRepository(session).list_due(now, limit)

    async def lease_delivery(
        self, delivery: WebhookDelivery, lease: timedelta
    ) -> WebhookDelivery | None:
        """Take a due delivery for one redelivery (for ``lease``); None if another took it.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     for due in await store.list_due_deliveries():
            ...         if (mine := await store.lease_delivery(due, timedelta(minutes=2))):
            ...             ...  # send it

        """
        if delivery.next_attempt_at is None:
            return None
        async with self.transaction() as tx:
            until = utc_now() + lease
            if not await tx.deliveries.lease(delivery.delivery_id, delivery.next_attempt_at, until):
                return None
            return delivery.model_copy(update={"next_attempt_at": until})

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """Return a delivery by id, or None.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     delivery = await store.get_delivery("d-1")

        """
        async with self._read() as session:
            return await DeliveryRepository(session).get(delivery_id)

    async def list_deliveries(
        self,
        instance_id: str | None = None,
        status: DeliveryStatus | str | Iterable[DeliveryStatus | str] | None = None,
        limit: int | None = None,
    ) -> list[WebhookDelivery]:
        """Return deliveries matching the filters, newest first.

        Example:
            >>> async def main(store: StateStore) -> None:
            ...     failed = await store.list_deliveries(status="failed")

        """
        async with self._read() as session:
            return await DeliveryRepository(session).list(instance_id, status, limit)
