"""Who may change outreach settings."""
from app.auth.permissions import _HasRole
from app.tenants.models import Role


class IsSupervisor(_HasRole):
    message = "only supervisors can change how customers are contacted"
    roles = frozenset({Role.SUPERVISOR})
