"""Who may replan a route."""
from app.auth.principal import Principal
from app.routes.models import Route
from app.routes.permissions import may_see_route


def may_replan_route(principal: Principal, route: Route) -> bool:
    """Dispatchers and supervisors of the route's depot; drivers follow the plan, they do not make it."""
    return principal.is_staff and may_see_route(principal, route)
