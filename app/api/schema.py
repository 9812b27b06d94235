"""The one Strawberry schema, assembled from each domain's Query and Mutation classes."""
import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from app.api.extensions import schema_extensions
from app.config import Settings, get_settings
from app.customers.schema import CustomerMutation, CustomerQuery
from app.delivery_exceptions.schema import ExceptionMutation, ExceptionQuery
from app.routes.schema import RouteMutation, RouteQuery
from app.tenants.schema import TenantQuery
from app.tracking.schema import TrackingMutation, TrackingQuery


@strawberry.type
class Query(TenantQuery, RouteQuery, ExceptionQuery, TrackingQuery, CustomerQuery):
    pass


@strawberry.type
class Mutation(RouteMutation, ExceptionMutation, TrackingMutation, CustomerMutation):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions = schema_extensions(settings)
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query, mutation=Mutation, extensions=extensions, config=StrawberryConfig(auto_camel_case=True)
    )


schema = build_schema(get_settings())
