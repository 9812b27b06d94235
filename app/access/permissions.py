"""Who may act on access to a stop; whether a driver may learn a code is decided by `rules.judge`."""
from app.auth.principal import Principal, may_see_depot
from app.routes.models import Route
from app.tenants.models import Role


def may_act_on_stop(principal: Principal, route: Route) -> bool:
    """Drivers of the tenant reach the rules (which refuse, and audit, a stop on someone else's route); staff their depots."""
    if route.tenant_id != principal.tenant_id:
        return False
    if principal.role is Role.DRIVER:
        return True
    return principal.is_staff and may_see_depot(principal, route.depot_id)


def may_read_audit(principal: Principal, route: Route) -> bool:
    """The audit trail of a stop is for the staff of its depot."""
    return route.tenant_id == principal.tenant_id and principal.is_staff and may_see_depot(principal, route.depot_id)
