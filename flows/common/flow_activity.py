"""What Prefect says about the flow runs behind busy records: acting, ended or unknown (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ActivityState = Literal["acting", "ended", "unknown"]


@dataclass(frozen=True)
class FlowActivity:
    """What Prefect says about the runs behind busy records (instance ids).

    Example:
        >>> FlowActivity(acting=frozenset({"a"})).state_of("a")
        'acting'

    """

    acting: frozenset[str] = field(default_factory=frozenset)
    """A flow run that is not in a final state still owns these records."""
    ended: frozenset[str] = field(default_factory=frozenset)
    """The flow run that made these records busy has ended: nobody is acting on them."""

    def state_of(self, instance_id: str) -> ActivityState:
        """`acting`, `ended` or `unknown` for one instance.

        Example:
            >>> FlowActivity().state_of("a")
            'unknown'

        """
        if instance_id in self.acting:
            return "acting"
        if instance_id in self.ended:
            return "ended"
        return "unknown"
