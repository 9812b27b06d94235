"""GraphQL types of webhook endpoints, their delivery log and the warehouse's pull feed."""
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.api.common import MutationError
from app.integrations.webhook_models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage

DeliveryStatusType = strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(name="WebhookEndpoint", description="Where the tenant's events are POSTed, signed per Standard Webhooks.")
class WebhookEndpointType:
    id: strawberry.ID
    url: str
    description: str
    event_types: list[str] = strawberry.field(description="Empty: every event type of the catalogue.")
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None = strawberry.field(description="First failure since the last success.")
    warned_at: datetime | None = strawberry.field(description="When supervisors were told the endpoint keeps failing.")
    previous_secret_until: datetime | None = strawberry.field(description="During a rotation: until when the old secret also signs.")
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookEndpoint) -> "WebhookEndpointType":
        return cls(
            id=strawberry.ID(str(row.id)), url=row.url, description=row.description, event_types=list(row.event_types),
            enabled=row.enabled, disabled_reason=row.disabled_reason, failing_since=row.failing_since, warned_at=row.warned_at,
            previous_secret_until=row.previous_secret_until, created_at=row.created_at,
        )


@strawberry.type(name="WebhookAttempt", description="One HTTP attempt of a delivery.")
class WebhookAttemptType:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def from_row(cls, row: WebhookAttempt) -> "WebhookAttemptType":
        return cls(attempted_at=row.attempted_at, status_code=row.status_code, error=row.error, duration_ms=row.duration_ms)


@strawberry.type(name="WebhookDelivery", description="An event on its way to one endpoint, with every attempt.")
class WebhookDeliveryType:
    id: strawberry.ID
    event_id: str = strawberry.field(description="The webhook-id header (msg_…); receivers deduplicate on it.")
    event_type: str
    status: DeliveryStatusType
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempts: list[WebhookAttemptType]

    @classmethod
    def from_rows(cls, row: WebhookDelivery, message: WebhookMessage, attempts: list[WebhookAttempt]) -> "WebhookDeliveryType":
        return cls(
            id=strawberry.ID(str(row.id)), event_id=f"msg_{message.id}", event_type=message.event_type, status=row.status,
            attempt_count=row.attempts, next_attempt_at=row.next_attempt_at if row.status is DeliveryStatus.PENDING else None,
            last_status_code=row.last_status_code, last_error=row.last_error, delivered_at=row.delivered_at, created_at=row.created_at,
            attempts=[WebhookAttemptType.from_row(a) for a in attempts],
        )


@strawberry.type
class WebhookEndpointSecretPayload:
    endpoint: WebhookEndpointType | None = None
    secret: str | None = strawberry.field(default=None, description="The whsec_ signing secret; shown only here.")
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class ReplayWebhooksPayload:
    queued: int = strawberry.field(default=0, description="Deliveries queued again.")
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type(name="ParcelStatusChange", description="A parcel held, redirected or returned: the warehouse's pull feed.")
class ParcelStatusChangeType:
    cursor: str
    kind: str = strawberry.field(description="parcel.held, parcel.redirected or parcel.returned.")
    tracking_status: str = strawberry.field(description="Karrio tracking status word.")
    occurred_at: datetime
    data: JSON


@strawberry.type
class ParcelStatusChangePage:
    changes: list[ParcelStatusChangeType]
    end_cursor: str | None = strawberry.field(description="Pass as `after` next time; null when nothing new.")


def parcel_change(cursor: str, kind: str, status: str, occurred_at: datetime, data: dict[str, Any]) -> ParcelStatusChangeType:
    return ParcelStatusChangeType(cursor=cursor, kind=kind, tracking_status=status, occurred_at=occurred_at, data=data)
