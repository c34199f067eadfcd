"""What a sweep says about an instance it looked at: skipped (and why) or failed (pure values)."""

from __future__ import annotations

from pydantic import BaseModel


class SkippedInstance(BaseModel):
    """An instance the sweep looked at and left alone.

    Example:
        >>> SkippedInstance(instance_id="0123456789abcdef", name="a", reason="used 3 min ago")
        SkippedInstance(instance_id='0123456789abcdef', name='a', reason='used 3 min ago')

    """

    instance_id: str
    name: str | None = None
    reason: str


class InstanceError(BaseModel):
    """An instance whose action failed; the sweep carried on with the others.

    Example:
        >>> InstanceError(instance_id="0123456789abcdef", error="stop refused").error
        'stop refused'

    """

    instance_id: str
    name: str | None = None
    error: str


class InstanceSkippedError(Exception):
    """Raised while acting on one instance when a re-read shows it must be left alone.

    Example:
        ```python
        if live.status != InstanceStatus.RUNNING:
            raise InstanceSkippedError(f"Novita now reports {live.status_raw}")
        ```

    """

    @property
    def reason(self) -> str:
        """Why the instance was left alone."""
        return str(self)
