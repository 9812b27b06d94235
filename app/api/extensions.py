"""Schema extensions: request bookkeeping, error masking, and the limits that protect the server."""
import logging
import re
from collections.abc import Iterator
from functools import partial

from typing import Any

from graphql import DocumentNode, GraphQLError, Node, StringValueNode
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from app.api.limits import document_limits_rule
from app.api.scalars import text_problem
from app.config import Settings
from app.errors import DomainError
from app.logs import operation_var

log = logging.getLogger("detour.graphql")


class RequestScope(SchemaExtension):
    """Names the operation in the logs and closes the request's read session when the operation ends."""

    async def on_operation(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context.context
        token = operation_var.set(self.execution_context.operation_name)
        try:
            yield
        finally:
            await context.close()
            operation_var.reset(token)


_VARIABLE_ERROR = re.compile(r"^(Variable '\$\w+' (?:has|got) (?:an )?invalid value(?: at [^:;]+)?)[:;] (.*)$", re.S)
_QUOTED_VALUE = re.compile(r"(?:,? found:? | value: ).*$", re.S)


def without_values(message: str) -> str:
    """An error message that names fields and types but never quotes what was sent (it may hold a gate code)."""
    matched = _VARIABLE_ERROR.match(message)
    if matched:
        head, detail = matched.groups()
        return f"{head}: {_QUOTED_VALUE.sub('', detail).rstrip('. ')}."
    return _QUOTED_VALUE.sub("", message) if " value: " in message or "found" in message else message


class TypedErrors(SchemaExtension):
    """Expected failures of query fields carry their domain code; no error quotes the values it was sent."""

    def on_operation(self) -> Iterator[None]:
        yield
        for error in getattr(self.execution_context.result, "errors", None) or ():
            error.message = without_values(error.message)
            if isinstance(error.original_error, DomainError):
                domain = error.original_error
                error.extensions = {"code": domain.code.value, **({"field": domain.field} if domain.field else {})}


class CleanText(SchemaExtension):
    """Every string the request carries (variables and literals) is storable text, before anything executes."""

    def on_validate(self) -> Iterator[None]:
        # Listed after ValidationCache, which has validated the document by now; strawberry reads the errors
        # right after the validation step, before the extensions' exits, so this checks before yielding.
        context = self.execution_context
        if not context.pre_execution_errors:
            problem = text_problem(context.variables or {})
            if problem is None and context.graphql_document is not None:
                problem = _literal_problem(context.graphql_document)
            if problem is not None:
                context.pre_execution_errors = [GraphQLError(problem, extensions={"code": "INVALID_INPUT"})]
        yield


# The parser cache hands out the same document object for the same text: its literals are checked once.
_LITERAL_PROBLEMS: dict[int, tuple[DocumentNode, str | None]] = {}
_LITERAL_PROBLEMS_MAX = 512


def _literal_problem(document: DocumentNode) -> str | None:
    cached = _LITERAL_PROBLEMS.get(id(document))
    if cached is not None and cached[0] is document:
        return cached[1]
    problem = next((p for p in map(text_problem, _string_literals(document)) if p), None)
    if len(_LITERAL_PROBLEMS) >= _LITERAL_PROBLEMS_MAX:
        _LITERAL_PROBLEMS.clear()
    _LITERAL_PROBLEMS[id(document)] = (document, problem)  # holding the document keeps its id from being reused
    return problem


def _string_literals(document: DocumentNode) -> Iterator[str]:
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, StringValueNode):
            yield node.value
        elif isinstance(node, Node):
            stack.extend(child for key in node.keys if (child := getattr(node, key, None)) is not None)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def log_errors(errors: list[GraphQLError]) -> None:
    """Expected refusals (bad input, auth, limits) at INFO, one line, no traceback; a bug at ERROR with its traceback."""
    for error in errors:
        if _is_unexpected(error):
            log.error("unexpected error in %s", error.path, exc_info=error.original_error)
        else:
            code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
            log.info("request refused: %s", without_values(error.message), extra={"code": code})


def _is_unexpected(error: GraphQLError) -> bool:
    """Errors we raised on purpose (auth, validation, limits) are shown; anything else is a bug and is masked."""
    original = error.original_error
    return original is not None and not isinstance(original, (StrawberryGraphQLError, GraphQLError, DomainError))


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_ERROR"}
        return masked


def schema_extensions(settings: Settings) -> list:
    """Classes or factories (never shared instances): a fresh extension per request.

    The limits are one validation rule whose class is the same for every request, so the validation cache hits.
    """
    limits = document_limits_rule(settings.max_query_depth, settings.max_query_aliases, settings.max_query_fields)
    return [
        RequestScope,
        MaskUnexpectedErrors,
        TypedErrors,
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        partial(ParserCache, maxsize=256),
        partial(AddValidationRules, [limits]),
        partial(ValidationCache, maxsize=256),
        CleanText,
    ]


def public_error(error: GraphQLError) -> GraphQLError:
    """An error as a client may see it, outside strawberry's extensions (shared subscription events): as they would make it."""
    if _is_unexpected(error):
        return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL_ERROR"})
    extensions = error.extensions
    if isinstance(error.original_error, DomainError):
        domain = error.original_error
        extensions = {"code": domain.code.value, **({"field": domain.field} if domain.field else {})}
    return GraphQLError(without_values(error.message), nodes=error.nodes, path=error.path, original_error=error.original_error, extensions=extensions)
