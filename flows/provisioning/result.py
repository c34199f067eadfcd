"""What `provision-instance` returns: the machine, its region, its price, how to reach it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from clients.endpoint_models import HealthReport
from flows.instances.view import PortView
from flows.provisioning.creation import RegionAttempt
from flows.provisioning.rules.plan import ProvisionPlan


class ProvisionResult(BaseModel):
    """What `provision-instance` returns: the machine, its region, its price, how to reach it.

    Example:
        >>> ProvisionResult(name="trainer-1", status="planned").adopted
        False

    """

    instance_id: str | None = None
    name: str
    status: str = Field(description="ready, running, creating (wait_until_ready=false) or planned")
    region: str | None = None
    cluster_id: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    billing_mode: str | None = None
    price_per_hour: Decimal | None = Field(default=None, description="USD per hour, all GPUs")
    port_mappings: list[PortView] = Field(default_factory=list)
    connection_details: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    ready_at: datetime | None = None
    adopted: bool = Field(default=False, description="An existing instance of that name was used")
    regions_tried: list[RegionAttempt] = Field(default_factory=list)
    health_check: HealthReport | None = None
    plan: ProvisionPlan | None = None
