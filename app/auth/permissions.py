"""Permission classes for fields: who may call what, with a stable error code."""
from functools import cache
from typing import Any

from strawberry.exceptions import StrawberryGraphQLError
from strawberry.permission import BasePermission

from app.auth.principal import Principal
from app.tenants.models import Role


def _require_principal(info: Any) -> Any:
    context = info.context
    if context.principal is None:
        raise StrawberryGraphQLError(
            context.auth_error or "authentication required: send a bearer token",
            extensions={"code": "UNAUTHENTICATED"},
        )
    return context.principal


class IsAuthenticated(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return _require_principal(info) is not None


class _HasRole(BasePermission):
    roles: frozenset[Role] = frozenset()
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return _require_principal(info).role in self.roles


class IsDriver(_HasRole):
    message = "only drivers can do this"
    roles = frozenset({Role.DRIVER})


class IsStaff(_HasRole):
    message = "only dispatchers and supervisors can do this"
    roles = frozenset({Role.DISPATCHER, Role.SUPERVISOR})


class IsStaffOrIntegrator(_HasRole):
    message = "only dispatchers, supervisors and integrators can do this"
    roles = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.INTEGRATOR})


class IsDriverOrStaff(_HasRole):
    message = "only drivers, dispatchers and supervisors can do this"
    roles = frozenset({Role.DRIVER, Role.DISPATCHER, Role.SUPERVISOR})


class IsAdministrator(_HasRole):
    message = "only admins and supervisors can administer the tenant"
    roles = frozenset({Role.ADMIN, Role.SUPERVISOR})


class MayPlanDays(_HasRole):
    message = "only supervisors and admins can plan a depot's day"
    roles = frozenset({Role.ADMIN, Role.SUPERVISOR})


class MayImportPlans(_HasRole):
    message = "only integrators, dispatchers, supervisors and admins can import route plans"
    roles = frozenset({Role.INTEGRATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


def scopes_bind(principal: Principal) -> bool:
    """Integrators (API keys and integrator tokens) hold only their scopes; a token naming scopes is held to them too."""
    return principal.role is Role.INTEGRATOR or bool(principal.scopes)


class _HasScope(BasePermission):
    scope: str = ""

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = _require_principal(info)
        return not scopes_bind(principal) or self.scope in principal.scopes


@cache
def RequiresScope(scope: str) -> type[BasePermission]:  # noqa: N802 - reads as a class in permission_classes
    """A permission class demanding `scope` from callers whose scopes bind (see scopes_bind)."""
    return type(f"RequiresScope[{scope}]", (_HasScope,), {
        "scope": scope, "message": f"missing scope {scope}", "error_extensions": {"code": "FORBIDDEN", "missingScope": scope},
    })
