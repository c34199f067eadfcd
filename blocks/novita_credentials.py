"""The `NovitaCredentials` block: Novita API key and base URL, and the client built from them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import Field, SecretStr, field_validator

from blocks.block_resolution import ResolvableBlock
from blocks.novita_rate_limit import DEFAULT_RATE_LIMIT_NAME, rate_limit_for
from clients.novita.client import DEFAULT_BASE_URL
from clients.novita.http_attempt import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_DEADLINE
from clients.novita.pacing import RateBudget

if TYPE_CHECKING:
    from clients.novita import NovitaClient, RetryPolicy


class MissingCredentialsError(RuntimeError):
    """No saved block and no `NOVITA_API_KEY` in the environment."""


class NovitaCredentials(ResolvableBlock):
    """Credentials for the Novita GPU-instance API.

    When no block is saved, `from_environment()` reads `NOVITA_API_KEY` and
    `NOVITA_API_BASE_URL` (and `NOVITA_RATE_LIMIT`, e.g. `20/s`, and
    `NOVITA_REQUEST_DEADLINE_SECONDS`, 10 by default); pointing the base URL at the
    bundled simulator is all it takes to run without a Novita account.

    Example:
        ```python
        from blocks import NovitaCredentials

        creds = NovitaCredentials(api_key="sk_fake", base_url="http://127.0.0.1:8765/gpu-instance/openapi/v1")
        async with creds.get_client() as client:
            clusters = await client.list_clusters()
        ```

    """

    _block_type_name: ClassVar[str] = "Novita Credentials"
    _block_type_slug: ClassVar[str] = "novita-credentials"
    _description: ClassVar[str] = "API key and endpoint of the Novita.ai GPU-instance API."

    api_key: SecretStr = Field(
        default=..., description="Novita API key (Bearer token), e.g. sk_...", title="API key"
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="Base URL of the GPU-instance API; point it at the simulator for local runs.",
        title="Base URL",
    )
    timeout_seconds: float = Field(
        default=DEFAULT_REQUEST_DEADLINE,
        gt=0,
        le=600,
        description="Read timeout of one API call, in seconds.",
    )
    request_deadline_seconds: float = Field(
        default=DEFAULT_REQUEST_DEADLINE,
        gt=0,
        le=600,
        description="Overall deadline of one attempt (connect + whole response), in seconds: "
        "a server that answers a byte at a time is cut off there.",
    )
    rate_limit: str | None = Field(
        default=None,
        description="Novita's request budget for the whole deployment, e.g. 20/s or 100/min; "
        "every request of every worker passes one Prefect global rate limit. Empty: no limit.",
        title="Rate limit",
    )
    rate_limit_name: str = Field(
        default=DEFAULT_RATE_LIMIT_NAME,
        description="Name of the Prefect global concurrency limit that holds the budget.",
    )
    max_response_mb: float = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES / 1024 / 1024,
        gt=0,
        le=1024,
        description="Largest answer accepted, in MiB; reading stops past it.",
    )

    @field_validator("rate_limit")
    @classmethod
    def _readable_budget(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            RateBudget.parse(value)  # raises naming the expected form
            return value.strip()
        return None

    @classmethod
    def from_environment(cls) -> NovitaCredentials:
        """Build credentials from `NOVITA_API_KEY` / `NOVITA_API_BASE_URL`.

        Raises:
            MissingCredentialsError: when `NOVITA_API_KEY` is not set.

        Example:
            ```python
            creds = NovitaCredentials.from_environment()
            ```

        """
        api_key = os.environ.get("NOVITA_API_KEY", "").strip()
        if not api_key:
            raise MissingCredentialsError(
                "No Novita credentials: save a 'novita-credentials' block or set NOVITA_API_KEY."
            )
        base_url = os.environ.get("NOVITA_API_BASE_URL", "").strip() or DEFAULT_BASE_URL
        budget = os.environ.get("NOVITA_RATE_LIMIT", "").strip() or None
        deadline = os.environ.get("NOVITA_REQUEST_DEADLINE_SECONDS", "").strip()
        try:
            limits = {"request_deadline_seconds": float(deadline)} if deadline else {}
        except ValueError:
            raise ValueError(
                f"NOVITA_REQUEST_DEADLINE_SECONDS must be a number of seconds (0 < s <= 600), "
                f"got {deadline!r}"
            ) from None
        return cls(api_key=SecretStr(api_key), base_url=base_url, rate_limit=budget, **limits)

    @classmethod
    def fallback(cls) -> Self:
        """Read the environment when no block is saved."""
        return cls.from_environment()

    def get_client(self, retry_policy: RetryPolicy | None = None) -> NovitaClient:
        """Build an async Novita client (one connection pool) from these credentials.

        Example:
            ```python
            async with NovitaCredentials.from_environment().get_client() as client:
                instances = await client.list_instances()
            ```

        """
        from clients.novita import NovitaClient

        kwargs: dict[str, Any] = {} if retry_policy is None else {"retry_policy": retry_policy}
        if self.rate_limit:
            shared = rate_limit_for(RateBudget.parse(self.rate_limit), self.rate_limit_name)
            kwargs |= {"request_gate": shared.gate, "on_rate_limited": shared.slow_down}
        return NovitaClient(
            api_key=self.api_key,
            base_url=self.base_url,
            read_timeout=self.timeout_seconds,
            request_deadline=self.request_deadline_seconds,
            max_response_bytes=int(self.max_response_mb * 1024 * 1024),
            **kwargs,
        )
