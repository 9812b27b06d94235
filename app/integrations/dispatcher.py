"""The webhook dispatcher: claims due deliveries, signs and POSTs them, and follows the retry schedule.

Any number of dispatchers in any number of processes share the work (SKIP LOCKED). A receiver answering
410 disables its endpoint at once; 429 waits at least its Retry-After; other failures follow the schedule.
An endpoint failing for `webhook_warn_after_hours` logs an operational event and texts the supervisors;
it is disabled only after `webhook_disable_after_days` of failures.
"""
import asyncio
import json
import logging
import time
from datetime import datetime, timedelta

import httpx
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from app.clock import writing_with
from app.events import OperationalAlert
from app.integrations import webhooks
from app.integrations.addresses import BlockedAddress, ensure_public
from app.integrations.catalogue import WEBHOOK_CHANNEL
from app.integrations.models import IntegrationEvent
from app.integrations.webhook_secrets import signing_secrets
from app.integrations.webhook_models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from app.runtime import Runtime, UnitOfWork, unit_of_work
from app.vault import vault_for

log = logging.getLogger(__name__)


def sign(secrets: list[str], *, msg_id: str, at: datetime, body: str) -> str:
    """`webhook-signature`: one `v1,<base64>` per live secret, space separated (two during a rotation)."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)


def retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the schedule's own delay applies


class WebhookDispatcher:
    def __init__(self, runtime: Runtime, client: httpx.AsyncClient | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.vault = vault_for(runtime.settings)
        self.client = client or httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds, follow_redirects=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and attempt them; returns how many were claimed."""
        with writing_with(self.runtime.clock):
            now = self.runtime.clock.now()
            async with self.runtime.sessionmaker() as session, session.begin():
                ids = await webhooks.claim_due(
                    session=session, now=now, limit=self.settings.webhook_batch_size,
                    lease=timedelta(seconds=self.settings.webhook_send_lease_seconds),
                )
            await asyncio.gather(*(self._attempt(delivery_id) for delivery_id in ids))
            return len(ids)

    async def drain(self, max_rounds: int = 100) -> int:
        """Attempt everything due now (tests and benchmarks); returns how many attempts were made."""
        total = 0
        for _ in range(max_rounds):
            claimed = await self.run_once()
            total += claimed
            if claimed == 0:
                break
        return total

    async def _attempt(self, delivery_id: int) -> None:
        async with self.runtime.sessionmaker() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            message = await session.get(WebhookMessage, delivery.message_id)
            endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        if not endpoint.enabled:
            await self._record(delivery_id, status_code=None, error=f"endpoint disabled: {endpoint.disabled_reason}", final=True)
            return
        now = self.runtime.clock.now()
        body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True)
        msg_id = f"msg_{message.id}"
        headers = {
            "content-type": "application/json", "user-agent": "Detour-Webhooks/1",
            "webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(signing_secrets(self.vault, endpoint, now), msg_id=msg_id, at=now, body=body),
        }
        started = time.perf_counter()
        try:
            await ensure_public(endpoint.url, allow_private=self.settings.webhook_allow_private_addresses)
            response = await self.client.post(endpoint.url, content=body.encode(), headers=headers)
        except BlockedAddress as error:
            await self._record(delivery_id, status_code=None, error=str(error), final=True, started=started)
        except httpx.HTTPError as error:
            await self._record(delivery_id, status_code=None, error=f"{error.__class__.__name__}", started=started)
        else:
            await self._record(
                delivery_id, status_code=response.status_code, started=started,
                retry_after=retry_after_seconds(response.headers.get("retry-after")) if response.status_code == 429 else None,
            )

    async def _record(
        self, delivery_id: int, *, status_code: int | None, error: str | None = None, final: bool = False,
        retry_after: float | None = None, started: float | None = None,
    ) -> None:
        async with unit_of_work(self.runtime) as uow:
            now = uow.clock.now()
            delivery = await uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
            ok = status_code is not None and 200 <= status_code < 300
            # the endpoint row is locked only to change its failure state, so successes do not queue on it
            endpoint = await uow.session.get(WebhookEndpoint, delivery.endpoint_id)
            if not ok or endpoint.failing_since is not None:
                await uow.session.refresh(endpoint, with_for_update=True)
            delivery.attempts += 1
            delivery.last_status_code, delivery.claimed_at = status_code, None
            delivery.last_error = None if ok else (error or f"HTTP {status_code}")[:300]
            uow.session.add(WebhookAttempt(
                delivery_id=delivery.id, attempted_at=now, status_code=status_code, error=delivery.last_error,
                duration_ms=int((time.perf_counter() - started) * 1000) if started else 0,
            ))
            if ok:
                delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
                if endpoint.failing_since is not None:
                    endpoint.failing_since, endpoint.warned_at = None, None
                await self._mark_integration_event(uow, delivery.message_id, now)
            elif status_code == 410:
                delivery.status = DeliveryStatus.FAILED
                webhooks.set_enabled(endpoint, False, "the receiver answered 410 Gone")
                log.warning("webhook endpoint disabled: 410 Gone", extra={"endpointId": endpoint.id, "tenant": endpoint.tenant_id})
            else:
                delay = None if final else webhooks.retry_delay(delivery.attempts, retry_after=retry_after)
                delivery.status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.PENDING
                if delay is not None:
                    delivery.next_attempt_at = now + delay
                await self._endpoint_failing(uow, endpoint, now)
            uow.session.add(delivery)
            if endpoint in uow.session.dirty:
                uow.session.add(endpoint)

    async def _endpoint_failing(self, uow: UnitOfWork, endpoint: WebhookEndpoint, now: datetime) -> None:
        endpoint.failing_since = endpoint.failing_since or now
        failing_for = now - endpoint.failing_since
        if endpoint.enabled and failing_for >= timedelta(days=self.settings.webhook_disable_after_days):
            webhooks.set_enabled(endpoint, False, f"failing since {endpoint.failing_since.isoformat()}")
            log.warning("webhook endpoint disabled after days of failures", extra={"endpointId": endpoint.id, "tenant": endpoint.tenant_id})
        elif endpoint.warned_at is None and failing_for >= timedelta(hours=self.settings.webhook_warn_after_hours):
            endpoint.warned_at = now
            log.warning("webhook endpoint keeps failing", extra={
                "event": "webhook.endpoint_failing", "endpointId": endpoint.id, "tenant": endpoint.tenant_id,
                "failingSince": endpoint.failing_since.isoformat(),
            })
            days = self.settings.webhook_disable_after_days
            await uow.emit(OperationalAlert(tenant_id=endpoint.tenant_id, kind="webhook_failing", text=(
                f"Detour: webhook endpoint {endpoint.id} ({endpoint.description or 'no description'}) has failed since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC; it will be disabled after {days:g} days of failures."
            )))

    async def _mark_integration_event(self, uow: UnitOfWork, message_id: int, now: datetime) -> None:
        """A WMS event counts as delivered once every delivery of its message succeeded."""
        message = await uow.session.get(WebhookMessage, message_id)
        if message.integration_event_id is None:
            return
        await uow.session.flush()
        states = (await uow.session.exec(select(WebhookDelivery.status).where(WebhookDelivery.message_id == message_id))).all()
        if all(state is DeliveryStatus.SUCCEEDED for state in states):
            event = await uow.session.get(IntegrationEvent, message.integration_event_id)
            if event.delivered_at is None:
                event.delivered_at = now
                uow.session.add(event)


async def run_forever(runtime: Runtime, stop: asyncio.Event) -> None:
    """Deliver until `stop` is set: woken by commits that queue a webhook, else polling."""
    dispatcher, wake = WebhookDispatcher(runtime), asyncio.Event()

    def on_notice(_channel: str, _payload: object) -> None:
        wake.set()

    await runtime.bus.listen(WEBHOOK_CHANNEL, on_notice)
    try:
        while not stop.is_set():
            wake.clear()
            try:
                claimed = await dispatcher.run_once()
            except Exception:  # a database hiccup: log, wait, go on
                log.exception("webhook dispatcher iteration failed")
                claimed = 0
            if claimed >= runtime.settings.webhook_batch_size:
                continue
            waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=runtime.settings.worker_poll_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
    finally:
        runtime.bus.unlisten(WEBHOOK_CHANNEL, on_notice)
        await dispatcher.aclose()
