"""The live map: the current positions first, then newer fixes, at most one per driver per interval."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FrozenClock, current_time as utcnow
from app.main import create_app
from app.bootstrap import running
from app.tenants.models import Role, User
from app.tracking.flows import report_positions
from app.tracking.service import Fix
from tests.factories import Factory
from tests.realtime.asgi_socket import AsgiSocket
from tests.realtime.conftest import principal_of, until

POSITIONS = "subscription Map($depotId: ID!) { driverPositions(depotId: $depotId) { driverId lat lon } }"


@pytest.fixture
async def slow_map_runtime(settings):  # noqa: ANN001, ANN201
    async with running(settings.model_copy(update={"realtime_position_interval_seconds": 3600})) as runtime:
        yield runtime


async def _fix(runtime, driver: User, lat: float, seconds_ago: int) -> None:  # noqa: ANN001
    await report_positions(runtime, principal_of(driver), [Fix(recorded_at=utcnow() - timedelta(seconds=seconds_ago), lat=lat, lon=4.9)])


async def test_positions_are_throttled_per_driver(slow_map_runtime, factory):
    # given a depot with two drivers, one already on the map, and a dispatcher watching it
    runtime = slow_map_runtime
    fleet = await factory.fleet(stops=1)
    async with runtime.sessionmaker() as session, session.begin():
        second = User(tenant_id=fleet.tenant.id, email="second@example.test", name="Second", role=Role.DRIVER)
        session.add(second)
    await factory.link_depot(second, fleet.depot.id)
    await _fix(runtime, fleet.driver, 52.30, seconds_ago=60)
    socket = AsgiSocket(create_app(runtime=runtime))
    await socket.init({"token": factory.token(fleet.dispatcher)})
    await socket.subscribe("m", POSITIONS, {"depotId": str(fleet.depot.id)})
    snapshot = (await socket.next_payload("m"))["payload"]["data"]["driverPositions"]
    await until(lambda: bool(runtime.bus._listeners.get(f"detour.t{fleet.tenant.id}.positions")))  # noqa: SLF001

    # when the first driver moves again within the interval, and then the second driver reports
    await _fix(runtime, fleet.driver, 52.31, seconds_ago=30)
    await _fix(runtime, second, 52.40, seconds_ago=10)
    update = (await socket.next_payload("m"))["payload"]["data"]["driverPositions"]

    # then the map got the first driver's position, then the second driver's, but not the throttled fix
    assert (snapshot["driverId"], snapshot["lat"]) == (str(fleet.driver.id), 52.30)
    assert (update["driverId"], update["lat"]) == (str(second.id), 52.40)
    assert socket.from_app.empty()
    await socket.close()


MAP_WITH_ETA = "subscription Map($depotId: ID!) { driverPositions(depotId: $depotId) { driverId nextStop { stopId liveEta } } }"


async def test_the_map_hears_the_live_eta_computed_after_the_fix(settings, factory):
    # given a frozen clock, a driver on a route, and a dispatcher watching the depot's map
    async with running(settings.model_copy(update={"realtime_position_interval_seconds": 0})) as started:
        runtime = replace(started, clock=FrozenClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))
        fleet = await Factory(runtime).fleet(stops=2)
        socket = AsgiSocket(create_app(runtime=runtime))
        await socket.init({"token": factory.token(fleet.dispatcher)})
        await socket.subscribe("m", MAP_WITH_ETA, {"depotId": str(fleet.depot.id)})
        await until(lambda: bool(runtime.bus._listeners.get(f"detour.t{fleet.tenant.id}.positions")))  # noqa: SLF001

        # when the driver reports (the live ETAs are computed after the fix is stored and announced)
        await report_positions(runtime, principal_of(fleet.driver), [Fix(recorded_at=runtime.clock.now(), lat=52.36, lon=4.88)])

        # then the map gets the driver with the first stop's live ETA, without another fix
        shown = (await socket.next_payload("m"))["payload"]["data"]["driverPositions"]
        while shown["nextStop"]["liveEta"] is None:
            shown = (await socket.next_payload("m"))["payload"]["data"]["driverPositions"]
        assert shown["driverId"] == str(fleet.driver.id) and shown["nextStop"]["stopId"] == str(fleet.stops[0].id)
        await socket.close()
