"""Routes, their stops and parcels, the vehicles that drive them and each delivery attempt."""
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import StrEnumType, UTCDateTime


class RouteStatus(StrEnum):
    PLANNED = "PLANNED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class StopStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    RESCHEDULED = "RESCHEDULED"


class ParcelStatus(StrEnum):
    ON_ROUTE = "ON_ROUTE"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    HELD = "HELD"
    RETURNED = "RETURNED"


class AttemptOutcome(StrEnum):
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicle"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "external_ref", name="uq_vehicle_tenant_external_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    depot_id: int = Field(foreign_key="depot.id", index=True)
    label: str = Field(max_length=64)
    capacity: int = Field(default=150, ge=0, description="parcels")
    skills: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    external_ref: str | None = Field(default=None, max_length=100)
    active: bool = True


class Route(SQLModel, table=True):
    """One driver's day from one depot; `version` grows with every change to it."""

    __tablename__ = "route"
    __table_args__ = (
        sa.Index("ix_route_driver_date", "driver_id", "service_date"),
        sa.UniqueConstraint("tenant_id", "service_date", "external_ref", name="uq_route_tenant_date_external_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    depot_id: int = Field(foreign_key="depot.id", index=True)
    driver_id: int | None = Field(default=None, foreign_key="app_user.id")
    vehicle_id: int | None = Field(default=None, foreign_key="vehicle.id")
    service_date: date
    status: RouteStatus = Field(default=RouteStatus.PLANNED, sa_type=StrEnumType(RouteStatus))
    version: int = Field(default=1, ge=1)
    external_ref: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class Stop(SQLModel, table=True):
    """A place on a route (or, before planning, on a depot's day) where parcels are handed over, in the customer's window."""

    __tablename__ = "stop"
    __table_args__ = (
        sa.Index("ix_stop_route_sequence", "route_id", "sequence"),
        sa.UniqueConstraint("tenant_id", "external_ref", name="uq_stop_tenant_external_ref"),
        sa.Index("ix_stop_unassigned", "tenant_id", "depot_id", "service_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    # None: imported without a route, waiting for planRoutes on its depot's day (depot_id and service_date say which).
    route_id: int | None = Field(default=None, foreign_key="route.id")
    depot_id: int | None = Field(default=None, foreign_key="depot.id", description="the depot of an unassigned stop")
    service_date: date | None = Field(default=None, description="the day of an unassigned stop")
    sequence: int = Field(ge=0)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    address: str = Field(max_length=500)
    lat: float
    lon: float
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    planned_eta: datetime | None = Field(default=None, sa_type=UTCDateTime)
    live_eta: datetime | None = Field(default=None, sa_type=UTCDateTime, description="ETA from the driver's last GPS fix")
    live_eta_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="when live_eta was computed")
    service_seconds: int = Field(default=180, ge=0)
    status: StopStatus = Field(default=StopStatus.PENDING, sa_type=StrEnumType(StopStatus))
    attempts: int = Field(default=0, ge=0)
    version: int = Field(default=1, ge=1)
    external_ref: str | None = Field(default=None, max_length=100)


class Parcel(SQLModel, table=True):
    __tablename__ = "parcel"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "barcode", name="uq_parcel_tenant_barcode"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    stop_id: int = Field(foreign_key="stop.id", index=True)
    barcode: str = Field(max_length=64)
    declared_value_cents: int = Field(default=0, ge=0)
    signature_required: bool = False
    status: ParcelStatus = Field(default=ParcelStatus.ON_ROUTE, sa_type=StrEnumType(ParcelStatus))


class DeliveryAttempt(SQLModel, table=True):
    """One try at handing a stop's parcels over; attempt 1 decides first-time success."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (
        sa.UniqueConstraint("stop_id", "attempt_number", name="uq_delivery_attempt_stop_number"),
        sa.UniqueConstraint("driver_id", "idempotency_key", name="uq_delivery_attempt_driver_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    stop_id: int = Field(foreign_key="stop.id", index=True)
    driver_id: int | None = Field(default=None, foreign_key="app_user.id")
    attempt_number: int = Field(ge=1)
    outcome: AttemptOutcome = Field(sa_type=StrEnumType(AttemptOutcome))
    attempted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    idempotency_key: str | None = Field(default=None, max_length=100)
    request_fingerprint: str | None = Field(default=None, max_length=64)
