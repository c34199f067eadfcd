"""When a start or a stop may go ahead, decided from our record and Novita's view (pure).

start: refused when the record is deleted; Novita no longer knows it; a provisioning, start,
    migration or stop owns it; Novita reports it running, starting, or anything but
    `exited`. Otherwise it claims from `STARTABLE` (a record still saying it serves is
    first set `exited`).
stop: refused when the record is deleted; Novita no longer knows it; a provisioning, start
    or migration is bringing it up (unless `force`); Novita reports anything but running,
    stopping or exited. Novita `exited`: no stop call, the record catches up; otherwise it
    claims from `STOPPABLE`.

An unmanaged instance (Novita knows it, the store does not) is judged on Novita's view alone.
"""

from __future__ import annotations

from clients.novita.instances import Instance, InstanceStatus
from store.models import LifecycleStatus, ManagedInstance
from store.statuses import (
    BRINGING_UP,
    NOVITA_STARTING,
    NOVITA_STOPPING,
    SERVING,
    STARTABLE,
    STOPPED,
)

START_BLOCKED_BY = {
    LifecycleStatus.STARTING: "a start is already in progress",
    LifecycleStatus.CREATING: "it is still being provisioned",
    LifecycleStatus.MIGRATING: "it is being migrated",
    LifecycleStatus.STOPPING: "a stop is in progress (run stop-instance again if it crashed)",
}
"""Our statuses in which another flow run owns the instance, and how a start refusal says it."""

STOPPABLE = SERVING | STOPPED | {LifecycleStatus.FAILED, LifecycleStatus.STOPPING}
"""Our statuses a stop may claim from (`stopping`: a stop that crashed half-way, run again)."""

__all__ = [
    "STARTABLE",
    "START_BLOCKED_BY",
    "STOPPABLE",
    "record_lags_behind_exit",
    "start_refusal",
    "stop_refusal",
]


def start_refusal(
    label: str, record: ManagedInstance | None, managed: bool, live: Instance | None
) -> str | None:
    """Why a start must not go ahead, or None when it may.

    Example:
        >>> live = Instance(id="0123456789abcdef", status="running")
        >>> start_refusal("'a'", None, False, live)
        "'a' is already running (Novita reports running, not managed); nothing to start"
        >>> start_refusal("'a'", None, False, Instance(id="0123456789abcdef", status="exited"))

    """
    if record is not None and record.status == LifecycleStatus.DELETED:
        return f"{label} was deleted; provision it again instead"
    if live is None:
        return f"Novita no longer knows {label}; it cannot be started (provision it again)"
    if managed and record is not None and record.status in START_BLOCKED_BY:
        return (
            f"Start of {label} refused: {START_BLOCKED_BY[record.status]} "
            f"(our status {record.status}, Novita reports {live.status_raw})"
        )
    ours = f"our status {record.status}" if managed and record else "not managed"
    if live.status == InstanceStatus.RUNNING:
        return f"{label} is already running (Novita reports running, {ours}); nothing to start"
    if live.status in NOVITA_STARTING:
        return f"A start of {label} is already in progress (Novita reports {live.status_raw})"
    if live.status != InstanceStatus.EXITED:
        return (
            f"{label} cannot be started while Novita reports {live.status_raw!r}; "
            "only an exited (stopped) instance can be started"
        )
    return None


def record_lags_behind_exit(record: ManagedInstance | None, live: Instance | None) -> bool:
    """True when our record says the machine serves while Novita reports it exited.

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="ready")
        >>> record_lags_behind_exit(r, Instance(id="0123456789abcdef", status="exited"))
        True

    """
    return (
        record is not None
        and live is not None
        and live.status == InstanceStatus.EXITED
        and record.status in SERVING
    )


def stop_refusal(
    label: str,
    record: ManagedInstance | None,
    managed: bool,
    live: Instance | None,
    force: bool,
) -> str | None:
    """Why a stop must not go ahead, or None when it may (an exited one is a no-op).

    Example:
        >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="starting")
        >>> live = Instance(id="0123456789abcdef", status="starting")
        >>> stop_refusal("'a'", r, True, live, force=False).split(":")[0]
        "Stop of 'a' refused"
        >>> stop_refusal("'a'", r, True, Instance(id="0123456789abcdef", status="running"),
        ...              force=True)

    """
    if record is not None and record.status == LifecycleStatus.DELETED:
        return f"{label} was deleted; there is nothing to stop"
    if live is None:
        return f"Novita no longer knows {label}; there is nothing to stop"
    previous = record.status if managed and record is not None else None
    if previous in BRINGING_UP and not force:
        return (
            f"Stop of {label} refused: a start, provisioning or migration is in progress "
            f"(our status {previous}); wait for it, or pass force=true"
        )
    if live.status == InstanceStatus.EXITED:
        return None
    if live.status not in NOVITA_STOPPING and live.status != InstanceStatus.RUNNING:
        return (
            f"{label} cannot be stopped while Novita reports {live.status_raw!r}; "
            "only a running instance can be stopped (try again once it runs)"
        )
    return None
