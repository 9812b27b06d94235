"""Input hygiene in one place: what every String and DateTime argument must be before a resolver sees it.

DateTime is Detour's own scalar (same name, same ISO 8601 form) that refuses a time without an offset; String is
GraphQL's own and cannot be redefined, so `CleanText` checks every string variable and literal before execution.
"""
from datetime import datetime

import strawberry
from graphql import GraphQLError, StringValueNode

# Before 1970 is a broken device clock; far-future times are the domains to judge (occurredAt, windows), so the cap
# only keeps conversions to UTC from overflowing.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def clean_text(value: object) -> str:
    """A string with no NUL character and no lone surrogate (neither can be stored, nor sent on)."""
    if not isinstance(value, str):
        raise GraphQLError("String cannot represent a non string value", extensions={"code": "INVALID_INPUT"})
    if "\x00" in value:
        raise GraphQLError("text may not contain NUL characters", extensions={"code": "INVALID_INPUT"})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise GraphQLError("text may not contain unpaired surrogates", extensions={"code": "INVALID_INPUT"}) from None
    return value


def aware_datetime(value: object) -> datetime:
    """An ISO 8601 date-time with an offset, within sane years; a time without a zone is refused, never guessed."""
    if not isinstance(value, str):
        raise GraphQLError("DateTime must be an ISO 8601 string", extensions={"code": "INVALID_INPUT"})
    try:
        parsed = datetime.fromisoformat(clean_text(value))
    except ValueError:
        raise GraphQLError("DateTime must be an ISO 8601 date-time", extensions={"code": "INVALID_INPUT"}) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise GraphQLError("DateTime needs a UTC offset (for example 2026-05-04T10:00:00+02:00 or …Z)", extensions={"code": "INVALID_INPUT"})
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise GraphQLError(f"DateTime must lie between {EARLIEST_YEAR} and {LATEST_YEAR}", extensions={"code": "INVALID_INPUT"})
    return parsed


def _literal(parse):  # noqa: ANN001, ANN202
    def parse_literal(node, _variables=None):  # noqa: ANN001, ANN202
        if not isinstance(node, StringValueNode):
            raise GraphQLError("expected a string literal", extensions={"code": "INVALID_INPUT"})
        return parse(node.value)

    return parse_literal


INPUT_SCALARS = {
    datetime: strawberry.scalar(
        name="DateTime", serialize=lambda value: value.isoformat(), parse_value=aware_datetime, parse_literal=_literal(aware_datetime),
        description="An ISO 8601 date-time with a UTC offset (2026-05-04T10:00:00+02:00 or …Z); a time without one is refused.",
    ),
}


MAX_NESTING = 32


def text_problem(value: object, depth: int = 0) -> str | None:
    """Why a variable value cannot be taken (a string with NUL or a lone surrogate, nesting too deep), or None."""
    if depth > MAX_NESTING:
        return f"variables nest deeper than {MAX_NESTING} levels"
    if isinstance(value, str):
        try:
            clean_text(value)
        except GraphQLError as error:
            return error.message
        return None
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if (problem := text_problem(child, depth + 1)) is not None:
            return problem
    return None
