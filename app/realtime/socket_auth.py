"""Authentication of a WebSocket from its connection_init payload (browsers cannot set headers on a socket)."""
import logging
from typing import Any

import jwt
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from strawberry.exceptions import ConnectionRejectionError

from app.auth.principal import authenticate, bearer_token
from app.auth.tokens import TokenError
from app.logs import tenant_var
from app.realtime.context import SocketContext

log = logging.getLogger(__name__)

UNAVAILABLE_CLOSE_CODE = 1013  # "try again later"


class SocketUnavailable(Exception):
    """The database could not be reached to authenticate the socket: refused with 1013, the client retries shortly."""

    def __init__(self) -> None:
        super().__init__("the database is unavailable: retry shortly")


def connection_token(params: dict[str, Any]) -> str | None:
    """`{"authorization": "Bearer …"}` (any case) or `{"token": "…"}`."""
    for name, value in params.items():
        if isinstance(value, str) and name.lower() == "authorization":
            return bearer_token(value)
    token = params.get("token")
    return token.strip() if isinstance(token, str) and token.strip() else None


async def authenticate_socket(context: SocketContext) -> None:
    """Set the principal, or refuse the connection (graphql-transport-ws closes it with 4403 Forbidden)."""
    token = connection_token(context.connection_params)
    if token is None:
        log.info("websocket refused: no token in connection_init")
        raise ConnectionRejectionError({"message": "authentication required", "code": "UNAUTHENTICATED"})
    try:
        async with context.runtime.hub.socket_session() as session:  # bounded: a reconnect storm waits its turn
            context.principal = await authenticate(session, context.runtime.settings, token)
    except TokenError as error:
        log.info("websocket refused: %s", error)
        raise ConnectionRejectionError({"message": str(error), "code": "UNAUTHENTICATED"}) from None
    except (DBAPIError, SQLAlchemyTimeoutError, OSError) as error:  # "too many clients", a pool timeout, a restart
        log.warning("websocket refused: database unavailable while authenticating (%s)", type(error).__name__)
        raise SocketUnavailable from None
    # Already verified above; read only the expiry so a long-lived socket does not outlive its token.
    context.expires_at = float(jwt.decode(token, options={"verify_signature": False}).get("exp", 0)) or None
    tenant_var.set(context.principal.tenant_id)
