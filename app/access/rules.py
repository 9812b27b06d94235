"""The reveal rules as one pure function: who may learn an entry code, when and where."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.access.models import RefusalReason
from app.config import Settings
from app.geo import haversine_km


@dataclass(frozen=True)
class RevealPolicy:
    margin: timedelta
    radius_m: float
    fix_max_age: timedelta
    refusal_limit: int
    refusal_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> "RevealPolicy":
        return cls(
            margin=timedelta(minutes=settings.access_reveal_margin_minutes),
            radius_m=settings.access_reveal_radius_m,
            fix_max_age=timedelta(seconds=settings.access_fix_max_age_seconds),
            refusal_limit=settings.access_refusal_limit,
            refusal_window=timedelta(minutes=settings.access_refusal_window_minutes),
        )


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    recorded_at: datetime


@dataclass(frozen=True)
class RevealRequest:
    """Everything the rules look at, gathered by the flow."""

    now: datetime
    driver_id: int
    route_driver_id: int | None
    service_date: date
    depot_today: date
    window_start: datetime
    window_end: datetime
    stop_lat: float
    stop_lon: float
    fix: Fix | None
    recent_refusals: int
    has_grant: bool


@dataclass(frozen=True)
class Verdict:
    refusal: RefusalReason | None
    distance_m: float | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def distance_m(fix: Fix, lat: float, lon: float) -> float:
    return haversine_km(fix.lat, fix.lon, lat, lon) * 1000


def judge(request: RevealRequest, policy: RevealPolicy) -> Verdict:
    """Allowed, or the first rule that refuses; a dispatcher's grant waives the limit, window and GPS rules."""
    distance = distance_m(request.fix, request.stop_lat, request.stop_lon) if request.fix else None
    if request.route_driver_id != request.driver_id:
        return Verdict(RefusalReason.NOT_ASSIGNED)
    if request.service_date != request.depot_today:
        return Verdict(RefusalReason.NOT_TODAY, distance)
    if request.has_grant:
        return Verdict(None, distance)
    if request.recent_refusals >= policy.refusal_limit:
        return Verdict(RefusalReason.RATE_LIMITED, distance)
    if not request.window_start - policy.margin <= request.now <= request.window_end + policy.margin:
        return Verdict(RefusalReason.OUTSIDE_TIME_WINDOW, distance)
    if request.fix is None:
        return Verdict(RefusalReason.NO_GPS_FIX)
    if request.now - request.fix.recorded_at > policy.fix_max_age:
        return Verdict(RefusalReason.STALE_GPS_FIX, distance)
    if distance is not None and distance > policy.radius_m:
        return Verdict(RefusalReason.TOO_FAR, distance)
    return Verdict(None, distance)
