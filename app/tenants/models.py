"""Tenants (fleets), their depots and their people."""
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import StrEnumType, UTCDateTime


class Role(StrEnum):
    DRIVER = "driver"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    INTEGRATOR = "integrator"
    ADMIN = "admin"


class SubjectClaim(StrEnum):
    """Which claim of an identity provider's token names the Detour user."""

    SUB = "sub"  # matched against the user's externalRef
    EMAIL = "email"  # matched against the user's email


class Tenant(SQLModel, table=True):
    """A fleet operator; every other row belongs to exactly one tenant."""

    __tablename__ = "tenant"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    currency: str = Field(default="EUR", max_length=3)
    reattempt_base_cost_cents: int = Field(default=450, ge=0)
    reattempt_cost_per_km_cents: int = Field(default=35, ge=0)
    timezone: str = Field(default="UTC", max_length=64)
    active: bool = True
    oidc_issuer: str | None = Field(default=None, max_length=500, sa_column_kwargs={"unique": True})
    oidc_audience: str | None = Field(default=None, max_length=500)
    oidc_jwks_url: str | None = Field(default=None, max_length=1000)
    oidc_subject_claim: SubjectClaim = Field(default=SubjectClaim.SUB, sa_type=StrEnumType(SubjectClaim))
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class Depot(SQLModel, table=True):
    """A hub routes start from; its time zone is the local day of its routes."""

    __tablename__ = "depot"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "external_ref", name="uq_depot_tenant_external_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=500)
    lat: float
    lon: float
    timezone: str = Field(default="UTC", max_length=64)
    external_ref: str | None = Field(default=None, max_length=100)
    active: bool = True
    # The depot's cost model (planRoutes' objective, and a failed attempt's cost); None: the tenant's figures.
    cost_per_km_cents: int | None = Field(default=None, ge=0)
    cost_per_hour_cents: int | None = Field(default=None, ge=0)
    cost_per_failed_attempt_cents: int | None = Field(default=None, ge=0)


class User(SQLModel, table=True):
    """A person or system acting on the API, with one role inside one tenant."""

    __tablename__ = "app_user"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email", name="uq_app_user_tenant_email"),
        sa.UniqueConstraint("tenant_id", "external_ref", name="uq_app_user_tenant_external_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    email: str = Field(max_length=320)
    name: str = Field(max_length=200)
    role: Role = Field(sa_type=StrEnumType(Role))
    phone: str | None = Field(default=None, max_length=20)
    external_ref: str | None = Field(default=None, max_length=100)
    active: bool = True
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class UserDepot(SQLModel, table=True):
    """Which depots a user works for (dispatchers see these depots' exceptions)."""

    __tablename__ = "user_depot"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    depot_id: int = Field(foreign_key="depot.id", primary_key=True)
