"""The yardstick for bench/api_overhead.py: a driver's route as hand-written Starlette + SQLAlchemy Core.

It answers POST /route with the same bytes as Detour's `data` for graphql/driver/MyRoute.graphql (same token,
same database, same tenant and driver checks), in five statements: user, route + depot + vehicle, stops +
customers, parcels, open exceptions.

    uvicorn bench.handwritten_route:create_app --factory --port 8001   (reads DETOUR_DATABASE_URL, DETOUR_JWT_*)
"""
import json
from collections import defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as Path

from app.auth.principal import bearer_token
from app.auth.tokens import TokenError, decode_token
from app.clock import SystemClock
from app.config import get_settings
from app.customers.models import Customer
from app.delivery_exceptions.models import TERMINAL_STATUSES, DeliveryException
from app.routes.models import Parcel, Route, Stop, Vehicle
from app.tenants.models import Depot, User

R, D, V, S, C, P, X, U = (m.__table__.c for m in (Route, Depot, Vehicle, Stop, Customer, Parcel, DeliveryException, User))


def _iso(value):  # noqa: ANN001, ANN202
    return value.isoformat() if value is not None else None


def _name(value):  # noqa: ANN001, ANN202
    return value.name if hasattr(value, "name") else value


def create_app() -> Starlette:
    settings = get_settings()
    engine = create_async_engine(settings.database_url)
    clock = SystemClock()

    async def route(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        try:
            claims = decode_token(settings, token or "")
        except TokenError as error:
            return Response(json.dumps({"errors": [{"message": str(error)}]}), 401, media_type="application/json")
        async with engine.connect() as db:
            user = (await db.execute(select(U.id, U.active, U.tenant_id, U.role).where(U.id == claims.user_id))).first()
            if user is None or not user.active or user.tenant_id != claims.tenant_id:
                return Response(b'{"errors":[{"message":"forbidden"}]}', 401, media_type="application/json")
            now = clock.now()
            days = [(now + timedelta(days=d)).date() for d in (-1, 0, 1)]
            rows = (await db.execute(
                select(R.id, R.service_date, R.status, R.version, D.id.label("depot_id"), D.name, D.timezone, V.label)
                .join_from(Route.__table__, Depot.__table__, D.id == R.depot_id)
                .outerjoin(Vehicle.__table__, V.id == R.vehicle_id)
                .where(R.driver_id == user.id, R.tenant_id == user.tenant_id, R.service_date.in_(days)).order_by(R.id)
            )).all()
            found = next((r for r in rows if r.service_date == now.astimezone(ZoneInfo(r.timezone)).date()), None)
            if found is None:
                return Response(b'{"data":{"myRoute":null}}', media_type="application/json")
            tenant = user.tenant_id
            stops = (await db.execute(
                select(S.id, S.sequence, S.address, S.lat, S.lon, S.window_start, S.window_end, S.planned_eta, S.live_eta,
                       S.live_eta_at, S.status, S.attempts, S.version,
                       C.id.label("cid"), C.name.label("cname"), C.phone, C.language, C.delivery_instructions)
                .join_from(Stop.__table__, Customer.__table__, C.id == S.customer_id)
                .where(S.route_id == found.id, S.tenant_id == tenant, C.tenant_id == tenant).order_by(S.sequence)
            )).all()
            stop_ids = [s.id for s in stops]
            parcels, exceptions = defaultdict(list), {}
            for p in (await db.execute(select(P.id, P.stop_id, P.barcode, P.signature_required, P.status)
                                       .where(P.stop_id.in_(stop_ids), P.tenant_id == tenant).order_by(P.id))).all():
                parcels[p.stop_id].append({"id": str(p.id), "barcode": p.barcode, "signatureRequired": p.signature_required, "status": _name(p.status)})
            for x in (await db.execute(select(X.id, X.stop_id, X.kind, X.reason_code, X.status)
                                       .where(X.stop_id.in_(stop_ids), X.tenant_id == tenant, X.status.not_in(list(TERMINAL_STATUSES)))
                                       .order_by(X.id))).all():
                exceptions[x.stop_id] = {"id": str(x.id), "kind": _name(x.kind), "reasonCode": x.reason_code, "status": _name(x.status)}
        data = {"myRoute": {
            "id": str(found.id), "serviceDate": found.service_date.isoformat(), "status": _name(found.status), "version": found.version,
            "vehicleLabel": found.label, "depot": {"id": str(found.depot_id), "name": found.name, "timezone": found.timezone},
            "stops": [{
                "id": str(s.id), "sequence": s.sequence, "address": s.address, "lat": s.lat, "lon": s.lon,
                "timeWindow": {"start": _iso(s.window_start), "end": _iso(s.window_end)},
                "plannedEta": _iso(s.planned_eta), "liveEta": _iso(s.live_eta), "liveEtaAt": _iso(s.live_eta_at),
                "status": _name(s.status), "attempts": s.attempts, "version": s.version,
                "customer": {"id": str(s.cid), "name": s.cname, "phone": s.phone, "language": s.language,
                             "deliveryInstructions": s.delivery_instructions},
                "parcels": parcels.get(s.id, []), "openException": exceptions.get(s.id),
            } for s in stops],
        }}
        return Response(json.dumps({"data": data}, separators=(",", ":")), media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def lifespan(_: Starlette):  # noqa: ANN202
        yield
        await engine.dispose()

    from contextlib import asynccontextmanager

    return Starlette(routes=[Path("/route", route, methods=["POST"]), Path("/healthz", healthz)], lifespan=asynccontextmanager(lifespan))
