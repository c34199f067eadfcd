"""Fleet events that need a human go to the team's saved Prefect notification blocks."""

from __future__ import annotations

from prefect.blocks.core import Block

from blocks import NovitaPolicies
from flows.common.run_logger import run_logger


async def notify_humans(policies: NovitaPolicies, subject: str, body: str) -> int:
    """Send a message to every notification block named in the policies; never raises.

    Blocks are named `<block-type-slug>/<block-name>` (Slack, Microsoft Teams, a custom
    webhook...). A block that cannot be loaded or fails to send is logged and skipped.

    Returns:
        How many blocks accepted the message.

    Example:
        ```python
        await notify_humans(res.policies, "Novita: trainer-1 auto-stopped", "idle 25 min")
        ```

    """
    sent = 0
    for reference in policies.notification_blocks or ():
        try:
            block = await Block.aload(reference)
            notify = getattr(block, "anotify", None) or block.notify
            await notify(body=body, subject=subject)
            sent += 1
        except Exception as exc:  # a notification failure never fails the operation
            # the exception text may quote the block's URL (a secret): log its kind only
            run_logger(__name__).warning(
                "Notification block %s failed: %s", reference, type(exc).__name__
            )
    return sent
