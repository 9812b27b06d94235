"""Who administers integrations: supervisors mint keys and register trackers."""
from app.auth.permissions import _HasRole
from app.tenants.models import Role


class IsSupervisor(_HasRole):
    message = "only supervisors and admins can manage API keys and GPS devices"
    roles = frozenset({Role.SUPERVISOR, Role.ADMIN})


class IsSupervisorOrIntegrator(_HasRole):
    message = "only supervisors, admins and integrators can manage webhooks"
    roles = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATOR})
