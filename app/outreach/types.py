"""GraphQL types of outreach: notifications, customer responses and the self-service link's options."""
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.outreach.links import LINK_MARKER
from app.outreach.models import (
    CustomerResponse,
    Notification,
    NotificationChannel,
    NotificationStatus,
    ResponseOption,
    ResponseSource,
)
from app.outreach.redaction import redact
from app.outreach.selfservice import LinkView

NotificationChannelType = strawberry.enum(NotificationChannel, name="NotificationChannel")
NotificationStatusType = strawberry.enum(
    NotificationStatus, name="NotificationStatus",
    description="PENDING → SENDING → SENT → DELIVERED; or FAILED, SUPPRESSED (deliberately not sent) or CANCELLED (no longer needed).",
)
ResponseOptionType = strawberry.enum(ResponseOption, name="CustomerOption", description="What a customer can choose or say.")
ResponseSourceType = strawberry.enum(ResponseSource, name="CustomerResponseSource")


@strawberry.type(name="Notification", description="One message to a customer, from the outbox.")
class NotificationType:
    id: strawberry.ID
    channel: NotificationChannelType
    status: NotificationStatusType
    purpose: str = strawberry.field(description="Why it was sent, e.g. exception.CUSTOMER_ABSENT or pre_arrival.soon.")
    body: str = strawberry.field(description="The text; the self-service link appears as <link>, one-time codes as <code>.")
    send_after: datetime = strawberry.field(description="Not sent before this time (scheduled sequence steps).")
    sent_at: datetime | None
    attempts: int
    provider: str | None
    provider_message_id: str | None
    provider_status: str | None = strawberry.field(description="The provider's last word, e.g. Twilio's delivered.")
    failure_reason: str | None = strawberry.field(description="Why it failed, was suppressed or cancelled.")
    created_at: datetime

    @classmethod
    def from_row(cls, row: Notification) -> "NotificationType":
        return cls(
            id=strawberry.ID(str(row.id)), channel=row.channel, status=row.status, purpose=row.purpose,
            body=redact(row.body.replace(LINK_MARKER, "<link>")), send_after=row.send_after, sent_at=row.sent_at,
            attempts=row.attempts, provider=row.provider, provider_message_id=row.provider_message_id,
            provider_status=row.provider_status, failure_reason=row.failure_reason, created_at=row.created_at,
        )


@strawberry.type(name="CustomerResponse", description="What the customer answered, and how.")
class CustomerResponseType:
    id: strawberry.ID
    option: ResponseOptionType
    source: ResponseSourceType
    details: JSON = strawberry.field(description="RESCHEDULE: windowStart/windowEnd; NEIGHBOR_HANDOVER: name/address/phone; …")
    text: str | None = strawberry.field(description="The customer's own words (SMS replies).")
    received_at: datetime
    stop_id: strawberry.ID
    exception_id: strawberry.ID | None
    alternative_id: strawberry.ID | None = strawberry.field(description="The alternative proposed from this answer.")

    @classmethod
    def from_row(cls, row: CustomerResponse) -> "CustomerResponseType":
        return cls(
            id=strawberry.ID(str(row.id)), option=row.option, source=row.source, details=row.details, text=row.text,
            received_at=row.received_at, stop_id=strawberry.ID(str(row.stop_id)),
            exception_id=strawberry.ID(str(row.exception_id)) if row.exception_id else None,
            alternative_id=strawberry.ID(str(row.alternative_id)) if row.alternative_id else None,
        )


@strawberry.type(name="DeliveryWindow")
class DeliveryWindowType:
    start: datetime
    end: datetime


@strawberry.type(name="PickupPointOption")
class PickupPointOptionType:
    id: strawberry.ID
    name: str
    address: str


@strawberry.type(name="CustomerLink", description="What a self-service link lets the customer do for their delivery.")
class CustomerLinkType:
    company: str
    address: str
    window_start: datetime
    window_end: datetime
    windows: list[DeliveryWindowType] = strawberry.field(description="Windows a reschedule can choose from.")
    pickup_points: list[PickupPointOptionType]
    used: bool = strawberry.field(description="True once an option was chosen with this link; a second choice is refused.")

    @classmethod
    def from_view(cls, view: LinkView) -> "CustomerLinkType":
        return cls(
            company=view.company, address=view.stop.address, window_start=view.stop.window_start,
            window_end=view.stop.window_end, windows=[DeliveryWindowType(start=s, end=e) for s, e in view.windows],
            pickup_points=[PickupPointOptionType(id=strawberry.ID(str(p.id)), name=p.name, address=p.address) for p in view.pickup_points],
            used=view.used,
        )


@strawberry.enum(name="SequenceAnchor", description="What a pre-arrival step is timed from.")
class SequenceAnchor(Enum):
    ETA = "ETA"
    WINDOW_END = "WINDOW_END"


@strawberry.type(name="SequenceStep", description="One pre-arrival step: a message offsetMinutes from the anchor.")
class SequenceStepType:
    name: str
    anchor: SequenceAnchor
    offset_minutes: int = strawberry.field(description="Negative: before the anchor.")
    channel: NotificationChannelType = strawberry.field(description="PUSH falls back to SMS for customers without the app.")
    template: str = strawberry.field(description="pre_arrival.soon, pre_arrival.push, pre_arrival.door or pre_arrival.no_answer.")

    @classmethod
    def from_data(cls, step: dict[str, Any]) -> "SequenceStepType":
        return cls(name=step["name"], anchor=SequenceAnchor(step["anchor"]), offset_minutes=step["offsetMinutes"],
                   channel=NotificationChannel(step["channel"]), template=step["template"])


@strawberry.type(name="OutreachSequence", description="The tenant's pre-arrival messages.")
class OutreachSequenceType:
    active: bool
    is_default: bool = strawberry.field(description="True while the tenant has not saved its own steps.")
    steps: list[SequenceStepType]
