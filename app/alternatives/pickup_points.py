"""Pickup points (lockers, counters): opening hours, capacity and reservations."""
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import is_time_zone
from app.alternatives.models import PickupPoint, PickupPointKind
from app.tenants.models import Depot
from app.errors import DomainError, ErrorCode, ensure_version, invalid, not_found

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A redirected parcel must be collectable soon: the point has to open within this horizon.
OPENING_HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class PickupPointData:
    kind: PickupPointKind
    name: str
    address: str
    lat: float
    lon: float
    capacity: int
    opening_hours: dict[str, list[list[str]]]
    timezone: str = "UTC"
    depot_id: int | None = None
    active: bool = True


def _parse_hours(hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    cleaned: dict[str, list[list[str]]] = {}
    if not isinstance(hours, dict):
        raise invalid('opening hours are {"mon": [["HH:MM", "HH:MM"]], …}', "openingHours")
    for day, intervals in hours.items():
        if day not in WEEKDAYS:
            raise invalid(f"opening hours use the days {', '.join(WEEKDAYS)}", "openingHours")
        if not isinstance(intervals, list):  # a number or a string here was iterated, or failed to be (INTERNAL_ERROR)
            raise invalid(f"the opening hours of {day} are a list of intervals", "openingHours")
        for interval in intervals:
            if not isinstance(interval, list) or not all(isinstance(v, str) for v in interval):
                raise invalid('each opening interval is ["HH:MM", "HH:MM"]', "openingHours")
            try:
                start, end = (time.fromisoformat(v) for v in interval)
            except (TypeError, ValueError):
                raise invalid('each opening interval is ["HH:MM", "HH:MM"]', "openingHours") from None
            if end <= start:
                raise invalid("an opening interval ends after it starts", "openingHours")
        cleaned[day] = [list(i) for i in intervals]
    return cleaned


def validate(data: PickupPointData) -> PickupPointData:
    if not data.name.strip() or not data.address.strip():
        raise invalid("a pickup point needs a name and an address", "name")
    if not (-90 <= data.lat <= 90 and -180 <= data.lon <= 180):
        raise invalid("lat/lon are out of range", "lat")
    if data.capacity < 0:
        raise invalid("capacity cannot be negative", "capacity")
    if not is_time_zone(data.timezone):
        raise invalid("timezone is not an IANA time zone", "timezone")
    _parse_hours(data.opening_hours)
    return data


async def get(*, session: AsyncSession, tenant_id: int, pickup_point_id: int) -> PickupPoint:
    point = await session.get(PickupPoint, pickup_point_id, populate_existing=True)
    if point is None or point.tenant_id != tenant_id:
        raise not_found("pickup point", "pickupPointId")
    return point


async def list_all(*, session: AsyncSession, tenant_id: int, depot_id: int | None, active_only: bool) -> list[PickupPoint]:
    query = select(PickupPoint).where(PickupPoint.tenant_id == tenant_id)
    if depot_id is not None:
        query = query.where(PickupPoint.depot_id == depot_id)
    if active_only:
        query = query.where(col(PickupPoint.active).is_(True))
    return list((await session.exec(query.order_by(col(PickupPoint.id)))).all())


async def save(
    *, session: AsyncSession, tenant_id: int, data: PickupPointData, pickup_point_id: int | None, expected_version: int | None
) -> PickupPoint:
    """Create a pickup point, or update one at the version the caller read."""
    validate(data)
    if data.depot_id is not None:
        depot = await session.get(Depot, data.depot_id)
        if depot is None or depot.tenant_id != tenant_id:
            raise not_found("depot", "depotId")
    if pickup_point_id is None:
        point = PickupPoint(tenant_id=tenant_id, **data.__dict__)
    else:
        point = await get(session=session, tenant_id=tenant_id, pickup_point_id=pickup_point_id)
        if expected_version is None:
            raise invalid("expectedVersion is required to change a pickup point", "expectedVersion")
        ensure_version(current=point.version, expected=expected_version, what="the pickup point")
        for key, value in data.__dict__.items():
            setattr(point, key, value)
        point.version += 1
    session.add(point)
    await session.flush()
    return point


def is_open_within(point: PickupPoint, now: datetime, horizon: timedelta = OPENING_HORIZON) -> bool:
    """Whether the point is active and open at some moment between now and now + horizon (its local time)."""
    if not point.active:
        return False
    local_now = now.astimezone(ZoneInfo(point.timezone))
    local_end = local_now + horizon
    for offset in range(horizon.days + 2):
        day = (local_now + timedelta(days=offset)).date()
        for start, end in point.opening_hours.get(WEEKDAYS[day.weekday()], []):
            opens = datetime.combine(day, time.fromisoformat(start), local_now.tzinfo)
            closes = datetime.combine(day, time.fromisoformat(end), local_now.tzinfo)
            if opens < local_end and closes > local_now:
                return True
    return False


def ensure_usable(point: PickupPoint, now: datetime, parcels: int) -> None:
    if not is_open_within(point, now):
        raise DomainError(ErrorCode.PICKUP_POINT_CLOSED, f"{point.name} is closed for the next day", field="pickupPointId")
    if point.reserved + parcels > point.capacity:
        raise DomainError(ErrorCode.PICKUP_POINT_FULL, f"{point.name} has no room for {parcels} more parcels", field="pickupPointId")


async def reserve(*, session: AsyncSession, point: PickupPoint, parcels: int) -> None:
    """Take room for the parcels; conditional, so two redirects cannot overfill the point."""
    result = await session.exec(
        update(PickupPoint)
        .where(col(PickupPoint.id) == point.id, PickupPoint.reserved + parcels <= PickupPoint.capacity)
        .values(reserved=PickupPoint.reserved + parcels)
    )
    if result.rowcount == 0:
        raise DomainError(ErrorCode.PICKUP_POINT_FULL, f"{point.name} has no room for {parcels} more parcels", field="pickupPointId")
    await session.refresh(point)
