"""What a failed attempt costs: the base cost of a re-attempt plus the distance driven again, by the depot's cost model
(its per-failed-attempt and per-km figures) where it has one, else the tenant's."""
from app.delivery_exceptions.models import DeliveryException
from app.geo import haversine_km
from app.routes.models import Stop
from app.tenants.models import Depot, Tenant


def failure_cost_cents(*, tenant: Tenant, depot: Depot, stop: Stop, exc: DeliveryException) -> int:
    """Zero when no attempt failed (a delay); else base + per-km × the depot↔stop round trip."""
    if exc.failed_attempt_number is None:
        return 0
    base = tenant.reattempt_base_cost_cents if depot.cost_per_failed_attempt_cents is None else depot.cost_per_failed_attempt_cents
    per_km = tenant.reattempt_cost_per_km_cents if depot.cost_per_km_cents is None else depot.cost_per_km_cents
    round_trip_km = 2 * haversine_km(depot.lat, depot.lon, stop.lat, stop.lon)
    return base + round(per_km * round_trip_km)
