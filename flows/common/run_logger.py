"""The logger of the current Prefect run, or the module's own logger outside a run."""

from __future__ import annotations

import logging

from prefect import get_run_logger

RunLogger = logging.Logger | logging.LoggerAdapter[logging.Logger]


def run_logger(fallback: str) -> RunLogger:
    """Prefect's run logger inside a flow or task run; `logging.getLogger(fallback)` outside.

    Helpers that publish artifacts or send notifications are also called from plain Python
    (tests, scripts), where `get_run_logger()` raises: they log to their module instead.

    Example:
        >>> run_logger(__name__).name
        'flows.common.run_logger'

    """
    try:
        return get_run_logger()
    except Exception:  # outside a run: MissingContextError
        return logging.getLogger(fallback)
