"""Access profiles (the vault's rows), one-time grants and the access audit trail.

Secret values are stored only as sealed bytes (see `crypto.py`); no column, bind parameter or repr of
these rows ever holds a code in clear.
"""
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import BigIntId, StrEnumType, UTCDateTime


class ProvidedBy(StrEnum):
    CUSTOMER = "CUSTOMER"
    PROPERTY_MANAGER = "PROPERTY_MANAGER"
    DISPATCHER = "DISPATCHER"


class AccessAction(StrEnum):
    REVEAL = "REVEAL"
    DIGITAL_KEY_UNLOCK = "DIGITAL_KEY_UNLOCK"
    GRANT_CREATED = "GRANT_CREATED"
    PROFILE_CREATED = "PROFILE_CREATED"
    PROFILE_UPDATED = "PROFILE_UPDATED"


class AccessOutcome(StrEnum):
    ALLOWED = "ALLOWED"
    REFUSED = "REFUSED"
    FAILED = "FAILED"


class RefusalReason(StrEnum):
    RATE_LIMITED = "RATE_LIMITED"
    NOT_ASSIGNED = "NOT_ASSIGNED"
    NOT_TODAY = "NOT_TODAY"
    OUTSIDE_TIME_WINDOW = "OUTSIDE_TIME_WINDOW"
    NO_GPS_FIX = "NO_GPS_FIX"
    STALE_GPS_FIX = "STALE_GPS_FIX"
    TOO_FAR = "TOO_FAR"
    NO_ACCESS_PROFILE = "NO_ACCESS_PROFILE"
    NO_DIGITAL_KEY = "NO_DIGITAL_KEY"


# Refusals that say nothing about the driver's behaviour do not count towards the rate limit.
NOT_COUNTED_REFUSALS = frozenset({RefusalReason.RATE_LIMITED, RefusalReason.NO_ACCESS_PROFILE, RefusalReason.NO_DIGITAL_KEY})


class AccessProfile(SQLModel, table=True):
    """How to get into one address or building; personal to a customer when `customer_id` is set."""

    __tablename__ = "access_profile"
    __table_args__ = (
        sa.Index("ix_access_profile_tenant_address", "tenant_id", "address_key"),
        sa.Index("ix_access_profile_tenant_lat_lon", "tenant_id", "lat", "lon"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    label: str = Field(max_length=200, description="non-secret, e.g. 'Residence Parkzicht, north gate'")
    address: str = Field(max_length=500)
    address_key: str = Field(max_length=500, description="the address normalised for matching")
    lat: float | None = None
    lon: float | None = None
    provided_by: ProvidedBy = Field(sa_type=StrEnumType(ProvidedBy))
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    has_gate_code: bool = False
    has_entry_code: bool = False
    has_instructions: bool = False
    digital_key_provider: str | None = Field(default=None, max_length=64)
    secrets_sealed: bytes = Field(sa_type=sa.LargeBinary, repr=False)
    version: int = Field(default=1, ge=1)
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)

    @property
    def has_digital_key(self) -> bool:
        return self.digital_key_provider is not None

    def is_valid_at(self, moment: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= moment) and (self.valid_until is None or moment < self.valid_until)


class AccessGrant(SQLModel, table=True):
    """A dispatcher's one-time permission for the stop's driver; spent on first use or when it expires."""

    __tablename__ = "access_grant"
    __table_args__ = (sa.Index("ix_access_grant_stop_driver", "stop_id", "driver_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    stop_id: int = Field(foreign_key="stop.id")
    driver_id: int = Field(foreign_key="app_user.id")
    granted_by_id: int = Field(foreign_key="app_user.id")
    code_sealed: bytes | None = Field(default=None, sa_type=sa.LargeBinary, repr=False)
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccessAuditEntry(SQLModel, table=True):
    """Who did what with access to a stop, when, where, and why it was refused; never rewritten."""

    __tablename__ = "access_audit"
    __table_args__ = (
        sa.Index("ix_access_audit_stop", "tenant_id", "stop_id", "id"),
        sa.Index("ix_access_audit_refusals", "actor_id", "address_key", "occurred_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    tenant_id: int = Field(foreign_key="tenant.id")
    stop_id: int | None = Field(default=None, foreign_key="stop.id")
    profile_id: int | None = Field(default=None, foreign_key="access_profile.id")
    grant_id: int | None = Field(default=None, foreign_key="access_grant.id")
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", description="None: the customer, through self-service")
    actor_role: str = Field(max_length=32)
    action: AccessAction = Field(sa_type=StrEnumType(AccessAction))
    outcome: AccessOutcome = Field(sa_type=StrEnumType(AccessOutcome))
    refusal_reason: RefusalReason | None = Field(default=None, sa_type=StrEnumType(RefusalReason))
    address_key: str = Field(default="", max_length=500)
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None
    fix_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str = Field(default="", max_length=500, description="non-secret context, e.g. the provider's status")
    occurred_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
