"""A frozen planning day: a depot with vans, stops imported without a route, and the documents that plan them."""
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from app.clock import FrozenClock
from app.routes.models import Route, Stop, Vehicle
from app.runtime import Runtime
from tests.factories import Factory, Fleet, gql

ROOT = Path(__file__).resolve().parents[2] / "graphql"
IMPORT = (ROOT / "integrator" / "ImportRoutePlan.graphql").read_text()
PLAN = (ROOT / "dispatcher" / "PlanRoutes.graphql").read_text()
PREVIEW = (ROOT / "dispatcher" / "PreviewPlanRoutes.graphql").read_text()
NOW = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # the afternoon before the planned day
DAY = date(2026, 12, 3)
NINE = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def frozen(runtime: Runtime) -> Runtime:
    return replace(runtime, clock=FrozenClock(NOW))


@dataclass
class Day:
    fleet: Fleet
    vans: list[Vehicle]


async def depot_day(factory: Factory, *, capacities: tuple[int, ...] = (6, 6)) -> Day:
    """A fleet whose depot has vans of these capacities free on DAY (the factory's own route is today's)."""
    fleet = await factory.fleet(stops=0)
    async with factory.runtime.sessionmaker() as session, session.begin():
        depot = await session.get(type(fleet.depot), fleet.depot.id)
        depot.external_ref = "dep-1"
        session.add(depot)
        vans = [Vehicle(tenant_id=fleet.tenant.id, depot_id=fleet.depot.id, label=f"DAY-{i}", capacity=c) for i, c in enumerate(capacities)]
        session.add_all(vans)
        old = (await session.exec(select(Vehicle).where(Vehicle.depot_id == fleet.depot.id, Vehicle.label.startswith("VAN")))).one()
        old.active = False  # only the day's vans
        session.add(old)
    return Day(fleet, vans)


def stop(ref: str, n: int, *, start: datetime | None = None, hours: int = 3, parcels: int = 1, lat: float | None = None) -> dict:
    opens = start or NINE + timedelta(minutes=20 * (n % 6))
    return {
        "externalRef": ref, "address": f"Straat {n}", "lat": lat if lat is not None else 52.37 + (n % 7) / 400, "lon": 4.88 + (n % 5) / 400,
        "timeWindow": {"start": opens.isoformat(), "end": (opens + timedelta(hours=hours)).isoformat()}, "serviceSeconds": 120,
        "customer": {"externalRef": f"c-{ref}", "name": f"Customer {n}", "phone": f"+316123457{n:02d}"},
        "parcels": [{"barcode": f"P-{ref}-{p}"} for p in range(parcels)],
    }


async def import_unassigned(client, token: str, stops: list[dict], routes: list[dict] | None = None) -> dict:  # noqa: ANN001
    variables = {"input": {"serviceDate": DAY.isoformat(), "depotRef": "dep-1", "routes": routes or [], "unassignedStops": stops}}
    result = await gql(client, IMPORT, variables, token=token)
    assert "errors" not in result and result["data"]["importRoutePlan"]["errors"] == [], result
    return result["data"]["importRoutePlan"]["summary"]


async def stops_by_ref(runtime: Runtime) -> dict[str, Stop]:
    async with runtime.sessionmaker() as session:
        return {s.external_ref: s for s in (await session.exec(select(Stop))).all() if s.external_ref}


async def day_routes(runtime: Runtime) -> list[Route]:
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(Route).where(Route.service_date == DAY).order_by(Route.id))).all())
