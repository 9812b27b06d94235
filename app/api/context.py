"""The typed per-request context every resolver receives."""
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.loaders import Loaders
from app.api.relations import RELATIONS
from app.auth.principal import Principal
from app.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    request: Any
    response: Any
    request_id: str
    principal: Principal | None = None
    auth_error: str | None = None
    _session: AsyncSession | None = field(default=None, repr=False)

    @property
    def session(self) -> AsyncSession:
        """A read session for this request, closed when the operation ends."""
        if self._session is None:
            self._session = self.runtime.sessionmaker()
        return self._session

    @cached_property
    def loaders(self) -> Loaders:
        if self.principal is None:
            raise RuntimeError("loaders need an authenticated principal")
        return Loaders(self.session, self.principal.tenant_id, RELATIONS)

    @property
    def viewer(self) -> Principal:
        """The caller; fields that read it carry an authentication permission."""
        if self.principal is None:
            raise RuntimeError("no principal: the field is missing its permission class")
        return self.principal

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


Info = strawberry.Info[Context, None]
