"""Asking Novita to stop a machine, where a concurrent stop that got there first is success."""

from __future__ import annotations

from clients.novita import InstanceActionResult, InstanceStatus, NovitaInvalidStateError
from flows.flow_resources import FlowResources
from flows.instance_lookup import read_live
from tasks.novita_actions import stop_instance

NOVITA_STOPPING = frozenset({InstanceStatus.TO_STOP, InstanceStatus.STOPPING})
"""Novita statuses of a stop already under way."""


async def request_stop(res: FlowResources, instance_id: str) -> InstanceActionResult | None:
    """Call stop; None when Novita refused because a stop already got there first.

    "invalid state change" while Novita already reports stopping or exited means another
    stop (a user, a sweep) won the race: the caller just waits for `exited`.

    Raises:
        NovitaError: any other refusal, including "invalid state change" from a state
            that is not on its way to exited.

    Example:
        ```python
        accepted = await request_stop(res, instance_id)  # None: already stopping
        ```

    """
    try:
        return await stop_instance(res.client, instance_id)
    except NovitaInvalidStateError:
        live = await read_live(res, instance_id)
        if live is not None and (
            live.status in NOVITA_STOPPING or live.status == InstanceStatus.EXITED
        ):
            return None
        raise
