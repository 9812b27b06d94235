"""Where messages go: one small interface, Twilio SMS, FCM push, and a console sender for the embedded mode."""
import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx
import jwt
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.clock import SYSTEM_CLOCK
from app.config import Settings
from app.outreach.links import LINK_MARKER
from app.outreach.models import NotificationChannel
from app.outreach.redaction import redact

log = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret


@dataclass(frozen=True)
class OutboundMessage:
    notification_id: int
    idempotency_key: str
    channel: NotificationChannel
    recipient: str
    body: str
    title: str = ""
    data: dict[str, str] = field(default_factory=dict)
    template: str = ""  # the row's body before its link was signed: what a lookup matches on


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str | None
    provider_status: str | None


class SendError(Exception):
    """The provider did not take the message; `transient` says whether trying again may help."""

    def __init__(self, reason: str, *, transient: bool, recipient_gone: bool = False, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.recipient_gone = recipient_gone  # opted out at the carrier, or app uninstalled
        self.ambiguous = ambiguous  # the request may have reached the provider (timeout): reconcile before resending


class Sender(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def find(self, message: OutboundMessage, *, since: datetime) -> SendResult | None:
        """What the provider holds for this message (created after `since`), None when it has no record of it.

        Raises SendError when the provider cannot be asked. A provider that cannot be asked at all answers None,
        so an ambiguous message is sent again: at least once.
        """
        ...

    async def aclose(self) -> None: ...


def mask_recipient(recipient: str) -> str:
    return recipient[:4] + "…" + recipient[-2:] if len(recipient) > 8 else "…"


class ConsoleSender:
    """The embedded default: the message goes to the log (without link tokens), nothing leaves the machine."""

    def __init__(self, channel: NotificationChannel) -> None:
        self.name = f"console-{channel.value.lower()}"

    async def send(self, message: OutboundMessage) -> SendResult:
        log.info(
            "customer message (console sender): %s", redact(message.body),
            extra={"notificationId": message.notification_id, "channel": message.channel.value,
                   "to": mask_recipient(message.recipient)},
        )
        return SendResult(provider=self.name, provider_message_id=f"console-{message.notification_id}", provider_status="logged")

    async def find(self, message: OutboundMessage, *, since: datetime) -> SendResult | None:
        return None  # a log line is no record: an interrupted console send is logged again

    async def aclose(self) -> None:
        return None


class TwilioSms:
    """SMS through the real twilio SDK; its sync client runs in a thread so the event loop never blocks."""

    name = "twilio"
    # A whole outbox batch is at Twilio at once: its own threads (not the loop's default 2 + cores), as many as
    # the SDK's requests session keeps connections for (urllib3's default pool of 10).
    threads = 10

    def __init__(self, settings: Settings) -> None:
        quiet = logging.getLogger("app.outreach.twilio_http")
        quiet.setLevel(logging.WARNING)  # the SDK logs every request at INFO
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=settings.twilio_timeout_seconds, logger=quiet),
        )
        self.client.api.base_url = settings.twilio_api_base_url.rstrip("/")
        service_sid = settings.twilio_messaging_service_sid
        self.sender = {"messaging_service_sid": service_sid} if service_sid else {"from_": settings.twilio_from_number}
        self.status_callback = f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/status"
        self.executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="twilio")

    def _create(self, message: OutboundMessage) -> SendResult:
        created = self.client.messages.create(
            to=message.recipient, body=message.body,
            # Twilio has no idempotency key on message creation: the key travels in the callback URL, and the
            # outbox's claim guarantees one create call per row.
            status_callback=f"{self.status_callback}?key={quote(message.idempotency_key)}",
            **self.sender,
        )
        return SendResult(provider=self.name, provider_message_id=created.sid, provider_status=created.status)

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self._create, message)
        except TwilioRestException as error:
            transient = error.status == 429 or error.status >= 500
            # 21610: the recipient replied STOP to this sender at the carrier.
            raise SendError(f"twilio {error.status} code {error.code}: {error.msg}"[:500], transient=transient,
                            recipient_gone=error.code == 21610) from None
        except (requests.RequestException, TwilioException) as error:
            raise _unreachable(error) from None

    def _find(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """Twilio has no idempotency key: the messages to this number since the row was written, matched by text.

        The text is the row's body around its link (the link itself is signed afresh at every attempt).
        """
        for sent in self.client.messages.list(to=message.recipient, date_sent_after=since, limit=200):
            created = sent.date_created
            if created is not None and created < since.replace(microsecond=0):
                continue
            if _same_text(message.template, sent.body or ""):
                return SendResult(provider=self.name, provider_message_id=sent.sid, provider_status=sent.status)
        return None

    async def find(self, message: OutboundMessage, *, since: datetime) -> SendResult | None:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self._find, message, since)
        except TwilioRestException as error:
            raise SendError(f"twilio lookup {error.status} code {error.code}"[:500], transient=True) from None
        except (requests.RequestException, TwilioException) as error:
            raise SendError(f"twilio lookup failed: {error.__class__.__name__}", transient=True) from None

    async def aclose(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        session = self.client.http_client.session
        if session is not None:
            session.close()


class FcmPush:
    """Push through FCM HTTP v1: a service-account JWT is traded for an OAuth token, then messages:send."""

    name = "fcm"

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        account = json.loads(Path(settings.fcm_service_account_file).read_text())
        self.client_email = account["client_email"]
        self.private_key = account["private_key"]
        self.token_url = settings.fcm_token_url or account.get("token_uri") or GOOGLE_TOKEN_URL
        self.send_url = f"{settings.fcm_api_base_url.rstrip('/')}/v1/projects/{settings.fcm_project_id}/messages:send"
        self.http = http or httpx.AsyncClient(timeout=15)
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def _token(self) -> str:
        async with self._lock:
            # Google checks the assertion against the real time, so this token's lifetime is wall-clock time.
            now = int(SYSTEM_CLOCK.now().timestamp())
            if self._access_token and now < self._expires_at - 60:
                return self._access_token
            assertion = jwt.encode(
                {"iss": self.client_email, "scope": FCM_SCOPE, "aud": self.token_url, "iat": now, "exp": now + 3600},
                self.private_key, algorithm="RS256",
            )
            response = await self.http.post(
                self.token_url, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
            )
            if response.status_code != 200:
                raise SendError(f"fcm oauth token refused ({response.status_code})", transient=response.status_code >= 500)
            body = response.json()
            self._access_token, self._expires_at = body["access_token"], now + float(body.get("expires_in", 3600))
            return self._access_token

    async def send(self, message: OutboundMessage) -> SendResult:
        payload = {"message": {
            "token": message.recipient,
            "notification": {"title": message.title, "body": message.body},
            "data": {"notificationId": str(message.notification_id), "idempotencyKey": message.idempotency_key, **message.data},
        }}
        try:
            response = await self.http.post(self.send_url, json=payload, headers={"Authorization": f"Bearer {await self._token()}"})
        except httpx.TransportError as error:
            raise SendError(f"fcm unreachable: {error.__class__.__name__}", transient=True) from None
        if response.status_code == 200:
            return SendResult(provider=self.name, provider_message_id=response.json().get("name"), provider_status="accepted")
        if response.status_code == 401:
            self._access_token = None  # expired early or revoked: fetch a new one on the retry
        status = _fcm_error_status(response)
        transient = response.status_code in (401, 429) or response.status_code >= 500
        raise SendError(f"fcm {response.status_code} {status}"[:500], transient=transient,
                        recipient_gone=status in ("UNREGISTERED", "NOT_FOUND"))

    async def find(self, message: OutboundMessage, *, since: datetime) -> SendResult | None:
        return None  # FCM keeps no queryable record of sent messages: an ambiguous push is sent again

    async def aclose(self) -> None:
        await self.http.aclose()


def _unreachable(error: Exception) -> SendError:
    """A request that never left (no connection) is safe to retry; any other failure may have reached Twilio."""
    never_sent = isinstance(error, requests.ConnectTimeout) or (
        isinstance(error, requests.ConnectionError) and "NewConnectionError" in repr(error.args)
    )
    return SendError(f"twilio unreachable: {error.__class__.__name__}", transient=True, ambiguous=not never_sent)


def _same_text(template: str, sent: str) -> bool:
    """True when `sent` is `template` with its link marker replaced by some link."""
    parts = template.split(LINK_MARKER)
    if len(parts) == 1:
        return sent == template
    if not (sent.startswith(parts[0]) and sent.endswith(parts[-1])):
        return False
    position = len(parts[0])
    for part in parts[1:-1]:
        found = sent.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return len(sent) - len(parts[-1]) >= position


def _fcm_error_status(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        codes = [d.get("errorCode") for d in error.get("details", []) if d.get("errorCode")]
        return codes[0] if codes else str(error.get("status", ""))
    except (ValueError, AttributeError):
        return ""


def build_senders(settings: Settings) -> dict[NotificationChannel, Sender]:
    """The real providers that are configured, the console sender for the others."""
    sms: Sender = (
        TwilioSms(settings) if settings.twilio_account_sid and settings.twilio_auth_token
        else ConsoleSender(NotificationChannel.SMS)
    )
    push: Sender = (
        FcmPush(settings) if settings.fcm_project_id and settings.fcm_service_account_file
        else ConsoleSender(NotificationChannel.PUSH)
    )
    return {NotificationChannel.SMS: sms, NotificationChannel.PUSH: push}
