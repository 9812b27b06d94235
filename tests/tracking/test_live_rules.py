"""The rules behind live ETAs one at a time: hysteresis, the per-route throttle, the geofence radius, one late stop."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.clock import FrozenClock
from app.delivery_exceptions.models import DeliveryException
from app.realtime.models import RouteChangeKind, RouteEvent
from app.routes.models import DeliveryAttempt, AttemptOutcome, Stop
from app.tracking.eta import LiveEta, RouteProgress, StopLive
from app.tracking.flows import on_positions_reported
from app.tracking.geofence import distance_beyond_radius
from app.tracking.lateness import update_lateness
from app.tracking.models import LateRouteProposal
from app.tracking.service import Fix, store_fixes
from tests.factories import Factory

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def eta_at(stop: Stop, minutes_after_window_end: float) -> LiveEta:
    eta = stop.window_end + timedelta(minutes=minutes_after_window_end)
    return LiveEta(stop=stop, arrival=eta, eta=eta, distance_m=5000)


def test_a_late_stop_clears_only_well_inside_its_window():
    # given a stop and its live state
    stop = Stop(id=1, tenant_id=1, route_id=1, sequence=1, customer_id=1, address="x", lat=0, lon=0, window_start=T0, window_end=T0 + timedelta(hours=1))
    states = {1: StopLive(stop_id=1, tenant_id=1, route_id=1)}
    rule = {"now": T0, "margin": timedelta(0), "clear": timedelta(minutes=10)}

    # when its ETA passes the window end, wobbles just inside it, then comes back well inside
    late = update_lateness(etas=[eta_at(stop, 2)], **rule, states=states)
    wobble = states[1].late, update_lateness(etas=[eta_at(stop, -3)], **rule, states=states)
    states[1].late_handled = True
    update_lateness(etas=[eta_at(stop, -12)], **rule, states=states)

    # then it turned late once, stayed late through the wobble, and cleared only 10 min inside the window
    assert late == [1]
    assert wobble == (True, [1])
    assert states[1].late is False and states[1].late_handled is True


def test_a_driver_who_barely_moved_is_recomputed_only_after_the_max_interval():
    # given ETAs computed at T0 from a fix, and the coalescing rule (30 s, 25 m, at most 120 s for a standing driver)
    def progress(metres_east: float, stops_done: int = 0) -> RouteProgress:
        return RouteProgress(T0, 0, stops_done, (52.37, 4.89 + metres_east / 67_960), T0, (52.37, 4.89))

    rule = {"interval": timedelta(seconds=30), "min_move_m": 25, "max_interval": timedelta(seconds=120)}
    at = lambda seconds: T0 + timedelta(seconds=seconds)  # noqa: E731

    # then a 10 m move waits for the max interval, a 100 m move only for the interval, a completed stop for nothing
    assert not progress(10).is_due(now=at(60), **rule) and progress(10).is_due(now=at(120), **rule)
    assert not progress(100).is_due(now=at(10), **rule) and progress(100).is_due(now=at(40), **rule)
    assert progress(0, stops_done=1).is_due(now=at(1), **rule)


def test_the_geofence_counts_the_fix_accuracy():
    # given a stop and attempts 300 m north of it
    stop = Stop(id=1, tenant_id=1, route_id=1, sequence=1, customer_id=1, address="x", lat=52.37, lon=4.89, window_start=T0, window_end=T0)
    far = DeliveryAttempt(tenant_id=1, stop_id=1, attempt_number=1, outcome=AttemptOutcome.DELIVERED, attempted_at=T0, lat=52.3727, lon=4.89, accuracy_m=10)
    fuzzy = DeliveryAttempt(tenant_id=1, stop_id=1, attempt_number=1, outcome=AttemptOutcome.DELIVERED, attempted_at=T0, lat=52.3727, lon=4.89, accuracy_m=150)
    unknown = DeliveryAttempt(tenant_id=1, stop_id=1, attempt_number=1, outcome=AttemptOutcome.DELIVERED, attempted_at=T0)

    # then a precise fix is flagged, a fix accurate to 150 m is not, and no position is not
    assert 290 < distance_beyond_radius(attempt=far, stop=stop, radius_m=200) < 310
    assert distance_beyond_radius(attempt=fuzzy, stop=stop, radius_m=200) is None
    assert distance_beyond_radius(attempt=unknown, stop=stop, radius_m=200) is None


async def report(runtime, fleet, lat: float, lon: float) -> list[int]:  # noqa: ANN001
    async with runtime.sessionmaker() as session, session.begin():
        await store_fixes(session=session, tenant_id=fleet.tenant.id, driver_id=fleet.driver.id, fixes=[Fix(runtime.clock.now(), lat, lon, 5)])
    return await on_positions_reported(runtime, tenant_id=fleet.tenant.id, driver_id=fleet.driver.id, route_id=fleet.route.id)


async def test_etas_are_throttled_per_route_and_a_completed_stop_forces_an_update(runtime):
    # given a route and a frozen clock
    clock = FrozenClock(T0)
    clocked = replace(runtime, clock=clock)
    fleet = await Factory(clocked).fleet(stops=3)

    # when fixes come 10 s apart, then a stop is completed, then 10 s later another fix
    first = await report(clocked, fleet, 52.36, 4.88)
    clock.advance(10)
    throttled = await report(clocked, fleet, 52.35, 4.87)
    async with clocked.sessionmaker() as session, session.begin():
        stop = await session.get(Stop, fleet.stops[0].id)
        stop.status = "DELIVERED"
    clock.advance(10)
    forced = await report(clocked, fleet, 52.30, 4.80)

    # then the second was skipped, the third recomputed the two remaining stops, each update streamed as ETAS_UPDATED
    assert sorted(first) == sorted(s.id for s in fleet.stops) and throttled == [] and forced
    async with clocked.sessionmaker() as session:
        computed = (await session.exec(select(Stop.id, Stop.live_eta_at).where(Stop.route_id == fleet.route.id).order_by(Stop.sequence))).all()
        assert computed == [(fleet.stops[0].id, T0), (fleet.stops[1].id, clock.now()), (fleet.stops[2].id, clock.now())]
        kinds = (await session.exec(select(RouteEvent.kind).where(RouteEvent.route_id == fleet.route.id))).all()
    assert kinds == [RouteChangeKind.ETAS_UPDATED, RouteChangeKind.ETAS_UPDATED]


async def test_one_late_stop_gets_its_exception_without_a_proposal_and_other_drivers_cannot_move_it(runtime):
    # given a route whose second stop closes its window soon, far from the driver
    clock = FrozenClock(T0)
    clocked = replace(runtime, clock=clock)
    factory = Factory(clocked)
    fleet, other = await factory.fleet(stops=2), await factory.fleet(stops=1)
    async with clocked.sessionmaker() as session, session.begin():
        stop = await session.get(Stop, fleet.stops[1].id)
        stop.window_start, stop.window_end = T0 - timedelta(hours=1), T0 + timedelta(minutes=5)

    # when another tenant's driver claims the route, then the route's own driver reports from 20 km away
    assert await on_positions_reported(clocked, tenant_id=other.tenant.id, driver_id=other.driver.id, route_id=fleet.route.id) == []
    await report(clocked, fleet, 52.55, 4.89)

    # then the late stop has one RUNNING_LATE exception and no proposal was made for a single stop
    async with clocked.sessionmaker() as session:
        exceptions = (await session.exec(select(DeliveryException))).all()
        proposals = (await session.exec(select(LateRouteProposal))).all()
    assert [(e.stop_id, e.reason_code) for e in exceptions] == [(fleet.stops[1].id, "RUNNING_LATE")]
    assert proposals == []
