"""Customers: who receives the parcels and how they want to be reached."""
from datetime import datetime, time
from enum import StrEnum

import phonenumbers
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import UTCDateTime


class Channel(StrEnum):
    SMS = "SMS"
    PUSH = "PUSH"
    EMAIL = "EMAIL"


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """The number in E.164, or ValueError when it is not a valid phone number."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Customer(SQLModel, table=True):
    """The person a stop delivers to."""

    __tablename__ = "customer"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "external_ref", name="uq_customer_tenant_external_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    external_ref: str | None = Field(default=None, max_length=100)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=20, description="E.164")
    email: str | None = Field(default=None, max_length=320)
    language: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=64)
    preferred_channels: list[str] = Field(default_factory=lambda: ["SMS"], sa_type=sa.JSON)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    delivery_instructions: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    crm_refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="last time the CRM's preferences were read")
