"""/console: the static single-page console, its small config, and the embedded mode's one-click demo sign-in."""
import base64
import hashlib
import re
from pathlib import Path

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from app.auth.tokens import Claims, issue_token
from app.runtime import Runtime
from app.seed import DEMO_SLUG
from app.tenants.models import Role, Tenant, User

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}


def _content_security_policy(html: str) -> str:
    """Scripts only from this origin, plus the page's inline import map by its hash; nothing from elsewhere."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in re.findall(r"<script type=\"importmap\">(.*?)</script>", html, flags=re.S)
    )
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: https:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'")


def console_routes(runtime: Runtime) -> list[Route | Mount]:
    """The console's routes; the demo sign-in answers only in the embedded mode."""
    settings = runtime.settings
    index_html = (STATIC / "index.html").read_text()
    headers = {**NO_STORE, "Content-Security-Policy": _content_security_policy(index_html), "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

    async def index(_: Request) -> Response:
        return Response(index_html, media_type="text/html; charset=utf-8", headers=headers)

    async def config(_: Request) -> JSONResponse:
        return JSONResponse({"tileUrl": settings.console_tile_url, "demoSignIn": settings.is_embedded}, headers=NO_STORE)

    async def demo_token(_: Request) -> JSONResponse:
        if not settings.is_embedded:
            return JSONResponse({"error": "not found"}, status_code=404)
        async with runtime.sessionmaker() as session:
            query = (select(User).join(Tenant, Tenant.id == User.tenant_id)
                     .where(Tenant.slug == DEMO_SLUG, User.role == Role.DISPATCHER, User.active).order_by(User.id))
            user = (await session.exec(query)).first()
        if user is None:
            return JSONResponse({"error": "no demo tenant: run `detour seed`"}, status_code=404)
        token = issue_token(settings, Claims(user_id=user.id, tenant_id=user.tenant_id, role=user.role))
        return JSONResponse({"token": token, "name": user.name}, headers=NO_STORE)

    async def favicon(_: Request) -> Response:
        return FileResponse(STATIC / "icon.svg", media_type="image/svg+xml")

    return [
        Route("/console", index),
        Route("/console/", index),
        Route("/console/config.json", config),
        Route("/console/demo-token", demo_token, methods=["POST"]),
        Route("/console/icon.svg", favicon),
        Mount("/console/static", app=GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=500), name="console-static"),
    ]
