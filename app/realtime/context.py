"""The context of a WebSocket, and a fresh database scope for every event a subscription delivers.

A socket's context lives as long as the socket and is shared by all its operations. Its session and
DataLoaders must not be: a session kept open would hold a pooled connection for hours, loader caches
would serve stale stops and grow, and two subscriptions on one socket would share one session.
`event_scope` gives each delivered event its own session and loaders, closed right after it is sent.
"""
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.context import Context
from app.api.loaders import Loaders
from app.api.relations import RELATIONS


@dataclass
class _EventScope:
    runtime: Any
    _session: AsyncSession | None = None
    loaders: Loaders | None = None

    @property
    def session(self) -> AsyncSession:
        """Opened on first use: most events resolve without the database."""
        if self._session is None:
            self._session = self.runtime.sessionmaker()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


_scope: ContextVar[_EventScope | None] = ContextVar("detour_event_scope", default=None)


@dataclass
class SocketContext(Context):
    """Context of a graphql-transport-ws / graphql-ws connection; `connection_params` is the connection_init payload."""

    connection_params: dict[str, Any] = field(default_factory=dict)
    expires_at: float | None = None  # the token's expiry (epoch seconds): subscriptions end with it

    @property
    def session(self) -> AsyncSession:
        scope = _scope.get()
        return scope.session if scope is not None else super().session

    @property
    def loaders(self) -> Loaders:  # type: ignore[override]
        scope = _scope.get()
        if scope is None:
            return super().loaders
        if scope.loaders is None:
            scope.loaders = Loaders(scope.session, self.viewer.tenant_id, RELATIONS)
        return scope.loaders


@asynccontextmanager
async def event_scope(context: Any) -> AsyncIterator[None]:
    """Resolve one delivered event with its own session and loaders (plain HTTP contexts are left alone)."""
    if not isinstance(context, SocketContext):
        yield
        return
    scope = _EventScope(runtime=context.runtime)
    token = _scope.set(scope)
    try:
        yield
    finally:
        try:
            _scope.reset(token)
        except ValueError:  # closed from another task (socket gone): that context is discarded anyway
            pass
        await scope.close()
