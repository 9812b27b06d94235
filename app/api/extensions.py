"""Schema extensions: request bookkeeping, error masking, and the limits that protect the server."""
import logging
from collections.abc import Iterator
from functools import partial

from graphql import GraphQLError
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import MaskErrors, MaxTokensLimiter, ParserCache, SchemaExtension

from app.api.limits import DocumentLimits, Limits

from app.config import Settings
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
            result = self.execution_context.result
            for error in getattr(result, "errors", None) or ():
                if _is_unexpected(error):
                    log.error("unexpected error in %s", error.path, exc_info=error.original_error)
            await context.close()
            operation_var.reset(token)


def _is_unexpected(error: GraphQLError) -> bool:
    """Errors we raised on purpose (auth, validation, limits) are shown; anything else is a bug and is masked."""
    original = error.original_error
    return original is not None and not isinstance(original, (StrawberryGraphQLError, GraphQLError))


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_ERROR"}
        return masked


def schema_extensions(settings: Settings) -> list:
    """Classes or factories (never shared instances): a fresh extension per request."""
    limits = Limits(max_depth=settings.max_query_depth, max_aliases=settings.max_query_aliases, max_cost=settings.max_query_cost)
    return [
        RequestScope,
        MaskUnexpectedErrors,
        partial(ParserCache, maxsize=256),
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        partial(DocumentLimits, limits, maxsize=256),
    ]
