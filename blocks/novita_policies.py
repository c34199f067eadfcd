"""The `NovitaPolicies` block: defaults for region order, readiness, auto-stop and migration."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from blocks.block_resolution import ResolvableBlock


class NovitaPolicies(ResolvableBlock):
    """Policy defaults; every value can still be overridden per flow run by a parameter.

    Example:
        ```python
        from blocks import NovitaPolicies

        NovitaPolicies(auto_stop_minutes=30).save("default", overwrite=True)
        ```

    """

    _block_type_name: ClassVar[str] = "Novita Policies"
    _block_type_slug: ClassVar[str] = "novita-policies"
    _description: ClassVar[str] = "Region order, readiness, auto-stop and migration defaults."

    region_priority: list[str] | None = Field(
        default=None,
        description="Regions to try, in order (names like US-CA-06 or ids like us-ca-6). "
        "Empty: the built-in order AS-SGP-02, CN-HK-01, OC-AU-01, US-CA-06, US-WEST-01, "
        "EU-DE-01, EU-WEST-01, AS-IN-01.",
    )
    readiness_deadline_minutes: float = Field(
        default=10.0, gt=0, le=240, description="Provisioning fails when not ready by then."
    )
    poll_initial_seconds: float = Field(
        default=2.0, gt=0, le=60, description="First wait between status polls."
    )
    poll_max_seconds: float = Field(
        default=15.0, gt=0, le=300, description="Longest wait between status polls."
    )
    auto_stop_minutes: int = Field(
        default=20, ge=0, le=10080, description="Idle minutes before auto-stop; 0 = never."
    )
    migration_cooldown_minutes: int = Field(
        default=30, ge=0, le=10080, description="Minimum minutes between two migrations."
    )
    migration_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Migrations tried per instance before giving up."
    )
    max_fleet_price_per_hour: float | None = Field(
        default=None,
        gt=0,
        description="USD per hour the running fleet may cost at most: provision-instance "
        "refuses a machine that would push it above, before any create call. Empty: no budget.",
    )

    notification_blocks: list[str] | None = Field(
        default=None,
        description="Saved Prefect notification blocks told about events that need a human "
        "(provisioning failed, auto-stopped, migrated, migration failed), each as "
        "'<block-type-slug>/<block-name>', e.g. 'slack-webhook/ops' or 'custom-webhook/pager'.",
    )

    @classmethod
    def fallback(cls) -> Self:
        """The built-in defaults when no block is saved."""
        return cls()
