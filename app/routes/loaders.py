"""The route relations resolvers follow."""
from sqlmodel import col

from app.api.loaders import by_id, grouped
from app.routes.models import DeliveryAttempt, Parcel, Route, Stop, Vehicle

LOADERS = {
    "vehicle": by_id(Vehicle),
    "route": by_id(Route),
    "stop": by_id(Stop),
    "stops_by_route": grouped(Stop, "route_id", col(Stop.sequence)),
    "parcels_by_stop": grouped(Parcel, "stop_id", col(Parcel.id)),
    "attempts_by_stop": grouped(DeliveryAttempt, "stop_id", col(DeliveryAttempt.attempt_number)),
}
