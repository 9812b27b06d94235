"""Per-request cost limit, leaky-bucket budgets and the trusted-documents rule, before a document executes.

Every answer carries `extensions.cost`; HTTP answers carry RateLimit-Limit / -Remaining / -Reset, and 429 with
Retry-After when the caller's budget is spent.
"""
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from app.api.cost import document_cost
from app.api.ratelimit import bucket_for
from app.api.trusted_documents import is_trusted
from app.tenants.models import Role

FIRST_PARTY = frozenset({Role.DRIVER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


def _refuse(execution_context: Any, message: str, code: str, **extra: Any) -> None:
    execution_context.result = ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code, **extra})])


class RequestBudget(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        self.cost_info: dict[str, Any] | None = None
        execution = self.execution_context
        context = execution.context
        response = getattr(context, "response", None)
        principal = getattr(context, "principal", None)
        over_http = hasattr(response, "headers") and not isinstance(getattr(context, "request", None), WebSocket)
        if execution.graphql_document is None or not over_http or execution.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        settings = context.runtime.settings
        if settings.trusted_documents_only and principal is not None and principal.role in FIRST_PARTY and principal.api_key_id is None \
                and not is_trusted(settings, execution.query):
            response.status_code = 403
            _refuse(execution, "this token may only send trusted documents (documentId of graphql/)", "TRUSTED_DOCUMENT_REQUIRED")
            yield
            return
        cost = document_cost(execution.schema._schema, execution.graphql_document, execution.operation_name, execution.variables)
        self.cost_info = {"requestedQueryCost": cost, "maximumQueryCost": settings.max_query_cost}
        if cost > settings.max_query_cost:
            response.status_code = 400
            _refuse(execution, f"the document costs {cost}, more than the {settings.max_query_cost} one request may", "COST_LIMIT_EXCEEDED", cost=cost)
            yield
            return
        if principal is not None:
            key = f"key:{principal.api_key_id}" if principal.api_key_id else f"user:{principal.user_id}"
            decision = await bucket_for(settings).take(key, cost, context.runtime.clock.now())
            response.headers["RateLimit-Limit"] = str(settings.budget_capacity)
            response.headers["RateLimit-Remaining"] = str(decision.remaining)
            response.headers["RateLimit-Reset"] = str(decision.reset)
            self.cost_info.update(budget={"capacity": settings.budget_capacity, "remaining": decision.remaining,
                                          "leakPerSecond": settings.budget_leak_per_second})
            if not decision.allowed:
                response.status_code = 429
                response.headers["Retry-After"] = str(max(1, decision.retry_after))
                _refuse(execution, f"request budget spent: retry in {max(1, decision.retry_after)} s", "RATE_LIMITED", retryAfter=decision.retry_after)
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost_info} if getattr(self, "cost_info", None) else {}
