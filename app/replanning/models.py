"""Every plan a route was given: the version it produced, who asked, why, and the full solver answer."""
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import UTCDateTime


class RoutePlan(SQLModel, table=True):
    """One replanning of a route; `version` is the route version it created."""

    __tablename__ = "route_plan"
    __table_args__ = (sa.UniqueConstraint("route_id", "version", name="uq_route_plan_route_version"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    route_id: int = Field(foreign_key="route.id")
    version: int = Field(ge=1)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    reason: str = Field(max_length=40)
    cost: int = Field(ge=0, description="solver cost: travel seconds")
    duration_seconds: int = Field(ge=0, description="planned travel seconds from the start to the depot")
    distance_m: int | None = None
    plan: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
