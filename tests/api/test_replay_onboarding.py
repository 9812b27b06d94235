"""The integrator's onboarding documents, replayed against the seeded demo tenant, with a SQL budget."""
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from app.runtime import unit_of_work
from app.seed import seed_demo
from app.tenants.models import Depot, Role, User
from tests.factories import gql

ROOT = Path(__file__).resolve().parents[2] / "graphql" / "integrator"


async def test_import_and_vehicle_documents_run_against_the_demo_tenant(client, factory, runtime, count_statements):
    # given the demo tenant, its depot and first driver known by refs
    async with unit_of_work(runtime) as uow:
        tenant = await seed_demo(uow.session, now=uow.clock.now())
        depot = (await uow.session.exec(select(Depot).where(Depot.tenant_id == tenant.id))).first()
        users = (await uow.session.exec(select(User).where(User.tenant_id == tenant.id).order_by(User.id))).all()
        driver = next(u for u in users if u.role is Role.DRIVER)
        depot.external_ref, driver.external_ref = "demo-depot", "demo-driver"
        uow.session.add_all([depot, driver])
    integrator = factory.token(next(u for u in users if u.role is Role.INTEGRATOR))
    supervisor = factory.token(next(u for u in users if u.role is Role.SUPERVISOR))
    start = runtime.clock.now() + timedelta(days=2)
    stops = [
        {"externalRef": f"replay-{i}", "address": f"Damrak {i}", "lat": 52.37 + i / 1000, "lon": 4.89,
         "timeWindow": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
         "customer": {"externalRef": f"replay-c-{i}", "name": f"Replay {i}", "phone": "+31612345678"},
         "parcels": [{"barcode": f"REPLAY-{i}"}]}
        for i in range(25)
    ]
    plan = {"input": {"serviceDate": start.date().isoformat(), "depotRef": "demo-depot",
                      "routes": [{"externalRef": "replay-route", "driverRef": "demo-driver", "stops": stops}]}}

    # when the documents are sent as an integrator's system would
    count_statements.active = True
    imported = await gql(client, (ROOT / "ImportRoutePlan.graphql").read_text(), plan, token=integrator)
    count_statements.active = False
    vehicle = await gql(client, (ROOT / "CreateVehicle.graphql").read_text(),
                        {"input": {"depotRef": "demo-depot", "externalRef": "replay-van", "label": "Replay van"}}, token=supervisor)
    costs = await gql(client, (ROOT / "SetDepotCostModel.graphql").read_text(),
                      {"input": {"depotRef": "demo-depot", "costPerKmCents": 35, "costPerHourCents": 2800}}, token=supervisor)

    # then both succeed, and the 25-stop import stays within a budget that does not depend on the stop count
    assert "errors" not in imported and imported["data"]["importRoutePlan"]["errors"] == []
    assert imported["data"]["importRoutePlan"]["summary"]["stopsCreated"] == 25
    assert vehicle["data"]["createVehicle"]["errors"] == []
    assert costs["data"]["setDepotCostModel"]["errors"] == [] and costs["data"]["setDepotCostModel"]["depot"]["costModel"]["perKmCents"] == 35
    assert count_statements.count <= 20, count_statements.count
