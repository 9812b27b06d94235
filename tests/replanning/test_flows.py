"""Replanning over HTTP and through the flows: a redirect becomes a new route version, stored, announced and messaged."""
import asyncio
from dataclasses import replace

import pytest
from sqlmodel import col, select

from app.auth.principal import authenticate
from app.clock import current_time as utcnow
from app.errors import DomainError, ErrorCode
from app.events import AlternativeExecuted
from app.outreach.models import Notification
from app.realtime.bus import route_channel
from app.realtime.models import RouteChangeKind, RouteEvent
from app.replanning import flows
from app.replanning.models import RoutePlan
from app.replanning.pool import SolverPool
from app.routes.models import Route, Stop, StopStatus
from app.routes.service import bump_route_version
from app.runtime import unit_of_work
from app.tracking.models import DriverLastPosition
from tests.factories import gql
from tests.realtime.asgi_socket import AsgiSocket

pytestmark = pytest.mark.usefixtures("solver_pool")

REPLAN = """
mutation Replan($input: ReplanRouteInput!) {
  replanRoute(input: $input) {
    route { id version stops { id sequence plannedEta } }
    planId
    proposal { basedOnVersion startSource stops { sequence eta stop { id } } driveSeconds previousDriveSeconds }
    unassigned { reason detail stop { id } }
    errors { code message field }
  }
}
"""
PREVIEW = """
query Preview($routeId: ID!, $servingStopId: ID) {
  previewReplan(routeId: $routeId, servingStopId: $servingStopId) {
    proposal {
      basedOnVersion startSource servingStopId stops { sequence eta previousEta stop { id plannedEta } } driveSecondsChange
      unassigned { reason }
    }
    errors { code message }
  }
}
"""
ROUTE_UPDATES = """
subscription Route($routeId: ID!) { routeUpdates(routeId: $routeId) { kind routeVersion stops { id sequence plannedEta } } }
"""
# South-west of the stops (which run north-east), more than 50 m from any of them.
NEAR_THE_STOPS = (52.369, 4.889)
FAR_EAST = (52.38, 4.95)


async def put_driver_at(runtime, fleet, position) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        session.add(DriverLastPosition(driver_id=fleet.driver.id, tenant_id=fleet.tenant.id, recorded_at=utcnow(), lat=position[0], lon=position[1]))


async def principal_of(runtime, factory, user):
    async with runtime.sessionmaker() as session:
        return await authenticate(session, runtime.settings, factory.token(user))


async def redirect(runtime, stop_id: int, position) -> None:
    """What an approved neighbour or pickup-point alternative does to a stop: new coordinates, new stop version."""
    async with runtime.sessionmaker() as session, session.begin():
        stop = await session.get(Stop, stop_id)
        stop.lat, stop.lon, stop.version = position[0], position[1], stop.version + 1


async def stored(runtime, fleet):
    async with runtime.sessionmaker() as session:
        route = await session.get(Route, fleet.route.id)
        stops = (await session.exec(select(Stop).where(Stop.route_id == fleet.route.id).order_by(col(Stop.id)))).all()
        plans = (await session.exec(select(RoutePlan).where(RoutePlan.route_id == fleet.route.id))).all()
        messages = (await session.exec(select(Notification).where(Notification.purpose == flows.ETA_PURPOSE))).all()
    return route, {s.id: (s.sequence, s.planned_eta) for s in stops}, plans, messages


async def test_a_redirected_stop_is_replanned_into_a_new_route_version_stored_announced_and_messaged(client, factory, runtime):
    # given a driver among their stops, and the first stop redirected to a neighbour far to the east
    fleet = await factory.fleet(stops=5)
    await put_driver_at(runtime, fleet, NEAR_THE_STOPS)
    redirected = fleet.stops[0]
    await redirect(runtime, redirected.id, FAR_EAST)
    heard = []
    channel = route_channel(fleet.tenant.id, fleet.route.id)
    listener = lambda _channel, payload: heard.append(payload)  # noqa: E731
    await runtime.bus.listen(channel, listener)

    # when the dispatcher replans
    try:
        result = await gql(client, REPLAN, {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1}}, token=factory.token(fleet.dispatcher))
    finally:
        runtime.bus.unlisten(channel, listener)

    # then the answer is the new version, the redirected stop now last
    payload = result["data"]["replanRoute"]
    assert payload["errors"] == [] and payload["unassigned"] == []
    assert payload["route"]["version"] == 2 and payload["proposal"]["basedOnVersion"] == 1
    assert payload["proposal"]["startSource"] == "GPS"
    by_id = {int(s["id"]): s for s in payload["route"]["stops"]}
    assert by_id[redirected.id]["sequence"] == 5
    # and it is stored: sequences 1..5 in ETA order, one plan row for version 2
    route, stops, plans, messages = await stored(runtime, fleet)
    assert route.version == 2
    assert sorted(seq for seq, _ in stops.values()) == [1, 2, 3, 4, 5]
    etas_in_driving_order = [eta for _, eta in sorted(stops.values())]
    assert etas_in_driving_order == sorted(etas_in_driving_order)
    assert stops[redirected.id][1] != redirected.planned_eta
    [plan] = plans
    assert (plan.version, plan.created_by, plan.id) == (2, fleet.dispatcher.id, int(payload["planId"]))
    assert [s["stopId"] for s in plan.plan["stops"]][-1] == redirected.id and plan.plan["unassigned"] == []
    # and announced on the route channel
    assert {"type": "ROUTE_REPLANNED", "routeId": fleet.route.id, "version": 2, "planId": plan.id} in heard
    # and the customer whose ETA moved beyond the threshold has a message queued
    moved = {change["stopId"] for change in plan.plan["etaChanges"] if change["notified"]}
    assert redirected.id in moved
    assert redirected.id in {m.stop_id for m in messages}


async def test_the_drivers_subscription_receives_the_new_order(client, factory, runtime, asgi_app):
    # given a redirected stop and the driver's app subscribed to the route
    fleet = await factory.fleet(stops=4)
    await put_driver_at(runtime, fleet, NEAR_THE_STOPS)
    await redirect(runtime, fleet.stops[0].id, FAR_EAST)
    socket = AsgiSocket(asgi_app)
    try:
        await socket.init({"token": factory.token(fleet.driver)})
        await socket.subscribe("r", ROUTE_UPDATES, {"routeId": str(fleet.route.id)})
        await asyncio.sleep(0.05)  # let the subscription start listening before the change

        # when the dispatcher replans
        result = await gql(client, REPLAN, {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1}}, token=factory.token(fleet.dispatcher))
        update = (await socket.next_payload("r"))["payload"]["data"]["routeUpdates"]
    finally:
        await socket.close()

    # then the driver hears the new version with every remaining stop in its new place
    assert result["data"]["replanRoute"]["errors"] == []
    assert (update["kind"], update["routeVersion"]) == ("ROUTE_REPLANNED", 2)
    heard = {int(s["id"]): s["sequence"] for s in update["stops"]}
    _, stops, _, _ = await stored(runtime, fleet)
    assert heard == {stop_id: sequence for stop_id, (sequence, _) in stops.items()}
    assert heard[fleet.stops[0].id] == 4


async def test_a_stale_expected_version_is_a_conflict_and_nothing_is_written(client, factory, runtime):
    # given a route that moved on to version 2 since the dispatcher loaded it
    fleet = await factory.fleet(stops=3)
    async with runtime.sessionmaker() as session, session.begin():
        (await session.get(Route, fleet.route.id)).version = 2
    _, stops_before, _, _ = await stored(runtime, fleet)

    # when
    result = await gql(client, REPLAN, {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1}}, token=factory.token(fleet.dispatcher))

    # then
    payload = result["data"]["replanRoute"]
    assert payload["route"] is None and [e["code"] for e in payload["errors"]] == ["VERSION_CONFLICT"]
    route, stops, plans, messages = await stored(runtime, fleet)
    assert (route.version, stops, plans, messages) == (2, stops_before, [], [])


async def test_a_stop_changed_while_solving_is_a_conflict_and_nothing_is_written(factory, runtime):
    # given a proposal computed from version 1
    fleet = await factory.fleet(stops=3)
    dispatcher = await principal_of(runtime, factory, fleet.dispatcher)
    proposal = await flows.preview_replan(runtime, dispatcher, route_id=fleet.route.id)
    # and a stop redirected meanwhile, without a route version bump
    await redirect(runtime, fleet.stops[1].id, FAR_EAST)

    # when the proposal is written
    with pytest.raises(DomainError) as raised:
        async with unit_of_work(runtime) as uow:
            await flows.write_proposal(uow, runtime.settings, proposal, created_by=fleet.dispatcher.id, reason="TEST")

    # then
    assert raised.value.code is ErrorCode.VERSION_CONFLICT
    route, _, plans, _ = await stored(runtime, fleet)
    assert (route.version, plans) == (1, [])


async def test_preview_pins_the_stop_the_driver_stands_at_and_writes_nothing(client, factory, runtime):
    # given the driver standing at the last stop
    fleet = await factory.fleet(stops=4)
    serving = fleet.stops[-1]
    await put_driver_at(runtime, fleet, (serving.lat + 0.0001, serving.lon))
    _, stops_before, _, _ = await stored(runtime, fleet)

    # when
    result = await gql(client, PREVIEW, {"routeId": str(fleet.route.id)}, token=factory.token(fleet.dispatcher))

    # then that stop is first in the proposal
    proposal = result["data"]["previewReplan"]["proposal"]
    assert result["data"]["previewReplan"]["errors"] == []
    assert proposal["servingStopId"] == str(serving.id)
    assert proposal["stops"][0]["stop"]["id"] == str(serving.id) and proposal["stops"][0]["sequence"] == 1
    assert isinstance(proposal["driveSecondsChange"], int)
    assert all(s["previousEta"] == s["stop"]["plannedEta"] for s in proposal["stops"])
    # and nothing changed
    route, stops, plans, _ = await stored(runtime, fleet)
    assert (route.version, stops, plans) == (1, stops_before, [])


async def test_the_serving_stop_the_dispatcher_names_goes_first_and_a_completed_one_is_refused(client, factory, runtime):
    # given a route whose first stop is delivered
    fleet = await factory.fleet(stops=4)
    delivered, serving = fleet.stops[0], fleet.stops[-1]
    async with runtime.sessionmaker() as session, session.begin():
        (await session.get(Stop, delivered.id)).status = StopStatus.DELIVERED
    token = factory.token(fleet.dispatcher)

    # when the dispatcher says the driver is at the last stop, and then names the delivered one
    named = await gql(client, PREVIEW, {"routeId": str(fleet.route.id), "servingStopId": str(serving.id)}, token=token)
    done = await gql(client, PREVIEW, {"routeId": str(fleet.route.id), "servingStopId": str(delivered.id)}, token=token)

    # then the last stop comes right after the delivered one, which keeps its place; naming a done stop is refused
    stops = named["data"]["previewReplan"]["proposal"]["stops"]
    assert (stops[0]["stop"]["id"], stops[0]["sequence"]) == (str(serving.id), 2)
    assert str(delivered.id) not in {s["stop"]["id"] for s in stops}
    assert [e["code"] for e in done["data"]["previewReplan"]["errors"]] == ["INVALID_INPUT"]


async def test_the_driver_standing_at_a_stop_that_just_failed_is_not_serving_it(client, factory, runtime):
    # given the driver still at a stop whose attempt just failed
    fleet = await factory.fleet(stops=3)
    failed = fleet.stops[1]
    async with runtime.sessionmaker() as session, session.begin():
        (await session.get(Stop, failed.id)).status = StopStatus.FAILED
    await put_driver_at(runtime, fleet, (failed.lat, failed.lon))

    # when
    result = await gql(client, PREVIEW, {"routeId": str(fleet.route.id)}, token=factory.token(fleet.dispatcher))

    # then nothing is pinned, and the failed stop is still planned for another attempt
    proposal = result["data"]["previewReplan"]["proposal"]
    assert proposal["servingStopId"] is None
    assert str(failed.id) in {s["stop"]["id"] for s in proposal["stops"]}


async def test_other_tenants_and_drivers_cannot_replan(client, factory, runtime):
    # given two tenants
    fleet, other = await factory.fleet(stops=2), await factory.fleet(stops=2)
    variables = {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1}}

    # when another tenant's dispatcher and the route's own driver try
    foreign = await gql(client, REPLAN, variables, token=factory.token(other.dispatcher))
    driver = await gql(client, REPLAN, variables, token=factory.token(fleet.driver))
    preview = await gql(client, PREVIEW, {"routeId": str(fleet.route.id)}, token=factory.token(other.dispatcher))

    # then the route does not exist for the first, and drivers are refused
    assert [e["code"] for e in foreign["data"]["replanRoute"]["errors"]] == ["NOT_FOUND"]
    assert driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert [e["code"] for e in preview["data"]["previewReplan"]["errors"]] == ["NOT_FOUND"]
    route, _, plans, _ = await stored(runtime, fleet)
    assert (route.version, plans) == (1, [])


async def test_an_executed_alternative_is_solved_after_the_commit_as_a_new_version(factory, runtime):
    # given a driver among their stops, and an approved redirect that moved the first stop far east (committed)
    fleet = await factory.fleet(stops=4)
    await put_driver_at(runtime, fleet, NEAR_THE_STOPS)
    async with unit_of_work(runtime) as uow:
        route = await uow.session.get(Route, fleet.route.id)
        stop = await uow.session.get(Stop, fleet.stops[0].id)
        stop.lat, stop.lon, stop.version = *FAR_EAST, stop.version + 1
        await bump_route_version(session=uow.session, route=route)

    # when the after-commit handler of AlternativeExecuted runs
    await flows.replan_after_alternative(runtime, executed(fleet))

    # then the solver's order is a new version after the approval's, announced, with the redirected stop last
    route, stops, plans, _ = await stored(runtime, fleet)
    assert route.version == 3 and [(p.version, p.reason, p.created_by) for p in plans] == [(3, flows.ALTERNATIVE_REASON, None)]
    assert stops[fleet.stops[0].id][0] == 4
    async with runtime.sessionmaker() as session:
        changes = (await session.exec(select(RouteEvent).where(RouteEvent.route_id == fleet.route.id))).all()
    assert [c.kind for c in changes] == [RouteChangeKind.ROUTE_REPLANNED]


async def test_when_the_solver_cannot_answer_the_re_sequenced_order_stands_and_an_event_says_so(factory, runtime):
    # given a redirected stop, and a runtime whose solver cannot answer in time
    fleet = await factory.fleet(stops=4)
    await redirect(runtime, fleet.stops[0].id, FAR_EAST)
    hurried = runtime.settings.model_copy(update={"replan_solver_timeout_seconds": 0.001})
    cold_pool = SolverPool(max_workers=1)

    # when the after-commit handler runs
    try:
        await flows.replan_after_alternative(replace(runtime, settings=hurried, solver_pool=cold_pool), executed(fleet))
    finally:
        cold_pool.close()

    # then no solver plan was written, and a route event tells the driver's app the order was kept
    route, stops, plans, _ = await stored(runtime, fleet)
    assert plans == [] and route.version == 1
    async with runtime.sessionmaker() as session:
        [kept] = (await session.exec(select(RouteEvent).where(RouteEvent.route_id == fleet.route.id))).all()
    assert kept.kind is RouteChangeKind.ROUTE_UPDATED
    assert kept.payload == {"alternativeId": 1, "replan": "NOT_WRITTEN", "reason": "REPLANNING_FAILED", "kept": "RESEQUENCED_ORDER"}


async def test_a_conflicting_change_retries_once_on_fresh_data(factory, runtime):
    # given a redirected stop, and a solver that lets another writer bump the route while it solves, the first time only
    fleet = await factory.fleet(stops=4)
    await redirect(runtime, fleet.stops[0].id, FAR_EAST)
    solves = []

    class InterruptedPool:
        async def solve(self, problem, *, timeout_s):
            solves.append(problem)
            if len(solves) == 1:
                async with unit_of_work(runtime) as uow:
                    await bump_route_version(session=uow.session, route=await uow.session.get(Route, fleet.route.id))
            return await runtime.solver_pool.solve(problem, timeout_s=timeout_s)

    # when the after-commit handler runs
    await flows.replan_after_alternative(replace(runtime, solver_pool=InterruptedPool()), executed(fleet))

    # then it solved twice, and the second solve was written on top of the other writer's version
    route, _, plans, _ = await stored(runtime, fleet)
    assert len(solves) == 2 and route.version == 3 and [p.version for p in plans] == [3]


def executed(fleet) -> AlternativeExecuted:
    return AlternativeExecuted(
        tenant_id=fleet.tenant.id, alternative_id=1, exception_id=1, stop_id=fleet.stops[0].id, route_id=fleet.route.id,
        kind="PICKUP_POINT", replan=True,
    )
