"""Changes to a route and its stops, kept as an append-only log so a driver's app can resume after a tunnel."""
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import BigIntId, StrEnumType, UTCDateTime


class RouteChangeKind(StrEnum):
    STOP_UPDATED = "STOP_UPDATED"
    ETAS_UPDATED = "ETAS_UPDATED"
    ROUTE_REPLANNED = "ROUTE_REPLANNED"
    ROUTE_UPDATED = "ROUTE_UPDATED"


class RouteEvent(SQLModel, table=True):
    """One change to a route (a stop, its ETAs, a new version); ids grow monotonically and are the resume cursor."""

    __tablename__ = "route_event"
    __table_args__ = (sa.Index("ix_route_event_route", "tenant_id", "route_id", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    tenant_id: int = Field(foreign_key="tenant.id")
    depot_id: int = Field(foreign_key="depot.id")
    route_id: int = Field(foreign_key="route.id")
    kind: RouteChangeKind = Field(sa_type=StrEnumType(RouteChangeKind))
    route_version: int = Field(ge=1)
    stop_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    occurred_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
