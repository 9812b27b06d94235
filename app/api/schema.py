"""The one Strawberry schema, assembled from each domain's Query and Mutation classes."""
import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from app.access.schema import AccessMutation, AccessQuery
from app.access.types import ACCESS_SCALARS
from app.alternatives.schema import AlternativeMutation, AlternativeQuery
from app.analytics.metrics import OperationMetrics
from app.analytics.schema import AnalyticsQuery
from app.api.budget import RequestBudget
from app.api.compiled import mark_compiled_resolvers
from app.api.execution import FastExecutionContext, mark_plain_fields
from app.api.scalars import INPUT_SCALARS
from app.api.extensions import log_errors, schema_extensions
from app.config import Settings
from app.customers.schema import CustomerMutation, CustomerQuery
from app.delivery_exceptions.schema import ExceptionMutation, ExceptionQuery
from app.integrations.schema import IntegrationMutation, IntegrationQuery
from app.outreach.schema import OutreachMutation, OutreachQuery
from app.planning.day_schema import DayPlanMutation, DayPlanQuery
from app.planning.edit_schema import DayEditMutation
from app.planning.schema import PlanningMutation
from app.realtime.schema import RealtimeSubscription
from app.replanning.schema import ReplanningMutation, ReplanningQuery
from app.routes.schema import RouteMutation, RouteQuery
from app.tenants.admin_schema import AdminMutation, AdminQuery
from app.tenants.schema import TenantQuery
from app.tracking.schema import TrackingMutation, TrackingQuery


@strawberry.type
class Query(TenantQuery, RouteQuery, ExceptionQuery, TrackingQuery, CustomerQuery, AnalyticsQuery, AccessQuery, ReplanningQuery, AlternativeQuery, OutreachQuery, AdminQuery, IntegrationQuery, DayPlanQuery):
    pass


@strawberry.type
class Mutation(RouteMutation, ExceptionMutation, TrackingMutation, CustomerMutation, AccessMutation, ReplanningMutation, AlternativeMutation, OutreachMutation, AdminMutation, PlanningMutation, DayEditMutation, DayPlanMutation, IntegrationMutation):
    pass


@strawberry.type
class Subscription(RealtimeSubscription):
    pass


class DetourSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions = [*schema_extensions(settings), OperationMetrics, RequestBudget]  # RequestBudget: integrations (issue 17)
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    schema = DetourSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions, execution_context_class=FastExecutionContext,
        config=StrawberryConfig(auto_camel_case=True, scalar_map={**INPUT_SCALARS, **ACCESS_SCALARS}),
    )
    mark_plain_fields(schema._schema)  # plain scalar fields are read without a resolver call (app/api/execution.py)
    mark_compiled_resolvers(schema._schema)  # relation fields a selection's plan calls directly (app/api/compiled.py)
    return schema


def __getattr__(name: str) -> strawberry.Schema:
    """`app.api.schema:schema` for `strawberry export-schema`: the SDL with default settings, built when asked for."""
    if name == "schema":
        return build_schema(Settings())
    raise AttributeError(name)
