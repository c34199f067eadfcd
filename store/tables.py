"""SQLAlchemy ORM tables of the store.

The schema itself is created and changed only by the alembic migrations in
``store/migrations/versions``; these classes must describe the same schema (a test compares
them), and ``python -m store.schema revision --autogenerate`` diffs against them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, MetaData, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import DecimalAmount, UTCDateTime

# Named constraints make later migrations (and SQLite batch ALTERs) deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = JSON().with_variant(JSONB(), "postgresql")

# The partial unique index on names: a deleted instance frees its name for a new one.
LIVE_NAME_PREDICATE = "status != 'deleted'"


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InstanceRow(Base):
    """A managed instance. ``id`` is internal and stable; ``instance_id`` may change."""

    __tablename__ = "managed_instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    cluster_id: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(128))
    product_id: Mapped[str | None] = mapped_column(String(128))
    product_name: Mapped[str | None] = mapped_column(String(255))
    billing_mode: Mapped[str | None] = mapped_column(String(32))
    price_per_hour: Mapped[Decimal | None] = mapped_column(DecimalAmount())
    desired_state: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    auto_stop_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    migration_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_migration_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_instance_ids: Mapped[list[str]] = mapped_column(JsonDocument)

    __table_args__ = (
        Index(
            "uq_managed_instances_live_name",
            "name",
            unique=True,
            sqlite_where=text(LIVE_NAME_PREDICATE),
            postgresql_where=text(LIVE_NAME_PREDICATE),
        ),
    )


class OperationRow(Base):
    """One operation of the history; ``record_id`` ties it to the managed record."""

    __tablename__ = "instance_operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("managed_instances.id", ondelete="SET NULL"), index=True
    )
    instance_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeliveryRow(Base):
    """A webhook delivery; ``delivery_id`` is the stable ``X-Webhook-Delivery`` value."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index(None, "status", "next_attempt_at"),)


class NameClaimRow(Base):
    """Who is renting a machine under this name right now (a lease, until it expires)."""

    __tablename__ = "name_claims"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
