"""Twilio webhooks: delivery status callbacks and inbound replies, each verified with X-Twilio-Signature."""
import logging
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from app.config import Settings
from app.customers.models import normalize_phone
from app.clock import current_time
from app.outreach import service
from app.outreach.models import NotificationStatus
from app.outreach.replies import handle_inbound_sms
from app.runtime import Runtime, unit_of_work

log = logging.getLogger(__name__)

DELIVERED = frozenset({"delivered", "read"})
UNDELIVERED = frozenset({"failed", "undelivered"})


def forbidden() -> Response:
    return Response("invalid or missing X-Twilio-Signature", status_code=403, media_type="text/plain")


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the public base URL (behind proxies the request URL differs), path and query."""
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{settings.public_base_url.rstrip('/')}{request.url.path}{query}"


async def signed_params(settings: Settings, request: Request) -> dict[str, str] | None:
    """The form parameters when the signature is valid, else None (also when Twilio is not configured)."""
    signature = request.headers.get("x-twilio-signature")
    if not settings.twilio_auth_token or not signature:
        return None
    params = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    if not RequestValidator(settings.twilio_auth_token).validate(public_url(settings, request), params, signature):
        return None
    return params


async def apply_status(runtime: Runtime, *, message_sid: str, status: str, error_code: str | None) -> bool:
    """Record the provider's status on the notification; False when the message is not ours."""
    async with unit_of_work(runtime) as uow:
        row = await service.find_by_provider_id(session=uow.session, provider_message_id=message_sid)
        if row is None:
            return False
        if row.status is NotificationStatus.DELIVERED and status not in UNDELIVERED:
            return True  # callbacks can arrive out of order: "sent" after "delivered" changes nothing
        if row.provider_status == status[:40]:
            return True  # the same callback again (Twilio retries, or a replay): already recorded
        row.provider_status = status[:40]
        if row.status in (NotificationStatus.SENT, NotificationStatus.DELIVERED):
            if status in DELIVERED:
                row.status = NotificationStatus.DELIVERED
            elif status in UNDELIVERED:
                service.close(row, NotificationStatus.FAILED, f"the carrier reported {status} (Twilio error {error_code or 'none'})")
        row.updated_at = current_time()
        uow.session.add(row)
    return True


def twilio_routes(runtime: Runtime) -> list[Route]:
    settings = runtime.settings

    async def status_callback(request: Request) -> Response:
        params = await signed_params(settings, request)
        if params is None:
            return forbidden()
        known = await apply_status(
            runtime, message_sid=params.get("MessageSid", ""), status=params.get("MessageStatus", "").lower(),
            error_code=params.get("ErrorCode"),
        )
        return Response(status_code=204 if known else 404)

    async def inbound(request: Request) -> Response:
        params = await signed_params(settings, request)
        if params is None:
            return forbidden()
        try:
            sender = normalize_phone(params.get("From", ""))
        except ValueError:
            return Response(str(MessagingResponse()), media_type="application/xml")
        reply = await handle_inbound_sms(
            runtime, from_phone=sender, body=params.get("Body", ""), message_sid=params.get("MessageSid") or None
        )
        twiml = MessagingResponse()
        if reply:
            twiml.message(reply)
        return Response(str(twiml), media_type="application/xml")

    return [
        Route("/webhooks/twilio/status", status_callback, methods=["POST"]),
        Route("/webhooks/twilio/inbound", inbound, methods=["POST"]),
    ]
