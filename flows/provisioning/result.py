"""What `provision-instance` returns: the machine, its region, its price, how to reach it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from clients.endpoint_models import HealthReport
from clients.novita import Instance
from flows.instances.view import PortView, connection_details, port_views
from flows.provisioning.creation import RegionAttempt
from flows.provisioning.rules.plan import ProvisionPlan
from store.models import ManagedInstance


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

    @classmethod
    def of(
        cls,
        record: ManagedInstance,
        instance: Instance | None,
        health: HealthReport | None,
        adopted: bool,
        attempts: list[RegionAttempt],
    ) -> ProvisionResult:
        """The result for a managed record, with how to reach it when Novita's view is known.

        Example:
            >>> r = ManagedInstance(instance_id="0123456789abcdef", name="a", status="creating")
            >>> ProvisionResult.of(r, None, None, False, []).status
            'creating'

        """
        return cls(
            instance_id=record.instance_id,
            name=record.name,
            status=str(record.status),
            region=record.region,
            cluster_id=record.cluster_id,
            product_id=record.product_id,
            product_name=record.product_name,
            billing_mode=record.billing_mode,
            price_per_hour=record.price_per_hour,
            port_mappings=port_views(instance) if instance else [],
            connection_details=connection_details(instance) if instance else {},
            created_at=record.created_at,
            ready_at=record.ready_at,
            adopted=adopted,
            regions_tried=attempts,
            health_check=health,
        )
