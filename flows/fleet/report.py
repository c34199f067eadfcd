"""What `fleet-sync` returns: the records that followed Novita, the unmanaged, the webhooks."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.fleet.rules.reconciliation import StatusChange


class UnmanagedInstance(BaseModel):
    """A Novita instance of the account that the store does not manage (left alone)."""

    instance_id: str
    name: str
    status: str = Field(description="Novita's status")
    region: str | None = None


class FleetSyncReport(BaseModel):
    """What `fleet-sync` returns.

    Example:
        >>> FleetSyncReport(checked=0).marked_deleted
        []

    """

    checked: int = Field(description="Managed (non-deleted) records compared with Novita")
    changed: list[StatusChange] = Field(
        default_factory=list, description="Records whose status followed Novita: from → to"
    )
    marked_deleted: list[str] = Field(
        default_factory=list, description="Instance ids found gone from Novita, now deleted"
    )
    unmanaged: list[UnmanagedInstance] = Field(
        default_factory=list, description="Novita instances not managed here (untouched)"
    )
    under_managed_names: list[UnmanagedInstance] = Field(
        default_factory=list,
        description="Unmanaged Novita instances carrying a managed machine's name (reported "
        "to the humans: a duplicate rental bills unseen otherwise)",
    )
    redelivered: list[str] = Field(
        default_factory=list, description="Delivery ids delivered late by this run"
    )
    still_failing: list[str] = Field(
        default_factory=list, description="Delivery ids that failed again (due later)"
    )
    given_up: list[str] = Field(
        default_factory=list, description="Delivery ids out of attempts: no more retries"
    )
    fleet_table_published: bool = False
