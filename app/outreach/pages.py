"""The customer's self-service page: server-rendered, no scripts, no external assets, one form per option."""
from datetime import datetime
from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.errors import DomainError, ErrorCode
from app.outreach import service
from app.outreach.links import LINK_PATH
from app.outreach.models import ResponseOption, ResponseSource
from app.outreach.selfservice import Choice, LinkView, choose, view_link
from app.outreach.templates import language_of
from app.runtime import Runtime

TEXT = {
    "en": {"title": "Your delivery", "reschedule": "Deliver at another time", "neighbor": "Leave it with a neighbour",
           "safe": "Leave it in a safe place", "pickup": "Collect it at a pickup point", "access": "Access instructions",
           "name": "Name", "address": "Address", "phone": "Phone", "send": "Confirm", "done": "Thank you, we noted your choice.",
           "window": "Window", "where": "Where exactly?", "instructions": "How do we get in?"},
    "nl": {"title": "Je bezorging", "reschedule": "Op een ander moment bezorgen", "neighbor": "Bij de buren afgeven",
           "safe": "Op een veilige plek achterlaten", "pickup": "Ophalen bij een afhaalpunt", "access": "Toegangsinstructies",
           "name": "Naam", "address": "Adres", "phone": "Telefoon", "send": "Bevestigen", "done": "Bedankt, we hebben je keuze genoteerd.",
           "window": "Tijdvak", "where": "Waar precies?", "instructions": "Hoe komen we binnen?"},
}
ERROR_STATUS = {ErrorCode.LINK_EXPIRED: 410, ErrorCode.LINK_USED: 409, ErrorCode.LINK_INVALID: 404}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never hand it to another site
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:0 auto;padding:1rem;color:#222}"
    "form{border:1px solid #ccc;border-radius:.5rem;padding:.75rem;margin:.75rem 0}"
    "input,textarea,button,select{font-size:1rem;width:100%;box-sizing:border-box;margin:.25rem 0;padding:.5rem}"
    "label.r{display:block}label.r input{width:auto}.err{color:#a00}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>")
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _error_page(error: DomainError) -> HTMLResponse:
    return _page("Detour", f"<h1>{escape(error.message)}</h1>", ERROR_STATUS.get(error.code, 422))


def _form(option: ResponseOption, heading: str, fields: str, t: dict[str, str]) -> str:
    return (f'<form method="post"><h2>{escape(heading)}</h2><input type="hidden" name="option" value="{option.value}">'
            f'{fields}<button type="submit">{escape(t["send"])}</button></form>')


def _textarea(placeholder: str) -> str:
    return f'<textarea name="instructions" placeholder="{escape(placeholder)}" required maxlength="500"></textarea>'


def render_view(view: LinkView, error: str | None = None, status: int = 200) -> HTMLResponse:
    t = TEXT[language_of(view.customer.language)]
    windows = "".join(
        f'<label class="r"><input type="radio" name="windowStart" value="{start.isoformat()}" required> '
        f'{service.local_time(view.customer, start):%a %d-%m %H:%M}–{service.local_time(view.customer, end):%H:%M}</label>'
        for start, end in view.windows
    )
    points = "".join(f'<option value="{p.id}">{escape(p.name)} — {escape(p.address)}</option>' for p in view.pickup_points)
    forms = [
        _form(ResponseOption.RESCHEDULE, t["reschedule"], windows, t),
        _form(ResponseOption.NEIGHBOR_HANDOVER, t["neighbor"],
              f'<input name="name" placeholder="{t["name"]}" required maxlength="200">'
              f'<input name="address" placeholder="{t["address"]}" required maxlength="500">'
              f'<input name="phone" type="tel" placeholder="{t["phone"]}" required>', t),
        _form(ResponseOption.SECURE_DROPOFF, t["safe"], _textarea(t["where"]), t),
        _form(ResponseOption.PICKUP_POINT, t["pickup"], f'<select name="pickupPointId">{points}</select>', t) if points else "",
        _form(ResponseOption.ACCESS_INSTRUCTIONS, t["access"], _textarea(t["instructions"]), t),
    ]
    header = (f"<h1>{escape(view.company)}: {escape(t['title'])}</h1><p>{escape(view.stop.address)}</p>"
              + (f'<p class="err">{escape(error)}</p>' if error else ""))
    return _page(t["title"], header + "".join(forms), status)


def _choice(form: dict[str, str]) -> Choice:
    try:
        option = ResponseOption(form.get("option", ""))
        window = datetime.fromisoformat(form["windowStart"]) if form.get("windowStart") else None
        point = int(form["pickupPointId"]) if form.get("pickupPointId") else None
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, "the form was not filled in correctly") from None
    return Choice(option=option, window_start=window, neighbor_name=form.get("name", ""), neighbor_address=form.get("address", ""),
                  neighbor_phone=form.get("phone", ""), instructions=form.get("instructions", ""), pickup_point_id=point)


def page_routes(runtime: Runtime) -> list[Route]:
    async def show(request: Request) -> HTMLResponse:
        try:
            view = await view_link(runtime, request.path_params["token"])
        except DomainError as error:
            return _error_page(error)
        if view.used:
            return _error_page(DomainError(ErrorCode.LINK_USED, "this link has already been used; the choice you made stands"))
        return render_view(view)

    async def submit(request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        try:
            view = await view_link(runtime, token)
            await choose(runtime, token, _choice(form), source=ResponseSource.LINK_PAGE)
        except DomainError as error:
            if error.code in ERROR_STATUS or error.code is ErrorCode.STOP_ALREADY_COMPLETED:
                return _error_page(error)
            return render_view(view, error.message, 422)
        t = TEXT[language_of(view.customer.language)]
        return _page(t["title"], f"<h1>{escape(t['done'])}</h1>")

    return [
        Route(LINK_PATH + "{token}", show, methods=["GET"]),
        Route(LINK_PATH + "{token}", submit, methods=["POST"]),
    ]
