"""The demo customer phone (`/demo/phone`, embedded mode only): the texts Detour sent each demo customer, with
clickable self-service links, and a reply box that posts a correctly signed Twilio inbound webhook."""
from html import escape
from zoneinfo import ZoneInfo
from urllib.parse import parse_qsl

import httpx
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from app.config import Settings
from app.customers.models import Customer
from app.outreach.channels import mask_recipient
from app.outreach.links import with_link
from app.outreach.models import Notification, NotificationChannel, NotificationStatus
from app.runtime import Runtime
from app.seed import DEMO_SLUG
from app.tenants.models import Tenant

INBOUND_PATH = "/webhooks/twilio/inbound"
SHOWN = (NotificationStatus.SENT, NotificationStatus.DELIVERED)
STYLE = ("body{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem;color:#222}"
         "section{border:1px solid #ccc;border-radius:.75rem;padding:.75rem;margin:.75rem 0}"
         "p.sms{background:#eef;border-radius:.5rem;padding:.5rem;white-space:pre-wrap}"
         "input,button{font-size:1rem;padding:.4rem}small{color:#666}")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}


def sign_inbound(settings: Settings, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a POST of `params` to the inbound webhook, as Twilio computes it."""
    return RequestValidator(settings.twilio_auth_token or "").compute_signature(f"{settings.public_base_url}{INBOUND_PATH}", params)


def _linked(text: str) -> str:
    """Escaped text with http(s) URLs made clickable."""
    out = []
    for word in text.split(" "):
        if word.startswith(("http://", "https://")):
            out.append(f'<a href="{escape(word)}" rel="noreferrer">{escape(word)}</a>')
        else:
            out.append(escape(word))
    return " ".join(out)


async def _messages(runtime: Runtime) -> list[tuple[Customer, list[Notification]]]:
    async with runtime.sessionmaker() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG))).first()
        if tenant is None:
            return []
        rows = (await session.exec(select(Notification).where(
            Notification.tenant_id == tenant.id, Notification.channel == NotificationChannel.SMS,
            col(Notification.status).in_(SHOWN), col(Notification.customer_id).is_not(None)).order_by(Notification.id))).all()
        by_customer: dict[int, list[Notification]] = {}
        for row in rows:
            by_customer.setdefault(row.customer_id, []).append(row)
        customers = {c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(list(by_customer))))).all()}
    return sorted(((customers[cid], msgs) for cid, msgs in by_customer.items()), key=lambda pair: -pair[1][-1].id)


def _local(message: Notification, customer: Customer) -> str:
    sent = message.sent_at or message.created_at
    return sent.astimezone(ZoneInfo(customer.timezone or "UTC")).strftime("%H:%M")


def _section(settings: Settings, customer: Customer, messages: list[Notification]) -> str:
    # The stored text keeps the link marker, never a token: a fresh link is signed for the page (as the sender does).
    texts = "".join(
        f'<p class="sms">{_linked(with_link(settings, m.body, tenant_id=m.tenant_id, stop_id=m.stop_id, exception_id=m.exception_id))}'
        f"<br><small>{_local(m, customer)} · {escape(m.purpose)}</small></p>" for m in messages)
    return (f"<section><h2>{escape(customer.name)} <small>{escape(mask_recipient(customer.phone or ''))}</small></h2>{texts}"
            f'<form method="post" action="/demo/phone/reply"><input type="hidden" name="customer" value="{customer.id}">'
            f'<input name="body" placeholder="Reply, e.g. 1" maxlength="300" required> <button>Send</button></form></section>')


def phone_routes(runtime: Runtime) -> list[Route]:
    settings = runtime.settings

    async def phone(_: Request) -> Response:
        if not settings.is_embedded:
            return Response("not found", status_code=404, media_type="text/plain")
        sections = "".join(_section(settings, c, m) for c, m in await _messages(runtime)) or "<p>No texts yet.</p>"
        html = (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>Demo customer phone</title><style>{STYLE}</style></head><body><h1>Demo customer phone</h1>"
                f"<p>The texts Detour sent to demo customers. Tap a link, or reply as the customer would.</p>{sections}</body></html>")
        return HTMLResponse(html, headers=HEADERS)

    async def reply(request: Request) -> Response:
        if not settings.is_embedded:
            return Response("not found", status_code=404, media_type="text/plain")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        async with runtime.sessionmaker() as session:
            customer = await session.get(Customer, int(form["customer"])) if form.get("customer", "").isdigit() else None
            tenant = await session.get(Tenant, customer.tenant_id) if customer else None
        if customer is None or tenant is None or tenant.slug != DEMO_SLUG or not customer.phone:
            return Response("no such demo customer", status_code=404, media_type="text/plain")
        params = {"From": customer.phone, "To": settings.twilio_from_number or "+3197010000000", "Body": form.get("body", "")[:300]}
        # The reply travels the way Twilio's would: a signed POST to the public inbound webhook of this very app.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=request.app), base_url=settings.public_base_url) as http:
            answer = await http.post(INBOUND_PATH, data=params, headers={"X-Twilio-Signature": sign_inbound(settings, params)})
        if answer.status_code != 200:
            return Response(f"the inbound webhook answered {answer.status_code}", status_code=502, media_type="text/plain")
        return RedirectResponse("/demo/phone", status_code=303)

    return [Route("/demo/phone", phone, methods=["GET"]), Route("/demo/phone/reply", reply, methods=["POST"])]
