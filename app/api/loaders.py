"""Per-request DataLoaders: one SQL statement per relation per request, whatever the list length.

Each domain declares its relations (`<domain>/loaders.py`: a name → a loader spec); `app.api.relations`
gathers them, and a request's `Loaders` makes each loader the first time a resolver asks for it.
"""
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

LoaderSpec = Callable[[AsyncSession, int], DataLoader]


def by_id(model: type[SQLModel], *, tenant_column: Any = None) -> LoaderSpec:
    """Rows of `model` by id, within the tenant (`tenant_column` when the table names its tenant otherwise)."""

    def make(session: AsyncSession, tenant_id: int) -> DataLoader[int, Any]:
        async def load(ids: Sequence[int]) -> list[Any]:
            tenant = model.tenant_id if tenant_column is None else tenant_column
            rows = await session.exec(select(model).where(col(model.id).in_(list(ids)), tenant == tenant_id))
            found = {row.id: row for row in rows.all()}
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    return make


def grouped(model: type[SQLModel], key: str, order_by: Any, where: Callable[[Any], Any] | None = None) -> LoaderSpec:
    """Lists of `model` rows per value of `key`, ordered, within the tenant."""

    def make(session: AsyncSession, tenant_id: int) -> DataLoader[int, list[Any]]:
        async def load(keys: Sequence[int]) -> list[list[Any]]:
            query = select(model).where(col(getattr(model, key)).in_(list(keys)), model.tenant_id == tenant_id)
            if where is not None:
                query = where(query)
            groups: dict[int, list[Any]] = defaultdict(list)
            for row in (await session.exec(query.order_by(order_by))).all():
                groups[getattr(row, key)].append(row)
            return [groups.get(k, []) for k in keys]

        return DataLoader(load_fn=load)

    return make


class Loaders:
    """Every relation the schema follows, scoped to the caller's tenant; a loader is made when first used."""

    def __init__(self, session: AsyncSession, tenant_id: int, specs: Mapping[str, LoaderSpec]) -> None:
        self._session, self._tenant_id, self._specs = session, tenant_id, specs

    def __getattr__(self, name: str) -> DataLoader:
        spec = self.__dict__.get("_specs", {}).get(name)
        if spec is None:
            raise AttributeError(f"no relation named {name!r}")
        loader = spec(self._session, self._tenant_id)
        setattr(self, name, loader)
        return loader
