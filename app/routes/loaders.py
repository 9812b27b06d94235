"""The route relations resolvers follow."""
from sqlmodel import col

from app.api.loaders import by_id, grouped, grouped_with
from app.customers.models import Customer
from app.routes.models import DeliveryAttempt, Parcel, Route, Stop, Vehicle

LOADERS = {
    "vehicle": by_id(Vehicle),
    "route": by_id(Route),
    "stop": by_id(Stop),
    "stops_by_route": grouped(Stop, "route_id", col(Stop.sequence)),
    # a route's stops with their customers, one statement (a driver's day shows every customer)
    "stops_with_customers_by_route": grouped_with(Stop, "route_id", col(Stop.sequence), Customer, col(Customer.id) == Stop.customer_id),
    "parcels_by_stop": grouped(Parcel, "stop_id", col(Parcel.id)),
    "attempts_by_stop": grouped(DeliveryAttempt, "stop_id", col(DeliveryAttempt.attempt_number)),
}
