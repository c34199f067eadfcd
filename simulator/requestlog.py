"""The log of API requests that reached the simulator, for tests to assert on.

One entry per request to the API base (admin and endpoint calls are not logged): method,
path relative to the API base, query parameters, decoded JSON body (None when absent or not
JSON), the status answered and the simulated time. Headers are never kept, so the API key
never lands here. The log is bounded (oldest entries drop first) to stay cheap at scale.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

__all__ = ["RequestLog"]


class RequestLog:
    """A bounded, thread-safe list of request entries.

    Args:
        maxlen: Entries kept; older ones are dropped.

    Example:
        >>> log = RequestLog()
        >>> entry = log.record("POST", "/gpu/instance/stop", {}, b'{"instanceId": "x"}', 1.0)
        >>> entry["status"] = 200
        >>> log.entries(path="/gpu/instance/stop")[0]["body"]
        {'instanceId': 'x'}

    """

    def __init__(self, maxlen: int = 10_000):
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def record(
        self, method: str, path: str, query: dict[str, str], body: bytes, at: float
    ) -> dict[str, Any]:
        """Append an entry and return it (the caller fills ``status`` once answered)."""
        decoded: Any = None
        if body:
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = None
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "body": decoded,
            "status": None,
            "at": at,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Copies of the entries, oldest first, optionally filtered.

        Args:
            path: Keep entries whose path contains this substring.
            method: Keep entries with this HTTP method (case-insensitive).

        """
        with self._lock:
            items = list(self._entries)
        return [
            dict(e)
            for e in items
            if (not path or path in e["path"])
            and (not method or e["method"].upper() == method.upper())
        ]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
