"""The GraphQL endpoint: builds the typed context and authenticates the bearer token."""
import logging
import uuid
from contextvars import ContextVar
from typing import Any

from cross_web import HTTPException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.requests import ClientDisconnect
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from app.api import http_contract
from app.api.context import Context
from app.api.sockets import PRINCIPAL_FULL_CODE, PROCESS_FULL_CLOSE_CODE, SocketLimiter, SocketSlot
from app.api.trusted_documents import resolve_document_id
from app.clock import writing_with
from app.auth.principal import authenticate, bearer_token
from app.auth.tokens import TokenError
from app.integrations.flows import authenticate_api_key
from app.integrations.api_keys import ApiKeyError, looks_like_api_key
from app.logs import request_id_var, tenant_var
from app.realtime.context import SocketContext
from app.realtime.fanout import SharedDeliveryHandler
from app.realtime.socket_auth import UNAVAILABLE_CLOSE_CODE, SocketUnavailable, authenticate_socket
from app.runtime import Runtime

log = logging.getLogger("detour.sockets")
log_http = logging.getLogger("detour.http")


# The HTTP contexts made during one ASGI call, closed when the call ends however it ends.
_request_contexts: ContextVar[list[Context] | None] = ContextVar("detour_request_contexts", default=None)
# The socket's hold on the limiter, bound to its principal in on_ws_connect and released when the socket ends.
_socket_slot: ContextVar[SocketSlot | None] = ContextVar("detour_socket_slot", default=None)


class TransportWSHandler(SharedDeliveryHandler):
    """graphql-transport-ws; a socket that cannot be authenticated for want of a database is told to retry (1013)."""

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketUnavailable as error:  # not a refusal of the token: 4403 would tell the client to log in again
            await self.websocket.close(code=UNAVAILABLE_CLOSE_CODE, reason=str(error))


class LegacyWSHandler(BaseGraphQLWSHandler):
    """graphql-ws: the same retry-later close, after a connection_error naming it."""

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketUnavailable as error:
            await self.send_message({"type": "connection_error", "payload": {"message": str(error), "code": "UNAVAILABLE"}})
            await self.websocket.close(code=UNAVAILABLE_CLOSE_CODE, reason=str(error))


class DetourGraphQL(GraphQL):
    graphql_transport_ws_handler_class = TransportWSHandler  # subscription events resolved once per group of sockets
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: Any, runtime: Runtime, **kwargs: Any) -> None:
        settings = runtime.settings
        kwargs.setdefault("max_subscriptions_per_connection", settings.max_subscriptions_per_socket)
        super().__init__(schema, **kwargs)
        self.runtime = runtime
        self.sockets = SocketLimiter(per_process=settings.max_sockets_per_process, per_principal=settings.max_sockets_per_principal)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        opened: list[Context] = []
        token = _request_contexts.set(opened)
        try:
            with writing_with(self.runtime.clock):  # what resolvers stamp and compare follows the runtime's clock
                await super().__call__(scope, receive, send)
        except ClientDisconnect:
            # Under load a request can wait past its client's patience: there is no one left to answer, and it is
            # not a server error (uncaught, uvicorn logged each one as "Exception in ASGI application").
            log_http.info("client hung up before its request was read")
        finally:
            # Whatever happened — a client gone before or during the body, a refusal before the operation ran —
            # the request's database session goes back to the pool.
            for context in opened:
                await context.close()
            _request_contexts.reset(token)

    async def _socket(self, scope: Any, receive: Any, send: Any) -> None:
        slot = self.sockets.enter()
        if slot is None:
            log.warning("websocket refused: this process holds %d sockets", self.sockets.live)
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": PROCESS_FULL_CLOSE_CODE})
            return
        token = _socket_slot.set(slot)
        try:
            with writing_with(self.runtime.clock):
                await super().__call__(scope, receive, send)
        finally:
            self.sockets.leave(slot)
            _socket_slot.reset(token)

    def parse_json(self, data: str | bytes) -> Any:
        """The request body, refused before parsing when too large, and when nested too deep to parse."""
        if len(data) > self.runtime.settings.max_request_bytes:
            raise HTTPException(413, f"the request body is larger than {self.runtime.settings.max_request_bytes} bytes")
        try:
            return super().parse_json(data)
        except RecursionError:
            raise HTTPException(400, "the request body nests too deep") from None

    async def parse_http_body(self, request: Any) -> Any:
        """A JSON body (415 otherwise); trusted documents (issue 17): a `documentId` stands for the document's text."""
        http_contract.check_content_type(request.method, parse_content_type(request.content_type or "")[0])
        data = await super().parse_http_body(request)
        if not isinstance(data, list):
            http_contract.check_operation_name(data.operation_name)
        return await resolve_document_id(self.runtime.settings, request, data)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """GraphQL over HTTP: the Accept header picks the media type, and with it the status codes (app/api/http_contract.py)."""
        if self.is_websocket_request(request):
            return await super().run(request, context, root_value)
        media_type = http_contract.negotiate(request.headers.get("accept"))
        request.state.graphql_media_type, request.state.graphql_request_error = media_type, False
        try:
            if media_type is None and not self.should_render_graphql_ide(self.request_adapter_class(request)):
                raise HTTPException(406, "accept application/graphql-response+json or application/json")
            response = await super().run(request, context, root_value)
        except HTTPException as error:
            return http_contract.error_response(error, media_type)
        return http_contract.answer_as(response, media_type or http_contract.JSON, request_error=request.state.graphql_request_error)

    async def execute_single(self, *, request_adapter: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_single(request_adapter=request_adapter, **kwargs)
        except HTTPException as error:
            cause = error.__cause__
            if request_adapter.method == "GET" and isinstance(cause, InvalidOperationTypeError) and cause.operation_type is OperationType.MUTATION:
                raise http_contract.MethodNotAllowed("a mutation is sent with POST, never GET") from error
            raise

    async def process_result(self, request: Any, result: Any) -> Any:
        body = await super().process_result(request, result)
        if http_contract.never_executed(result.data, result.errors):
            request.state.graphql_request_error = True
            if request.state.graphql_media_type == http_contract.GRAPHQL_RESPONSE:
                body.pop("data", None)  # the request failed before execution: no data entry at all
        return body

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
            if looks_like_api_key(token):  # integrations: an integrator API key instead of a JWT
                context.principal = await authenticate_api_key(self.runtime, token)
            else:
                context.principal = await authenticate(context.session, self.runtime.settings, token)
            tenant_var.set(context.principal.tenant_id)
        except (TokenError, ApiKeyError) as error:
            context.auth_error = str(error)
        except (DBAPIError, SQLAlchemyTimeoutError) as error:
            # The caller is looked up before the operation runs, outside GraphQL's error handling: a database that
            # refuses connections under load (pool timeout, "too many clients") is a retryable 503, not a traceback.
            log_http.warning("database unavailable while authenticating: %s", type(error).__name__)
            raise HTTPException(503, "the database is unavailable: retry shortly") from None
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        assert isinstance(context, SocketContext)
        await authenticate_socket(context)
        slot = _socket_slot.get()
        principal = context.principal
        if slot is not None and not self.sockets.bind(slot, (principal.tenant_id, principal.user_id)):
            log.info("websocket refused: too many sockets for one user")
            raise ConnectionRejectionError({"message": "too many open sockets for this user", "code": PRINCIPAL_FULL_CODE})
        return UNSET
