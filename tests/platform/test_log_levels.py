"""Expected client errors are logged below ERROR and without a traceback: ERROR means a bug."""
import logging

from tests.factories import gql
from tests.realtime.asgi_socket import AsgiSocket
from tests.realtime.conftest import EXCEPTION_EVENTS, sockets  # noqa: F401 - the fixture


def errors_and_tracebacks(caplog) -> list[str]:  # noqa: ANN001
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_bad_tokens_forbidden_fields_and_syntax_errors_are_not_errors(client, factory, caplog):
    # given a driver, an expired token and a forged one
    fleet = await factory.fleet(stops=1)
    expired = factory.token(fleet.driver, ttl_seconds=-60)
    forged = factory.token(fleet.driver)[:-4] + "AAAA"
    caplog.set_level(logging.INFO)

    # when each makes a client's mistake
    refused = [
        await gql(client, "{ myRoute { id } }", token=expired),
        await gql(client, "{ myRoute { id } }", token=forged),
        await gql(client, "{ myRoute { id } }"),
        await gql(client, f'{{ driverPositions(depotId: "{fleet.depot.id}") {{ lat }} }}', token=factory.token(fleet.driver)),
        await gql(client, "{ myRoute { id ", token=factory.token(fleet.driver)),
    ]

    # then each was refused with a code, and nothing was logged at ERROR or with a traceback
    assert all(result["errors"] for result in refused)
    assert errors_and_tracebacks(caplog) == []
    assert any(r.levelno in (logging.INFO, logging.WARNING) for r in caplog.records if "refused" in r.getMessage())


async def test_a_subscription_to_what_does_not_exist_is_not_an_error(asgi_app, sockets, factory, caplog):
    # given a dispatcher on a socket, and another tenant's depot
    mine, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(mine.dispatcher)})
    caplog.set_level(logging.INFO)

    # when the dispatcher subscribes to it
    await socket.subscribe("1", EXCEPTION_EVENTS, {"depotId": str(theirs.depot.id)})
    message = await socket.next_payload("1")

    # then NOT_FOUND reaches the client and the log has no ERROR and no traceback
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert errors_and_tracebacks(caplog) == []
