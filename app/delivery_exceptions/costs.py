"""What a failed attempt costs: the tenant's base cost of a re-attempt plus the distance driven again."""
from app.delivery_exceptions.models import DeliveryException
from app.geo import haversine_km
from app.routes.models import Stop
from app.tenants.models import Depot, Tenant


def failure_cost_cents(*, tenant: Tenant, depot: Depot, stop: Stop, exc: DeliveryException) -> int:
    """Zero when no attempt failed (a delay); else base + per-km × the depot↔stop round trip."""
    if exc.failed_attempt_number is None:
        return 0
    round_trip_km = 2 * haversine_km(depot.lat, depot.lon, stop.lat, stop.lon)
    return tenant.reattempt_base_cost_cents + round(tenant.reattempt_cost_per_km_cents * round_trip_km)
