"""Object values completed by a plan made once per selection, instead of graphql-core's per-field machinery.

graphql-core completes every field of every object through the same generic steps: look the field up, build a
ResolveInfo, wrap the resolver in Strawberry's argument and extension layers, check for awaitables, dispatch on
the return type. For a driver's route that is a thousand fields of forty stops, each paying all of it. When an
object's selection is made only of fields this module knows how to complete exactly as graphql-core would —

- `__typename`;
- plain attributes (no resolver, no extension, no arguments) of a scalar, enum, object or list type;
- resolver fields without arguments, extensions or permission classes (the relations of the types), called with
  the same `self` and `Info` Strawberry would pass them —

the selection is turned into a plan (kept with the parsed document) and every object of that selection is
completed by it. Anything unusual takes graphql-core's own path for that object: a field outside those kinds, an
abstract type, `@defer`, middleware, and at run time any exception — a resolver's error, a null where the schema
says non-null (`Fallback`), a value a scalar refuses. The object is then completed again by graphql-core, which
reports the error exactly as before; the resolvers it runs a second time only read (the relations of types), and
their loaders answer from cache. `tests/api/test_compiled_plans.py` holds both paths to the same results.
"""
import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema_converter import GraphQLCoreConverter

_RESOLVER = "detour_compiled_resolver"  # GraphQLField extension: (function, passes self, info parameter name, field)

Complete = Callable[[Any, Path, Any], Any]  # (value, path, execution) → the completed value, or an awaitable of it


class Fallback(Exception):  # noqa: N818 - a signal, not an error: complete this object the regular way
    """The plan cannot complete this value exactly as graphql-core would."""


def mark_compiled_resolvers(schema: GraphQLSchema) -> int:
    """Tag the resolver fields a plan may call directly (no arguments, no extensions); returns how many."""
    tagged = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            call = _direct_call(field)
            if call is not None:
                field.extensions = {**(field.extensions or {}), _RESOLVER: call}
                tagged += 1
    return tagged


def _direct_call(field: GraphQLField) -> tuple[Callable[..., Any], bool, str | None, Any] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolver = getattr(definition, "base_resolver", None)
    if resolver is None or field.args or definition.extensions or getattr(definition, "permission_classes", None):
        return None
    if resolver.arguments or resolver.root_parameter is not None or resolver.parent_parameter is not None:
        return None
    info = resolver.info_parameter
    return resolver.wrapped_func, resolver.self_parameter is not None, info.name if info is not None else None, definition


def is_awaitable(value: Any) -> bool:
    return hasattr(value, "__await__") and not isinstance(value, type)


PLANNED_OPERATIONS = 256  # operations whose plans are kept across requests (the parser cache's size)
_kept: "OrderedDict[tuple[int, int], tuple[tuple[Any, ...], dict[Any, Complete | None]]]" = OrderedDict()


def plans_for(schema: GraphQLSchema, operation: Any, fragments: dict[str, Any]) -> dict[Any, Complete | None]:
    """The plans of an operation, kept across requests when they cannot depend on variables.

    The parser cache hands every request with the same text the same document, so its nodes identify a
    selection. An operation with directives (`@skip`/`@include` read variables) gets plans for one execution only.
    The entry holds the schema, the operation and its fragments, so the ids it is found by stay theirs while it is kept.
    """
    if _has_directives(operation, fragments):
        return {}
    key = (id(schema), id(operation))
    kept = _kept.get(key)
    if kept is not None and kept[0][0] is schema and kept[0][1] is operation:
        _kept.move_to_end(key)
        return kept[1]
    plans: dict[Any, Complete | None] = {}
    _kept[key] = ((schema, operation, dict(fragments)), plans)
    while len(_kept) > PLANNED_OPERATIONS:
        _kept.popitem(last=False)
    return plans


def _has_directives(operation: Any, fragments: dict[str, Any]) -> bool:
    if operation.directives or any(fragment.directives for fragment in fragments.values()):
        return True
    stack = [operation.selection_set, *(fragment.selection_set for fragment in fragments.values())]
    while stack:
        selection_set = stack.pop()
        for selection in selection_set.selections if selection_set else ():
            if selection.directives:
                return True
            if not isinstance(selection, FragmentSpreadNode):  # a spread's fragment is walked on its own
                stack.append(selection.selection_set)
    return False


class Planner:
    """Makes plans with one execution (graphql-core's ExecutionContext, which collects the selections)."""

    def __init__(self, execution: Any, info_class: type, plans: dict[Any, Complete | None]) -> None:
        self.execution = execution
        self.info_class = info_class
        self._plans = plans

    def object_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        """How to complete objects of `object_type` for this selection; None when graphql-core must do it."""
        key = (object_type.name, *(id(details.node) for details in field_details_list))
        try:
            return self._plans[key]
        except KeyError:
            self._plans[key] = None  # a recursive selection is left to graphql-core
            self._plans[key] = plan = self._object(object_type, field_details_list)
            return plan

    def _object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        if object_type.is_type_of is not None:
            return None
        grouped, new_defer_usages, *_ = self.execution.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        fields: list[tuple[str, Complete]] = []
        for response_key, details in grouped.items():
            field = self._field(object_type, response_key, details)
            if field is None:
                return None
            fields.append((response_key, field))
        return _object_completer(fields)

    def _field(self, parent: GraphQLObjectType, key: str, details: Any) -> Complete | None:
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            typename = parent.name
            return lambda _source, _path, _execution: typename
        field = parent.fields.get(name)
        if field is None or node.arguments:
            return None
        complete = self._value(field.type, details)
        if complete is None:
            return None
        call = (field.extensions or {}).get(_RESOLVER)
        if call is not None:
            return self._resolved(parent, field, key, details, call, complete)
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if definition is None or not getattr(field.resolve, "_is_default", False) or field.args:
            return None
        attribute = definition.python_name
        if is_leaf_type(get_nullable_type(field.type)):  # a scalar needs no path: none is made
            return lambda source, _path, _execution: complete(getattr(source, attribute), None, None)
        typename = parent.name

        def plain(source: Any, path: Path, execution: Any) -> Any:
            return complete(getattr(source, attribute), path.add_key(key, typename), execution)

        return plain

    def _resolved(self, parent: GraphQLObjectType, field: GraphQLField, key: str, details: Any,
                  call: tuple[Callable[..., Any], bool, str | None, Any], complete: Complete) -> Complete:
        function, passes_self, info_name, definition = call
        nodes = [d.node for d in details]
        info_class, typename = self.info_class, parent.name

        def resolved(source: Any, path: Path, execution: Any) -> Any:
            path = path.add_key(key, typename)
            kwargs = {}
            if info_name is not None:
                raw = execution.build_resolve_info(field, nodes, parent, path)
                kwargs[info_name] = info_class(_raw_info=raw, _field=definition)
            value = function(source, **kwargs) if passes_self else function(**kwargs)
            if is_awaitable(value):
                return _then(value, complete, path, execution)
            return complete(value, path, execution)

        return resolved

    def _value(self, output: GraphQLOutputType, details: Any) -> Complete | None:
        """How a resolved value of `output` is completed (coerced, or its selection executed)."""
        nullable = True
        if isinstance(output, GraphQLNonNull):
            output, nullable = output.of_type, False
        if is_leaf_type(output):
            return _leaf(output, nullable)
        if isinstance(output, GraphQLList):
            item = self._value(output.of_type, details)
            return None if item is None else _list(item, nullable)
        if isinstance(output, GraphQLObjectType):
            plan = self.object_plan(output, details)  # as graphql-core: the object with the field's own details
            if plan is None:
                return None

            def object_value(value: Any, path: Path, execution: Any) -> Any:
                if value is None:
                    if nullable:
                        return None
                    raise Fallback
                return plan(value, path, execution)

            return object_value
        return None  # interfaces and unions: graphql-core resolves the runtime type


def _leaf(leaf: Any, nullable: bool) -> Complete:
    coerce = leaf.coerce_output_value

    def complete_leaf(value: Any, _path: Path | None, _execution: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise Fallback
        coerced = coerce(value)
        if coerced is Undefined or coerced is None:
            raise Fallback
        return coerced

    return complete_leaf


def _list(item: Complete, nullable: bool) -> Complete:
    def complete(value: Any, path: Path, execution: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise Fallback
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            raise Fallback
        completed = [item(element, path.add_key(index, None), execution) for index, element in enumerate(value)]
        pending = [index for index, element in enumerate(completed) if is_awaitable(element)]
        if pending:
            return _gather_into(completed, pending)
        return completed

    return complete


def _object_completer(fields: list[tuple[str, Complete]]) -> Complete:
    def complete(source: Any, path: Path, execution: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        pending = None
        for key, field in fields:
            value = field(source, path, execution)
            if is_awaitable(value):
                pending = pending or []
                pending.append(key)
            result[key] = value
        if pending:
            return _gather_into(result, pending)
        return result

    return complete


async def _then(value: Awaitable[Any], complete: Complete, path: Path, execution: Any) -> Any:
    completed = complete(await value, path, execution)
    if is_awaitable(completed):
        return await completed
    return completed


async def _gather_into(container: Any, keys: list[Any]) -> Any:
    """Await the awaitable entries of a list or dict together (loaders batch across them), in place."""
    if len(keys) == 1:
        container[keys[0]] = await container[keys[0]]
        return container
    results = await asyncio.gather(*(container[key] for key in keys), return_exceptions=True)
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        container[key] = result
    return container
