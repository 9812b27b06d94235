"""The first-party documents, replayed against the seeded demo tenant, with flat SQL counts."""
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sqlmodel import select

from app.clock import FrozenClock
from app.delivery_exceptions.models import DeliveryException
from app.routes.models import Route, Stop, StopStatus
from app.runtime import unit_of_work
from app.seed import seed_demo
from app.tenants.models import Depot, Role, User
from tests.conftest import client_for
from tests.factories import Factory, gql

ROOT = Path(__file__).resolve().parents[2] / "graphql"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# The system clock, and two frozen hours in the demo depot's zone: the demo must replan and reveal at any hour.
HOURS = {"now": None, "early-morning": (5, 40), "late-evening": (22, 50)}


@pytest.fixture(params=list(HOURS))
def clocked(request, runtime):  # noqa: ANN001, ANN201
    if HOURS[request.param] is None:
        return runtime
    hour, minute = HOURS[request.param]
    return replace(runtime, clock=FrozenClock(datetime(2026, 12, 1, hour, minute, tzinfo=AMSTERDAM)))


@pytest.fixture
def factory(clocked):  # noqa: ANN001, ANN201
    """Rows made on the clocked runtime's day, so the frozen hours never depend on today's date."""
    return Factory(clocked)


@pytest.fixture
async def client(clocked):  # noqa: ANN001, ANN201
    async with client_for(clocked) as http:
        yield http


@pytest.fixture
def factory(clocked):  # noqa: ANN001, ANN201
    """Rows dated by the same clock as the requests: a route of the frozen day, not of the day the suite runs."""
    return Factory(clocked)


def document(name: str) -> str:
    return next(ROOT.rglob(f"{name}.graphql")).read_text()


async def seeded(runtime):
    async with unit_of_work(runtime) as uow:
        tenant = await seed_demo(uow.session, now=uow.clock.now())
    async with runtime.sessionmaker() as session:
        users = {u.role: u for u in (await session.exec(select(User).where(User.tenant_id == tenant.id).order_by(User.id))).all()}
        route = (await session.exec(select(Route).where(Route.driver_id == users[Role.DRIVER].id))).one()
        pending = (await session.exec(select(Stop).where(Stop.route_id == route.id, Stop.status == StopStatus.PENDING, Stop.sequence > 10).order_by(Stop.sequence))).first()
        open_exc = (await session.exec(select(DeliveryException).where(DeliveryException.route_id == route.id).order_by(DeliveryException.id))).first()
    return users, route, pending, open_exc


async def test_every_document_runs_against_the_demo_tenant(client, factory, clocked):
    # given the demo data `detour seed` creates
    users, route, pending, open_exc = await seeded(clocked)
    driver, dispatcher = factory.token(users[Role.DRIVER]), factory.token(users[Role.DISPATCHER])

    # when each first-party operation is sent as the app would send it
    runs = {
        "MyRoute": (driver, {}),
        "ReportPositions": (driver, {"input": {"positions": [{"recordedAt": "2026-01-01T10:00:00+00:00", "lat": 52.37, "lon": 4.89}]}}),
        "ReportException": (driver, {"input": {"stopId": str(pending.id), "kind": "ACCESS_DENIED", "reasonCode": "BUILDING_LOCKED", "idempotencyKey": "replay-1"}}),
        "RecordDeliveryAttempt": (driver, {"input": {"stopId": str(pending.id + 1), "outcome": "DELIVERED", "idempotencyKey": "replay-2"}}),
        "AddExceptionNote": (driver, {"input": {"id": str(open_exc.id), "note": "back in 10 minutes"}}),
        "Viewer": (dispatcher, {}),
        "ExceptionQueue": (dispatcher, {"filter": {"status": ["OPEN"]}}),
        "ExceptionDetail": (dispatcher, {"id": str(open_exc.id)}),
        "DriverPositions": (dispatcher, {"depotId": str(route.depot_id)}),
        "RouteStops": (dispatcher, {"id": str(route.id)}),
        "AcknowledgeException": (dispatcher, {"input": {"id": str(open_exc.id), "expectedVersion": open_exc.version}}),
        "UpdateExceptionStatus": (dispatcher, {"input": {"id": str(open_exc.id), "expectedVersion": open_exc.version + 1, "status": "CONTACTING_CUSTOMER"}}),
        "ResolveException": (dispatcher, {"input": {"id": str(open_exc.id), "expectedVersion": open_exc.version + 2, "outcome": "RESCHEDULED"}}),
    }
    results = {name: await gql(client, document(name), variables, token=token) for name, (token, variables) in runs.items()}

    # then none fails, and no payload carries an error
    for name, result in results.items():
        assert "errors" not in result, (name, result)
        payload = next(iter(result["data"].values()))
        assert not (isinstance(payload, dict) and payload.get("errors")), (name, payload)
    assert len(results["MyRoute"]["data"]["myRoute"]["stops"]) == 40
    assert results["ExceptionQueue"]["data"]["exceptions"]["edges"]
    assert len(results["RouteStops"]["data"]["route"]["stops"]) == 40


async def _my_route_statements(client, factory, count_statements, stops: int) -> int:
    fleet = await factory.fleet(stops=stops)
    token = factory.token(fleet.driver)
    count_statements.count, count_statements.active = 0, True
    result = await gql(client, document("MyRoute"), {"date": fleet.route.service_date.isoformat()}, token=token)
    count_statements.active = False
    assert len(result["data"]["myRoute"]["stops"]) == stops
    return count_statements.count


async def test_my_route_sql_count_does_not_grow_with_stops(client, clocked, count_statements):
    # the routes are built on the served clock's day: under a frozen hour the system's date may be another day
    factory = Factory(clocked)
    small = await _my_route_statements(client, factory, count_statements, 5)
    large = await _my_route_statements(client, factory, count_statements, 100)
    assert small == large
    assert small == 5, small  # the principal, route + depot + vehicle, stops + customers, parcels, open exceptions


async def test_replanning_and_analytics_documents_run_against_the_demo_tenant(client, factory, clocked):
    # given the demo data and its dispatcher
    users, route, _, _ = await seeded(clocked)
    dispatcher = factory.token(users[Role.DISPATCHER])
    now = clocked.clock.now()
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat(), "depotId": str(route.depot_id)}

    # when the dashboard, a replan preview and the replan itself are sent as the SPA sends them
    preview = await gql(client, document("PreviewReplan"), {"routeId": str(route.id)}, token=dispatcher)
    replan = await gql(client, document("ReplanRoute"), {"input": {"routeId": str(route.id), "expectedVersion": route.version}}, token=dispatcher)
    dashboard = await gql(client, document("AnalyticsDashboard"), {"filter": period}, token=dispatcher)
    late = await gql(client, document("LateRouteProposals"), {"routeId": str(route.id)}, token=dispatcher)

    # then each answers without an error, and the replan wrote a new route version
    for result in (preview, replan, dashboard, late):
        assert "errors" not in result, result
    assert preview["data"]["previewReplan"]["errors"] == [] and preview["data"]["previewReplan"]["proposal"]["stops"]
    assert replan["data"]["replanRoute"]["errors"] == [] and replan["data"]["replanRoute"]["route"]["version"] == route.version + 1
    assert dashboard["data"]["analytics"]["kpis"]["current"]["exceptions"] == 6  # the demo's open exceptions
    assert all(len(area["boundary"]) == 6 for area in dashboard["data"]["analytics"]["areas"])  # hexagons the console draws


async def test_customer_history_documents_run_against_the_demo_tenant(client, factory, clocked):
    # given the demo data, an open exception and its customer
    users, _, _, open_exc = await seeded(clocked)
    dispatcher, integrator = factory.token(users[Role.DISPATCHER]), factory.token(users[Role.INTEGRATOR], scopes=frozenset({"customers:read"}))
    async with clocked.sessionmaker() as session:
        customer_id = (await session.get(Stop, open_exc.stop_id)).customer_id

    # when the dispatcher notes a call and opens the history, and the CRM pulls it with customers:read
    call = await gql(client, document("RecordCustomerCall"), {"input": {"customerId": str(customer_id), "exceptionId": str(open_exc.id),
                                                                       "outcome": "VOICEMAIL", "note": "left a message"}}, token=dispatcher)
    history = await gql(client, document("CustomerCommunications"), {"id": str(customer_id), "first": 10}, token=dispatcher)
    pulled = await gql(client, document("CustomerCommunications"), {"id": str(customer_id)}, token=integrator)

    # then both answer without errors, the call note first
    for result in (call, history, pulled):
        assert "errors" not in result, result
    assert call["data"]["recordCustomerCall"]["errors"] == []
    edges = history["data"]["customer"]["communications"]["edges"]
    assert edges[0]["node"]["kind"] == "CALL_NOTE" and edges[0]["node"]["call"]["note"] == "left a message"
    assert pulled["data"]["customer"]["communications"]["edges"][0]["node"]["id"] == edges[0]["node"]["id"]


@pytest.mark.usefixtures("solver_pool")
async def test_day_plan_documents_run_against_the_demo_tenant(client, factory, clocked, count_statements):
    # given the demo tenant, and 12 stops imported without a route for the day after tomorrow at its depot
    users, route, _, _ = await seeded(clocked)
    async with unit_of_work(clocked) as uow:
        depot = await uow.session.get(Depot, route.depot_id)
        depot.external_ref = "demo-depot"
        uow.session.add(depot)
    day = (clocked.clock.now().astimezone(AMSTERDAM) + timedelta(days=2)).date()
    opens = datetime.combine(day, time(10), AMSTERDAM)
    stops = [
        {"externalRef": f"day-{i}", "address": f"Damrak {i}", "lat": 52.37 + i / 1000, "lon": 4.89 + i / 2000,
         "timeWindow": {"start": opens.isoformat(), "end": (opens + timedelta(hours=4)).isoformat()},
         "customer": {"externalRef": f"day-c-{i}", "name": f"Day {i}", "phone": "+31612345678"}, "parcels": [{"barcode": f"DAY-{i}"}]}
        for i in range(12)
    ]
    imported = await gql(client, document("ImportRoutePlan"), {"input": {"serviceDate": day.isoformat(), "depotRef": "demo-depot", "routes": [],
                                                                         "unassignedStops": stops}}, token=factory.token(users[Role.INTEGRATOR]))
    supervisor = factory.token(users[Role.SUPERVISOR])
    variables = {"input": {"depotId": str(route.depot_id), "serviceDate": day.isoformat()}}

    # when the supervisor previews the day plan, then plans the day, as the SPA sends them
    preview = await gql(client, document("PreviewPlanRoutes"), variables, token=supervisor)
    count_statements.active = True
    planned = await gql(client, document("PlanRoutes"), variables, token=supervisor)
    count_statements.active = False

    # then both answer without an error, every stop is on a new route at version 1, within a flat SQL budget
    assert imported["data"]["importRoutePlan"]["summary"]["stopsUnassigned"] == 12
    for result in (preview, planned):
        assert "errors" not in result, result
        assert next(iter(result["data"].values()))["errors"] == []
    routes = planned["data"]["planRoutes"]["routes"]
    assert routes and all(r["version"] == 1 for r in routes) and planned["data"]["planRoutes"]["unassigned"] == []
    assert sum(len(r["stops"]) for r in routes) == 12
    assert count_statements.count <= 40, count_statements.count  # per route, not per stop
