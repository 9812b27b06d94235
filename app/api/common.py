"""Types shared by every domain's schema: errors, ids, pagination."""
import base64
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from app.errors import DomainError, ErrorCode, not_found

GraphQLErrorCode = strawberry.enum(ErrorCode, name="ErrorCode", description="Stable codes of expected failures.")


@strawberry.type(description="An expected failure of a mutation: nothing was changed.")
class MutationError:
    code: GraphQLErrorCode
    message: str
    field: str | None = strawberry.field(default=None, description="The input field at fault, when one is.")

    @classmethod
    def from_domain(cls, error: DomainError) -> "MutationError":
        return cls(code=error.code, message=error.message, field=error.field)


# Ids are 32-bit integers on SQLite's INTEGER PRIMARY KEYs and on PostgreSQL's SERIAL columns alike.
MAX_ID = 2**31 - 1


def parse_id(value: strawberry.ID | str, what: str, field: str = "id") -> int:
    """A database id from a GraphQL ID, or NOT_FOUND (ids that cannot exist do not exist)."""
    try:
        number = int(str(value))
    except ValueError:
        raise not_found(what, field) from None
    if not 0 < number <= MAX_ID:
        raise not_found(what, field)
    return number


Node = TypeVar("Node")


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo


MAX_PAGE = 100


def encode_cursor(kind: str, number: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{number}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        prefix, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix == kind:
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise DomainError(ErrorCode.INVALID_INPUT, "the cursor is not one this list gave out", field="after")


def paginate(kind: str, rows: list, *, first: int, after: str | None, to_node: Any) -> "Connection":
    """A Relay page from `first + 1` rows read newest first: the extra row only says there is a next page."""
    edges = [Edge(cursor=encode_cursor(kind, row.id), node=to_node(row)) for row in rows[:first]]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=len(rows) > first, has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None,
    ))


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise DomainError(ErrorCode.INVALID_INPUT, f"first must be between 1 and {MAX_PAGE}", field="first")
    return first


Payload = TypeVar("Payload")


async def as_payload(payload_cls: type[Payload], work) -> Payload:  # noqa: ANN001
    """Run the mutation's work; an expected failure becomes the payload's typed error instead of a GraphQL error."""
    try:
        return await work()
    except DomainError as error:
        return payload_cls(errors=[MutationError.from_domain(error)])


def payload_type(name: str, field: str, of: Any, *, description: str | None = None) -> type:
    """A mutation payload `{ <field>: <of> | null, errors: [MutationError!]! }`: the changed object, or why nothing changed."""
    namespace = {
        "__annotations__": {field: of | None, "errors": list[MutationError]},
        field: None,
        "errors": strawberry.field(default_factory=list),
        "__module__": __name__,
        "__qualname__": name,
    }
    payload = strawberry.type(type(name, (), namespace), name=name, description=description)
    payload.changed_field, payload.node_type = field, of
    return payload


async def as_changed(payload_cls: type[Payload], work: Callable[[], Awaitable[Any]]) -> Payload:
    """Run a flow: the row it changed becomes the payload's object, an expected failure the payload's typed error."""

    async def changed() -> Payload:
        row = await work()
        node = payload_cls.node_type.from_row(row) if row is not None else None
        return payload_cls(**{payload_cls.changed_field: node})

    return await as_payload(payload_cls, changed)
