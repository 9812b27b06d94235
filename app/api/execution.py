"""Plain attribute fields resolved without a resolver call: most of a driver's route is scalars read off objects.

graphql-core builds a ResolveInfo, looks up middleware and calls a resolver chain for every field, even for a
field that only reads an attribute (`Stop.address`). A field Strawberry marks as basic (no resolver, no
extension, no permission) whose type is a scalar or enum is read and coerced here directly; anything unusual
(a null on a non-null field, a value the scalar refuses, middleware) takes graphql-core's own path, so errors
are reported exactly as before.
"""
from typing import Any

from graphql import GraphQLField, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, Undefined, is_leaf_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.info import Info

from app.api.compiled import Planner, is_awaitable, plans_for

# GraphQLField → (python attribute, leaf type, nullable); absent: not a plain field.
_PLAIN = "detour_plain_leaf"


def mark_plain_fields(schema: GraphQLSchema) -> int:
    """Tag every basic scalar/enum field of the object types; returns how many were tagged."""
    tagged = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            plain = _plain(field)
            if plain is not None:
                field.extensions = {**(field.extensions or {}), _PLAIN: plain}
                tagged += 1
    return tagged


def _plain(field: GraphQLField) -> tuple[str, Any, bool] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or not getattr(field.resolve, "_is_default", False) or field.args:
        return None
    if getattr(definition, "base_resolver", None) is not None or getattr(definition, "extensions", None):
        return None
    field_type, nullable = field.type, True
    if isinstance(field_type, GraphQLNonNull):
        field_type, nullable = field_type.of_type, False
    if not is_leaf_type(field_type):
        return None
    return definition.python_name, field_type, nullable


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    _planner: Planner | None = None

    def complete_object_value(self, return_type: GraphQLObjectType, field_details_list: Any, info: Any, path: Any, result: Any,
                              position_context: Any) -> Any:
        """An object completed by its selection's plan (app/api/compiled.py), else by graphql-core."""
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers:
            return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)
        if self._planner is None:
            self._planner = Planner(self, Info, plans_for(self.schema, self.operation, self.fragment_definitions))
        plan = self._planner.object_plan(return_type, field_details_list)
        if plan is not None:
            try:
                completed = plan(result, path, self)
            except Exception:  # noqa: BLE001 - Fallback, or an error graphql-core reports in its own way below
                pass
            else:
                if is_awaitable(completed):
                    return self._completed_or_fallback(completed, return_type, field_details_list, info, path, result, position_context)
                return completed
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    async def _completed_or_fallback(self, completed: Any, *regular: Any) -> Any:
        try:
            return await completed
        except Exception:  # noqa: BLE001 - as above: graphql-core completes the object again and reports the error
            value = super().complete_object_value(*regular)
            return await value if is_awaitable(value) else value

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Any, position_context: Any) -> Any:
        field_def = parent_type.fields.get(field_details_list[0].node.name.value)
        plain = field_def.extensions.get(_PLAIN) if field_def is not None and field_def.extensions else None
        manager = self.middleware_manager  # Strawberry always passes one; it wraps nothing when no extension resolves
        if plain is not None and (manager is None or not manager._middleware_resolvers):
            name, leaf, nullable = plain
            try:
                value = getattr(source, name)
                if value is None:
                    if nullable:
                        return None
                else:
                    coerced = leaf.coerce_output_value(value)
                    if coerced is not Undefined and coerced is not None:
                        return coerced
            except Exception:  # noqa: BLE001 - the regular path below raises and reports it as graphql-core does
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
