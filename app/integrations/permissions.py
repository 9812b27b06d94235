"""Who administers integrations: supervisors mint keys and register trackers."""
from app.auth.permissions import _HasRole
from app.tenants.models import Role


class IsSupervisor(_HasRole):
    message = "only supervisors can manage API keys and GPS devices"
    roles = frozenset({Role.SUPERVISOR})


class IsSupervisorOrIntegrator(_HasRole):
    message = "only supervisors and integrators can manage webhooks"
    roles = frozenset({Role.SUPERVISOR, Role.INTEGRATOR})
