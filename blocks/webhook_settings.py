"""The `WebhookSettings` block: how instance webhooks are signed and delivered."""

from __future__ import annotations

import os
from typing import ClassVar, Self

from pydantic import Field, SecretStr, field_validator

from blocks.block_resolution import ResolvableBlock

MIN_SECRET_LENGTH = 8


class WebhookSettings(ResolvableBlock):
    """Signing secret and delivery timeout for the webhooks sent to instance owners.

    With a secret, each delivery carries `X-Webhook-Signature: sha256=<hex HMAC>` of the
    exact body. When no block is saved, `WEBHOOK_SECRET` is read from the environment.

    Example:
        ```python
        from blocks import WebhookSettings

        WebhookSettings(signing_secret="a-long-shared-secret").save("default", overwrite=True)
        ```

    """

    _block_type_name: ClassVar[str] = "Novita Webhook Settings"
    _block_type_slug: ClassVar[str] = "novita-webhook-settings"
    _description: ClassVar[str] = "Signing secret and timeout for Novita instance webhooks."

    signing_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 signing secret shared with receivers (at least 8 characters).",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of one delivery attempt, in seconds."
    )

    @field_validator("signing_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"signing_secret must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @classmethod
    def from_environment(cls) -> WebhookSettings:
        """Settings from `WEBHOOK_SECRET` (unsigned deliveries when it is unset).

        Example:
            ```python
            settings = WebhookSettings.from_environment()
            ```

        """
        secret = os.environ.get("WEBHOOK_SECRET", "")
        return cls(signing_secret=SecretStr(secret) if secret else None)

    @classmethod
    def fallback(cls) -> Self:
        """Read the environment when no block is saved."""
        return cls.from_environment()
