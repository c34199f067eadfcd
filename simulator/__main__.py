"""CLI: ``python -m simulator [--host 127.0.0.1] [--port 8765] [--speed 1.0] [--rate-limit N]``.

Serves the simulated Novita GPU-instance API in the foreground until Ctrl-C, after one
startup line naming the base URL. The key can also come from ``NOVITA_SIMULATOR_API_KEY``
(so it does not show in the process list); a custom key is never printed.

Example::

    python -m simulator --port 8765 --speed 10
    python -m simulator --rate-limit 20 --latency-ms 50     # a Novita allowing 20 req/s
    export NOVITA_API_BASE_URL=http://127.0.0.1:8765/gpu-instance/openapi/v1
    export NOVITA_API_KEY=sk_sim_fake_key_for_local_use_only
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from types import FrameType

import uvicorn

from simulator.app import create_app
from simulator.gateway import API_PREFIX
from simulator.server import advertised_host, bind_socket
from simulator.state import DEFAULT_API_KEY, SimulatorState

__all__ = ["main", "parse_args", "startup_line"]

KEY_ENV = "NOVITA_SIMULATOR_API_KEY"


class _Server(uvicorn.Server):
    """uvicorn server that also releases held (hanging) requests on Ctrl-C."""

    def __init__(self, config: uvicorn.Config, closing: threading.Event):
        super().__init__(config)
        self._closing = closing

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Flag the state as closing, then let uvicorn shut down."""
        self._closing.set()
        super().handle_exit(sig, frame)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Example:
        >>> parse_args(["--port", "0", "--speed", "20"]).speed
        20.0

    """
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Serve the Novita GPU-instance API simulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = free)")
    parser.add_argument(
        "--api-key",
        default=os.environ.get(KEY_ENV, DEFAULT_API_KEY),
        help=f"accepted Bearer key (default ${KEY_ENV} or the public fake key)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated s per real s")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of ids and random faults (default random)"
    )
    parser.add_argument("--tcp-port", type=int, default=0, help="TCP listener port (0 = free)")
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        metavar="N",
        help="answer 429 above N API requests per second (default 0 = no cap)",
    )
    parser.add_argument(
        "--rate-burst",
        type=int,
        default=None,
        metavar="B",
        help="requests admitted back to back under --rate-limit (1..N; default N)",
    )
    parser.add_argument(
        "--retry-after-ms",
        action="store_true",
        help="with --rate-limit, also send the precise wait as Retry-After-Ms",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="MS", help="delay every API request"
    )
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be > 0")
    if args.rate_limit < 0:
        parser.error("--rate-limit must be >= 0")
    if args.rate_burst is not None and not 1 <= args.rate_burst <= args.rate_limit:
        parser.error("--rate-burst needs --rate-limit and must be between 1 and it")
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    return args


def startup_line(root: str, args: argparse.Namespace) -> str:
    """The one line printed at startup: where to reach the API, its key, its limits.

    Example:
        >>> args = parse_args(["--rate-limit", "20", "--latency-ms", "50"])
        >>> startup_line("http://127.0.0.1:8765", args).split(" | ")[-2:]
        ['rate limit 20/s (burst 20)', 'latency 50 ms']

    """
    key_note = (
        f"API key: the default fake key {DEFAULT_API_KEY}"
        if args.api_key == DEFAULT_API_KEY
        else "API key: the custom key you gave"
    )
    parts = [f"Novita simulator: base URL {root}{API_PREFIX}", f"admin {root}/_admin", key_note]
    if args.rate_limit:
        parts.append(f"rate limit {args.rate_limit}/s (burst {args.rate_burst or args.rate_limit})")
    if args.latency_ms:
        parts.append(f"latency {args.latency_ms:g} ms")
    return " | ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator in the foreground; returns the exit code."""
    args = parse_args(argv)
    state = SimulatorState(args.api_key, speed=args.speed, seed=args.seed)
    # Like every fault, these two are lifted by /_admin/reset and /_admin/faults/clear.
    state.faults.set_rate_limit(args.rate_limit, args.rate_burst, args.retry_after_ms)
    state.faults.set_latency(args.latency_ms)
    sock = bind_socket(args.host, args.port)
    root = f"http://{advertised_host(args.host)}:{sock.getsockname()[1]}"
    state.set_addresses(root)
    app = create_app(state, tcp_host=args.host, tcp_port=args.tcp_port)
    print(startup_line(root, args), flush=True)
    config = uvicorn.Config(
        app, log_level=args.log_level, lifespan="on", timeout_graceful_shutdown=2
    )
    _Server(config, state.closing).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
