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
