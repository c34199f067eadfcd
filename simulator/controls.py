"""The control surface of the simulator: clock, faults, scenarios, request log, reset.

One implementation for two doors: the ``/_admin`` HTTP routes (:mod:`simulator.admin`)
call these methods, and :class:`simulator.server.SimulatorServer` inherits them so a test
can say ``sim.reclaim_spot(iid)`` in-process. Every method is thread-safe.
"""

from __future__ import annotations

from typing import Any

from simulator.state import SimulatorState

__all__ = ["SimulatorControls"]


class SimulatorControls:
    """Scenario and fault controls over one :class:`SimulatorState`.

    Args:
        state: The state to control.

    Example:
        >>> controls = SimulatorControls(SimulatorState(frozen=True))
        >>> controls.set_capacity("as-sgp-2", exhausted=True)
        >>> controls.advance(5)
        >>> controls.snapshot()["faults"]["exhaustedClusters"]
        ['as-sgp-2']

    """

    def __init__(self, state: SimulatorState):
        self.state = state

    # -- whole state -------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Back to the seed state (catalogue, no instances, no faults, empty log).

        Example:
            >>> SimulatorControls(SimulatorState()).reset()

        """
        self.state.reset(seed)

    def snapshot(self) -> dict[str, Any]:
        """Counts, addresses, clock and active faults.

        Example:
            >>> SimulatorControls(SimulatorState()).snapshot()["instances"]
            0

        """
        return self.state.snapshot()

    # -- clock -------------------------------------------------------------------------

    def clock_state(self) -> dict[str, Any]:
        """``{"now", "speed", "frozen"}`` of the simulated clock."""
        return dict(self.state.clock.snapshot())

    def set_speed(self, speed: float) -> None:
        """Run the clock at ``speed`` simulated seconds per real second.

        Example:
            >>> SimulatorControls(SimulatorState()).set_speed(20)

        """
        self.state.clock.set_speed(speed)

    def freeze(self) -> None:
        """Stop the clock (move it with :meth:`advance`)."""
        self.state.clock.freeze()

    def unfreeze(self) -> None:
        """Let the clock run again."""
        self.state.clock.unfreeze()

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` simulated seconds.

        Example:
            >>> SimulatorControls(SimulatorState(frozen=True)).advance(6)

        """
        self.state.clock.advance(seconds)

    # -- request faults ----------------------------------------------------------------

    def set_latency(self, ms: float, path: str | None = None) -> None:
        """Add ``ms`` real milliseconds to every (matching) API request; 0 switches it off.

        Example:
            >>> SimulatorControls(SimulatorState()).set_latency(200, path="/products")

        """
        self.state.faults.set_latency(ms, path)

    def fail_requests(self, count: int, status: int = 503, path: str | None = None) -> None:
        """Answer the next ``count`` (matching) API requests with a 5xx ``status``.

        Example:
            >>> SimulatorControls(SimulatorState()).fail_requests(2, status=503)

        """
        self.state.faults.fail_next(count, status, path)

    def set_error_rate(
        self, rate: float, status: int = 500, path: str | None = None, seed: int | None = None
    ) -> None:
        """Fail each (matching) API request with probability ``rate`` (seeded RNG).

        Example:
            >>> SimulatorControls(SimulatorState()).set_error_rate(0.2, status=502, seed=7)

        """
        self.state.faults.set_error_rate(rate, status, path, seed)

    def rate_limit(self, count: int = 1, retry_after: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` (matching) requests 429 with ``Retry-After``.

        Example:
            >>> SimulatorControls(SimulatorState()).rate_limit(1, retry_after=2)

        """
        self.state.faults.rate_limit_next(count, retry_after, path)

    def set_rate_limit(
        self, per_second: int | None, burst: int | None = None, retry_after_ms: bool = False
    ) -> None:
        """Cap the whole API at ``per_second`` requests per second; None or 0 lifts the cap.

        No one-second window ever admits more than ``per_second`` requests, and at most
        ``burst`` (default ``per_second``) come back to back. Above the cap: 429
        ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` (whole seconds, rounded up) and, with
        ``retry_after_ms``, the precise wait in ``Retry-After-Ms``. Admin and instance
        endpoint routes are never capped. :meth:`reset` and :meth:`clear_faults` lift it.

        Args:
            per_second: Requests per second (>= 1), or None / 0 for no cap.
            burst: Requests admitted back to back, 1..per_second.
            retry_after_ms: Also send ``Retry-After-Ms``.

        Example:
            >>> controls = SimulatorControls(SimulatorState())
            >>> controls.set_rate_limit(20, burst=5)
            >>> controls.snapshot()["faults"]["rateLimit"]["burst"]
            5

        """
        self.state.faults.set_rate_limit(per_second, burst, retry_after_ms)

    def hang_requests(self, count: int = 1, seconds: float = 5.0, path: str | None = None) -> None:
        """Hold the next ``count`` (matching) requests ``seconds`` real seconds, then answer.

        Example:
            >>> SimulatorControls(SimulatorState()).hang_requests(1, seconds=3, path="/create")

        """
        self.state.faults.hang_next(count, seconds, path)

    def clear_faults(self) -> None:
        """Switch every fault off: request faults, capacity, migrate failures, app health.

        Product availability is catalogue state: :meth:`reset` restores it.
        """
        self.state.faults.clear_all()

    # -- capacity and catalogue --------------------------------------------------------

    def set_capacity(self, cluster_id: str, exhausted: bool = True) -> None:
        """Exhaust (or restore) a cluster's capacity: create and start there answer 400.

        Example:
            >>> SimulatorControls(SimulatorState()).set_capacity("us-ca-6")

        """
        self.state.faults.set_capacity(cluster_id, exhausted)

    def set_product_availability(
        self,
        cluster_id: str,
        available: bool,
        *,
        product_id: str | None = None,
        product_name: str | None = None,
    ) -> list[str]:
        """Set ``availableDeploy`` of a product in a cluster (by id, or exact name).

        Example:
            >>> SimulatorControls(SimulatorState()).set_product_availability(
            ...     "as-sgp-2", False, product_name="RTX 4090 24GB")
            ['rtx4090-24g.as-sgp-2']

        """
        return self.state.set_product_availability(
            cluster_id, available, product_id=product_id, product_name=product_name
        )

    # -- instances -----------------------------------------------------------------------

    def reclaim_spot(
        self, instance_id: str, notice_seconds: float | None = None, immediate: bool = False
    ) -> dict[str, Any]:
        """Reclaim a running spot instance: notified, then reclaiming, then ``exited``.

        Args:
            instance_id: A running spot instance.
            notice_seconds: Simulated seconds of notice (default ``Timings.spot_notice``).
            immediate: Skip the notice: ``exited`` / ``terminated`` at once.

        Returns:
            The instance object right after the notification.

        """
        return self.state.reclaim_spot(
            instance_id, notice_seconds=notice_seconds, immediate=immediate
        )

    def seed_instances(self, count: int, **options: Any) -> list[dict[str, str]]:
        """Add ``count`` instances already ``running`` or ``exited``, at once (benchmarks).

        Options and rules: :meth:`simulator.state.SimulatorState.seed_instances`
        (``name_prefix``, ``first_index``, ``product_id``, ``status``, ``billing_mode``,
        ``reclaimed``, ``ports``, ...).

        Returns:
            ``[{"id", "name"}]`` in seeding order.

        Example:
            >>> controls = SimulatorControls(SimulatorState(frozen=True))
            >>> len(controls.seed_instances(10_000, name_prefix="bench"))
            10000
            >>> controls.snapshot()["instances"]
            10000

        """
        return self.state.seed_instances(count, **options)

    def fail_migrations(self, mode: str = "job", instance_id: str | None = None) -> None:
        """Make migrate fail: ``error`` (the call answers 400) or ``job`` (the job fails).

        ``none`` restores success. Without ``instance_id`` it applies to every instance
        that has no setting of its own.

        Example:
            >>> SimulatorControls(SimulatorState()).fail_migrations("error")

        """
        self.state.faults.set_migrate_failure(mode, instance_id)

    def set_app_health(
        self, instance_id: str, mode: str = "502", hang_seconds: float = 30.0
    ) -> None:
        """Force an instance's http endpoints: ``ok``, ``502``, ``503``, ``500`` or ``hang``.

        Example:
            >>> SimulatorControls(SimulatorState()).set_app_health("07ed667185a895bb", "503")

        """
        self.state.faults.set_app_health(instance_id, mode, hang_seconds)

    # -- request log ---------------------------------------------------------------------

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """API requests received, oldest first: ``{method, path, query, body, status, at}``.

        Example:
            >>> SimulatorControls(SimulatorState()).requests(path="/gpu/instance/create")
            []

        """
        return self.state.requests.entries(path=path, method=method)

    def clear_requests(self) -> None:
        """Forget the request log (the request stats have their own :meth:`clear_request_stats`)."""
        self.state.requests.clear()

    # -- request stats -------------------------------------------------------------------

    def request_stats(self) -> dict[str, Any]:
        """Request counters since the last reset: totals, per path, per second, peaks.

        ``maxServedInAnySecond`` is the most requests the rate cap let through in any
        sliding one-second window, ``maxReceivedInAnySecond`` the most that arrived (refused
        ones included): a benchmark's proof that its own limiter kept under the cap. Full key
        list: :meth:`simulator.requeststats.RequestStats.snapshot`.

        Example:
            >>> stats = SimulatorControls(SimulatorState()).request_stats()
            >>> stats["total"], stats["limited"], stats["maxServedInAnySecond"]
            (0, 0, 0)

        """
        return self.state.request_stats.snapshot()

    def clear_request_stats(self) -> None:
        """Start the request counters again from zero (e.g. right before a benchmark)."""
        self.state.request_stats.clear()
