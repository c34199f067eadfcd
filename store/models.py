"""The store's boundary: enums and pydantic models that callers read and write.

Everything the store returns is one of these models (never an ORM object), so callers can
pass results to Prefect tasks, artifacts or JSON without a database session.

Secrets never enter the store. ``ManagedInstance.request`` is the provisioning request
*without* secrets (no API key, no webhook signing secret, no registry ``imageAuth`` or
password); a request or operation detail whose keys look like a secret is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from store.clock import ensure_utc, utc_now

UtcDatetime = Annotated[AwareDatetime, AfterValidator(ensure_utc)]
"""A timezone-aware datetime, normalised to UTC; naive datetimes are refused."""


class DesiredState(StrEnum):
    """What the owner of a managed instance wants it to be."""

    RUNNING = "running"
    STOPPED = "stopped"
    DELETED = "deleted"


class LifecycleStatus(StrEnum):
    """Our lifecycle status of a managed instance (not Novita's raw status)."""

    CREATING = "creating"
    STARTING = "starting"
    RUNNING = "running"
    HEALTH_CHECKING = "health_checking"
    READY = "ready"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"
    EXITED = "exited"
    MIGRATING = "migrating"
    DELETED = "deleted"


class OperationKind(StrEnum):
    """What an entry of the operation history was about."""

    PROVISION = "provision"
    START = "start"
    STOP = "stop"
    DELETE = "delete"
    MARK_USED = "mark_used"
    AUTO_STOP = "auto_stop"
    MIGRATION = "migration"
    SYNC = "sync"


class OperationOutcome(StrEnum):
    """How an operation ended (or that it has started)."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# Keys that hold a secret, compared without case, "_" or "-". Values are never echoed.
_SECRET_KEYS = frozenset(
    {
        "apikey",
        "novitaapikey",
        "authorization",
        "password",
        "registrypassword",
        "secret",
        "webhooksecret",
        "signingsecret",
        "imageauth",
        "token",
        "accesstoken",
    }
)


def _refuse_secrets(value: Any, path: str = "") -> None:
    """Raise ValueError when a nested mapping holds a key that names a secret."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower().replace("_", "").replace("-", "") in _SECRET_KEYS:
                raise ValueError(f"the store never keeps secrets; remove field {where!r}")
            _refuse_secrets(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{path}[{index}]")


class ManagedInstance(BaseModel):
    """A Novita instance this project manages, as the store keeps it.

    ``instance_id`` is the current Novita id; after a recreate-migration the record moves to
    the new id (see ``StateStore.replace_instance_id``) and the old ids are listed in
    ``previous_instance_ids``. ``name`` is unique among instances whose status is not
    ``deleted``.

    Example:
        >>> inst = ManagedInstance(instance_id="0123456789abcdef", name="trainer-1",
        ...                        request={"product_name": "RTX 4090 24GB", "gpu_num": 1})
        >>> inst.desired_state, inst.status
        (<DesiredState.RUNNING: 'running'>, <LifecycleStatus.CREATING: 'creating'>)

    """

    # hide_input_in_errors: a refused value (maybe a secret) must not reach an error message.
    model_config = ConfigDict(
        from_attributes=True,
        extra="forbid",
        validate_assignment=True,
        hide_input_in_errors=True,
    )

    instance_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    request: dict[str, Any] = Field(
        default_factory=dict,
        description="The provisioning request WITHOUT secrets (product_name, template_id, "
        "gpu_num, rootfs_size, billing_mode, regions...).",
    )
    cluster_id: str | None = None
    region: str | None = Field(default=None, description="Cluster name, e.g. 'AS-SGP-02'.")
    product_id: str | None = None
    product_name: str | None = None
    billing_mode: str | None = None
    price_per_hour: Decimal | None = Field(default=None, description="USD per hour.")
    desired_state: DesiredState = DesiredState.RUNNING
    status: LifecycleStatus = LifecycleStatus.CREATING
    status_reason: str | None = None
    webhook_url: str | None = None
    auto_stop_minutes: int | None = Field(
        default=None, ge=0, description="None: the default policy; 0: never auto-stop."
    )
    created_at: UtcDatetime = Field(default_factory=utc_now)
    ready_at: UtcDatetime | None = None
    last_used_at: UtcDatetime | None = None
    stopped_at: UtcDatetime | None = None
    updated_at: UtcDatetime = Field(default_factory=utc_now)
    migration_attempts: int = Field(default=0, ge=0)
    last_migration_at: UtcDatetime | None = None
    previous_instance_ids: list[str] = Field(default_factory=list)

    @field_validator("request")
    @classmethod
    def _request_without_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        _refuse_secrets(value)
        return value


class Operation(BaseModel):
    """One entry of the operation history.

    ``instance_id`` is the Novita id at the time of the operation; operations stay attached
    to the managed record when it moves to a new id.

    Example:
        >>> op = Operation(id=1, instance_id="0123456789abcdef", name="trainer-1",
        ...                kind="stop", outcome="succeeded", flow_run_id=None, detail=None,
        ...                at=utc_now())
        >>> op.kind
        <OperationKind.STOP: 'stop'>

    """

    model_config = ConfigDict(from_attributes=True, hide_input_in_errors=True)

    id: int
    instance_id: str
    name: str | None
    kind: OperationKind
    outcome: OperationOutcome
    flow_run_id: str | None
    detail: dict[str, Any] | None
    at: UtcDatetime

    @field_validator("detail")
    @classmethod
    def _detail_without_secrets(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        _refuse_secrets(value)
        return value


class WebhookDelivery(BaseModel):
    """A webhook delivery, kept until delivered so a failed one can be sent again.

    ``payload`` is the exact JSON body as text: re-sending it byte for byte keeps the
    signature valid, and ``delivery_id`` is the stable ``X-Webhook-Delivery`` header.

    Example:
        >>> d = WebhookDelivery(delivery_id="d-1", instance_id="0123456789abcdef",
        ...                     event="instance.ready", url="https://hooks.example/x",
        ...                     payload='{"event":"instance.ready"}', status="pending",
        ...                     attempts=0, last_status_code=None, last_error=None,
        ...                     created_at=utc_now(), updated_at=utc_now(),
        ...                     next_attempt_at=None)
        >>> d.status
        <DeliveryStatus.PENDING: 'pending'>

    """

    model_config = ConfigDict(from_attributes=True, hide_input_in_errors=True)

    delivery_id: str
    instance_id: str
    event: str
    url: str
    payload: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    next_attempt_at: UtcDatetime | None


class NameClaim(BaseModel):
    """Who holds a name while it provisions under it, and until when.

    Example:
        >>> claim = NameClaim(name="trainer-1", holder="run-1", claimed_at=utc_now(),
        ...                   expires_at=utc_now())
        >>> claim.holder
        'run-1'

    """

    model_config = ConfigDict(from_attributes=True)

    name: str
    holder: str
    claimed_at: UtcDatetime
    expires_at: UtcDatetime
