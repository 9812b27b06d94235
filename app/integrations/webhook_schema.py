"""Webhook endpoints, their delivery log, replay, and the warehouse's pull feed: thin resolvers over flows."""
from datetime import datetime

import strawberry
from sqlmodel import col, select

from app.api.common import Connection, as_changed, as_payload, check_page_size, decode_cursor, encode_cursor, paginate, parse_id, payload_type
from app.api.context import Info
from app.auth import scopes
from app.auth.permissions import IsStaffOrIntegrator, RequiresScope
from app.errors import invalid
from app.integrations import flows, outbox, webhooks
from app.integrations.catalogue import wms_message
from app.integrations.permissions import IsSupervisorOrIntegrator
from app.integrations.webhook_models import WebhookAttempt, WebhookMessage
from app.integrations.webhook_types import (
    ParcelStatusChangePage, ReplayWebhooksPayload, WebhookDeliveryType, WebhookEndpointSecretPayload, WebhookEndpointType,
    parcel_change,
)

MANAGE = [IsSupervisorOrIntegrator, RequiresScope(scopes.WEBHOOKS_MANAGE)]
WebhookEndpointPayload = payload_type("WebhookEndpointPayload", "endpoint", WebhookEndpointType)


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    event_types: list[str] = strawberry.field(default_factory=list, description="Catalogue types to receive; empty for all.")
    description: str = ""


@strawberry.input
class WebhookEndpointInput:
    id: strawberry.ID


@strawberry.input
class SetWebhookEndpointEnabledInput:
    id: strawberry.ID
    enabled: bool


@strawberry.input(description="Deliver past events again to one endpoint: one event by id, or every event in a time range.")
class ReplayWebhooksInput:
    endpoint_id: strawberry.ID
    event_id: str | None = strawberry.field(default=None, description="A webhook-id (msg_…).")
    since: datetime | None = None
    until: datetime | None = None


def _event_number(event_id: str | None) -> int | None:
    if event_id is None:
        return None
    number = event_id.removeprefix("msg_")
    if not number.isdigit():
        raise invalid("eventId is a webhook-id such as msg_42", "eventId")
    return int(number)


@strawberry.type
class WebhookQuery:
    @strawberry.field(permission_classes=MANAGE, description="The tenant's webhook endpoints.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpointType]:
        rows = await webhooks.list_endpoints(session=info.context.session, tenant_id=info.context.viewer.tenant_id)
        return [WebhookEndpointType.from_row(r) for r in rows]

    @strawberry.field(permission_classes=MANAGE, description="The delivery log of one endpoint, newest first, with every attempt.")
    async def webhook_deliveries(self, info: Info, endpoint_id: strawberry.ID, first: int = 20, after: str | None = None) -> Connection[WebhookDeliveryType]:
        session, tenant_id = info.context.session, info.context.viewer.tenant_id
        rows = await webhooks.deliveries(
            session=session, tenant_id=tenant_id, endpoint_id=parse_id(endpoint_id, "webhook endpoint", "endpointId"),
            first=check_page_size(first), before_id=decode_cursor("delivery", after),
        )
        messages = {m.id: m for m in (await session.exec(select(WebhookMessage).where(col(WebhookMessage.id).in_({r.message_id for r in rows})))).all()}
        attempts: dict[int, list[WebhookAttempt]] = {}
        query = select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_([r.id for r in rows])).order_by(col(WebhookAttempt.id))
        for attempt in (await session.exec(query)).all():
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
        return paginate("delivery", rows, first=first, after=after,
                        to_node=lambda r: WebhookDeliveryType.from_rows(r, messages[r.message_id], attempts.get(r.id, [])))

    @strawberry.field(
        permission_classes=[IsStaffOrIntegrator, RequiresScope(scopes.ROUTES_READ)],
        description="Warehouse pull feed: parcels held, redirected or returned after the cursor, oldest first.",
    )
    async def parcel_status_changes(self, info: Info, after: str | None = None, first: int = 100) -> ParcelStatusChangePage:
        rows = await outbox.changes_since(
            session=info.context.session, tenant_id=info.context.viewer.tenant_id, after_id=decode_cursor("wms", after), first=check_page_size(first)
        )
        changes = []
        for row in rows:
            kind, data = wms_message(row.kind, row.payload) or (row.kind, dict(row.payload))
            changes.append(parcel_change(encode_cursor("wms", row.id), kind, data.get("trackingStatus", "unknown"), row.created_at, data))
        return ParcelStatusChangePage(changes=changes, end_cursor=changes[-1].cursor if changes else after)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(permission_classes=MANAGE, description="Add an endpoint; its whsec_ secret is shown once.")
    async def create_webhook_endpoint(self, info: Info, input: CreateWebhookEndpointInput) -> WebhookEndpointSecretPayload:
        async def work() -> WebhookEndpointSecretPayload:
            endpoint, secret = await flows.create_webhook_endpoint(
                info.context.runtime, info.context.viewer, url=input.url, event_types=input.event_types, description=input.description
            )
            return WebhookEndpointSecretPayload(endpoint=WebhookEndpointType.from_row(endpoint), secret=secret)

        return await as_payload(WebhookEndpointSecretPayload, work)

    @strawberry.mutation(permission_classes=MANAGE, description="A new secret; the old one keeps signing (a second signature) during the overlap.")
    async def rotate_webhook_secret(self, info: Info, input: WebhookEndpointInput) -> WebhookEndpointSecretPayload:
        async def work() -> WebhookEndpointSecretPayload:
            endpoint, secret = await flows.rotate_webhook_secret(
                info.context.runtime, info.context.viewer, endpoint_id=parse_id(input.id, "webhook endpoint"),
            )
            return WebhookEndpointSecretPayload(endpoint=WebhookEndpointType.from_row(endpoint), secret=secret)

        return await as_payload(WebhookEndpointSecretPayload, work)

    @strawberry.mutation(permission_classes=MANAGE, description="Enable (clearing its failure state) or disable an endpoint.")
    async def set_webhook_endpoint_enabled(self, info: Info, input: SetWebhookEndpointEnabledInput) -> WebhookEndpointPayload:
        return await as_changed(WebhookEndpointPayload, lambda: flows.set_webhook_endpoint_enabled(
            info.context.runtime, info.context.viewer, endpoint_id=parse_id(input.id, "webhook endpoint"), enabled=input.enabled
        ))

    @strawberry.mutation(permission_classes=MANAGE, description="Deliver past events again, by event id or time range.")
    async def replay_webhooks(self, info: Info, input: ReplayWebhooksInput) -> ReplayWebhooksPayload:
        async def work() -> ReplayWebhooksPayload:
            queued = await flows.replay_webhooks(
                info.context.runtime, info.context.viewer, endpoint_id=parse_id(input.endpoint_id, "webhook endpoint", "endpointId"),
                message_id=_event_number(input.event_id), since=input.since, until=input.until,
            )
            return ReplayWebhooksPayload(queued=queued)

        return await as_payload(ReplayWebhooksPayload, work)
