"""Document limits in linear time: depth, aliases and cost, measured once per fragment and once per document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every path through the fragments, so
`fragment Fi { ...F(i-1) ...F(i-1) }` costs 2^i; here each fragment is measured once and its measure reused
wherever it is spread. The check runs before validation, so a refused document is never validated or executed,
and no per-instance rule class reaches the validation rules (strawberry's ValidationCache keys on them).
"""
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import ValidationCache


@dataclass(frozen=True)
class Measure:
    """depth: nested selections below the operation (leaves count 0, as strawberry counts); cost: field selections
    after expanding every fragment spread; aliases: aliased fields after the same expansion."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0

    def __add__(self, other: "Measure") -> "Measure":
        return Measure(max(self.depth, other.depth), self.aliases + other.aliases, self.cost + other.cost)


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_cost: int


class _Measurer:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[str, Measure] = {}
        self.in_progress: set[str] = set()  # a cycle is measured as empty here; validation refuses it afterwards

    def selection_set(self, selection_set: SelectionSetNode | None) -> Measure:
        total = Measure()
        for selection in selection_set.selections if selection_set else ():
            total = total + self.selection(selection)
        return total

    def selection(self, node: object) -> Measure:
        if isinstance(node, FieldNode):
            inner = self.selection_set(node.selection_set)
            introspection = node.name.value.startswith("__")
            depth = 0 if introspection or node.selection_set is None else 1 + inner.depth
            return Measure(depth, inner.aliases + (1 if node.alias else 0), inner.cost + 1)
        if isinstance(node, InlineFragmentNode):
            return self.selection_set(node.selection_set)
        if isinstance(node, FragmentSpreadNode):
            return self.fragment(node.name.value)
        return Measure()

    def fragment(self, name: str) -> Measure:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return Measure()
        self.in_progress.add(name)
        measure = self.memo[name] = self.selection_set(definition.selection_set)
        self.in_progress.discard(name)
        return measure


def measure_document(document: DocumentNode) -> dict[str, Measure]:
    """The measure of each operation of the document, by name ("" for an anonymous one)."""
    measurer = _Measurer(document)
    return {
        (d.name.value if d.name else ""): measurer.selection_set(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def refusals(measures: dict[str, Measure], limits: Limits) -> list[GraphQLError]:
    """Why the document is refused, each error with its code; aliases and cost are counted over the whole document."""
    errors = [
        GraphQLError(f"'{name}' exceeds maximum operation depth of {limits.max_depth}", extensions={"code": "QUERY_TOO_DEEP"})
        for name, measure in measures.items()
        if measure.depth > limits.max_depth
    ]
    aliases = sum(m.aliases for m in measures.values())
    if aliases > limits.max_aliases:
        errors.append(GraphQLError(f"{aliases} aliases found. Allowed: {limits.max_aliases}", extensions={"code": "TOO_MANY_ALIASES"}))
    cost = sum(m.cost for m in measures.values())
    if cost > limits.max_cost:
        errors.append(GraphQLError(
            f"the document selects {cost} fields once its fragments are expanded. Allowed: {limits.max_cost}",
            extensions={"code": "QUERY_TOO_COMPLEX"},
        ))
    return errors


class _Bounded(OrderedDict):
    """A small LRU of document measures keyed by the query text."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def measure(self, query: str | None, document: DocumentNode) -> dict[str, Measure] | None:
        if query is not None and query in self:
            self.move_to_end(query)
            return self[query]
        try:
            measures = measure_document(document)
        except RecursionError:
            return None
        if query is not None:
            self[query] = measures
            if len(self) > self.maxsize:
                self.popitem(last=False)
        return measures


_MEASURES = _Bounded(256)


class DocumentLimits(ValidationCache):
    """Refuses a document over its limits before validating it; validates the others through the shared cache."""

    def __init__(self, limits: Limits, maxsize: int = 256) -> None:
        super().__init__(maxsize=maxsize)
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        measures = _MEASURES.measure(context.query, context.graphql_document)
        if measures is None:
            errors = [GraphQLError("the document is nested too deeply to measure", extensions={"code": "QUERY_TOO_DEEP"})]
        else:
            errors = refusals(measures, self.limits)
        if errors:
            context.pre_execution_errors = errors
            yield
            return
        yield from super().on_validate()
