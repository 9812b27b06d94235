"""The details each kind of alternative needs, checked and normalised before anything is stored."""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.alternatives.models import AlternativeKind
from app.clock import current_time
from app.errors import invalid

K = AlternativeKind
ALLOWED_KEYS: dict[AlternativeKind, set[str]] = {
    K.RESCHEDULE: {"windowStart", "windowEnd"},
    K.NEIGHBOR_HANDOVER: {"neighborId", "name", "address", "phone", "unit"},
    K.SECURE_DROPOFF: {"instructions"},
    K.PICKUP_POINT: {"pickupPointId"},
    K.RETURN_TO_DEPOT: {"reason"},
    K.ADDRESS_CORRECTION: {"address", "lat", "lon"},
}


@dataclass(frozen=True)
class CheckedDetails:
    stored: dict[str, Any] = field(default_factory=dict)
    neighbor_id: int | None = None
    new_neighbor: dict[str, str] | None = None
    pickup_point_id: int | None = None


def _text(details: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str | None:
    value = details.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise invalid(f"{key} is a text of 1 to {limit} characters", key)
    return value.strip()


def _id(details: dict[str, Any], key: str) -> int:
    try:
        number = int(str(details.get(key)))
    except ValueError:
        raise invalid(f"{key} is required", key) from None
    if number <= 0:
        raise invalid(f"{key} is required", key)
    return number


def _when(details: dict[str, Any], key: str) -> datetime:
    value = details.get(key)
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise invalid(f"{key} is an ISO 8601 date-time with an offset", key) from None
    if moment.tzinfo is None:
        raise invalid(f"{key} needs a time zone offset", key)
    return moment


def check(kind: AlternativeKind, details: dict[str, Any]) -> CheckedDetails:
    """The normalised details, or INVALID_INPUT naming the key at fault."""
    unknown = set(details) - ALLOWED_KEYS[kind]
    if unknown:
        raise invalid(f"{kind.value} does not take {', '.join(sorted(unknown))}", "details")
    if kind is K.RESCHEDULE:
        start, end = _when(details, "windowStart"), _when(details, "windowEnd")
        if end <= start:
            raise invalid("the new window must end after it starts", "windowEnd")
        if end <= current_time():
            raise invalid("the new window is already over", "windowEnd")
        return CheckedDetails({"windowStart": start.isoformat(), "windowEnd": end.isoformat()})
    if kind is K.NEIGHBOR_HANDOVER:
        if "neighborId" in details:
            return CheckedDetails(neighbor_id=_id(details, "neighborId"))
        person = {k: _text(details, k, 500) for k in ("name", "address", "phone")}
        person["unit"] = _text(details, "unit", 50, required=False) or ""
        return CheckedDetails(new_neighbor=person)
    if kind is K.SECURE_DROPOFF:
        instructions = _text(details, "instructions", 500, required=False)
        return CheckedDetails({"instructions": instructions} if instructions else {})
    if kind is K.PICKUP_POINT:
        return CheckedDetails(pickup_point_id=_id(details, "pickupPointId"))
    if kind is K.RETURN_TO_DEPOT:
        reason = _text(details, "reason", 500, required=False)
        return CheckedDetails({"reason": reason} if reason else {})
    address = _text(details, "address", 500)
    try:
        lat, lon = float(details.get("lat")), float(details.get("lon"))
    except (TypeError, ValueError):
        raise invalid("lat and lon are numbers", "lat") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise invalid("lat/lon are out of range", "lat")
    return CheckedDetails({"address": address, "lat": lat, "lon": lon})
