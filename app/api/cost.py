"""Static cost of a GraphQL document, before execution (IBM cost directives / Shopify calculated cost in spirit).

Objects cost 1, scalars and enums 0; a list field multiplies what it selects by its `first`/`last` argument
(connections require one, at most 100), a list without one by DEFAULT_LIST_SIZE; a connection's `edges`
are already counted by the connection. Fragments are costed once per type (memoised), so the walk is linear.
"""
from typing import Any

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLList, GraphQLNonNull, GraphQLObjectType,
    GraphQLSchema, InlineFragmentNode, OperationDefinitionNode, SelectionSetNode, VariableNode, get_named_type,
    is_abstract_type, value_from_ast_untyped,
)

DEFAULT_LIST_SIZE = 10


def _is_list(field_type: Any) -> bool:
    while isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = variables.get(argument.value.name.value) if isinstance(argument.value, VariableNode) else value_from_ast_untyped(argument.value)
            if isinstance(value, int):
                return max(0, value)
    return None


class CostWalker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None) -> None:
        self.schema, self.variables = schema, variables or {}
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[tuple[str, str], int] = {}

    def operation_cost(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return self.selection_cost(operation.selection_set, root)

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                target = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                total += self.selection_cost(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment_cost(selection.name.value)
        return total

    def fragment_cost(self, name: str) -> int:
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        key = (name, fragment.type_condition.name.value)
        if key not in self.memo:
            self.memo[key] = 0  # a cycle (refused by validation anyway) costs nothing more
            self.memo[key] = self.selection_cost(fragment.selection_set, self.schema.get_type(key[1]))
        return self.memo[key]

    def field_cost(self, node: FieldNode, parent: Any) -> int:
        if not isinstance(parent, GraphQLObjectType) and not is_abstract_type(parent):
            return 0
        fields = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType) and not is_abstract_type(named):
            return 0
        inner = 1 + self.selection_cost(node.selection_set, named)
        size = _page_size(node, self.variables)
        if size is not None:
            return size * inner
        if _is_list(definition.type):
            return inner * (1 if node.name.value == "edges" else DEFAULT_LIST_SIZE)
        return inner


# Cost depends on the document, the operation and the integer variables (page sizes) only: computed once for each.
_COSTS: dict[tuple, tuple[DocumentNode, int]] = {}
_COSTS_MAX = 1024


def document_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None) -> int:
    """The cost of the operation that would run (the named one, or the only one), remembered per document and page sizes."""
    sizes = tuple(sorted((k, v) for k, v in (variables or {}).items() if isinstance(v, int)))
    key = (id(schema), id(document), operation_name, sizes)
    cached = _COSTS.get(key)
    if cached is not None and cached[0] is document:
        return cached[1]
    cost = _document_cost(schema, document, operation_name, variables)
    if len(_COSTS) >= _COSTS_MAX:
        _COSTS.clear()
    _COSTS[key] = (document, cost)  # holding the document keeps its id from being reused
    return cost


def _document_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None) -> int:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    return CostWalker(schema, document, variables).operation_cost(chosen[0]) if chosen else 0
