"""Novita down: every flow fails within a bound (under 60 s) saying Novita is unreachable.

`provision-instance`, `auto-stop-sweep`, `migration-sweep` and `fleet-sync` run at once
against a Novita that refuses connections, then against one that accepts and never answers;
each must end Failed, within the bound its client settings give, with a message that says
Novita could not be reached (or did not answer); then Novita is back (the simulator) and the
next run of each works.

The bound of one Novita call is the client's retry schedule (`clients/novita/retry.py`): at
most 4 attempts, each cut off at the per-attempt deadline, with waits of at most 0.75, 1.5
and 3 s between them; a flow that fails on its first call fails within that bound plus its
own overhead. Refused: 4 x ~0 s + 5.25 s. Silent: 4 x deadline + 5.25 s, which is 45.25 s
with the default deadline of 10 s, under the 60 s the reliability issue asks for
(`test_default_settings_bound_a_silent_novita_under_60_s`; it was 125.25 s with 30 s). The
silent case here runs with the deadline the flows are given by a `NovitaCredentials` block
(`request_deadline_seconds=8`: 37.25 s; measured with 10 s: 44-51 s for the four flows at
once, too close to 60 s on a busy machine).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from blocks import NovitaCredentials
from clients.novita import RetryPolicy
from flows.auto_stop_sweep import auto_stop_sweep
from flows.fleet_sync import fleet_sync
from flows.migration_sweep import migration_sweep
from flows.provision import provision_instance
from simulator.server import SimulatorServer
from tests.faults.conftest import Figures
from tests.faults.dead_novita import SilentServer, closed_port_url

pytestmark = [pytest.mark.faults, pytest.mark.integration]

REQUIRED_BOUND_SECONDS = 60.0
"""The reliability issue: provisioning and every sweep fail within this when Novita is down."""
FLOW_OVERHEAD_SECONDS = 12.0
"""What a flow adds around its failing Novita call (blocks, store, Prefect), generously."""
SILENT_DEADLINE_SECONDS = 8.0
"""The per-attempt deadline the silent case is run with (a `NovitaCredentials` block)."""
UNREACHABLE = re.compile(r"Could not reach Novita|Novita did not answer")
"""The client's words for "no answer at all": refused/reset/DNS, or no answer in time."""


def worst_case_call_seconds(attempt_seconds: float, policy: RetryPolicy) -> float:
    """The longest one Novita call can take when every attempt takes `attempt_seconds`.

    The client's own schedule (`clients/novita/retry.py`): attempts up to `max_attempts`,
    waits at their largest jitter, and no retry whose wait would end past `budget_seconds`.

    Example:
        >>> worst_case_call_seconds(30.0, RetryPolicy())
        125.25
        >>> worst_case_call_seconds(0.0, RetryPolicy())
        5.25

    """
    spent = 0.0
    for attempt in range(1, policy.max_attempts + 1):
        spent += attempt_seconds
        if attempt == policy.max_attempts:
            break
        wait = policy.initial_wait * policy.multiplier ** (attempt - 1) * (1 + policy.jitter)
        wait = min(policy.max_wait, wait)
        if spent + wait >= policy.budget_seconds:
            break
        spent += wait
    return spent


@dataclass
class Outcome:
    """How one flow run ended and how long it took."""

    flow: str
    seconds: float
    state: str
    message: str


async def timed(flow: str, run: Awaitable[Any]) -> Outcome:
    started = time.monotonic()
    state = await run
    seconds = round(time.monotonic() - started, 1)
    return Outcome(flow, seconds, state.name, state.message or "")


async def every_flow(credentials_block: str | None = None) -> dict[str, Outcome]:
    """The four flows at once (as their schedules may start them), each with its outcome."""
    creds: dict[str, Any] = {"credentials_block": credentials_block}
    name = f"down-{uuid.uuid4().hex[:6]}"
    runs: dict[str, Callable[[], Awaitable[Any]]] = {
        "provision-instance": lambda: provision_instance(
            name=name,
            product_name="RTX 4090 24GB",
            template_id="1001",
            return_state=True,
            **creds,
        ),
        "auto-stop-sweep": lambda: auto_stop_sweep(return_state=True, **creds),
        "migration-sweep": lambda: migration_sweep(return_state=True, **creds),
        "fleet-sync": lambda: fleet_sync(return_state=True, **creds),
    }
    outcomes = await asyncio.gather(*(timed(flow, run()) for flow, run in runs.items()))
    return {o.flow: o for o in outcomes}


def figures_of(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    return {
        flow: {k: v for k, v in asdict(o).items() if k != "flow"} for flow, o in outcomes.items()
    }


def check_down(outcomes: dict[str, Outcome], bound: float) -> None:
    for flow, outcome in outcomes.items():
        assert outcome.state == "Failed", (flow, outcome)
        assert outcome.seconds < REQUIRED_BOUND_SECONDS, (flow, outcome)
        assert outcome.seconds <= bound, (flow, outcome, bound)
        assert UNREACHABLE.search(outcome.message), (flow, outcome.message)


def check_back_up(outcomes: dict[str, Outcome]) -> None:
    for flow, outcome in outcomes.items():
        assert outcome.state == "Completed", (flow, outcome)


async def test_novita_refusing_connections(sim: SimulatorServer, figures: Figures) -> None:
    bound = worst_case_call_seconds(0.0, RetryPolicy()) + FLOW_OVERHEAD_SECONDS
    os.environ["NOVITA_API_BASE_URL"] = closed_port_url()
    try:
        down = await every_flow()
    finally:
        os.environ["NOVITA_API_BASE_URL"] = sim.base_url  # Novita is back
    back = await every_flow()
    figures(
        "Novita down: connections refused (default client settings)",
        {
            "bound_seconds": bound,
            "required_bound_seconds": REQUIRED_BOUND_SECONDS,
            "down": figures_of(down),
            "back_up": {flow: (o.state, o.seconds) for flow, o in back.items()},
        },
    )
    check_down(down, bound)
    check_back_up(back)


async def test_novita_accepting_but_silent(sim: SimulatorServer, figures: Figures) -> None:
    block = f"faults-silent-{uuid.uuid4().hex[:6]}"
    attempt = SILENT_DEADLINE_SECONDS
    bound = worst_case_call_seconds(attempt, RetryPolicy()) + FLOW_OVERHEAD_SECONDS

    def credentials(base_url: str) -> NovitaCredentials:
        return NovitaCredentials(
            api_key=SecretStr(sim.api_key),
            base_url=base_url,
            request_deadline_seconds=attempt,
        )

    with SilentServer() as silent:
        await credentials(silent.base_url).save(block, overwrite=True)
        down = await every_flow(block)
    connections = silent.connections
    await credentials(sim.base_url).save(block, overwrite=True)  # Novita is back
    back = await every_flow(block)
    figures(
        "Novita down: accepting but silent (request_deadline_seconds in the block)",
        {
            "request_deadline_seconds": attempt,
            "bound_seconds": bound,
            "required_bound_seconds": REQUIRED_BOUND_SECONDS,
            "connections_accepted_by_the_silent_server": connections,
            "down": figures_of(down),
            "back_up": {flow: (o.state, o.seconds) for flow, o in back.items()},
        },
    )
    check_down(down, bound)
    assert connections >= 4 * len(down)  # every attempt of every flow reached it
    check_back_up(back)


def test_default_settings_bound_a_silent_novita_under_60_s(figures: Figures) -> None:
    default_deadline = NovitaCredentials.model_fields["request_deadline_seconds"].default
    default_read_timeout = NovitaCredentials.model_fields["timeout_seconds"].default
    attempt = min(default_deadline, default_read_timeout)
    bound = worst_case_call_seconds(attempt, RetryPolicy())
    figures(
        "Novita down, silent, default settings (computed, not run: it takes that long)",
        {
            "request_deadline_seconds": default_deadline,
            "read_timeout_seconds": default_read_timeout,
            "worst_case_call_seconds": bound,
            "measured_once_by_hand_with_30_s_seconds": "125.2-127.1 (all four flows)",
            "required_bound_seconds": REQUIRED_BOUND_SECONDS,
        },
    )
    assert bound + FLOW_OVERHEAD_SECONDS < REQUIRED_BOUND_SECONDS
