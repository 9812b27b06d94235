"""Geofence on attempts: an attempt recorded far from its stop is flagged as a wrong-location suspicion."""
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import EventType, ExceptionKind, ResolutionStep
from app.delivery_exceptions.notices import event_notices
from app.events import AttemptRecorded
from app.geo import haversine_km
from app.routes.models import DeliveryAttempt, Route, Stop
from app.runtime import UnitOfWork
from app.tracking.system_reports import open_system_exception

WRONG_LOCATION = "WRONG_LOCATION"


def distance_beyond_radius(*, attempt: DeliveryAttempt, stop: Stop, radius_m: float) -> float | None:
    """How far the attempt was from the stop, when that is more than the radius plus the fix's accuracy; else None."""
    if attempt.lat is None or attempt.lon is None:
        return None
    distance = haversine_km(attempt.lat, attempt.lon, stop.lat, stop.lon) * 1000
    return distance if distance > radius_m + (attempt.accuracy_m or 0.0) else None


async def flag_attempt_location(uow: UnitOfWork, event: AttemptRecorded) -> None:
    """In-transaction handler: note a far attempt on the stop's open exception, or open a ROUTING_ERROR suspicion."""
    attempt = await uow.session.get(DeliveryAttempt, event.attempt_id)
    stop = await uow.session.get(Stop, event.stop_id)
    if attempt is None or stop is None:
        return
    radius = uow.settings.geofence_radius_m
    distance = distance_beyond_radius(attempt=attempt, stop=stop, radius_m=radius)
    if distance is None:
        return
    flag = {"distanceM": round(distance), "radiusM": radius, "accuracyM": attempt.accuracy_m, "attemptId": attempt.id}
    text = f"attempt {attempt.attempt_number} was recorded {round(distance)} m from the stop (radius {radius:g} m)"
    open_exc = await exceptions.open_exception_on_stop(session=uow.session, stop_id=stop.id)
    if open_exc is None:
        route = await uow.session.get(Route, stop.route_id)
        await open_system_exception(
            uow, stop=stop, route=route, kind=ExceptionKind.ROUTING_ERROR, reason_code=WRONG_LOCATION,
            description=f"Possible misdelivery: {text}.", key=f"wrong-location-{attempt.id}", position=(attempt.lat, attempt.lon),
        )
        return
    entry = exceptions.append_event(
        session=uow.session, exc=open_exc, type=EventType.NOTE_ADDED, step=ResolutionStep.ANALYSED, actor=None,
        payload={"note": f"Suspected {ExceptionKind.ROUTING_ERROR.value}/{WRONG_LOCATION}: {text}", "geofence": flag},
    )
    await uow.session.flush()
    uow.notify(*event_notices(entry))
