"""Flows against the session's real parts (`tests/live_servers.py`): nothing to add here.

`WEBHOOK_SECRET` stays importable from here for the flow tests that sign or verify.
"""

from tests.live_servers import SIM_SPEED, WEBHOOK_SECRET

__all__ = ["SIM_SPEED", "WEBHOOK_SECRET"]
