"""Who may do what with alternatives beyond the platform's role checks."""
from app.auth.permissions import _HasRole
from app.tenants.models import Role


class IsSupervisor(_HasRole):
    """Policy changes stay with supervisors: they set what dispatchers may approve alone."""

    message = "only supervisors can do this"
    roles = frozenset({Role.SUPERVISOR})
