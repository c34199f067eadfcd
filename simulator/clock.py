"""The simulator's clock: simulated epoch seconds that tests can speed up, freeze or step.

Every status transition of a simulated instance is scheduled at a simulated time and
evaluated lazily against :meth:`SimulatorClock.now`, so the clock is the only thing that
decides how fast the cloud moves. Three ways to drive it:

- ``speed``: simulated seconds per real second (``speed=20`` makes a 6 s create take 0.3 s);
- ``freeze()`` / ``frozen=True``: simulated time stands still ...
- ... and ``advance(seconds)`` steps it forward by hand (works frozen or not).

Simulated time starts at the real epoch time (so ``createdAt`` values look real) and never
goes backwards. Faults that exercise client timeouts (latency, hanging requests) use real
seconds, not this clock: a client's timeout is measured in real time.
"""

from __future__ import annotations

import threading
import time

__all__ = ["SimulatorClock"]


class SimulatorClock:
    """Simulated wall clock in epoch seconds, thread-safe.

    Args:
        speed: Simulated seconds per real second; must be > 0.
        frozen: Start frozen (time only moves through :meth:`advance`).
        start: Simulated epoch seconds at creation; defaults to the real time.

    Example:
        >>> clock = SimulatorClock(frozen=True, start=1_700_000_000.0)
        >>> clock.advance(6)
        >>> clock.now()
        1700000006.0

    """

    def __init__(self, speed: float = 1.0, *, frozen: bool = False, start: float | None = None):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._frozen = frozen
        self._anchor_sim = float(time.time() if start is None else start)
        self._anchor_real = time.monotonic()

    def _now_locked(self) -> float:
        if self._frozen:
            return self._anchor_sim
        return self._anchor_sim + (time.monotonic() - self._anchor_real) * self._speed

    def _reanchor_locked(self) -> None:
        # Changing speed or freezing must not make time jump: fold elapsed time in first.
        self._anchor_sim = self._now_locked()
        self._anchor_real = time.monotonic()

    def now(self) -> float:
        """Return the current simulated time in epoch seconds.

        Example:
            >>> SimulatorClock(frozen=True, start=10.0).now()
            10.0

        """
        with self._lock:
            return self._now_locked()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    @property
    def frozen(self) -> bool:
        """Whether time only moves through :meth:`advance`."""
        return self._frozen

    def set_speed(self, speed: float) -> None:
        """Change the speed factor from now on, without a jump.

        Example:
            >>> clock = SimulatorClock()
            >>> clock.set_speed(20)
            >>> clock.speed
            20.0

        """
        if speed <= 0:
            raise ValueError("speed must be > 0")
        with self._lock:
            self._reanchor_locked()
            self._speed = float(speed)

    def freeze(self) -> None:
        """Stop simulated time where it is.

        Example:
            >>> clock = SimulatorClock()
            >>> clock.freeze()
            >>> clock.now() == clock.now()
            True

        """
        with self._lock:
            self._reanchor_locked()
            self._frozen = True

    def unfreeze(self) -> None:
        """Let simulated time flow again at the current speed.

        Example:
            >>> clock = SimulatorClock(frozen=True)
            >>> clock.unfreeze()
            >>> clock.frozen
            False

        """
        with self._lock:
            self._reanchor_locked()
            self._frozen = False

    def advance(self, seconds: float) -> None:
        """Step simulated time forward.

        Args:
            seconds: Simulated seconds to add; must be >= 0 (time never goes back).

        Example:
            >>> clock = SimulatorClock(frozen=True, start=0.0)
            >>> clock.advance(2.5)
            >>> clock.now()
            2.5

        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._anchor_sim += float(seconds)

    def snapshot(self) -> dict[str, float | bool]:
        """Describe the clock for the admin API: ``{"now", "speed", "frozen"}``.

        Example:
            >>> SimulatorClock(frozen=True, start=5.0).snapshot()["now"]
            5.0

        """
        with self._lock:
            return {"now": self._now_locked(), "speed": self._speed, "frozen": self._frozen}
