"""The integration outbox: events for outside systems (WMS, CRM), written in the transaction that caused them."""
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import BigIntId, UTCDateTime


class IntegrationEvent(SQLModel, table=True):
    """One event for an outside system; the idempotency key makes a second write of the same fact impossible."""

    __tablename__ = "integration_event"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_integration_event_tenant_key"),
        sa.Index("ix_integration_event_pending", "delivered_at", "id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    tenant_id: int = Field(foreign_key="tenant.id")
    kind: str = Field(max_length=64, description="e.g. wms.parcel_held")
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    idempotency_key: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """An integrator's key: only its SHA-256 is stored; the prefix lets a person recognise it in a list."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    created_by: int = Field(foreign_key="app_user.id")
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=24, description="the first characters of the key, e.g. dtr_live_ab12cd")
    secret_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GpsDevice(SQLModel, table=True):
    """A tracker (Traccar, OsmAnd) whose positions count as one driver's; its token is stored hashed."""

    __tablename__ = "gps_device"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "identifier", name="uq_gps_device_tenant_identifier"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    driver_id: int = Field(foreign_key="app_user.id")
    identifier: str = Field(max_length=120, description="the device's own id (Traccar uniqueId, OsmAnd id)")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
