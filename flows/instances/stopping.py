"""Stopping a machine at Novita, shared by `stop-instance` and the auto-stop sweep.

Ask Novita to stop it (a stop that raced another one is not an error: the task says
`already_stopping`), then wait until Novita reports `exited` in one wait task. A wait that
ends without `exited` leaves our status `stopping` with the reason (a new stop may go on from
there) and records the failure; the caller decides what else a failure means.
"""

from __future__ import annotations

import time
from datetime import datetime

from clients.novita import InstanceStatus, NovitaError
from flows.common.journal import OperationJournal
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.instances.errors import StopFailedError
from store import LifecycleStatus, OperationOutcome, utc_now
from tasks.novita_actions import ActionResult, stop_instance
from tasks.wait_for_status import InstanceWaitError, wait_for_status


async def ask_to_stop(res: FlowResources, instance_id: str, label: str) -> ActionResult:
    """Call stop and log what Novita made of it.

    Raises:
        NovitaError: Novita refused the stop (and no other stop is under way).

    Example:
        ```python
        result = await ask_to_stop(res, instance_id, "'trainer-1' (0123456789abcdef)")
        ```

    """
    result = await stop_instance(res.client, instance_id)
    logger = run_logger(__name__)
    if result.raced:
        logger.info("Another stop of %s got there first: waiting", label)
    else:
        logger.info("Novita accepted the stop of %s (state %s)", label, result.state)
    return result


async def wait_until_exited(
    res: FlowResources, journal: OperationJournal, label: str, deadline_at: float
) -> datetime:
    """Wait (one task run) until Novita reports exited; returns when, by our clock.

    Raises:
        StopFailedError: not exited by `deadline_at` (a `time.monotonic()` instant) or the
            wait failed; our status stays `stopping` with the reason, the failure is
            recorded.

    Example:
        ```python
        stopped_at = await wait_until_exited(res, journal, label, time.monotonic() + 600)
        ```

    """
    policies = res.policies
    try:
        await wait_for_status(
            res.client,
            journal.instance_id,
            [InstanceStatus.EXITED],
            deadline_seconds=max(deadline_at - time.monotonic(), 0.0),
            poll_initial_seconds=policies.poll_initial_seconds,
            poll_max_seconds=policies.poll_max_seconds,
        )
    except (InstanceWaitError, NovitaError) as exc:
        message = f"{label} did not stop: {exc}"
        run_logger(__name__).error(message)
        # Stay `stopping` (a new stop run may continue), with the reason.
        await journal.record(
            OperationOutcome.FAILED,
            {"error": message},
            expect={LifecycleStatus.STOPPING},
            status=LifecycleStatus.STOPPING,
            reason=message,
            otherwise=OperationOutcome.FAILED,
        )
        raise StopFailedError(message) from exc
    return utc_now()
