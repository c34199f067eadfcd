"""The instance status graph (reference §5), as schedules of future status changes.

Each operation replaces the instance's pending steps with its own timeline, starting at the
simulated ``now`` of the call; :meth:`Instance.advance` applies the due steps lazily on
every read, so nothing runs in the background and 10,000 idle instances cost nothing.

Graph (default durations in simulated seconds, see :class:`Timings`)::

    create   toCreate -1-> creating -2-> pulling -3-> running        (app up 3 s later)
    stop     running  -> toStop -1-> stopping -2-> exited
    start    exited   -> toStart -1-> starting -2-> pulling -2-> running
    restart  running  -> toRestart -1-> restarting -2-> running
    delete   any      -> toRemove -1-> removing -2-> removed          (404 10 s later)
    migrate  exited|running -> migrating -8-> running  (job success)
                                         -8-> exited   (job fail, statusError set)
    reclaim  spot running: spotStatus notified, spotReclaimTime = now + 10
             -10-> spotStatus reclaiming, status stopping
             -2->  status exited, spotStatus terminated

A user operation (stop, restart, delete, migrate) during the reclaim notice supersedes the
reclaim: spotStatus goes back to ``running`` and spotReclaimTime to "0".

Being ``running`` is not enough for the application: its http endpoints answer 502 until
``app_boot`` seconds after the instance reached ``running``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.instance import Instance, Step

__all__ = [
    "Timings",
    "plan_create",
    "plan_delete",
    "plan_migrate",
    "plan_reclaim",
    "plan_restart",
    "plan_start",
    "plan_stop",
]


@dataclass(frozen=True)
class Timings:
    """Durations of every phase, in simulated seconds.

    Example:
        >>> t = Timings()
        >>> t.to_create + t.creating + t.pulling
        6.0

    """

    to_create: float = 1.0
    creating: float = 2.0
    pulling: float = 3.0
    app_boot: float = 3.0
    to_stop: float = 1.0
    stopping: float = 2.0
    to_start: float = 1.0
    starting: float = 2.0
    start_pulling: float = 2.0
    to_restart: float = 1.0
    restarting: float = 2.0
    to_remove: float = 1.0
    removing: float = 2.0
    removed_grace: float = 10.0
    """How long a ``removed`` instance stays visible before answering 404."""
    migrating: float = 8.0
    spot_notice: float = 10.0
    """Default reclaim notice (the live cloud gives 1 h; tests want it short)."""
    spot_reclaiming: float = 2.0

    def delete_duration(self) -> float:
        """Seconds from the delete call to ``removed``."""
        return self.to_remove + self.removing


def _schedule(inst: Instance, now: float, first: str, steps: list[tuple[float, Step]]) -> None:
    # A new operation supersedes whatever the previous one still had scheduled.
    inst.pending.clear()
    inst.status = first
    at = now
    for delay, step in steps:
        at += delay
        inst.pending.append(Step(at=at, status=step.status, action=step.action))


def _on_running(app_boot: float) -> Callable[[Instance, float], None]:
    def action(inst: Instance, at: float) -> None:
        inst.last_started_at = at
        inst.app_ready_at = at + app_boot
        inst.status_error = ("", "")

    return action


def _became_running(app_boot: float) -> Step:
    return Step(at=0, status="running", action=_on_running(app_boot))


def _became_exited(inst: Instance, at: float) -> None:
    inst.last_stopped_at = at
    inst.app_ready_at = None


def _leave_running(inst: Instance) -> None:
    inst.app_ready_at = None


def _cancel_reclaim(inst: Instance) -> None:
    # One schedule per instance: a user operation during the notice supersedes the reclaim.
    if inst.spot_status in ("notified", "reclaiming"):
        inst.spot_status = "running"
        inst.spot_reclaim_time = 0.0


def _fresh_spot_lease(inst: Instance) -> None:
    # A (re)started spot instance gets a new lease: no reclaim scheduled.
    if inst.billing_mode == "spot":
        inst.spot_status = "running"
        inst.spot_reclaim_time = 0.0


def plan_create(inst: Instance, now: float, t: Timings) -> None:
    """Schedule ``toCreate → creating → pulling → running``.

    Example:
        >>> from simulator.seed import build_catalog
        >>> p = build_catalog().products["rtx4090-24g.as-sgp-2"]
        >>> inst = Instance("a" * 16, "", "as-sgp-2", "AS-SGP-02", p, 1, 60, "x", 0.0)
        >>> plan_create(inst, 0.0, Timings())
        >>> inst.advance(6.0); inst.status, inst.app_is_up(8.9), inst.app_is_up(9.0)
        ('running', False, True)

    """
    _fresh_spot_lease(inst)
    _schedule(
        inst,
        now,
        "toCreate",
        [
            (t.to_create, Step(0, "creating")),
            (t.creating, Step(0, "pulling")),
            (t.pulling, _became_running(t.app_boot)),
        ],
    )


def plan_stop(inst: Instance, now: float, t: Timings) -> None:
    """Schedule ``toStop → stopping → exited`` (from ``running``)."""
    _cancel_reclaim(inst)
    _leave_running(inst)
    _schedule(
        inst,
        now,
        "toStop",
        [(t.to_stop, Step(0, "stopping")), (t.stopping, Step(0, "exited", _became_exited))],
    )


def plan_start(inst: Instance, now: float, t: Timings) -> None:
    """Schedule ``toStart → starting → pulling → running`` (from ``exited``)."""
    _fresh_spot_lease(inst)
    inst.status_error = ("", "")
    _schedule(
        inst,
        now,
        "toStart",
        [
            (t.to_start, Step(0, "starting")),
            (t.starting, Step(0, "pulling")),
            (t.start_pulling, _became_running(t.app_boot)),
        ],
    )


def plan_restart(inst: Instance, now: float, t: Timings) -> None:
    """Schedule ``toRestart → restarting → running`` (from ``running``)."""
    _cancel_reclaim(inst)
    _leave_running(inst)
    _schedule(
        inst,
        now,
        "toRestart",
        [(t.to_restart, Step(0, "restarting")), (t.restarting, _became_running(t.app_boot))],
    )


def plan_delete(inst: Instance, now: float, t: Timings) -> float:
    """Schedule ``toRemove → removing → removed`` (from any status).

    Returns:
        The simulated time from which the instance answers 404 (end of the grace period).

    """
    _cancel_reclaim(inst)
    _leave_running(inst)
    purge_at = inst.purge_at = now + t.delete_duration() + t.removed_grace
    _schedule(
        inst,
        now,
        "toRemove",
        [(t.to_remove, Step(0, "removing")), (t.removing, Step(0, "removed"))],
    )
    return purge_at


def plan_migrate(inst: Instance, now: float, t: Timings, *, succeed: bool, error: str) -> None:
    """Schedule ``migrating → running`` (success) or ``migrating → exited`` (failure).

    Args:
        inst: The instance (``exited`` or ``running``).
        now: Simulated time of the call.
        t: Durations.
        succeed: Whether the ``instanceMigrate`` job succeeds.
        error: The ``statusError`` message left on failure.

    """
    _cancel_reclaim(inst)
    _leave_running(inst)
    if succeed:

        def done(i: Instance, at: float) -> None:
            _fresh_spot_lease(i)
            _on_running(t.app_boot)(i, at)

        last = Step(0, "running", done)
    else:

        def failed(i: Instance, at: float) -> None:
            _became_exited(i, at)
            i.status_error = ("migrateFailed", error)

        last = Step(0, "exited", failed)
    _schedule(inst, now, "migrating", [(t.migrating, last)])


def plan_reclaim(inst: Instance, now: float, t: Timings, *, notice: float | None) -> None:
    """Schedule a spot reclaim: notified now, reclaiming at the reclaim time, then exited.

    Args:
        inst: A running spot instance.
        now: Simulated time of the notification.
        t: Durations.
        notice: Seconds until the reclaim (default ``t.spot_notice``); 0 = at once, the
            instance is ``exited`` (spotStatus ``terminated``) immediately.

    """
    notice = t.spot_notice if notice is None else notice

    def reclaiming(i: Instance, at: float) -> None:
        i.spot_status = "reclaiming"
        _leave_running(i)

    def terminated(i: Instance, at: float) -> None:
        i.spot_status = "terminated"
        _became_exited(i, at)

    inst.spot_reclaim_time = now + notice
    if notice <= 0:
        inst.pending.clear()
        inst.status = "exited"
        terminated(inst, now)
        return
    inst.spot_status = "notified"
    # The instance keeps running during the notice: keep its status, replace the schedule.
    _schedule(
        inst,
        now,
        inst.status,
        [
            (notice, Step(0, "stopping", reclaiming)),
            (t.spot_reclaiming, Step(0, "exited", terminated)),
        ],
    )
