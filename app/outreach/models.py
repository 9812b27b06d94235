"""Outreach tables: the notification outbox, pre-arrival sequences, customer answers, consent, call notes, link uses, inbound SMS."""
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import current_time
from app.db import StrEnumType, UTCDateTime


class NotificationChannel(StrEnum):
    SMS = "SMS"
    PUSH = "PUSH"


class NotificationStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its time (send_after) and a worker
    SENDING = "SENDING"  # claimed by a worker; the provider call may be in flight
    SENT = "SENT"  # accepted by the provider
    DELIVERED = "DELIVERED"  # the provider confirmed delivery (status callback)
    FAILED = "FAILED"  # permanent failure, see failure_reason
    SUPPRESSED = "SUPPRESSED"  # deliberately not sent, see failure_reason (quiet hours, opt-out, no address)
    CANCELLED = "CANCELLED"  # a scheduled step no longer needed (customer answered, stop delivered)


# Who wrote a timeline event outreach adds: the customer answering, or the system's own messages (never self-service).
CUSTOMER_ROLE = "customer"
SYSTEM_ROLE = "system"

# The reminder an exception's customer gets when they have not answered in time; sending it triggers the fallback.
NO_ANSWER_PURPOSE = "exception.no_answer"


class ResponseOption(StrEnum):
    """What a customer can answer; the first four become alternatives for the dispatcher."""

    RESCHEDULE = "RESCHEDULE"
    NEIGHBOR_HANDOVER = "NEIGHBOR_HANDOVER"
    SECURE_DROPOFF = "SECURE_DROPOFF"
    PICKUP_POINT = "PICKUP_POINT"
    ACCESS_INSTRUCTIONS = "ACCESS_INSTRUCTIONS"
    FREE_TEXT = "FREE_TEXT"


class ResponseSource(StrEnum):
    SMS_REPLY = "SMS_REPLY"
    LINK_PAGE = "LINK_PAGE"
    CUSTOMER_APP = "CUSTOMER_APP"


class Notification(SQLModel, table=True):
    """One message to one customer, written in the transaction that caused it and sent by the worker."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key", name="uq_notification_idempotency_key"),
        sa.Index("ix_notification_due", "status", "send_after"),
        sa.Index("ix_notification_exception", "tenant_id", "exception_id"),
        sa.Index("ix_notification_provider", "provider_message_id"),
        sa.Index("ix_notification_recipient", "recipient", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    stop_id: int | None = Field(default=None, foreign_key="stop.id")
    exception_id: int | None = Field(default=None, foreign_key="delivery_exception.id")
    sequence_run_id: int | None = Field(default=None, foreign_key="outreach_sequence_run.id")
    fallback_of_id: int | None = Field(default=None, foreign_key="notification.id")
    channel: NotificationChannel = Field(sa_type=StrEnumType(NotificationChannel))
    recipient: str = Field(max_length=255, description="E.164 phone for SMS, device token for push")
    body: str = Field(max_length=1600)
    purpose: str = Field(max_length=40)
    idempotency_key: str = Field(max_length=64)
    status: NotificationStatus = Field(default=NotificationStatus.PENDING, sa_type=StrEnumType(NotificationStatus))
    send_after: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    attempts: int = Field(default=0, ge=0)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider: str | None = Field(default=None, max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=100)
    provider_status: str | None = Field(default=None, max_length=40)
    failure_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class OutreachSequence(SQLModel, table=True):
    """A tenant's pre-arrival plan: steps relative to the ETA or the window close (see sequences.DEFAULT_STEPS)."""

    __tablename__ = "outreach_sequence"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_outreach_sequence_tenant_name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    name: str = Field(max_length=64)
    active: bool = True
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class OutreachSequenceRun(SQLModel, table=True):
    """A sequence scheduled for one stop; stopped_at is set when the customer answers or the stop is done."""

    __tablename__ = "outreach_sequence_run"
    __table_args__ = (sa.UniqueConstraint("stop_id", name="uq_outreach_sequence_run_stop_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    stop_id: int = Field(foreign_key="stop.id")
    sequence_id: int | None = Field(default=None, foreign_key="outreach_sequence.id")
    started_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stop_reason: str | None = Field(default=None, max_length=100)


class CustomerResponse(SQLModel, table=True):
    """What a customer answered, by SMS, on the link page or in the app."""

    __tablename__ = "customer_response"
    __table_args__ = (sa.Index("ix_customer_response_exception", "tenant_id", "exception_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    stop_id: int = Field(foreign_key="stop.id", index=True)
    exception_id: int | None = Field(default=None, foreign_key="delivery_exception.id")
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    source: ResponseSource = Field(sa_type=StrEnumType(ResponseSource))
    option: ResponseOption = Field(sa_type=StrEnumType(ResponseOption))
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    text: str | None = Field(default=None, max_length=1600)
    alternative_id: int | None = Field(default=None, description="the alternative proposed from this answer, if any")
    received_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class ConsentStatus(StrEnum):
    GRANTED = "GRANTED"
    REVOKED = "REVOKED"


class ConsentSource(StrEnum):
    """Who told us: the CRM, the customer's STOP/START reply, the carrier (number gone) or a dispatcher."""

    CRM = "CRM"
    SMS_KEYWORD = "SMS_KEYWORD"
    CARRIER = "CARRIER"
    DISPATCHER = "DISPATCHER"


class ConsentRecord(SQLModel, table=True):
    """One consent decision for one phone number and channel of a tenant; the latest (captured_at, id) is in force.

    Rows are appended, never rewritten: the history says who granted or revoked consent, and when.
    """

    __tablename__ = "consent_record"
    __table_args__ = (sa.Index("ix_consent_record_phone", "tenant_id", "phone", "channel", "captured_at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    phone: str = Field(max_length=20, description="E.164")
    channel: NotificationChannel = Field(default=NotificationChannel.SMS, sa_type=StrEnumType(NotificationChannel))
    status: ConsentStatus = Field(sa_type=StrEnumType(ConsentStatus))
    source: ConsentSource = Field(sa_type=StrEnumType(ConsentSource))
    keyword: str | None = Field(default=None, max_length=20, description="the word the customer sent (STOP, START, …)")
    captured_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class CallOutcome(StrEnum):
    REACHED = "REACHED"
    NO_ANSWER = "NO_ANSWER"
    VOICEMAIL = "VOICEMAIL"
    WRONG_NUMBER = "WRONG_NUMBER"


class CustomerCall(SQLModel, table=True):
    """A dispatcher's note of a phone call with a customer (the call itself happens outside Detour)."""

    __tablename__ = "customer_call"
    __table_args__ = (sa.Index("ix_customer_call_customer", "tenant_id", "customer_id", "called_at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    customer_id: int = Field(foreign_key="customer.id")
    exception_id: int | None = Field(default=None, foreign_key="delivery_exception.id")
    author_id: int | None = Field(default=None, foreign_key="app_user.id")
    outcome: CallOutcome = Field(sa_type=StrEnumType(CallOutcome))
    note: str = Field(default="", max_length=2000)
    called_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class PushDevice(SQLModel, table=True):
    """A customer app installation that can receive push (FCM registration token)."""

    __tablename__ = "push_device"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "token", name="uq_push_device_tenant_token"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    token: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class LinkTokenUse(SQLModel, table=True):
    """A self-service link token that has been used for an action; a second use is refused."""

    __tablename__ = "link_token_use"

    jti: str = Field(primary_key=True, max_length=64)
    tenant_id: int = Field(foreign_key="tenant.id")
    stop_id: int = Field(foreign_key="stop.id")
    used_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime)


class InboundMessage(SQLModel, table=True):
    """An inbound SMS already acted on, by the provider's id: Twilio retries webhooks, so does an attacker replaying one.

    Only the id and the time are kept (no number, no text): the answer itself is in customer_response.
    """

    __tablename__ = "inbound_message"

    message_sid: str = Field(primary_key=True, max_length=64)
    received_at: datetime = Field(default_factory=current_time, sa_type=UTCDateTime, index=True)  # retention deletes by it
