"""Import 10,000 stops (5 depots x 50 routes x 40 stops) through importRoutePlan's flow: time and SQL statements per stop.

    .venv/bin/python bench/import_plan.py [--database-url URL] [--depots 5] [--routes 50] [--stops 40]

Each depot's plan is one call (2,000 stops, the per-call limit). A second pass re-imports the same plans
(idempotent: nothing written) and a third moves every stop's window by 30 minutes (every route gets a new version).
"""
import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.config import Settings  # noqa: E402
from app.customers.service import CustomerData  # noqa: E402
from app.planning.fleet import create_vehicle  # noqa: E402
from app.planning.imports import import_route_plan  # noqa: E402
from app.planning.plan import PlanParcel, PlanRoute, PlanStop, RoutePlan  # noqa: E402
from app.runtime import unit_of_work  # noqa: E402
from app.tenants import service  # noqa: E402
from app.tenants.models import Role  # noqa: E402
from bench.common import write_result  # noqa: E402

DAY = date(2026, 12, 7)


async def setup(runtime, depots: int, routes: int) -> int:  # noqa: ANN001
    async with unit_of_work(runtime) as uow:
        tenant = await service.create_tenant(session=uow.session, slug=f"bench-{time.monotonic_ns()}", name="Bench", timezone="Europe/Amsterdam")
        for d in range(depots):
            depot = await service.create_depot(session=uow.session, tenant_id=tenant.id, name=f"D{d}", lat=52 + d / 10, lon=4.9, external_ref=f"dep-{d}")
            for r in range(routes):
                await service.create_user(session=uow.session, tenant_id=tenant.id, data=service.UserData(
                    email=f"d{d}-{r}@bench.test", name=f"Driver {d}-{r}", role=Role.DRIVER, external_ref=f"drv-{d}-{r}", depot_ids=(depot.id,)))
                await create_vehicle(session=uow.session, tenant_id=tenant.id, depot_id=depot.id, label=f"V{d}-{r}", external_ref=f"van-{d}-{r}")
        return tenant.id


def plan_for(d: int, routes: int, stops: int, shift: timedelta) -> RoutePlan:
    nine = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc) + shift
    return RoutePlan(service_date=DAY, depot_ref=f"dep-{d}", routes=[
        PlanRoute(external_ref=f"R{d}-{r}", driver_ref=f"drv-{d}-{r}", vehicle_ref=f"van-{d}-{r}", path=f"routes[{r}]", stops=[
            PlanStop(
                external_ref=f"S{d}-{r}-{s}", address=f"Street {s}, Town {d}", lat=52 + d / 10 + s / 1000, lon=4.9 + r / 1000,
                window_start=nine + timedelta(minutes=10 * s), window_end=nine + timedelta(minutes=10 * s + 120),
                customer=CustomerData(external_ref=f"C{d}-{r}-{s}", name=f"Customer {s}", phone=f"+3161{d}{r:03d}{s:03d}"[:12]),
                parcels=[PlanParcel(f"P{d}-{r}-{s}", 1500)], path=f"routes[{r}].stops[{s}]",
            )
            for s in range(stops)
        ])
        for r in range(routes)
    ])


async def run(url: str, depots: int, routes: int, stops: int) -> dict:
    await asyncio.to_thread(migrate.upgrade, url)
    runtime = bootstrap(Settings(database_url=url))
    statements = [0]
    event.listen(runtime.engine.sync_engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    try:
        tenant_id = await setup(runtime, depots, routes)
        passes = {}
        for name, shift in (("create", timedelta(0)), ("re-import (unchanged)", timedelta(0)), ("update (every window)", timedelta(minutes=30))):
            statements[0] = 0
            started = time.perf_counter()
            for d in range(depots):
                await import_route_plan(runtime, tenant_id=tenant_id, plan=plan_for(d, routes, stops, shift))
            elapsed = time.perf_counter() - started
            total = depots * routes * stops
            passes[name] = {"stops": total, "seconds": round(elapsed, 2), "ms_per_stop": round(1000 * elapsed / total, 3),
                            "statements": statements[0], "statements_per_stop": round(statements[0] / total, 4)}
        return passes
    finally:
        await runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--depots", type=int, default=5)
    parser.add_argument("--routes", type=int, default=50, help="per depot")
    parser.add_argument("--stops", type=int, default=40, help="per route")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/import.db"
        passes = asyncio.run(run(url, args.depots, args.routes, args.stops))
    backend = url.split("+")[0].split(":")[0]
    print(f"{backend}: {args.depots} depots x {args.routes} routes x {args.stops} stops, one call per depot")
    print(f"{'pass':<24} {'stops':>7} {'seconds':>8} {'ms/stop':>8} {'SQL':>6} {'SQL/stop':>9}")
    for name, p in passes.items():
        print(f"{name:<24} {p['stops']:>7} {p['seconds']:>8} {p['ms_per_stop']:>8} {p['statements']:>6} {p['statements_per_stop']:>9}")
    print("wrote", write_result(f"import_plan_{backend}", {"backend": backend, "passes": passes}))


if __name__ == "__main__":
    main()
