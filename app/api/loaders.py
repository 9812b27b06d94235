"""Per-request DataLoaders: one SQL statement per relation per request, whatever the list length.

Each domain declares its relations (`<domain>/loaders.py`: a name → a loader spec); `app.api.relations`
gathers them, and a request's `Loaders` makes each loader the first time a resolver asks for it.

Loaders read rows with SQLAlchemy Core into light read-only rows (a named tuple per model, the model's column
names as attributes, values converted by the column types as the ORM would), not ORM instances: what the types
read off them is the same, and a driver's route is read without building, tracking and identity-mapping a few
hundred model instances per request. Rows primed from elsewhere may still be ORM instances; both read alike.
"""
from collections import defaultdict, namedtuple
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode
from sqlalchemy import select as core_select
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

LoaderSpec = Callable[[AsyncSession, int], DataLoader]


@cache
def light_row(model: type[SQLModel]) -> type:
    """The read-only row type of `model`: its columns, in table order, as named fields."""
    return namedtuple(f"{model.__name__}Row", [column.key for column in model.__table__.columns])  # noqa: PYI024


def _columns(model: type[SQLModel]) -> list[Any]:
    return list(model.__table__.columns)


async def _light_rows(session: AsyncSession, statement: Any, *models: type[SQLModel]) -> list[Any]:
    """`statement` (the columns of `models`, in order) run on the session's connection; one light row per model per result row."""
    connection = await session.connection()
    result = (await connection.execute(statement)).all()
    if len(models) == 1:
        make = light_row(models[0])._make
        return [make(row) for row in result]
    makers, bounds, start = [light_row(m)._make for m in models], [], 0
    for model in models:
        bounds.append((start, start + len(model.__table__.columns)))
        start = bounds[-1][1]
    return [tuple(make(row[a:b]) for make, (a, b) in zip(makers, bounds, strict=True)) for row in result]


def by_id(model: type[SQLModel], *, tenant_column: Any = None) -> LoaderSpec:
    """Rows of `model` by id, within the tenant (`tenant_column` when the table names its tenant otherwise)."""

    def make(session: AsyncSession, tenant_id: int) -> DataLoader[int, Any]:
        async def load(ids: Sequence[int]) -> list[Any]:
            tenant = model.tenant_id if tenant_column is None else tenant_column
            statement = core_select(*_columns(model)).where(col(model.id).in_(list(ids)), tenant == tenant_id)
            found = {row.id: row for row in await _light_rows(session, statement, model)}
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    return make


def grouped(model: type[SQLModel], key: str, order_by: Any, where: Callable[[Any], Any] | None = None) -> LoaderSpec:
    """Lists of `model` rows per value of `key`, ordered, within the tenant."""

    def make(session: AsyncSession, tenant_id: int) -> DataLoader[int, list[Any]]:
        async def load(keys: Sequence[int]) -> list[list[Any]]:
            query = core_select(*_columns(model)).where(col(getattr(model, key)).in_(list(keys)), model.tenant_id == tenant_id)
            if where is not None:
                query = where(query)
            groups: dict[int, list[Any]] = defaultdict(list)
            for row in await _light_rows(session, query.order_by(order_by), model):
                groups[getattr(row, key)].append(row)
            return [groups.get(k, []) for k in keys]

        return DataLoader(load_fn=load)

    return make


def grouped_with(model: type[SQLModel], key: str, order_by: Any, joined: type[SQLModel], on: Any) -> LoaderSpec:
    """Like `grouped`, with each row's `joined` row (same tenant) read in the same statement: lists of (row, joined) pairs."""

    def make(session: AsyncSession, tenant_id: int) -> DataLoader[int, list[tuple[Any, Any]]]:
        async def load(keys: Sequence[int]) -> list[list[tuple[Any, Any]]]:
            query = (core_select(*_columns(model), *_columns(joined)).join_from(model, joined, on)
                     .where(col(getattr(model, key)).in_(list(keys)), model.tenant_id == tenant_id, joined.tenant_id == tenant_id))
            groups: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
            for row, other in await _light_rows(session, query.order_by(order_by), model, joined):
                groups[getattr(row, key)].append((row, other))
            return [groups.get(k, []) for k in keys]

        return DataLoader(load_fn=load)

    return make


Value, Result = TypeVar("Value"), TypeVar("Result")


def then(loaded: "Awaitable[Value]", convert: Callable[[Value], Result]) -> "Result | Awaitable[Result]":
    """`convert` applied to a loader's value: at once when the value is already there (a primed or batched key), else later.

    Lets relation fields be sync resolvers: graphql-core awaits what they return only when it is awaitable.
    """
    if getattr(loaded, "done", None) is not None and loaded.done() and not loaded.cancelled() and loaded.exception() is None:
        return convert(loaded.result())

    async def later() -> Result:
        return convert(await loaded)

    return later()


class Loaders:
    """Every relation the schema follows, scoped to the caller's tenant; a loader is made when first used."""

    def __init__(self, session: AsyncSession, tenant_id: int, specs: Mapping[str, LoaderSpec]) -> None:
        self._session, self._tenant_id, self._specs = session, tenant_id, specs

    def prime(self, name: str, rows: Any) -> None:
        """Put rows read by another statement into the `name` by-id loader, so resolving them costs no statement."""
        loader = getattr(self, name)
        for row in rows:
            if row is not None:
                loader.prime(row.id, row)

    def __getattr__(self, name: str) -> DataLoader:
        spec = self.__dict__.get("_specs", {}).get(name)
        if spec is None:
            raise AttributeError(f"no relation named {name!r}")
        loader = spec(self._session, self._tenant_id)
        setattr(self, name, loader)
        return loader


def selected_field_names(info: Any) -> set[str]:
    """The names of the fields selected below the current field, through fragments (what to read up front)."""
    raw = info._raw_info
    names: set[str] = set()
    stack = [node.selection_set for node in raw.field_nodes]
    while stack:
        selection_set = stack.pop()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and (fragment := raw.fragments.get(selection.name.value)):
                stack.append(fragment.selection_set)
    return names
