"""Delay per stop and route, exceptions caught before the window closed, and live-ETA accuracy, against hand figures."""
from app.analytics.punctuality import punctuality
from app.delivery_exceptions.models import ExceptionKind as K
from app.routes.models import AttemptOutcome, Stop
from app.tracking.models import StopLiveState
from tests.analytics.conftest import at
from tests.factories import gql

DAY = ("2026-03-02 00:00", "2026-03-03 00:00")
QUERY = """query($filter: AnalyticsFilterInput!) { analytics(filter: $filter) { punctuality {
  stopsMeasured avgDelayMinutes routes { routeId stops totalDelayMinutes maxDelayMinutes }
  exceptions caughtBeforeWindowClosed caughtBeforeWindowClosedShare etaSamples etaP50AbsErrorMinutes etaP90AbsErrorMinutes } } }"""
# stop index → (planned ETA, window end, live ETA given 30 min out); first attempts and exceptions below
PLAN = {
    0: ("2026-03-02 09:00", "2026-03-02 10:00", "2026-03-02 09:15"),
    1: ("2026-03-02 10:00", "2026-03-02 11:00", "2026-03-02 09:40"),
    2: ("2026-03-02 11:00", "2026-03-02 11:15", "2026-03-02 11:30"),
    3: ("2026-03-02 12:00", "2026-03-02 12:00", None),
}


async def build_day(runtime, factory, history_of):  # noqa: ANN001, ANN201
    fleet = await factory.fleet(stops=4)
    async with runtime.sessionmaker() as session, session.begin():
        for index, (planned, window_end, eta_30) in PLAN.items():
            stop = await session.get(Stop, fleet.stops[index].id)
            stop.planned_eta, stop.window_start, stop.window_end = at(planned), at("2026-03-02 08:00"), at(window_end)
            if eta_30:
                session.add(StopLiveState(stop_id=stop.id, tenant_id=stop.tenant_id, route_id=stop.route_id, eta_30=at(eta_30)))
    history = history_of(fleet)
    await history.attempts(
        (0, 1, AttemptOutcome.DELIVERED, "2026-03-02 09:20"),  # 20 min late, ETA off by 5
        (1, 1, AttemptOutcome.DELIVERED, "2026-03-02 09:50"),  # early: 0 late, ETA off by 10
        (2, 1, AttemptOutcome.DELIVERED, "2026-03-02 11:30"),  # 30 min late, ETA exact
    )
    await history.exception(2, K.DELAYED, "RUNNING_LATE", "2026-03-02 11:05")  # before its window closed at 11:15
    await history.exception(3, K.CUSTOMER_ABSENT, "NO_ANSWER", "2026-03-02 12:10")  # after 12:00
    return fleet, history


async def test_punctuality_of_a_day_matches_the_hand_computed_figures(runtime, factory, history_of):
    # given the day above
    fleet, history = await build_day(runtime, factory, history_of)

    # when its punctuality is computed
    async with runtime.sessionmaker() as session:
        figures = await punctuality(session=session, scope=history.scope(*DAY))

    # then delays count lateness only, one exception of two was caught in time, and the ETA errors are 0, 5 and 10 min
    assert figures.stops_measured == 3
    assert round(figures.avg_delay_seconds) == round((20 + 0 + 30) * 60 / 3)
    [route] = figures.routes
    assert (route.route_id, route.stops, round(route.total_delay_seconds), round(route.max_delay_seconds)) == (fleet.route.id, 3, 3000, 1800)
    assert (figures.exceptions, figures.caught_before_window_closed, figures.caught_share) == (2, 1, 0.5)
    assert figures.eta_samples == 3
    assert round(figures.eta_p50_abs_error_seconds) == 300
    assert round(figures.eta_p90_abs_error_seconds) == 540  # 5 min + 0.8 · 5 min


async def test_the_dashboard_field_shows_the_same_in_minutes(client, runtime, factory, history_of):
    # given the day above
    fleet, _ = await build_day(runtime, factory, history_of)
    period = {"from": at(DAY[0]).isoformat(), "to": at(DAY[1]).isoformat()}

    # when a dispatcher asks the dashboard
    result = await gql(client, QUERY, {"filter": period}, token=factory.token(fleet.dispatcher))

    # then the figures come in minutes
    shown = result["data"]["analytics"]["punctuality"]
    assert (shown["stopsMeasured"], shown["avgDelayMinutes"]) == (3, 16.67)
    assert shown["routes"] == [{"routeId": str(fleet.route.id), "stops": 3, "totalDelayMinutes": 50.0, "maxDelayMinutes": 30.0}]
    assert (shown["exceptions"], shown["caughtBeforeWindowClosed"], shown["caughtBeforeWindowClosedShare"]) == (2, 1, 0.5)
    assert (shown["etaSamples"], shown["etaP50AbsErrorMinutes"], shown["etaP90AbsErrorMinutes"]) == (3, 5.0, 9.0)
