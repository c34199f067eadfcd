"""Drive the simulator that a benchmark runs against: reset, faults, counters, seeding.

Every call goes to the simulator's `/_admin` routes (never counted as Novita calls), except
`list_instances`, which reads the public API to count duplicate names after a run: call it
after reading the counters (it lifts the rate cap so it never meets a 429).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

API_PREFIX = "/gpu-instance/openapi/v1"
SIM_KEY = "sk_sim_fake_key_for_local_use_only"
"""The simulator's public fake key (not a secret)."""


class SimAdmin:
    """The admin side of one simulator process.

    Example:
        ```python
        admin = SimAdmin("http://127.0.0.1:8765")
        admin.prepare(rate_limit=20, latency_ms=50)
        ...
        stats = admin.stats()
        ```

    """

    def __init__(self, root_url: str, api_key: str = SIM_KEY) -> None:
        self.root_url = root_url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(base_url=f"{self.root_url}/_admin", timeout=60)

    @property
    def base_url(self) -> str:
        """`NOVITA_API_BASE_URL` of this simulator."""
        return f"{self.root_url}{API_PREFIX}"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.post(path, json=body or {})
        response.raise_for_status()
        return response.json()

    def prepare(self, rate_limit: int = 0, latency_ms: float = 0.0, reset: bool = True) -> None:
        """Forget every instance (with `reset`), set the rate cap and latency, zero counters.

        A reset also lifts every fault, so the cap and the latency are set again after it.
        """
        if reset:
            self._post("/reset")
        self._post("/faults/rate-limit", {"perSecond": rate_limit})
        self._post("/faults/latency", {"ms": latency_ms})
        self.clear_stats()

    def set_rate_limit(self, per_second: int) -> None:
        """Cap the API at `per_second` requests per second (0 lifts the cap)."""
        self._post("/faults/rate-limit", {"perSecond": per_second})

    def clear_stats(self) -> None:
        """Start the request counters again from zero."""
        self._http.delete("/stats").raise_for_status()

    def stats(self) -> dict[str, Any]:
        """The request counters (`total`, `limited`, `byPath`, `perSecond`, peaks...)."""
        response = self._http.get("/stats")
        response.raise_for_status()
        return response.json()

    def seed(self, count: int, **body: Any) -> list[dict[str, str]]:
        """Seed `count` instances already running or exited (`POST /_admin/instances/seed`)."""
        return self._post("/instances/seed", {"count": count, **body})["instances"]

    def list_instances(self) -> list[dict[str, Any]]:
        """Every instance of the account, read over the public API (cap lifted first)."""
        self.set_rate_limit(0)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        found: list[dict[str, Any]] = []
        page = 1
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=60) as api:
            while True:
                response = api.get("/gpu/instances", params={"pageSize": 100, "pageNum": page})
                response.raise_for_status()
                body = response.json()
                found += body["instances"]
                if not body["instances"] or len(found) >= body["total"]:
                    return found
                page += 1

    def duplicates(self) -> int:
        """Instances that share their name with an earlier one (0 = every name once)."""
        names = Counter(i["name"] for i in self.list_instances())
        return sum(count - 1 for count in names.values() if count > 1)


def calls_by_path(stats: dict[str, Any]) -> dict[str, int]:
    """`{path: requests}` from the counters, e.g. `{"/gpu/instance/create": 100}`.

    Example:
        >>> calls_by_path({"byPath": {"/clusters": {"total": 1, "limited": 0}}})
        {'/clusters': 1}

    """
    return {path: counts["total"] for path, counts in stats.get("byPath", {}).items()}


def max_in_window(stats: dict[str, Any], seconds: int) -> int:
    """Most requests received in any `seconds` consecutive wall-clock seconds.

    Read from the per-second counts (whole seconds), so a window here starts on a second.

    Example:
        >>> rows = [{"second": 10, "received": 5}, {"second": 11, "received": 3},
        ...         {"second": 13, "received": 4}]
        >>> max_in_window({"perSecond": rows}, 2), max_in_window({"perSecond": rows}, 4)
        (8, 12)

    """
    counts = {row["second"]: row["received"] for row in stats.get("perSecond", [])}
    if not counts:
        return 0
    best = 0
    for start in counts:
        best = max(best, sum(counts.get(start + k, 0) for k in range(seconds)))
    return best
