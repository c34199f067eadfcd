"""The webhook vocabulary and body: which events exist and the exact JSON bytes we POST.

The body is built once, as bytes, and those bytes are both signed and sent unchanged (the
signature covers the exact bytes, so nothing may re-serialise them on the way).

Shape (compact, UTF-8, keys in this order)::

    {"event":"instance.ready","status":"ready","instanceId":"a1b2c3d4e5f60718",
     "timestamp":"2026-11-22T04:30:00.000Z","data":{...}}

Beside ``data``, a body carries at the top level what the seed system's documented payloads
show, so receivers written for it keep working (`seed_fields`): ``instance {id, name,
connectionDetails}`` on ready/running/migrated (``webTerminal`` spelled as the seed spells
it), ``error {code, message}`` on failures, and whatever the sender adds itself
(``originalInstanceId`` and ``migration {reason, triggeredBy, migrationTime}`` on
``instance.migrated``). The text is written so that a receiver which verifies the signature
over ``JSON.stringify(JSON.parse(body))`` computes the same HMAC (`clients.webhook_json`):
``45`` not ``45.0``, JavaScript's key order, JavaScript's number spelling.

Timestamps are ISO-8601 in UTC with millisecond precision and a ``Z`` suffix
(``2026-11-22T04:30:00.123Z``): one fixed format that every ISO parser reads, with enough
precision to order events emitted within the same second (``running`` then ``health_checking``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic_core import to_jsonable_python

from clients.webhook_json import to_js_json

__all__ = [
    "INSTANCE_EVENTS",
    "STARTUP_EVENTS",
    "WebhookEvent",
    "build_webhook_body",
    "format_webhook_timestamp",
    "is_startup_event",
    "seed_fields",
]


class WebhookEvent(StrEnum):
    """Every event a webhook receiver can get, valued as it appears in the body.

    Example:
        >>> WebhookEvent.READY.value
        'instance.ready'
        >>> WebhookEvent("instance.auto_stopped") is WebhookEvent.AUTO_STOPPED
        True

    """

    CREATED = "instance.created"
    RUNNING = "instance.running"
    HEALTH_CHECKING = "instance.health_checking"
    READY = "instance.ready"
    FAILED = "instance.failed"
    STARTUP_INITIATED = "instance.startup_initiated"
    STARTUP_PROGRESS = "instance.startup_progress"
    STARTUP_COMPLETED = "instance.startup_completed"
    STARTUP_FAILED = "instance.startup_failed"
    STOPPED = "instance.stopped"
    AUTO_STOPPED = "instance.auto_stopped"
    DELETED = "instance.deleted"
    MIGRATED = "instance.migrated"
    MIGRATION_FAILED = "instance.migration_failed"


STARTUP_EVENTS: frozenset[WebhookEvent] = frozenset(
    {
        WebhookEvent.STARTUP_INITIATED,
        WebhookEvent.STARTUP_PROGRESS,
        WebhookEvent.STARTUP_COMPLETED,
        WebhookEvent.STARTUP_FAILED,
    }
)
"""The events of a start operation; they get the longer retry schedule."""

INSTANCE_EVENTS: frozenset[WebhookEvent] = frozenset(
    {WebhookEvent.READY, WebhookEvent.RUNNING, WebhookEvent.MIGRATED}
)
"""The events whose body carries the seed system's top-level ``instance`` block."""

_CORE_KEYS = ("event", "status", "instanceId", "timestamp", "data")
_SEED_CONNECTION_KEYS = {"web_terminal": "webTerminal"}
"""Our connection-detail keys the seed system spells differently."""


def is_startup_event(event: WebhookEvent | str) -> bool:
    """Tell whether ``event`` is one of the four ``instance.startup_*`` events.

    Args:
        event: A ``WebhookEvent`` or its string value. Unknown strings are not startup events.

    Returns:
        True for startup events.

    Example:
        >>> is_startup_event("instance.startup_progress"), is_startup_event(WebhookEvent.READY)
        (True, False)

    """
    try:
        return WebhookEvent(event) in STARTUP_EVENTS
    except ValueError:
        return False


def format_webhook_timestamp(moment: datetime) -> str:
    """Format a datetime the way webhook bodies carry time: UTC, milliseconds, ``Z``.

    Args:
        moment: An aware datetime (converted to UTC) or a naive one (taken as UTC already).

    Returns:
        A string such as ``2026-11-22T04:30:00.000Z``.

    Example:
        >>> format_webhook_timestamp(datetime(2026, 11, 22, 4, 30, tzinfo=UTC))
        '2026-11-22T04:30:00.000Z'

    """
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json_default(value: Any) -> Any:
    """Turn what ``json`` cannot encode into plain JSON values.

    Datetimes get the body's own timestamp format so every time in a payload reads alike.
    Decimals become strings: they usually are money, and a string keeps them exact (the same
    choice pydantic makes, and Novita's own ``spotPrice`` is a string). Everything else
    (pydantic models, UUIDs, enums, sets, paths, timedeltas...) follows pydantic's rules.
    """
    if isinstance(value, datetime):
        return format_webhook_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return to_jsonable_python(value)


def seed_fields(
    event: WebhookEvent | str, instance_id: str | None, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The top-level fields the seed system's payloads carry, derived from ``data``.

    ``instance {id, name, connectionDetails}`` on ready, running and migrated when ``data``
    has connection details (``web_terminal`` becomes ``webTerminal``); ``error {code,
    message}`` whenever ``data`` reports an error.

    Example:
        >>> seed_fields("instance.ready", "a1", {"name": "t", "connectionDetails": {
        ...     "ssh": "ssh root@h", "web_terminal": "https://h/t"}})["instance"]
        {'id': 'a1', 'name': 't', 'connectionDetails': {'ssh': 'ssh root@h', 'webTerminal': 'https://h/t'}}
        >>> seed_fields("instance.failed", None, {"error": {"code": "X", "message": "m"}})
        {'error': {'code': 'X', 'message': 'm'}}

    """
    fields: dict[str, Any] = {}
    details = data.get("connectionDetails")
    if WebhookEvent(event) in INSTANCE_EVENTS and isinstance(details, Mapping):
        fields["instance"] = {
            "id": instance_id,
            "name": data.get("name"),
            "connectionDetails": {_SEED_CONNECTION_KEYS.get(k, k): v for k, v in details.items()},
        }
    error = data.get("error")
    if isinstance(error, Mapping):
        fields["error"] = {"code": error.get("code"), "message": error.get("message")}
    return fields


def build_webhook_body(
    event: WebhookEvent | str,
    status: str,
    instance_id: str | None,
    data: Mapping[str, Any] | None = None,
    timestamp: datetime | None = None,
    top_level: Mapping[str, Any] | None = None,
) -> bytes:
    """Build the exact bytes of a webhook body: compact JSON, UTF-8, non-ASCII kept as is.

    Args:
        event: The event (``WebhookEvent`` or its value, validated).
        status: Our lifecycle status the event reports (``ready``, ``failed``...).
        instance_id: The Novita instance id, or None when there is none yet (a provisioning
            that failed before create).
        data: What the event is about (region, product, price, connectionDetails, error...).
            Decimals become strings, datetimes UTC ``...Z`` strings, pydantic models dicts.
        timestamp: When the event happened; defaults to now (UTC).
        top_level: Fields the sender adds beside ``data`` (after `seed_fields`), such as
            ``originalInstanceId``; the five core keys cannot be replaced this way.

    Returns:
        The body bytes, ready to sign and send unchanged.

    Raises:
        ValueError: ``event`` is not a known event, ``top_level`` names a core key, or the
            body holds NaN/infinity (not JSON).

    Example:
        >>> body = build_webhook_body(
        ...     WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", {"region": "AS-SGP-02"},
        ...     timestamp=datetime(2026, 11, 22, 4, 30, tzinfo=UTC),
        ... )
        >>> body[:60]
        b'{"event":"instance.ready","status":"ready","instanceId":"a1b'
        >>> body[-45:]
        b'04:30:00.000Z","data":{"region":"AS-SGP-02"}}'

    """
    body_data = dict(data or {})
    payload: dict[str, Any] = {
        "event": WebhookEvent(event).value,
        "status": status,
        "instanceId": instance_id,
        "timestamp": format_webhook_timestamp(timestamp or datetime.now(UTC)),
        "data": body_data,
    }
    payload |= seed_fields(event, instance_id, body_data)
    clashing = set(top_level or {}) & set(_CORE_KEYS)
    if clashing:
        raise ValueError(f"top_level may not replace {sorted(clashing)}")
    payload |= dict(top_level or {})
    return to_js_json(payload, default=_json_default).encode("utf-8")
