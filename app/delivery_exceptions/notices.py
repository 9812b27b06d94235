"""Which live channels hear about an exception event."""
from app.delivery_exceptions.models import ExceptionEvent
from app.realtime.bus import Notice, depot_channel, route_channel


def event_notices(event: ExceptionEvent) -> list[Notice]:
    """The depot's queue and the route's driver both hear of it; the payload carries ids only."""
    payload = {"eventId": event.id, "exceptionId": event.exception_id, "type": event.type.value}
    return [
        Notice(depot_channel(event.tenant_id, event.depot_id), payload),
        Notice(route_channel(event.tenant_id, event.route_id), payload),
    ]
