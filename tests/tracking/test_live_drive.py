"""Done-when: a scripted GPS track over real HTTP under a frozen clock drives live ETAs, lateness, proximity, geofence."""
import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.main import create_app
from app.clock import FrozenClock
from app.delivery_exceptions.models import DeliveryException, ExceptionEvent, ExceptionKind
from app.outreach.models import CustomerResponse, Notification, ResponseOption, ResponseSource
from app.realtime.models import RouteEvent, RouteChangeKind
from app.routes.models import Stop
from app.tracking.models import LateRouteProposal
from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.realtime.asgi_socket import AsgiSocket

REPORT = "mutation($input: ReportPositionsInput!) { reportPositions(input: $input) { stored errors { code } } }"
ATTEMPT = """mutation($input: RecordDeliveryAttemptInput!) {
  recordDeliveryAttempt(input: $input) { attempt { id } errors { code } } }"""
ROUTE_UPDATES = """subscription($routeId: ID!) {
  routeUpdates(routeId: $routeId) { kind stops { id plannedEta liveEta } } }"""
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LAT, LON0 = 52.37, 4.90
KM_LON = 1 / (111.32 * 0.6105)  # degrees of longitude per km at 52.37° N


def at_km(x: float) -> tuple[float, float]:
    return (LAT, round(LON0 + x * KM_LON, 6))


async def scripted_route(runtime):  # noqa: ANN001, ANN201
    """Stops A, B, C, D at 3, 1, 2 and 4 km east of the driver, driven in that (poor) order."""
    fleet = await Factory(runtime).fleet(stops=4)
    layout = {0: (3, 50), 1: (1, 40), 2: (2, 45), 3: (4, 45)}  # stop index → (km east, window end in min after T0)
    async with runtime.sessionmaker() as session, session.begin():
        for index, (km, end) in layout.items():
            stop = await session.get(Stop, fleet.stops[index].id)
            stop.lat, stop.lon = at_km(km)
            stop.window_start, stop.window_end = T0 - timedelta(hours=1), T0 + timedelta(minutes=end)
            stop.planned_eta, stop.service_seconds = T0 + timedelta(minutes=10 * index), 180
    return fleet


def fix(clock: FrozenClock, km: float) -> dict:
    lat, lon = at_km(km)
    return {"positions": [{"recordedAt": clock.now().isoformat(), "lat": lat, "lon": lon, "accuracyM": 8}]}


async def rows(runtime, model, *where):  # noqa: ANN001, ANN201
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def next_update(socket: AsgiSocket, kind: str) -> dict:
    while True:
        update = (await socket.next_payload("r"))["payload"]["data"]["routeUpdates"]
        if update["kind"] == kind:
            return update


async def test_a_scripted_drive_moves_etas_catches_the_jam_announces_arrival_and_flags_a_far_attempt(runtime, solver_pool):
    # given a frozen clock, a route of four stops in a poor order, and the driver's app subscribed to it
    clock = FrozenClock(T0)
    settings = runtime.settings.model_copy(update={"proximity_eta_minutes": 1, "live_eta_interval_seconds": 30})
    clocked = replace(runtime, clock=clock, settings=settings)
    fleet = await scripted_route(clocked)
    a, b, c, d = (s.id for s in fleet.stops)
    async with clocked.sessionmaker() as session, session.begin():
        session.add(CustomerResponse(
            tenant_id=fleet.tenant.id, customer_id=fleet.stops[2].customer_id, stop_id=c, source=ResponseSource.SMS_REPLY,
            option=ResponseOption.RESCHEDULE, text="1",
        ))
    driver = Factory(clocked).token(fleet.driver)
    socket = AsgiSocket(create_app(runtime=clocked))
    await socket.init({"token": driver})
    await socket.subscribe("r", ROUTE_UPDATES, {"routeId": str(fleet.route.id)})
    await asyncio.sleep(0.05)  # let the subscription listen before the first change
    try:
        async with client_for(clocked) as http:
            # when the first fix arrives 3 km before stop A
            assert (await gql(http, REPORT, {"input": fix(clock, 0)}, token=driver))["data"]["reportPositions"]["errors"] == []
            first = await next_update(socket, "ETAS_UPDATED")

            # then the driver's subscription carries live ETAs next to the planned ones, all on time
            etas = {s["id"]: datetime.fromisoformat(s["liveEta"]) for s in first["stops"]}
            assert set(etas) == {str(a), str(b), str(c), str(d)}
            assert etas[str(a)] < etas[str(b)] < etas[str(c)] < etas[str(d)] < T0 + timedelta(minutes=45)
            assert all(s["plannedEta"] for s in first["stops"])

            # when a jam keeps the driver at the same place for 30 minutes
            clock.advance(timedelta(minutes=30))
            await gql(http, REPORT, {"input": fix(clock, 0)}, token=driver)
            jammed = await next_update(socket, "ETAS_UPDATED")

            # then the ETAs moved on the subscription; three stops are late, the dispatcher gets ONE replan proposal,
            # and only the stop the replan cannot save (D) gets a RUNNING_LATE exception
            later = {s["id"]: datetime.fromisoformat(s["liveEta"]) for s in jammed["stops"]}
            assert later[str(b)] - etas[str(b)] >= timedelta(minutes=29)
            [proposal] = await rows(clocked, LateRouteProposal)
            assert sorted(proposal.late_stop_ids) == sorted([b, c, d]) and proposal.still_late_stop_ids == [d]
            assert (proposal.windows_kept_now, proposal.windows_kept_replanned) == (1, 3)
            [late] = await rows(clocked, DeliveryException, DeliveryException.kind == ExceptionKind.DELAYED)
            assert (late.stop_id, late.reason_code) == (d, "RUNNING_LATE")
            # and D's customer is texted the options and a new window before the window ends
            [text] = await rows(clocked, Notification, Notification.purpose == "exception.RUNNING_LATE")
            assert text.stop_id == d and text.send_after < T0 + timedelta(minutes=45) and "running late" in text.body

            # when the ETAs wobble (throttled 10 s later, recomputed 40 s later a little closer)
            clock.advance(timedelta(seconds=10))
            await gql(http, REPORT, {"input": fix(clock, 0)}, token=driver)
            clock.advance(timedelta(seconds=30))
            await gql(http, REPORT, {"input": fix(clock, 0.05)}, token=driver)

            # then nothing flaps: still one proposal and one exception
            assert len(await rows(clocked, LateRouteProposal)) == 1
            assert len(await rows(clocked, DeliveryException)) == 1

            # when the driver comes within 100 m of stop A, and reports again half a minute later
            clock.advance(timedelta(minutes=7))
            await gql(http, REPORT, {"input": fix(clock, 2.9)}, token=driver)
            clock.advance(timedelta(seconds=40))
            await gql(http, REPORT, {"input": fix(clock, 2.95)}, token=driver)

            # then A's customer gets the arrival message once, from the live ETA
            arriving = await rows(clocked, Notification, Notification.purpose == "pre_arrival.arriving")
            assert [n.stop_id for n in arriving] == [a]

            # when the driver records A as delivered 600 m from its address
            lat, lon = at_km(3)
            attempt = {"stopId": str(a), "outcome": "DELIVERED", "idempotencyKey": "a-1", "position": {"lat": lat + 0.0054, "lon": lon, "accuracyM": 10}}
            assert (await gql(http, ATTEMPT, {"input": attempt}, token=driver))["data"]["recordDeliveryAttempt"]["errors"] == []

            # then a wrong-location suspicion is opened for the dispatcher, with the distance on its timeline
            [suspect] = await rows(clocked, DeliveryException, DeliveryException.kind == ExceptionKind.ROUTING_ERROR)
            assert (suspect.stop_id, suspect.reason_code) == (a, "WRONG_LOCATION")
            [reported] = await rows(clocked, ExceptionEvent, ExceptionEvent.exception_id == suspect.id)
            assert "600 m" in reported.payload["description"]

            # when the driver nears C, whose customer already answered "not home"
            clock.advance(timedelta(minutes=2))
            await gql(http, REPORT, {"input": fix(clock, 2.1)}, token=driver)

            # then the driver is redirected before knocking (a route change on the subscription), and C is not texted
            redirect = await next_update(socket, "STOP_UPDATED")
            while [s["id"] for s in redirect["stops"]] != [str(c)]:
                redirect = await next_update(socket, "STOP_UPDATED")
            [event] = [e for e in await rows(clocked, RouteEvent, RouteEvent.kind == RouteChangeKind.STOP_UPDATED) if "redirect" in e.payload]
            assert event.payload["redirect"] == "CUSTOMER_NOT_HOME" and event.stop_ids == [c]
            assert [n.stop_id for n in await rows(clocked, Notification, Notification.purpose == "pre_arrival.arriving")] == [a]
    finally:
        await socket.close()
