"""What a subscription's payload depends on, so that one rendering may serve every socket that would get the same bytes.

A rendered event is shared only between operations with the same document, the same values of the variables its
selection reads, and the same visibility key: tenant, role, scopes and depot grants of the viewer, plus the viewer's
own identity whenever the selection reaches a type that is not known to be the same for every viewer of that role.
"""
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    visit,
)
from graphql.language.visitor import SKIP

from app.auth.principal import Principal

# Types whose fields resolve from tenant-scoped rows only, never from who is looking (no field reads the viewer).
# Anything else a document selects makes the rendering per user: strict by default, shared by audit.
VIEWER_INDEPENDENT_TYPES = frozenset({"ExceptionEvent", "User", "RouteUpdate", "DriverPosition", "DriverNextStop"})


@dataclass(frozen=True)
class Selection:
    """The parts of an operation that shape each event's payload."""

    types: frozenset[str]  # the types whose fields the root field's selection reads
    variables: frozenset[str]  # every variable used outside the root field's own arguments (directives included)

    @property
    def viewer_independent(self) -> bool:
        return self.types <= VIEWER_INDEPENDENT_TYPES


class _Collector(Visitor):
    def __init__(self, type_info: TypeInfo, root: FieldNode | None) -> None:
        super().__init__()
        self.type_info = type_info
        self.root_arguments = {id(argument) for argument in root.arguments} if root is not None else set()
        self.root_selection = root.selection_set if root is not None else None
        self.depth = 0 if root is not None else 1  # > 0 inside the root field's selection set (fragments: always)
        self.types: set[str] = set()
        self.variables: set[str] = set()

    def enter_argument(self, node: Any, *_: Any) -> Any:
        return SKIP if id(node) in self.root_arguments else None  # they only choose the stream, not the payload

    def enter_variable_definition(self, *_: Any) -> Any:
        return SKIP  # declaring a variable is not using it

    def enter_selection_set(self, node: Any, *_: Any) -> None:
        if self.depth or node is self.root_selection:
            self.depth += 1

    def leave_selection_set(self, node: Any, *_: Any) -> None:
        if self.depth and (self.depth > 1 or node is self.root_selection):
            self.depth -= 1

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if self.depth:
            parent = self.type_info.get_parent_type()
            self.types.add(parent.name if parent is not None else "?")

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.variables.add(node.name.value)


def selection_of(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, root: FieldNode) -> Selection:
    """The types under the root field and the variables that reach the payload (fragments count wherever used)."""
    types: set[str] = set()
    variables: set[str] = set()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition is not operation:
            continue
        type_info = TypeInfo(schema)
        collector = _Collector(type_info, root if definition is operation else None)
        visit(definition, TypeInfoVisitor(type_info, collector))
        types |= collector.types
        variables |= collector.variables
    return Selection(types=frozenset(types), variables=frozenset(variables))


def visibility_key(principal: Principal, selection: Selection) -> tuple[Any, ...]:
    """Everything about the viewer that the payload may depend on; the user too unless every selected type is audited."""
    identity = None if selection.viewer_independent else (principal.user_id, principal.api_key_id)
    return (principal.tenant_id, principal.role, principal.scopes, principal.depot_ids, identity)
