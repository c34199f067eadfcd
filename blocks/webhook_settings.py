"""The `WebhookSettings` block: how instance webhooks are signed and delivered, and where to."""

from __future__ import annotations

import os
from typing import ClassVar, Self

from pydantic import Field, SecretStr, field_validator

from blocks.block_resolution import ResolvableBlock
from clients.endpoint_prober import EndpointProber
from clients.outbound_guard import normalize_allow_list
from clients.webhook_sender import WebhookSender

MIN_SECRET_LENGTH = 8


class WebhookSettings(ResolvableBlock):
    """Signing secret, delivery timeout and outbound rules for the webhooks to instance owners.

    With a secret, each delivery carries `X-Webhook-Signature: sha256=<hex HMAC>` of the
    exact body. When no block is saved, `WEBHOOK_SECRET` is read from the environment.

    Link-local and cloud-metadata addresses (169.254.169.254, metadata.google.internal...)
    are never sent to. `strict_outbound` also refuses loopback and private networks, except
    what `outbound_allow_list` names; the same rules apply to the endpoints probed for health
    (`get_prober`), which come from Novita's answers.

    Example:
        ```python
        from blocks import WebhookSettings

        WebhookSettings(signing_secret="a-long-shared-secret").save("default", overwrite=True)
        settings = await WebhookSettings.resolve()
        async with settings.get_sender() as sender:
            result = await sender.deliver(url, body, event, delivery_id)
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
    strict_outbound: bool = Field(
        default=False,
        description="Also refuse webhook receivers and probe targets on loopback, private and "
        "other non-public addresses (link-local and cloud-metadata ones are always refused).",
    )
    outbound_allow_list: list[str] = Field(
        default_factory=list,
        description="Host names, IP addresses or CIDRs that strict mode lets through, "
        "e.g. 'hooks.internal', '127.0.0.1', '10.20.0.0/16'.",
    )

    @field_validator("signing_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"signing_secret must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("outbound_allow_list")
    @classmethod
    def _allow_list_entries_readable(cls, value: list[str]) -> list[str]:
        return list(normalize_allow_list(value))

    def get_sender(self) -> WebhookSender:
        """A webhook sender with this block's secret, timeout and outbound rules.

        Example:
            ```python
            async with settings.get_sender() as sender:
                result = await sender.deliver(url, body, WebhookEvent.READY, delivery_id)
            ```

        """
        return WebhookSender(
            self.signing_secret,
            timeout=self.timeout_seconds,
            strict_outbound=self.strict_outbound,
            outbound_allow_list=self.outbound_allow_list,
        )

    def get_prober(self, attempt_timeout: float = 5.0) -> EndpointProber:
        """An endpoint prober with this block's outbound rules.

        Example:
            ```python
            async with settings.get_prober() as prober:
                report = await prober.check_endpoints(instance.port_mappings)
            ```

        """
        return EndpointProber(
            attempt_timeout,
            strict_outbound=self.strict_outbound,
            outbound_allow_list=self.outbound_allow_list,
        )

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
