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
