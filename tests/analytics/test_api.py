"""The analytics query over HTTP: staff only, tenant- and depot-scoped, with the previous period; /metrics."""
import asyncio

from tests.analytics.test_kpis import build_week
from tests.factories import gql
from tests.realtime.asgi_socket import AsgiSocket

DASHBOARD = """
query Dashboard($filter: AnalyticsFilterInput!) {
  analytics(filter: $filter) {
    from to
    kpis {
      current { firstAttempts firstTimeSuccessRate exceptions avgResolutionMinutes p90ResolutionMinutes
                totalFailureCostCents costPerFailedAttemptCents byKindAndReason { kind reasonCode exceptions } byOutcome { outcome exceptions } }
      previous { exceptions firstTimeSuccessRate }
    }
    hourOfWeek { isoWeekday hour exceptions }
    areas(resolution: 5) { cell exceptions accessFailureShare hasGatedAddresses }
    customerPreference { channel exceptions resolved avgResolutionMinutes byOutcome { outcome exceptions } }
    series(kpi: FIRST_TIME_SUCCESS_RATE) { bucket value }
  }
}
"""
FILTER = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"}


async def test_dispatcher_gets_the_whole_dashboard_in_one_query(client, factory, history_of):
    # given the hand-computed week
    fleet, _ = await build_week(factory, history_of)

    # when a dispatcher loads the dashboard
    body = await gql(client, DASHBOARD, {"filter": FILTER}, token=factory.token(fleet.dispatcher))

    # then every part is there, with the previous week beside the current one
    assert "errors" not in body, body
    analytics = body["data"]["analytics"]
    current, previous = analytics["kpis"]["current"], analytics["kpis"]["previous"]
    assert (current["firstAttempts"], current["firstTimeSuccessRate"], current["exceptions"]) == (4, 0.5, 5)
    assert (current["avgResolutionMinutes"], current["p90ResolutionMinutes"]) == (112.5, 204.0)
    assert (current["totalFailureCostCents"], current["costPerFailedAttemptCents"]) == (2700, 900.0)
    assert (previous["exceptions"], previous["firstTimeSuccessRate"]) == (1, 1.0)
    assert sum(h["exceptions"] for h in analytics["hourOfWeek"]) == 5
    assert [(a["exceptions"], a["accessFailureShare"], a["hasGatedAddresses"]) for a in analytics["areas"]] == [(5, 0.4, True)]
    assert analytics["series"] == [{"bucket": "2026-03-02", "value": 0.5}, {"bucket": "2026-03-04", "value": 1.0}, {"bucket": "2026-03-05", "value": 0.0}]
    # self-service: 60 and 240 min; staff contact: 120 min; no contact: one resolved in 30 min, one still open
    channels = {c["channel"]: (c["exceptions"], c["resolved"], c["avgResolutionMinutes"]) for c in analytics["customerPreference"]}
    assert channels == {"SELF_SERVICE": (2, 2, 150.0), "STAFF_CONTACT": (1, 1, 120.0), "NO_CONTACT": (2, 1, 30.0)}


async def test_drivers_and_integrators_are_refused(client, factory, history_of):
    # given the hand-computed week
    fleet, _ = await build_week(factory, history_of)

    for user in (fleet.driver, fleet.integrator):
        # when someone who is not staff asks
        body = await gql(client, DASHBOARD, {"filter": FILTER}, token=factory.token(user))

        # then the field is refused with a stable code
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_dispatcher_of_another_depot_and_another_tenant_see_nothing(client, factory, history_of):
    # given the week in one tenant, a dispatcher limited to another depot, and a second tenant
    fleet, _ = await build_week(factory, history_of)
    other = await factory.fleet(stops=1)
    elsewhere = await factory.fleet(stops=1, slug="elsewhere")
    await factory.link_depot(fleet.supervisor, other.depot.id)

    for user in (fleet.supervisor, elsewhere.dispatcher):
        # when they load the dashboard of the week
        body = await gql(client, DASHBOARD, {"filter": FILTER}, token=factory.token(user))

        # then they see no attempts and no exceptions of that depot
        current = body["data"]["analytics"]["kpis"]["current"]
        assert (current["firstAttempts"], current["exceptions"], current["firstTimeSuccessRate"]) == (0, 0, None)
        assert body["data"]["analytics"]["areas"] == []


async def test_invalid_filters_are_input_errors(client, factory):
    # given a dispatcher
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.dispatcher)

    # when the period is reversed, or the area is not an H3 cell
    reversed_period = await gql(client, DASHBOARD, {"filter": {"from": FILTER["to"], "to": FILTER["from"]}}, token=token)
    bad_area = await gql(client, DASHBOARD, {"filter": {**FILTER, "area": "not-a-cell"}}, token=token)

    # then each is refused as invalid input, naming the field
    assert reversed_period["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "to"}
    assert bad_area["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "area"}


async def test_metrics_show_operations_open_exceptions_and_outbox_depth(client, factory, history_of):
    # given the week (one exception still open) and one dashboard load
    fleet, _ = await build_week(factory, history_of)
    await gql(client, DASHBOARD, {"filter": FILTER}, token=factory.token(fleet.dispatcher))

    # when Prometheus scrapes
    response = await client.get("/metrics")

    # then the operation is counted and timed by name, and the database gauges are read now
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'detour_graphql_requests_total{operation="Dashboard",outcome="ok",type="query"}' in text
    assert 'detour_graphql_request_seconds_count{operation="Dashboard",type="query"}' in text
    assert 'detour_exceptions_open{status="OPEN"} 1.0' in text
    assert 'detour_outbox_depth{outbox="notification"} 0.0' in text
    assert "detour_subscriptions_open 0.0" in text


async def test_an_open_subscription_is_counted_until_it_ends(asgi_app, client, factory):
    # given a dispatcher with a live exception queue open over a WebSocket
    fleet = await factory.fleet(stops=1)
    socket = AsgiSocket(asgi_app)
    try:
        ack = await socket.init({"token": factory.token(fleet.dispatcher)})
        assert ack["type"] == "connection_ack", ack
        before = _gauge((await client.get("/metrics")).text, "detour_subscriptions_open")
        await socket.subscribe("q1", "subscription Queue($depotId: ID!) { exceptionEvents(depotId: $depotId) { id } }", {"depotId": str(fleet.depot.id)})

        # when Prometheus scrapes while it is open, and again after the client completes it
        during = await _scrape_until(client, lambda open_now: open_now != before)
        await socket.send({"id": "q1", "type": "complete"})
        after = await _scrape_until(client, lambda open_now: open_now == before)
    finally:
        await socket.close()

    # then the gauge went up by one and back down
    assert (during - before, after) == (1.0, before)


def _gauge(text: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def _scrape_until(client, condition, attempts: int = 250) -> float:  # noqa: ANN001
    """The subscriptions gauge once `condition` holds (the server starts and ends streams asynchronously)."""
    for _ in range(attempts):
        value = _gauge((await client.get("/metrics")).text, "detour_subscriptions_open")
        if condition(value):
            return value
        await asyncio.sleep(0.02)
    return value
