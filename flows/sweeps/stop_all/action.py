"""Stop one instance for `stop-all`, through the very stop path of `stop-instance`.

The plan was decided from one list call; right before acting, the instance is looked up again
(our record and Novita's live view) and handed to `Shutdown` (`flows/instances/stop.py`): the
same refusal rules, the same compare-and-set claim that sets desired state `stopped` in the
same step, the same wait for `exited`, history entry and `instance.stopped` webhook. A
refusal (a start took it over meanwhile, Novita forgot it) leaves it alone and is reported as
a skip; nothing was asked of Novita then.
"""

from __future__ import annotations

from flows.common.resources import FlowResources
from flows.instances.errors import OperationRefusedError
from flows.instances.lookup import InstanceLookupError, find_target
from flows.instances.stop import Shutdown, StopResult
from flows.sweeps.outcomes import InstanceSkippedError
from flows.sweeps.stop_all.rules import StopCandidate


async def stop_candidate(
    res: FlowResources, candidate: StopCandidate, deadline_minutes: float
) -> StopResult:
    """Look the instance up again and stop it as `stop-instance` would (never forced).

    Raises:
        InstanceSkippedError: the stop was refused, or nobody knows the instance any more.
        StopFailedError: Novita refused the stop or it did not finish in time.

    Example:
        ```python
        result = await stop_candidate(res, candidate, deadline_minutes=10)
        ```

    """
    try:
        target = await find_target(res, candidate.instance_id, None)
    except InstanceLookupError as exc:
        raise InstanceSkippedError(str(exc)) from exc
    try:
        return await Shutdown(res, target, deadline_minutes, force=False).run()
    except OperationRefusedError as exc:
        raise InstanceSkippedError(str(exc)) from exc
