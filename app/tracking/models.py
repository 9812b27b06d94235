"""GPS fixes from drivers' phones, and the last known position of each driver."""
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import UTCDateTime


class DriverPosition(SQLModel, table=True):
    """One GPS fix; a duplicate (same driver, same time) is stored once."""

    __tablename__ = "driver_position"
    __table_args__ = (sa.UniqueConstraint("driver_id", "recorded_at", name="uq_driver_position_driver_time"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    driver_id: int = Field(foreign_key="app_user.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)
    speed_mps: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)
    received_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class DriverLastPosition(SQLModel, table=True):
    """The newest fix per driver, kept up to date so the live map reads one row per driver."""

    __tablename__ = "driver_last_position"

    driver_id: int = Field(foreign_key="app_user.id", primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None


class RouteLiveState(SQLModel, table=True):
    """When a route's live ETAs were last computed (the per-route throttle, shared by every API process)."""

    __tablename__ = "route_live_state"

    route_id: int = Field(foreign_key="route.id", primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    computed_at: datetime = Field(sa_type=UTCDateTime)
    stops_done: int = Field(default=0, ge=0, description="stops no longer pending at the last computation")
    fix_lat: float | None = Field(default=None, description="the fix the last computation started from")
    fix_lon: float | None = None


class StopLiveState(SQLModel, table=True):
    """What the live ETAs decided about one stop: running late (with hysteresis), approached, ETA 30 min out."""

    __tablename__ = "stop_live_state"

    stop_id: int = Field(foreign_key="stop.id", primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    route_id: int = Field(foreign_key="route.id", index=True)
    late: bool = False
    late_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late_handled: bool = Field(default=False, description="the lateness went to a replan proposal or an exception")
    approached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    eta_30: datetime | None = Field(default=None, sa_type=UTCDateTime, description="the live ETA given about 30 min before arrival")
    eta_30_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LateRouteProposal(SQLModel, table=True):
    """One replan offered to the dispatcher because several stops of a route would miss their windows."""

    __tablename__ = "late_route_proposal"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    route_id: int = Field(foreign_key="route.id", index=True)
    based_on_version: int = Field(ge=1)
    late_stop_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    still_late_stop_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    minutes_saved: int = 0
    windows_kept_now: int = Field(default=0, ge=0)
    windows_kept_replanned: int = Field(default=0, ge=0)
    plan: dict = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
