"""What a provisioning is asked for: one typed `ProvisionRequest`, the same for every caller.

`provision-instance` builds it from its parameters, `provision-fleet` takes a list of them,
and a recreate-migration builds one from the stored request of the machine it replaces. The
fields use the parameter types of `flows.common.parameters`, so every caller validates alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.common.parameters import (
    DEFAULT_BILLING_MODE,
    DEFAULT_GPU_NUM,
    DEFAULT_ROOTFS_SIZE,
    AutoStopMinutes,
    BillingModeChoice,
    DeadlineMinutes,
    GpuNum,
    InstanceName,
    PreferredRegion,
    ProductName,
    RegionPriority,
    RootfsSize,
    TemplateId,
    WaitUntilReady,
    WebhookBlock,
    WebhookUrl,
)
from store.models import ManagedInstance

STORED_FIELDS = (
    "product_name",
    "template_id",
    "gpu_num",
    "rootfs_size",
    "billing_mode",
    "region",
    "regions",
)
"""What the store keeps of a request: enough to provision a replacement, never a secret."""

REQUIRED_FOR_REPLACEMENT = ("product_name", "template_id")


class RecreateImpossibleError(RuntimeError):
    """The record's stored request does not say enough to provision a replacement."""


class ProvisionRequest(BaseModel):
    """One machine to provision: the parameters of `provision-instance`, same limits.

    Unknown fields are refused, so a misspelt one ("gpus") fails instead of being ignored.

    Example:
        >>> ProvisionRequest(name="trainer-1", product_name="RTX 4090 24GB",
        ...                  template_id=1001).template_id
        '1001'

    """

    # hide_input_in_errors: a refused webhook URL (maybe with a token) is never echoed.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # The machine
    name: InstanceName
    """Adopted, never duplicated, when an instance of this name exists."""
    product_name: ProductName
    template_id: TemplateId
    gpu_num: GpuNum = Field(default=DEFAULT_GPU_NUM)
    rootfs_size: RootfsSize = Field(default=DEFAULT_ROOTFS_SIZE)
    billing_mode: BillingModeChoice = Field(default=DEFAULT_BILLING_MODE)
    # Where
    region: PreferredRegion = None
    regions: RegionPriority = None
    """Replaces the policies' region priority (itself replacing the default order)."""
    # Who is told, and how long it may take
    webhook_url: WebhookUrl = None
    webhook_block: WebhookBlock = None
    auto_stop_minutes: AutoStopMinutes = None
    wait_until_ready: WaitUntilReady = Field(default=True)
    deadline_minutes: DeadlineMinutes = None
    """Covers the whole provisioning, planning included (default: the policies', 10 min)."""

    @model_validator(mode="after")
    def _one_webhook(self) -> ProvisionRequest:
        if self.webhook_url is not None and self.webhook_block is not None:
            raise ValueError("give webhook_url or webhook_block, not both")
        return self

    def for_store(self) -> dict[str, Any]:
        """The part of the request the store keeps (`STORED_FIELDS`).

        Example:
            >>> r = ProvisionRequest(name="a", product_name="RTX 4090 24GB", template_id="1")
            >>> sorted(r.for_store())[:3]
            ['billing_mode', 'gpu_num', 'product_name']

        """
        return self.model_dump(mode="json", include=set(STORED_FIELDS))

    @classmethod
    def replacement_for(cls, record: ManagedInstance, regions: list[str]) -> ProvisionRequest:
        """A request for a replacement of `record` under its name, trying `regions` in order.

        Raises:
            RecreateImpossibleError: the stored request lacks the product or the template.

        Example:
            >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a",
            ...     request={"product_name": "RTX 4090 24GB", "template_id": "1001"})
            >>> ProvisionRequest.replacement_for(r, ["OC-AU-01"]).regions
            ['OC-AU-01']

        """
        stored = record.request
        missing = [k for k in REQUIRED_FOR_REPLACEMENT if not stored.get(k)]
        if missing:
            raise RecreateImpossibleError(
                f"the stored request of {record.name!r} lacks {', '.join(missing)}: cannot recreate"
            )
        return cls(
            name=record.name,
            product_name=stored["product_name"],
            template_id=str(stored["template_id"]),
            gpu_num=stored.get("gpu_num") or DEFAULT_GPU_NUM,
            rootfs_size=stored.get("rootfs_size") or DEFAULT_ROOTFS_SIZE,
            billing_mode=stored.get("billing_mode") or record.billing_mode or "spot",
            regions=regions,
            auto_stop_minutes=record.auto_stop_minutes,
        )
