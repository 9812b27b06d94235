"""Replay after the cursor, then live: no gap and no duplicate at the seam, even with writers racing the start."""
import asyncio

from sqlmodel import col, select

from app.delivery_exceptions.models import ExceptionEvent
from app.realtime.models import RouteEvent
from app.routes.flows import AttemptReport, record_delivery_attempt
from app.routes.models import AttemptOutcome
from tests.realtime.asgi_socket import AsgiSocket
from tests.realtime.conftest import EXCEPTION_EVENTS, add_notes, open_exception, principal_of, until

ROUTE_UPDATES = """
subscription Route($routeId: ID!, $after: String) {
  routeUpdates(routeId: $routeId, after: $after) {
    cursor kind routeId routeVersion stops { id status version } exceptionEvent { id type }
  }
}
"""


async def _event_ids(runtime, depot_id: int) -> list[int]:
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(ExceptionEvent.id).where(ExceptionEvent.depot_id == depot_id).order_by(col(ExceptionEvent.id)))).all())


async def _collect(socket: AsgiSocket, op_id: str, count: int) -> list[dict]:
    received = []
    while len(received) < count:
        message = await socket.next_payload(op_id)
        assert message["type"] == "next" and "errors" not in message["payload"], message
        received.append(message["payload"]["data"])
    return received


async def test_replay_then_live_has_no_gap_and_no_duplicate(asgi_app, sockets, factory, runtime):
    # given a depot with an exception and a few events already stored
    fleet = await factory.fleet(stops=2)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    await add_notes(runtime, fleet.dispatcher, exception_id, 3)
    cursor = (await _event_ids(runtime, fleet.depot.id))[1]  # the client saw the first two

    # when the dispatcher resumes after that cursor while another dispatcher keeps writing
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(fleet.dispatcher)})
    writer = asyncio.create_task(add_notes(runtime, fleet.supervisor, exception_id, 15))
    await socket.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id), "after": str(cursor)})
    await writer
    expected = [i for i in await _event_ids(runtime, fleet.depot.id) if i > cursor]
    received = await _collect(socket, "q", len(expected))

    # then every later event arrives exactly once, in order
    assert [int(e["exceptionEvents"]["id"]) for e in received] == expected
    assert len(expected) == 2 + 15

    # and once caught up, a new event arrives live, and nothing else is pending
    await add_notes(runtime, fleet.dispatcher, exception_id, 1)
    live = await _collect(socket, "q", 1)
    assert int(live[0]["exceptionEvents"]["id"]) == (await _event_ids(runtime, fleet.depot.id))[-1]
    assert socket.from_app.empty()


async def test_subscription_without_cursor_starts_now(asgi_app, sockets, factory, runtime):
    # given a depot with history
    fleet = await factory.fleet(stops=1)
    exception_id = await open_exception(runtime, fleet.driver, fleet.stops[0].id)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(fleet.dispatcher)})

    # when a dispatcher subscribes without `after` and a note is then added
    await socket.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
    await until(lambda: any(feed.followers for feed in runtime.hub.feeds.values()))  # "now" is when it registered
    await add_notes(runtime, fleet.dispatcher, exception_id, 1)

    # then only the new event arrives, with its actor resolved
    [event] = await _collect(socket, "q", 1)
    assert event["exceptionEvents"]["type"] == "NOTE_ADDED"
    assert event["exceptionEvents"]["actor"]["id"] == str(fleet.dispatcher.id)


async def test_driver_follows_route_changes_and_resumes_with_its_cursor(asgi_app, sockets, factory, runtime):
    # given the driver's route and a socket on it
    fleet = await factory.fleet(stops=3)
    driver = principal_of(fleet.driver)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(fleet.driver)})
    await socket.subscribe("r", ROUTE_UPDATES, {"routeId": str(fleet.route.id), "after": "0:0"})

    # when a stop is delivered and another one gets an exception
    await record_delivery_attempt(runtime, driver, AttemptReport(stop_id=fleet.stops[0].id, outcome=AttemptOutcome.DELIVERED, idempotency_key="a-1"))
    await open_exception(runtime, fleet.driver, fleet.stops[1].id)
    updates = [u["routeUpdates"] for u in await _collect(socket, "r", 2)]

    # then both arrive: the stop change with the stop's new state and the route version, then the exception event
    kinds = sorted(u["kind"] for u in updates)
    assert kinds == ["EXCEPTION_EVENT", "STOP_UPDATED"]
    stop_update = next(u for u in updates if u["kind"] == "STOP_UPDATED")
    assert stop_update["stops"] == [{"id": str(fleet.stops[0].id), "status": "DELIVERED", "version": 2}]
    assert stop_update["routeVersion"] == 2
    assert next(u for u in updates if u["kind"] == "EXCEPTION_EVENT")["exceptionEvent"]["type"] == "REPORTED"

    # when the phone reconnects with the first update's cursor after one more change
    await socket.close()
    sockets.remove(socket)
    await record_delivery_attempt(runtime, driver, AttemptReport(stop_id=fleet.stops[2].id, outcome=AttemptOutcome.FAILED, idempotency_key="a-2"))
    resumed = AsgiSocket(asgi_app)
    sockets.append(resumed)
    await resumed.init({"token": factory.token(fleet.driver)})
    await resumed.subscribe("r", ROUTE_UPDATES, {"routeId": str(fleet.route.id), "after": updates[0]["cursor"]})
    replayed = [u["routeUpdates"] for u in await _collect(resumed, "r", 2)]

    # then it gets exactly what came after that cursor: the second update and the new one
    # (each stream keeps its order; the two streams interleave as they arrive)
    assert sorted(u["kind"] for u in replayed) == sorted([updates[1]["kind"], "STOP_UPDATED"])
    assert [u["stops"][0]["status"] for u in replayed if u["kind"] == "STOP_UPDATED"][-1] == "FAILED"
    async with runtime.sessionmaker() as session:
        assert len((await session.exec(select(RouteEvent).where(RouteEvent.route_id == fleet.route.id))).all()) == 2


async def test_another_drivers_route_is_not_found(asgi_app, sockets, factory):
    # given two fleets' drivers
    mine, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    socket = AsgiSocket(asgi_app)
    sockets.append(socket)
    await socket.init({"token": factory.token(mine.driver)})

    # when one subscribes to the other's route, then it does not exist for them
    await socket.subscribe("r", ROUTE_UPDATES, {"routeId": str(theirs.route.id)})
    message = await socket.next_payload("r")
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
