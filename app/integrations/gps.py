"""Trackers in: Traccar's JSON position forwarding and the OsmAnd protocol (query string or JSON), per-device tokens.

The device's own time (Traccar fixTime/deviceTime, OsmAnd timestamp) is the fix time, never the arrival time;
the fixes then go through the same ingestion as `reportPositions`, so stale and out-of-order fixes behave alike.
"""
import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.auth.principal import bearer_token
from app.clock import writing_with
from app.errors import DomainError, invalid
from app.integrations import flows
from app.runtime import Runtime
from app.tracking.service import Fix

KNOT_MPS = 1852 / 3600


def _time(value: Any, field: str) -> datetime:
    """ISO 8601, or Unix seconds/milliseconds."""
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            number = float(value)
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError, OSError):
        raise invalid(f"{field} is not a time", field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(value: Any, field: str, *, required: bool = False) -> float | None:
    if value is None or value == "":
        if required:
            raise invalid(f"{field} is required", field)
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid(f"{field} is not a number", field) from None


def _speed(value: float | None, *, knots: bool) -> float | None:
    if value is None or value < 0:  # trackers send -1 for "unknown"
        return None
    return value * KNOT_MPS if knots else value


def traccar_fix(body: dict[str, Any]) -> tuple[str | None, Fix]:
    """Traccar's forwarded `{"position": {...}, "device": {...}}` (speed in knots)."""
    position = body.get("position")
    if not isinstance(position, dict):
        raise invalid("expected Traccar's JSON forwarding: {\"position\": {...}, \"device\": {...}}", "position")
    device = body.get("device") if isinstance(body.get("device"), dict) else {}
    when = position.get("fixTime") or position.get("deviceTime")
    if when is None:
        raise invalid("position.fixTime is required", "position.fixTime")
    return device.get("uniqueId"), Fix(
        recorded_at=_time(when, "position.fixTime"),
        lat=_number(position.get("latitude"), "position.latitude", required=True),
        lon=_number(position.get("longitude"), "position.longitude", required=True),
        accuracy_m=_number(position.get("accuracy"), "position.accuracy") or None,
        speed_mps=_speed(_number(position.get("speed"), "position.speed"), knots=True),
        heading_deg=_number(position.get("course"), "position.course"),
    )


def osmand_query_fix(params: dict[str, str]) -> tuple[str | None, Fix]:
    """OsmAnd's `?id=&lat=&lon=&timestamp=&speed=&bearing=&accuracy=` (speed in knots)."""
    if "timestamp" not in params:
        raise invalid("timestamp is required", "timestamp")
    return params.get("id") or params.get("deviceid"), Fix(
        recorded_at=_time(params["timestamp"], "timestamp"),
        lat=_number(params.get("lat"), "lat", required=True),
        lon=_number(params.get("lon"), "lon", required=True),
        accuracy_m=_number(params.get("accuracy"), "accuracy"),
        speed_mps=_speed(_number(params.get("speed"), "speed"), knots=True),
        heading_deg=_number(params.get("bearing") or params.get("heading"), "bearing"),
    )


def osmand_json_fix(body: dict[str, Any]) -> tuple[str | None, Fix]:
    """The OsmAnd JSON shape Traccar Client sends: `{"device_id", "location": {"timestamp", "coords": {...}}}` (m/s)."""
    location = body.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise invalid("expected {\"device_id\": ..., \"location\": {\"timestamp\": ..., \"coords\": {...}}}", "location")
    coords = location["coords"]
    if location.get("timestamp") is None:
        raise invalid("location.timestamp is required", "location.timestamp")
    return body.get("device_id"), Fix(
        recorded_at=_time(location["timestamp"], "location.timestamp"),
        lat=_number(coords.get("latitude"), "location.coords.latitude", required=True),
        lon=_number(coords.get("longitude"), "location.coords.longitude", required=True),
        accuracy_m=_number(coords.get("accuracy"), "location.coords.accuracy"),
        speed_mps=_speed(_number(coords.get("speed"), "location.coords.speed"), knots=False),
        heading_deg=_number(coords.get("heading"), "location.coords.heading"),
    )


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise invalid("the body is not JSON", None) from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object", None)
    return body


def gps_routes(runtime: Runtime) -> list[Route]:
    async def ingest(request: Request, parse) -> JSONResponse:  # noqa: ANN001
        token = bearer_token(request.headers.get("authorization")) or request.query_params.get("token")
        device = await flows.device_by_token(runtime, token) if token else None
        if device is None:
            return JSONResponse({"error": "unknown or missing device token"}, status_code=401)
        try:
            identifier, fix = await parse(request)
            if identifier is not None and str(identifier) != device.identifier:
                return JSONResponse({"error": "the token belongs to another device"}, status_code=403)
            with writing_with(runtime.clock):  # "in the future" is judged by the runtime's clock
                stored, duplicates = await flows.report_device_positions(runtime, device, [fix])
        except DomainError as error:
            return JSONResponse({"error": error.message, "field": error.field}, status_code=400)
        return JSONResponse({"stored": stored, "duplicates": duplicates})

    async def traccar(request: Request) -> JSONResponse:
        async def parse(r: Request) -> tuple[str | None, Fix]:
            return traccar_fix(await _json(r))
        return await ingest(request, parse)

    async def osmand(request: Request) -> JSONResponse:
        async def parse(r: Request) -> tuple[str | None, Fix]:
            if r.method == "POST" and "json" in r.headers.get("content-type", ""):
                return osmand_json_fix(await _json(r))
            params = {k: v for k, v in r.query_params.items() if k != "token"}
            if r.method == "POST" and "form" in r.headers.get("content-type", ""):
                params.update({k: str(v) for k, v in (await r.form()).items()})
            return osmand_query_fix(params)
        return await ingest(request, parse)

    return [
        Route("/gps/traccar", traccar, methods=["POST"]),
        Route("/gps/osmand", osmand, methods=["GET", "POST"]),
    ]
