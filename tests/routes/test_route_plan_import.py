"""importRoutePlan: idempotent by external refs, all or nothing, every bad row named, changes pushed as route versions."""
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlmodel import select

from app.realtime.models import RouteChangeKind, RouteEvent
from app.routes.models import Route, Stop, StopStatus, Vehicle
from tests.factories import gql

DOCUMENT = (Path(__file__).resolve().parents[2] / "graphql" / "integrator" / "ImportRoutePlan.graphql").read_text()
DAY = date(2026, 12, 3)
NINE = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


async def refs(factory, fleet) -> None:  # noqa: ANN001
    """Give the factory's depot, driver and vehicle the external refs an integrator would use."""
    async with factory.runtime.sessionmaker() as session, session.begin():
        depot, driver = await session.get(type(fleet.depot), fleet.depot.id), await session.get(type(fleet.driver), fleet.driver.id)
        vehicle = (await session.exec(select(Vehicle).where(Vehicle.depot_id == depot.id))).one()
        depot.external_ref, driver.external_ref, vehicle.external_ref = "dep-1", "drv-1", "van-1"
        session.add_all([depot, driver, vehicle])


def stop(ref: str, n: int, **changes: object) -> dict:
    start = NINE + timedelta(minutes=30 * n)
    return {
        "externalRef": ref, "address": f"Street {n}", "lat": 52.37 + n / 1000, "lon": 4.89,
        "timeWindow": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
        "customer": {"externalRef": f"c-{ref}", "name": f"Customer {n}", "phone": f"+316123456{n:02d}"},
        "parcels": [{"barcode": f"P-{ref}", "declaredValueCents": 1000}], **changes,
    }


def plan(stops_per_route: int = 3, routes: int = 2, **stop_changes: dict) -> dict:
    return {"input": {"serviceDate": DAY.isoformat(), "depotRef": "dep-1", "routes": [
        {"externalRef": f"R{r}", "driverRef": "drv-1" if r == 0 else None, "vehicleRef": "van-1" if r == 0 else None,
         "stops": [stop(f"S{r}-{i}", r * 10 + i, **stop_changes.get(f"S{r}-{i}", {})) for i in range(stops_per_route)]}
        for r in range(routes)
    ]}}


async def test_the_same_plan_twice_changes_nothing_and_a_changed_plan_bumps_the_route(client, factory):
    # given a fleet whose integrator imported a plan
    fleet = await factory.fleet(stops=0)
    await refs(factory, fleet)
    token = factory.token(fleet.integrator)
    first = (await gql(client, DOCUMENT, plan(), token=token))["data"]["importRoutePlan"]
    assert first["summary"]["routesCreated"] == 2 and first["summary"]["stopsCreated"] == 6 and first["summary"]["customersCreated"] == 6

    # when the same plan is sent again
    again = (await gql(client, DOCUMENT, plan(), token=token))["data"]["importRoutePlan"]["summary"]

    # then nothing changes and no driver is told anything
    assert (again["routesUnchanged"], again["stopsUnchanged"], again["routesUpdated"], again["customersUpdated"]) == (2, 6, 0, 0)
    async with factory.runtime.sessionmaker() as session:
        assert (await session.exec(select(RouteEvent))).all() == []
        attempted = (await session.exec(select(Stop).where(Stop.external_ref == "S0-1"))).one()
    async with factory.runtime.sessionmaker() as session, session.begin():
        attempted.status, attempted.attempts = StopStatus.FAILED, 1  # the driver has been to this door
        session.add(attempted)

    # when the plan changes a pending stop's window and the attempted stop's address
    later = NINE + timedelta(hours=3)
    changed = plan(**{"S0-0": {"timeWindow": {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}},
                      "S0-1": {"address": "Elsewhere 1"}})
    summary = (await gql(client, DOCUMENT, changed, token=token))["data"]["importRoutePlan"]["summary"]

    # then the pending stop moves, the attempted one is kept, and only route R0 gets a new version its driver hears of
    assert (summary["stopsUpdated"], summary["stopsStartedKept"], summary["routesUpdated"], summary["routesUnchanged"]) == (1, 1, 1, 1)
    async with factory.runtime.sessionmaker() as session:
        route = (await session.exec(select(Route).where(Route.external_ref == "R0"))).one()
        events = (await session.exec(select(RouteEvent))).all()
        kept = await session.get(Stop, attempted.id)
        moved = (await session.exec(select(Stop).where(Stop.external_ref == "S0-0"))).one()
    assert route.version == 2 and kept.address == "Street 1" and moved.window_start == later
    assert [(e.route_id, e.kind, e.route_version, e.stop_ids) for e in events] == [(route.id, RouteChangeKind.ROUTE_UPDATED, 2, [moved.id])]


async def test_a_plan_with_bad_rows_is_refused_whole_with_every_row_named(client, factory):
    # given a plan with four bad stops across two routes and an unknown driver
    fleet = await factory.fleet(stops=0)
    await refs(factory, fleet)
    bad = plan(**{"S0-1": {"customer": {"externalRef": "c", "name": "X", "phone": "12"}}, "S0-2": {"lat": None, "lon": None},
                  "S1-0": {"address": " "}, "S1-2": {"parcels": [{"barcode": "P-S0-0"}]}})
    bad["input"]["routes"][1]["driverRef"] = "ghost"

    # when it is imported
    result = (await gql(client, DOCUMENT, bad, token=factory.token(fleet.integrator)))["data"]["importRoutePlan"]

    # then nothing is written and each bad row is in the one answer, in order
    assert result["summary"] is None and result["errors"][0]["code"] == "INVALID_INPUT"
    assert [(e["path"], e["field"], e["code"]) for e in result["rowErrors"]] == [
        ("routes[0].stops[1]", "customer.phone", "INVALID"),
        ("routes[0].stops[2]", "lat", "NO_COORDINATES"),
        ("routes[1]", "driverRef", "UNKNOWN_REF"),
        ("routes[1].stops[0]", "address", "REQUIRED"),
        ("routes[1].stops[2]", "parcels.barcode", "DUPLICATE_REF"),
    ]
    async with factory.runtime.sessionmaker() as session:
        assert (await session.exec(select(Route).where(Route.tenant_id == fleet.tenant.id, Route.external_ref.is_not(None)))).all() == []


async def test_more_than_2000_stops_per_call_are_refused(client, factory):
    # given a plan of 2,001 stops
    fleet = await factory.fleet(stops=0)
    await refs(factory, fleet)

    # when it is imported
    result = (await gql(client, DOCUMENT, plan(stops_per_route=667, routes=3), token=factory.token(fleet.integrator)))

    # then it is refused as too large, before any row is looked at
    errors = result["data"]["importRoutePlan"]["rowErrors"]
    assert [(e["path"], e["code"]) for e in errors] == [("plan", "TOO_MANY_STOPS")]


async def test_drivers_cannot_import_plans(client, factory):
    # given a driver
    fleet = await factory.fleet(stops=0)
    await refs(factory, fleet)

    # when they send a plan
    result = await gql(client, DOCUMENT, plan(), token=factory.token(fleet.driver))

    # then it is forbidden
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_import_sql_statements_do_not_grow_with_stops(client, factory, count_statements):
    # given one route of 20 stops and one of 40 (different refs, customers included, so everything is created)
    fleet = await factory.fleet(stops=0)
    await refs(factory, fleet)
    token = factory.token(fleet.integrator)
    small, large = plan(stops_per_route=20, routes=1), plan(stops_per_route=40, routes=1)
    large["input"]["serviceDate"] = (DAY + timedelta(days=1)).isoformat()
    for route in large["input"]["routes"]:
        for s in route["stops"]:
            s["externalRef"] += "-L"
            s["parcels"][0]["barcode"] += "-L"
            s["customer"]["externalRef"] += "-L"

    # when each is imported
    counts = []
    for variables in (small, large):
        count_statements.count, count_statements.active = 0, True
        result = await gql(client, DOCUMENT, variables, token=token)
        count_statements.active = False
        assert result["data"]["importRoutePlan"]["summary"]["stopsCreated"] in (20, 40)
        counts.append(count_statements.count)

    # then the statement count is the same
    assert counts[0] == counts[1], counts
