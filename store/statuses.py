"""The status vocabulary: which statuses count as busy, serving, stopped or gone, defined once.

Two status lists meet in this project: Novita's (``InstanceStatus``, what the cloud reports)
and ours (``LifecycleStatus``, what the store records). Every rule that asks "is it busy?",
"does it serve?", "is it stopped?", "is it gone?" uses the named sets below; no flow, task
or rule defines its own.

Our lifecycle statuses (the set, its members, why):

    BUSY             creating, starting, health_checking, migrating, stopping
                     a flow run owns the record: it polls Novita and writes the outcome;
                     sweeps and fleet-sync leave it alone
    BRINGING_UP      creating, starting, migrating
                     a provisioning, start or migration is bringing the machine up: a
                     stop waits for it (or is forced)
    SERVING          running, health_checking, ready
                     Novita runs the machine as far as we know (ready = its endpoints
                     answered)
    SETTLED_SERVING  running, ready
                     serving and no flow run owns it (SERVING - BUSY): fleet-sync may
                     follow Novita
    BILLED           creating, starting, migrating, running, health_checking, ready
                     the machine runs or is being brought up, so Novita bills it: the
                     running fleet a budget counts (BRINGING_UP plus SERVING)
    STOPPED          stopped, exited
                     not running: stopped on purpose (stopped) or found exited (a stop
                     outside the product, a spot reclaim)
    STARTABLE        stopped, exited, failed
                     a start may begin here (STOPPED plus a failed provisioning or start)
    GONE             deleted
                     the machine no longer exists; the record stays for its history

Novita's statuses:

    NOVITA_STARTING  toStart, starting, pulling
                     a start is under way: another start is refused
    NOVITA_STOPPING  toStop, stopping
                     a stop is under way: a second stop is not an error, it waits
    NOVITA_GONE      toRemove, removing, removed
                     being removed or removed: nothing will bring it back

``running`` and ``exited`` are single statuses and are named as such
(``InstanceStatus.RUNNING``, ``InstanceStatus.EXITED``). ``exited`` means both "stopped by
someone" and "spot reclaimed" (see ``Instance.was_spot_reclaimed``).

Example:
    >>> LifecycleStatus.HEALTH_CHECKING in BUSY, LifecycleStatus.READY in SETTLED_SERVING
    (True, True)
    >>> InstanceStatus.REMOVING in NOVITA_GONE
    True

"""

from __future__ import annotations

from clients.novita.instances import InstanceStatus
from store.models import LifecycleStatus

__all__ = [
    "BILLED",
    "BRINGING_UP",
    "BUSY",
    "GONE",
    "NOVITA_GONE",
    "NOVITA_STARTING",
    "NOVITA_STOPPING",
    "SERVING",
    "SETTLED_SERVING",
    "STARTABLE",
    "STOPPED",
]

BUSY = frozenset(
    {
        LifecycleStatus.CREATING,
        LifecycleStatus.STARTING,
        LifecycleStatus.HEALTH_CHECKING,
        LifecycleStatus.MIGRATING,
        LifecycleStatus.STOPPING,
    }
)
"""A flow run owns the record (provisioning, start, migration, stop)."""

BRINGING_UP = frozenset(
    {LifecycleStatus.CREATING, LifecycleStatus.STARTING, LifecycleStatus.MIGRATING}
)
"""A provisioning, start or migration is bringing the machine up."""

SERVING = frozenset(
    {LifecycleStatus.RUNNING, LifecycleStatus.HEALTH_CHECKING, LifecycleStatus.READY}
)
"""Novita runs the machine as far as we know."""

SETTLED_SERVING = SERVING - BUSY
"""Serving, and no flow run owns the record."""

BILLED = BRINGING_UP | SERVING
"""Running or being brought up: what the running fleet's price per hour counts."""

STOPPED = frozenset({LifecycleStatus.STOPPED, LifecycleStatus.EXITED})
"""Not running: stopped on purpose, or found exited."""

STARTABLE = STOPPED | {LifecycleStatus.FAILED}
"""A start may begin from these."""

GONE = frozenset({LifecycleStatus.DELETED})
"""The machine no longer exists."""

NOVITA_STARTING = frozenset(
    {InstanceStatus.TO_START, InstanceStatus.STARTING, InstanceStatus.PULLING}
)
"""Novita is starting the machine."""

NOVITA_STOPPING = frozenset({InstanceStatus.TO_STOP, InstanceStatus.STOPPING})
"""Novita is stopping the machine."""

NOVITA_GONE = frozenset({InstanceStatus.TO_REMOVE, InstanceStatus.REMOVING, InstanceStatus.REMOVED})
"""Novita is removing, or has removed, the machine."""
