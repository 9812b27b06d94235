"""Webhook endpoints, the message outbox and the retry schedule (Standard Webhooks: about three days)."""
import random
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import current_time
from app.errors import invalid, not_found
from app.integrations.addresses import check_url
from app.integrations.catalogue import EVENT_TYPES
from app.integrations.webhook_models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from app.integrations.webhook_secrets import set_new_secret
from app.vault import Vault

# Seconds after the previous attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h, 24 h (≈ 3.2 days).
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000, 86400, 86400)
JITTER = 0.1
MAX_RETRY_AFTER = 86400


def retry_delay(attempts: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> timedelta | None:
    """When to try again after `attempts` failed tries (None: the schedule is over); ±10 % jitter, Retry-After honoured."""
    if attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempts - 1]
    seconds = base * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, MAX_RETRY_AFTER))
    return timedelta(seconds=seconds)


def check_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise invalid(f"unknown event type {unknown[0]}; see the event catalogue", "eventTypes")
    return sorted(set(event_types))


async def create_endpoint(
    *, session: AsyncSession, vault: Vault, tenant_id: int, url: str, event_types: list[str], description: str, allow_private: bool
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its whsec_ secret (returned once; the row keeps it sealed)."""
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id, url=check_url(url, allow_private=allow_private), event_types=check_event_types(event_types),
        description=description.strip()[:200],
    )
    secret = set_new_secret(vault, endpoint)
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def get_endpoint(*, session: AsyncSession, tenant_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise not_found("webhook endpoint", "id")
    return endpoint


async def list_endpoints(*, session: AsyncSession, tenant_id: int) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id).order_by(col(WebhookEndpoint.id))
    return list((await session.exec(query)).all())


def rotate_secret(vault: Vault, endpoint: WebhookEndpoint, *, overlap: timedelta) -> str:
    """A new secret signs from now on (returned once); the old one signs too until the overlap ends, so receivers can switch."""
    endpoint.previous_secret_sealed, endpoint.previous_secret_until = endpoint.secret_sealed, current_time() + overlap
    return set_new_secret(vault, endpoint)


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, reason: str | None = None) -> None:
    endpoint.enabled, endpoint.disabled_reason = enabled, None if enabled else reason
    if enabled:
        endpoint.failing_since, endpoint.warned_at = None, None


async def _next_stop_sequence(session: AsyncSession, tenant_id: int, stop_id: int) -> int:
    query = select(func.count()).select_from(WebhookMessage).where(WebhookMessage.tenant_id == tenant_id, WebhookMessage.stop_id == stop_id)
    return int((await session.exec(query)).one()) + 1


async def _next_route_sequence(session: AsyncSession, tenant_id: int, route_id: int) -> int:
    """Route events (no stop) count per route: 1, 2, 3…"""
    query = select(func.count()).select_from(WebhookMessage).where(
        WebhookMessage.tenant_id == tenant_id, WebhookMessage.route_id == route_id, col(WebhookMessage.stop_id).is_(None),
    )
    return int((await session.exec(query)).one()) + 1


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return endpoint.enabled and (not endpoint.event_types or event_type in endpoint.event_types)


async def enqueue(
    *, session: AsyncSession, tenant_id: int, event_type: str, data: dict[str, Any], source_key: str,
    occurred_at: datetime, stop_id: int | None = None, route_id: int | None = None, integration_event_id: int | None = None,
) -> WebhookMessage | None:
    """The message for this fact (once per source key) and a pending delivery to each subscribed endpoint.

    A stop event's `sequence` counts per stop; a route event (a route and no stop) counts per route.
    """
    existing = (await session.exec(
        select(WebhookMessage).where(WebhookMessage.tenant_id == tenant_id, WebhookMessage.source_key == source_key)
    )).first()
    if existing is not None:
        return existing
    body = {**data, "occurredAt": occurred_at.isoformat()}
    if stop_id is not None:
        body["stopId"], body["sequence"] = str(stop_id), await _next_stop_sequence(session, tenant_id, stop_id)
    elif route_id is not None:
        body["routeId"], body["sequence"] = str(route_id), await _next_route_sequence(session, tenant_id, route_id)
    message = WebhookMessage(
        tenant_id=tenant_id, event_type=event_type, source_key=source_key, stop_id=stop_id, route_id=route_id,
        integration_event_id=integration_event_id,
        payload={"type": event_type, "timestamp": occurred_at.isoformat(), "data": body},
    )
    session.add(message)
    await session.flush()
    for endpoint in await list_endpoints(session=session, tenant_id=tenant_id):
        if subscribed(endpoint, event_type):
            session.add(WebhookDelivery(tenant_id=tenant_id, message_id=message.id, endpoint_id=endpoint.id))
    await session.flush()
    return message


async def replay(
    *, session: AsyncSession, tenant_id: int, endpoint_id: int, message_id: int | None, since: datetime | None, until: datetime | None,
) -> int:
    """New deliveries of past messages to one endpoint (by message id or time range); returns how many."""
    endpoint = await get_endpoint(session=session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    query = select(WebhookMessage).where(WebhookMessage.tenant_id == tenant_id)
    if message_id is not None:
        query = query.where(WebhookMessage.id == message_id)
    elif since is not None:
        query = query.where(WebhookMessage.created_at >= since)
        if until is not None:
            query = query.where(WebhookMessage.created_at < until)
    else:
        raise invalid("name an event id or a time range", "eventId")
    messages = [m for m in (await session.exec(query.order_by(col(WebhookMessage.id)).limit(10_000))).all()
                if not endpoint.event_types or m.event_type in endpoint.event_types]
    session.add_all([WebhookDelivery(tenant_id=tenant_id, message_id=m.id, endpoint_id=endpoint.id) for m in messages])
    await session.flush()
    return len(messages)


async def deliveries(*, session: AsyncSession, tenant_id: int, endpoint_id: int, first: int, before_id: int | None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id == endpoint_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list((await session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(first + 1))).all())


async def claim_due(*, session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Claim due deliveries (SKIP LOCKED on PostgreSQL, so any number of workers share the work)."""
    stale = select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.SENDING, WebhookDelivery.claimed_at < now - lease)
    for row in (await session.exec(stale)).all():  # a worker died mid-send: try again (receivers dedupe on webhook-id)
        row.status = DeliveryStatus.PENDING
        session.add(row)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.exec(query)).all())
    for row in rows:
        row.status, row.claimed_at = DeliveryStatus.SENDING, now
        session.add(row)
    await session.flush()
    return [row.id for row in rows]
