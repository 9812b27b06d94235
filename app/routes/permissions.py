"""Who may see and act on a route."""
from app.auth.principal import Principal, may_see_depot
from app.routes.models import Route
from app.tenants.models import Role


def may_see_route(principal: Principal, route: Route) -> bool:
    """Drivers see their own routes; staff their depots'; integrators the whole tenant."""
    if route.tenant_id != principal.tenant_id:
        return False
    if principal.role is Role.DRIVER:
        return route.driver_id == principal.user_id
    return may_see_depot(principal, route.depot_id)


def may_drive_route(principal: Principal, route: Route) -> bool:
    """Only the assigned driver reports attempts and exceptions on a route."""
    return route.tenant_id == principal.tenant_id and principal.role is Role.DRIVER and route.driver_id == principal.user_id
