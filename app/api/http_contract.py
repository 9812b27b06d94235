"""The GraphQL-over-HTTP contract (graphql.github.io/graphql-over-http): media types, request checks, status codes.

`application/graphql-response+json` is preferred and answered with the status codes it prescribes: a request that
never reached execution (unparsable body, bad parameters, parse, validation or variable errors, a refused document)
is 4xx without `data`; once execution started it is 200. `application/json` (also for `*/*` or no Accept) keeps the
legacy answers older clients expect: GraphQL errors in a 200. A GET runs queries only (405 and `Allow: POST` for a
mutation); a POST needs a JSON body (415 otherwise); an Accept naming neither media type is 406.
"""
import json
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import Response

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
REQUEST_MEDIA_TYPES = frozenset({JSON})

_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE", 413: "REQUEST_TOO_LARGE",
          415: "UNSUPPORTED_MEDIA_TYPE"}


class MethodNotAllowed(HTTPException):
    """A mutation sent with GET: 405, and the `Allow` header RFC 9110 requires with it."""

    def __init__(self, reason: str, allow: str = "POST") -> None:
        super().__init__(405, reason)
        self.allow = allow


def _ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their weights (a malformed weight counts as 0)."""
    ranges = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        ranges.append((media.lower(), weight))
    return ranges


def _weight(media_type: str, ranges: list[tuple[str, float]]) -> float:
    """How much the client wants `media_type`: the weight of the most specific range that matches it (RFC 9110 12.5.1)."""
    kind = media_type.split("/")[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        weights = [w for m, w in ranges if m == candidate]
        if weights:
            return max(weights)
    return 0.0


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when neither GraphQL media type is acceptable (406).

    No header, `*/*` or `application/*` mean application/json (what older clients expect); at equal weight the
    GraphQL response type, named explicitly, wins.
    """
    if not accept or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    explicit = {m for m, _ in ranges}
    graphql, legacy = _weight(GRAPHQL_RESPONSE, ranges), _weight(JSON, ranges)
    if graphql <= 0 and legacy <= 0:
        return None
    if graphql > legacy or (graphql == legacy and GRAPHQL_RESPONSE in explicit):
        return GRAPHQL_RESPONSE
    return JSON


def check_content_type(method: str, media_type: str) -> None:
    """A POST's body must be JSON (415 otherwise, the same for a missing Content-Type)."""
    if method == "POST" and media_type.strip().lower() not in REQUEST_MEDIA_TYPES:
        shown = media_type or "none"
        raise HTTPException(415, f"send the request as Content-Type: application/json (got {shown[:60]})")


def check_operation_name(operation_name: Any) -> None:
    if not isinstance(operation_name, str | None):
        raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")


def never_executed(data: Any, errors: list[GraphQLError] | None) -> bool:
    """A request error (parse, validation, variables, a refused document): no data and no error from a field."""
    return data is None and bool(errors) and all(error.path is None for error in errors)


def error_response(error: HTTPException, media_type: str | None) -> Response:
    """A refusal before execution, as a GraphQL response (errors only) in the negotiated media type."""
    code = _CODES.get(error.status_code, "BAD_REQUEST")
    body = GraphQLError(error.reason, extensions={"code": code}).formatted
    headers = {"Allow": error.allow} if isinstance(error, MethodNotAllowed) else {}
    content = json.dumps({"errors": [body]}, separators=(",", ":"))
    return Response(content, status_code=error.status_code, headers=headers, media_type=media_type or JSON)


def answer_as(response: Response, media_type: str, *, request_error: bool) -> Response:
    """The executed answer in the negotiated media type; with the GraphQL type, a request error is a 400."""
    if media_type != GRAPHQL_RESPONSE or response.media_type != JSON:
        return response
    response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
    if request_error and response.status_code == 200:
        response.status_code = 400
    return response
