"""A depot's cost model: set by admins and supervisors, minimised by planRoutes, and pricing a failed attempt."""
from pathlib import Path

import pytest

from app.delivery_exceptions.costs import failure_cost_cents
from app.delivery_exceptions.models import DeliveryException
from app.geo import haversine_km
from app.routes.models import Stop
from app.tenants.models import Depot, Tenant
from tests.conftest import client_for
from tests.factories import Factory, gql
from tests.planning.helpers import DAY, PREVIEW, depot_day, frozen, import_unassigned, stop

SET_COSTS = (Path(__file__).resolve().parents[2] / "graphql" / "integrator" / "SetDepotCostModel.graphql").read_text()


async def test_a_supervisor_sets_the_cost_model_and_bad_figures_change_nothing(runtime):
    # given a depot known by ref, its supervisor and its driver
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory)
    fleet = day.fleet
    good = {"input": {"depotRef": "dep-1", "costPerKmCents": 40, "costPerHourCents": 3000, "costPerFailedAttemptCents": 650}}
    bad = {"input": {"depotRef": "dep-1", "costPerKmCents": -1, "costPerHourCents": 1}}
    async with client_for(clocked) as client:
        # when the supervisor sets it, then sends a negative figure, and the driver tries to set it
        set_ = (await gql(client, SET_COSTS, good, token=factory.token(fleet.supervisor)))["data"]["setDepotCostModel"]
        refused = (await gql(client, SET_COSTS, bad, token=factory.token(fleet.supervisor)))["data"]["setDepotCostModel"]
        by_driver = await gql(client, SET_COSTS, good, token=factory.token(fleet.driver))
        unknown = (await gql(client, SET_COSTS, {"input": {"depotRef": "nope"}}, token=factory.token(fleet.supervisor)))["data"]["setDepotCostModel"]

    # then the first is stored, the others change nothing and say why
    assert set_["errors"] == [] and set_["depot"]["costModel"] == {"perKmCents": 40, "perHourCents": 3000, "perFailedAttemptCents": 650}
    assert refused["errors"][0]["code"] == "INVALID_INPUT" and refused["errors"][0]["field"] == "costPerKmCents"
    assert by_driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert unknown["errors"][0]["code"] == "NOT_FOUND"
    async with clocked.sessionmaker() as session:
        depot = await session.get(Depot, fleet.depot.id)
    assert (depot.cost_per_km_cents, depot.cost_per_hour_cents, depot.cost_per_failed_attempt_cents) == (40, 3000, 650)


def test_a_failed_attempt_is_priced_by_the_depot_cost_model_where_it_has_one():
    # given a tenant's figures, a depot 10 km round trip from a stop, and a failed first attempt
    tenant = Tenant(slug="t", name="T", reattempt_base_cost_cents=450, reattempt_cost_per_km_cents=35)
    stop_row = Stop(tenant_id=1, route_id=1, sequence=0, customer_id=1, address="x", lat=52.0, lon=4.0, window_start=None, window_end=None)
    plain = Depot(tenant_id=1, name="d", lat=52.0, lon=4.0 + 5 / 68.6)
    priced = Depot(tenant_id=1, name="d", lat=plain.lat, lon=plain.lon, cost_per_km_cents=50, cost_per_failed_attempt_cents=900)
    exc = DeliveryException(tenant_id=1, stop_id=1, route_id=1, depot_id=1, kind="CUSTOMER_ABSENT", reason_code="NO_ANSWER", failed_attempt_number=1)
    km = 2 * haversine_km(plain.lat, plain.lon, stop_row.lat, stop_row.lon)

    # when each depot prices it
    by_tenant = failure_cost_cents(tenant=tenant, depot=plain, stop=stop_row, exc=exc)
    by_depot = failure_cost_cents(tenant=tenant, depot=priced, stop=stop_row, exc=exc)

    # then the depot's figures win where set, and the tenant's apply otherwise
    assert by_tenant == 450 + round(35 * km)
    assert by_depot == 900 + round(50 * km)


@pytest.mark.usefixtures("solver_pool")
async def test_plan_routes_prices_the_day_by_the_depot_cost_model(runtime):
    # given a depot day of four stops, planned once without a cost model and once with 30 €/h and 0.40 €/km
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory, capacities=(10,))
    variables = {"input": {"depotId": str(day.fleet.depot.id), "serviceDate": DAY.isoformat()}}
    async with client_for(clocked) as client:
        await import_unassigned(client, factory.token(day.fleet.integrator), [stop(f"S{i}", i) for i in range(4)])
        supervisor = factory.token(day.fleet.supervisor)

        # when the supervisor previews the plan before and after setting the cost model
        before = (await gql(client, PREVIEW, variables, token=supervisor))["data"]["previewPlanRoutes"]["proposal"]
        await gql(client, SET_COSTS, {"input": {"depotRef": "dep-1", "costPerKmCents": 40, "costPerHourCents": 3000}}, token=supervisor)
        after = (await gql(client, PREVIEW, variables, token=supervisor))["data"]["previewPlanRoutes"]["proposal"]

    # then without it the cost is the drive time in seconds, with it the cents of the hours and kilometres driven
    [plain], [priced] = before["routes"], after["routes"]
    assert before["cost"] == plain["driveSeconds"]
    expected = 3000 * priced["driveSeconds"] / 3600 + 40 * priced["distanceMeters"] / 1000
    assert abs(after["cost"] - expected) <= 0.02 * expected + 2, (after["cost"], expected)
