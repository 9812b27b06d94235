"""Alternative deliveries, the neighbours and pickup points they use, one-time codes and each tenant's policy."""
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import StrEnumType, UTCDateTime


class ProposerKind(StrEnum):
    CUSTOMER = "CUSTOMER"
    DRIVER = "DRIVER"
    DISPATCHER = "DISPATCHER"
    SUPERVISOR = "SUPERVISOR"
    RULE = "RULE"


class AlternativeKind(StrEnum):
    RESCHEDULE = "RESCHEDULE"
    NEIGHBOR_HANDOVER = "NEIGHBOR_HANDOVER"
    SECURE_DROPOFF = "SECURE_DROPOFF"
    PICKUP_POINT = "PICKUP_POINT"
    RETURN_TO_DEPOT = "RETURN_TO_DEPOT"
    ADDRESS_CORRECTION = "ADDRESS_CORRECTION"


class AlternativeStatus(StrEnum):
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SUPERSEDED = "SUPERSEDED"
    EXECUTED = "EXECUTED"


class DecisionOutcome(StrEnum):
    APPROVED_AUTOMATICALLY = "APPROVED_AUTOMATICALLY"
    NEEDS_DISPATCHER = "NEEDS_DISPATCHER"
    NEEDS_SUPERVISOR = "NEEDS_SUPERVISOR"
    REFUSED = "REFUSED"


class NeighborStatus(StrEnum):
    PENDING_VERIFICATION = "PENDING_VERIFICATION"
    VERIFIED = "VERIFIED"
    REVOKED = "REVOKED"


class CodePurpose(StrEnum):
    NEIGHBOR_VERIFICATION = "NEIGHBOR_VERIFICATION"
    HANDOVER = "HANDOVER"
    PICKUP = "PICKUP"


class PickupPointKind(StrEnum):
    LOCKER = "LOCKER"
    COUNTER = "COUNTER"


class Alternative(SQLModel, table=True):
    """One way to complete an excepted delivery: proposed, decided by the policy or a person, then executed."""

    __tablename__ = "alternative"
    __table_args__ = (sa.Index("ix_alternative_exception_status", "exception_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    exception_id: int = Field(foreign_key="delivery_exception.id")
    stop_id: int = Field(foreign_key="stop.id", index=True)
    route_id: int = Field(foreign_key="route.id")
    kind: AlternativeKind = Field(sa_type=StrEnumType(AlternativeKind))
    status: AlternativeStatus = Field(default=AlternativeStatus.PROPOSED, sa_type=StrEnumType(AlternativeStatus))
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    neighbor_id: int | None = Field(default=None, foreign_key="neighbor.id")
    pickup_point_id: int | None = Field(default=None, foreign_key="pickup_point.id")
    proposed_by: ProposerKind = Field(sa_type=StrEnumType(ProposerKind))
    proposed_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    proposed_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    decision: DecisionOutcome = Field(sa_type=StrEnumType(DecisionOutcome))
    decision_rule: str = Field(max_length=64, description="the policy rule that decided who must approve")
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_reason: str | None = Field(default=None, max_length=500)
    executed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    proof: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, description="handover proof references, never codes")
    version: int = Field(default=1, ge=1)


class Neighbor(SQLModel, table=True):
    """Someone a customer consents to receive parcels for them; usable once verified, until revoked."""

    __tablename__ = "neighbor"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(max_length=500)
    unit: str = Field(default="", max_length=50)
    phone: str = Field(max_length=20, description="E.164")
    status: NeighborStatus = Field(default=NeighborStatus.PENDING_VERIFICATION, sa_type=StrEnumType(NeighborStatus))
    consent_from_outreach: bool = Field(default=False, description="added from the customer's answer to outreach")
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, ge=1)


class OneTimeCode(SQLModel, table=True):
    """A short code given to a person (neighbour check, handover, pickup); only its hash is stored."""

    __tablename__ = "one_time_code"
    __table_args__ = (sa.Index("ix_one_time_code_subject", "purpose", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    purpose: CodePurpose = Field(sa_type=StrEnumType(CodePurpose))
    subject_id: int = Field(description="the neighbour or alternative the code stands for")
    code_hash: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=5, ge=1)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class SafePlace(SQLModel, table=True):
    """A safe place at the address the customer chose in advance (a standing consent to secure drop-off)."""

    __tablename__ = "safe_place"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "customer_id", name="uq_safe_place_tenant_customer"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    customer_id: int = Field(foreign_key="customer.id")
    instructions: str = Field(max_length=500)
    updated_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class PickupPoint(SQLModel, table=True):
    """A locker or counter that keeps parcels for customers to collect."""

    __tablename__ = "pickup_point"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    depot_id: int | None = Field(default=None, foreign_key="depot.id")
    kind: PickupPointKind = Field(sa_type=StrEnumType(PickupPointKind))
    name: str = Field(max_length=200)
    address: str = Field(max_length=500)
    lat: float
    lon: float
    timezone: str = Field(default="UTC", max_length=64)
    opening_hours: dict[str, list[list[str]]] = Field(
        default_factory=dict, sa_type=sa.JSON, description='weekday ("mon".."sun") → [["08:00", "20:00"], …] local time'
    )
    capacity: int = Field(ge=0, description="parcels it can hold")
    reserved: int = Field(default=0, ge=0, description="parcels redirected to it and not yet collected")
    active: bool = True
    version: int = Field(default=1, ge=1)


class TenantPolicy(SQLModel, table=True):
    """A tenant's approval rules, as data (see app.alternatives.policy.PolicyRules)."""

    __tablename__ = "tenant_policy"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", sa_column_kwargs={"unique": True})
    rules: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    version: int = Field(default=1, ge=1)
