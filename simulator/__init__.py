"""A local, Novita-compatible GPU-instance API server (FastAPI + uvicorn) for demos and tests.

It plays the cloud: seeded clusters, products, templates and registry auths; instances that
walk the real status graph on a clock tests can speed up or step; http endpoints that answer
502 until the instance's application is up; and controls for latency, 5xx, 429, hangs,
exhausted capacity, spot reclaims and failing migrations. It imports nothing from the rest
of the project.

Example::

    from simulator import SimulatorServer

    with SimulatorServer(speed=20) as sim:      # sim.base_url, sim.api_key, sim.admin_url
        ...

Run it standalone with ``python -m simulator`` (see ``simulator/README.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.clock import SimulatorClock
    from simulator.lifecycle import Timings
    from simulator.server import SimulatorServer
    from simulator.state import DEFAULT_API_KEY, SimulatorState

__all__ = ["DEFAULT_API_KEY", "SimulatorClock", "SimulatorServer", "SimulatorState", "Timings"]

_EXPORTS = {
    "DEFAULT_API_KEY": "simulator.state",
    "SimulatorClock": "simulator.clock",
    "SimulatorServer": "simulator.server",
    "SimulatorState": "simulator.state",
    "Timings": "simulator.lifecycle",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that `from simulator.seed import ...` does not import uvicorn and FastAPI.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
