"""State of the managed Novita instances: SQLAlchemy 2 (async), SQLite or PostgreSQL.

The store keeps managed instances (desired state, lifecycle status, timestamps, migration
counters), the operation history with Prefect flow run ids, and webhook deliveries. It never
imports Prefect nor the rest of the project, and it never stores secrets.

Example:
    >>> from store import StateStore
    >>> async def main() -> None:
    ...     async with StateStore() as store:  # NOVITA_STATE_URL or data/novita-state.db
    ...         ready = await store.list_instances(statuses={"ready"})

"""

from store.clock import ensure_utc, utc_now
from store.errors import (
    DeliveryNotFoundError,
    InstanceConflictError,
    InstanceNotFoundError,
    StoreError,
)
from store.instances import InstanceRepository
from store.journal import InstanceStep, OperationEntry, RecordChange, StepOutcome
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
from store.operations import OperationRepository
from store.schema import head_revision, upgrade_to_head
from store.settings import resolve_state_url
from store.state_store import StateStore, StoreTransaction
from store.webhook_deliveries import DeliveryRepository

__all__ = [
    "DeliveryNotFoundError",
    "DeliveryRepository",
    "DeliveryStatus",
    "DesiredState",
    "InstanceConflictError",
    "InstanceNotFoundError",
    "InstanceRepository",
    "InstanceStep",
    "LifecycleStatus",
    "ManagedInstance",
    "NameClaim",
    "Operation",
    "OperationEntry",
    "OperationKind",
    "OperationOutcome",
    "OperationRepository",
    "RecordChange",
    "StateStore",
    "StepOutcome",
    "StoreError",
    "StoreTransaction",
    "WebhookDelivery",
    "ensure_utc",
    "head_revision",
    "resolve_state_url",
    "upgrade_to_head",
    "utc_now",
]
