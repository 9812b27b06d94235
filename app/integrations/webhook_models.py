"""Webhooks out: endpoints per tenant, one message per event, one delivery per (message, endpoint), every attempt logged."""
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import BigIntId, StrEnumType, UTCDateTime


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the schedule ran out, or the endpoint is gone (410) or disabled


class WebhookEndpoint(SQLModel, table=True):
    """Where a tenant wants events; the secret signs, the previous one keeps signing until the overlap ends.

    Both secrets are stored sealed (app/vault.py, bound to the tenant: see webhook_secrets.py), never in plaintext.
    """

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(default_factory=list, sa_type=sa.JSON, description="empty: every event type")
    secret_sealed: bytes = Field(sa_type=sa.LargeBinary, repr=False)
    previous_secret_sealed: bytes | None = Field(default=None, sa_type=sa.LargeBinary, repr=False)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=200)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class WebhookMessage(SQLModel, table=True):
    """One event for outside systems, written in the transaction of the change; `webhook-id` is `msg_<id>`."""

    __tablename__ = "webhook_message"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "source_key", name="uq_webhook_message_tenant_source"),
        sa.Index("ix_webhook_message_tenant_created", "tenant_id", "created_at"),
        sa.Index("ix_webhook_message_tenant_stop", "tenant_id", "stop_id", "event_type"),
        sa.Index("ix_webhook_message_tenant_route", "tenant_id", "route_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    tenant_id: int = Field(foreign_key="tenant.id")
    event_type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    source_key: str = Field(max_length=200, description="what caused it, once: e.g. exception-event:42")
    stop_id: int | None = Field(default=None)
    route_id: int | None = Field(default=None, description="set on route events (route.replanned): their sequence is per route")
    integration_event_id: int | None = Field(default=None, foreign_key="integration_event.id")
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """A message on its way to one endpoint: claimed, attempted, retried on the schedule."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    tenant_id: int = Field(foreign_key="tenant.id")
    message_id: int = Field(sa_column=sa.Column(BigIntId, sa.ForeignKey("webhook_message.id"), nullable=False, index=True))
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=StrEnumType(DeliveryStatus))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One HTTP attempt: the delivery log integrators and supervisors read."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True, autoincrement=True))
    delivery_id: int = Field(sa_column=sa.Column(BigIntId, sa.ForeignKey("webhook_delivery.id"), nullable=False, index=True))
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = 0
