"""The GraphQL endpoint: builds the typed context and authenticates the bearer token."""
import uuid
from contextvars import ContextVar
from typing import Any

from cross_web import HTTPException
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET, UnsetType

from app.api.context import Context
from app.clock import writing_with
from app.auth.principal import authenticate, bearer_token
from app.auth.tokens import TokenError
from app.logs import request_id_var, tenant_var
from app.realtime.context import SocketContext
from app.realtime.socket_auth import authenticate_socket
from app.runtime import Runtime


# The HTTP contexts made during one ASGI call, closed when the call ends however it ends.
_request_contexts: ContextVar[list[Context] | None] = ContextVar("detour_request_contexts", default=None)


class DetourGraphQL(GraphQL):
    def __init__(self, schema: Any, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.runtime = runtime

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        opened: list[Context] = []
        token = _request_contexts.set(opened)
        try:
            with writing_with(self.runtime.clock):  # what resolvers stamp and compare follows the runtime's clock
                await super().__call__(scope, receive, send)
        finally:
            # Whatever happened — a client gone before or during the body, a refusal before the operation ran —
            # the request's database session goes back to the pool.
            for context in opened:
                await context.close()
            _request_contexts.reset(token)

    def parse_json(self, data: str | bytes) -> Any:
        """The request body, refused before parsing when too large, and when nested too deep to parse."""
        if len(data) > self.runtime.settings.max_request_bytes:
            raise HTTPException(413, f"the request body is larger than {self.runtime.settings.max_request_bytes} bytes")
        try:
            return super().parse_json(data)
        except RecursionError:
            raise HTTPException(400, "the request body nests too deep") from None

    async def get_context(self, request: Any, response: Any) -> Context:
        if isinstance(request, WebSocket):  # authenticated from connection_init, in on_ws_connect
            return SocketContext(
                runtime=self.runtime, request=request, response=response, request_id=request_id_var.get() or uuid.uuid4().hex
            )
        context = Context(
            runtime=self.runtime, request=request, response=response, request_id=request_id_var.get() or uuid.uuid4().hex
        )
        if (opened := _request_contexts.get()) is not None:
            opened.append(context)
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return context
        try:
            context.principal = await authenticate(context.session, self.runtime.settings, token)
            tenant_var.set(context.principal.tenant_id)
        except TokenError as error:
            context.auth_error = str(error)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        assert isinstance(context, SocketContext)
        await authenticate_socket(context)
        return UNSET
