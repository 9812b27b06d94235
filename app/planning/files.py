"""Route plans from files: one CSV row per stop (layout in the README), or the GraphQL input as JSON."""
import csv
import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.customers.service import CustomerData
from app.planning.plan import PlanParcel, PlanRejected, PlanRoute, PlanStop, RowError, RowErrorCode, RoutePlan

CSV_COLUMNS = (
    "route_ref", "driver_ref", "vehicle_ref", "stop_ref", "address", "lat", "lon", "window_start", "window_end",
    "service_seconds", "customer_ref", "customer_name", "customer_phone", "customer_email", "parcel_barcodes",
    "declared_value_cents", "signature_required",
)
REQUIRED_COLUMNS = ("route_ref", "stop_ref", "address", "window_start", "window_end", "customer_ref", "customer_name")


class _Row:
    def __init__(self, path: str, values: dict[str, Any], errors: list[RowError]) -> None:
        self.path, self.values, self.errors = path, values, errors

    def text(self, name: str) -> str:
        return str(self.values.get(name) or "").strip()

    def number(self, name: str, kind: type, default: Any) -> Any:
        raw = self.text(name)
        if not raw:
            return default
        try:
            return kind(raw)
        except ValueError:
            self.errors.append(RowError(self.path, name, RowErrorCode.INVALID, f"{name} is not a {kind.__name__}"))
            return default

    def moment(self, name: str, day: date, zone: ZoneInfo) -> datetime:
        """HH:MM on the service date in the depot's zone, or a full ISO 8601 time with an offset."""
        raw = self.text(name)
        try:
            if len(raw) <= 5:
                return datetime.combine(day, time.fromisoformat(raw), zone)
            value = datetime.fromisoformat(raw)
            if value.tzinfo is None:
                raise ValueError
            return value
        except ValueError:
            self.errors.append(RowError(self.path, name, RowErrorCode.INVALID, f"{name} is HH:MM or an ISO 8601 time with an offset"))
            return datetime.combine(day, time(0), zone)


def _stop(row: _Row, day: date, zone: ZoneInfo) -> PlanStop:
    value_cents = row.number("declared_value_cents", int, 0)
    signature = row.text("signature_required").lower() in ("1", "true", "yes")
    return PlanStop(
        external_ref=row.text("stop_ref"), address=row.text("address"),
        lat=row.number("lat", float, None), lon=row.number("lon", float, None),
        window_start=row.moment("window_start", day, zone), window_end=row.moment("window_end", day, zone),
        service_seconds=row.number("service_seconds", int, 180),
        customer=CustomerData(
            external_ref=row.text("customer_ref"), name=row.text("customer_name"),
            phone=row.text("customer_phone") or None, email=row.text("customer_email") or None, timezone=zone.key,
        ),
        parcels=[PlanParcel(b.strip(), value_cents, signature) for b in row.text("parcel_barcodes").split(";") if b.strip()],
        path=row.path,
    )


def plan_from_csv(text: str, *, service_date: date, depot_ref: str, timezone: str) -> RoutePlan:
    """Rows grouped into routes in file order (an empty route_ref: a stop for planRoutes); unreadable values become the plan's errors, reported with the rest."""
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise PlanRejected([RowError("header", c, RowErrorCode.REQUIRED, f"column {c!r} is missing") for c in missing])
    zone, errors, routes = ZoneInfo(timezone), [], {}
    unassigned: list[PlanStop] = []
    for number, values in enumerate(reader, start=2):  # line 1 is the header
        row = _Row(f"row {number}", values, errors)
        ref = row.text("route_ref")
        if not ref:  # no route yet: planRoutes puts the stop on one
            unassigned.append(_stop(row, service_date, zone))
            continue
        route = routes.setdefault(ref, PlanRoute(external_ref=ref, stops=[], path=row.path))
        route.driver_ref = route.driver_ref or row.text("driver_ref") or None
        route.vehicle_ref = route.vehicle_ref or row.text("vehicle_ref") or None
        route.stops.append(_stop(row, service_date, zone))
    return RoutePlan(service_date=service_date, depot_ref=depot_ref, routes=list(routes.values()), errors=errors, unassigned=unassigned)


def plan_from_json(data: dict[str, Any], *, service_date: date, depot_ref: str, timezone: str) -> RoutePlan:
    """The GraphQL input's shape (camelCase), with the CSV's value rules."""
    zone, errors, routes = ZoneInfo(timezone), [], []
    unassigned = [_json_stop(stop, f"unassignedStops[{s}]", errors, service_date, zone) for s, stop in enumerate(data.get("unassignedStops") or [])]
    for r, route in enumerate(data.get("routes") or []):
        stops = [_json_stop(stop, f"routes[{r}].stops[{s}]", errors, service_date, zone) for s, stop in enumerate(route.get("stops") or [])]
        routes.append(PlanRoute(
            external_ref=str(route.get("externalRef") or ""), driver_ref=route.get("driverRef"), vehicle_ref=route.get("vehicleRef"),
            stops=stops, path=f"routes[{r}]",
        ))
    return RoutePlan(service_date=service_date, depot_ref=depot_ref, routes=routes, errors=errors, unassigned=unassigned)


def _json_stop(stop: dict[str, Any], path: str, errors: list[RowError], service_date: date, zone: ZoneInfo) -> PlanStop:
    customer = stop.get("customer") or {}
    window = stop.get("timeWindow") or {}
    flat = {
        "stop_ref": stop.get("externalRef"), "address": stop.get("address"), "lat": stop.get("lat"), "lon": stop.get("lon"),
        "window_start": window.get("start"), "window_end": window.get("end"), "service_seconds": stop.get("serviceSeconds"),
        "customer_ref": customer.get("externalRef"), "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"), "customer_email": customer.get("email"),
    }
    parsed = _stop(_Row(path, flat, errors), service_date, zone)
    parsed.parcels = [
        PlanParcel(str(p.get("barcode") or ""), int(p.get("declaredValueCents") or 0), bool(p.get("signatureRequired")))
        for p in stop.get("parcels") or []
    ]
    return parsed


def read_plan_file(path: Path, *, service_date: date, depot_ref: str, timezone: str) -> RoutePlan:
    if path.suffix.lower() == ".json":
        return plan_from_json(json.loads(path.read_text()), service_date=service_date, depot_ref=depot_ref, timezone=timezone)
    return plan_from_csv(path.read_text(), service_date=service_date, depot_ref=depot_ref, timezone=timezone)
