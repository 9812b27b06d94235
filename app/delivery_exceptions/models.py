"""Delivery exceptions and their append-only event timeline."""
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import BigIntId, StrEnumType, UTCDateTime


class ExceptionKind(StrEnum):
    CUSTOMER_ABSENT = "CUSTOMER_ABSENT"
    ACCESS_DENIED = "ACCESS_DENIED"
    ADDRESS_PROBLEM = "ADDRESS_PROBLEM"
    PACKAGE_DAMAGED = "PACKAGE_DAMAGED"
    DELAYED = "DELAYED"
    ROUTING_ERROR = "ROUTING_ERROR"
    REFUSED = "REFUSED"
    OTHER = "OTHER"


REASON_CODES: dict[ExceptionKind, tuple[str, ...]] = {
    ExceptionKind.CUSTOMER_ABSENT: ("NO_ANSWER", "BUSINESS_CLOSED", "CUSTOMER_UNAVAILABLE"),
    ExceptionKind.ACCESS_DENIED: ("GATE_CLOSED", "ENTRY_CODE_INVALID", "BUILDING_LOCKED", "KEY_FAILED", "NO_ACCESS_INFO"),
    ExceptionKind.ADDRESS_PROBLEM: ("ADDRESS_NOT_FOUND", "ADDRESS_INCOMPLETE", "WRONG_ADDRESS", "CUSTOMER_MOVED"),
    ExceptionKind.PACKAGE_DAMAGED: ("DAMAGED_IN_TRANSIT", "WET", "CRUSHED", "MISSING_ITEMS"),
    ExceptionKind.DELAYED: ("TRAFFIC", "WEATHER", "VEHICLE", "DEPOT_LATE", "OVERLOADED_ROUTE", "RUNNING_LATE"),
    ExceptionKind.ROUTING_ERROR: ("WRONG_ROUTE", "MISSORTED", "UNREACHABLE_LOCATION", "WRONG_LOCATION"),
    ExceptionKind.REFUSED: ("CUSTOMER_REFUSED", "WRONG_ITEM", "PAYMENT_ISSUE"),
    ExceptionKind.OTHER: ("OTHER",),
}

# Kinds that mean the driver stood at the door and could not hand over: they count as a failed attempt.
ATTEMPT_FAILING_KINDS = frozenset(
    {
        ExceptionKind.CUSTOMER_ABSENT,
        ExceptionKind.ACCESS_DENIED,
        ExceptionKind.ADDRESS_PROBLEM,
        ExceptionKind.PACKAGE_DAMAGED,
        ExceptionKind.REFUSED,
    }
)


class ExceptionStatus(StrEnum):
    OPEN = "OPEN"
    CONTACTING_CUSTOMER = "CONTACTING_CUSTOMER"
    AWAITING_DECISION = "AWAITING_DECISION"
    ACTION_APPROVED = "ACTION_APPROVED"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"


TERMINAL_STATUSES = frozenset({ExceptionStatus.RESOLVED, ExceptionStatus.FAILED})


class ResolutionOutcome(StrEnum):
    DELIVERED_TO_CUSTOMER = "DELIVERED_TO_CUSTOMER"
    DELIVERED_TO_NEIGHBOR = "DELIVERED_TO_NEIGHBOR"
    SECURE_DROPOFF = "SECURE_DROPOFF"
    PICKUP_POINT = "PICKUP_POINT"
    RESCHEDULED = "RESCHEDULED"
    ADDRESS_CORRECTED = "ADDRESS_CORRECTED"
    RETURNED_TO_DEPOT = "RETURNED_TO_DEPOT"
    CANCELLED = "CANCELLED"


class EventType(StrEnum):
    REPORTED = "REPORTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    STATUS_CHANGED = "STATUS_CHANGED"
    NOTE_ADDED = "NOTE_ADDED"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"
    ALTERNATIVE_PROPOSED = "ALTERNATIVE_PROPOSED"
    ALTERNATIVE_APPROVED = "ALTERNATIVE_APPROVED"
    ALTERNATIVE_REJECTED = "ALTERNATIVE_REJECTED"
    ALTERNATIVE_EXECUTED = "ALTERNATIVE_EXECUTED"


class ResolutionStep(StrEnum):
    """The documented resolution process: identify → analyse → communicate → correct → document."""

    IDENTIFIED = "IDENTIFIED"
    ANALYSED = "ANALYSED"
    CUSTOMER_CONTACTED = "CUSTOMER_CONTACTED"
    CORRECTIVE_ACTION = "CORRECTIVE_ACTION"
    OUTCOME = "OUTCOME"


class DeliveryException(SQLModel, table=True):
    """A delivery that could not be completed as planned, worked until resolved or failed."""

    __tablename__ = "delivery_exception"
    __table_args__ = (
        sa.UniqueConstraint("reported_by_id", "idempotency_key", name="uq_delivery_exception_reporter_key"),
        sa.Index("ix_delivery_exception_tenant_reported", "tenant_id", "reported_at"),
        sa.Index("ix_delivery_exception_depot_status", "depot_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    depot_id: int = Field(foreign_key="depot.id")
    route_id: int = Field(foreign_key="route.id", index=True)
    stop_id: int = Field(foreign_key="stop.id", index=True)
    kind: ExceptionKind = Field(sa_type=StrEnumType(ExceptionKind))
    reason_code: str = Field(max_length=40)
    description: str = Field(default="", max_length=2000)
    status: ExceptionStatus = Field(default=ExceptionStatus.OPEN, sa_type=StrEnumType(ExceptionStatus))
    reported_by_id: int = Field(foreign_key="app_user.id")
    reported_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    lat: float | None = None
    lon: float | None = None
    failed_attempt_number: int | None = Field(default=None, ge=1, description="set when the report recorded a failed attempt")
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id")
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_outcome: ResolutionOutcome | None = Field(default=None, sa_type=StrEnumType(ResolutionOutcome))
    resolution_note: str | None = Field(default=None, max_length=2000)
    failure_cost_cents: int | None = Field(default=None, ge=0)
    idempotency_key: str = Field(max_length=100)
    request_fingerprint: str = Field(max_length=64)
    version: int = Field(default=1, ge=1)
    updated_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class ExceptionEvent(SQLModel, table=True):
    """One step of an exception's timeline; ids grow monotonically and rows are never rewritten."""

    __tablename__ = "exception_event"
    __table_args__ = (
        sa.Index("ix_exception_event_exception", "exception_id", "id"),
        sa.Index("ix_exception_event_depot", "tenant_id", "depot_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    tenant_id: int = Field(foreign_key="tenant.id")
    depot_id: int = Field(foreign_key="depot.id")
    route_id: int = Field(foreign_key="route.id")
    exception_id: int = Field(foreign_key="delivery_exception.id")
    type: EventType = Field(sa_type=StrEnumType(EventType))
    step: ResolutionStep = Field(sa_type=StrEnumType(ResolutionStep))
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_role: str | None = Field(default=None, max_length=32)
    occurred_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
