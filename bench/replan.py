"""Replanning latency after one redirect: 40-, 100- and 200-stop routes, wall time including the solver process hop.

Each sample moves one stop of a feasible route (windows of two hours around its planned ETA) to a new
address 0.3-2 km away, as an approved neighbour or pickup point would, and replans the route the way
the replanRoute mutation does: haversine matrix (cached provider), problem, solve in the SolverPool
(a spawned worker process), proposal. The database round trips are not included. As in the app, VROOM
starts from the route's current order (made feasible by skipping what no longer fits) and improves it;
"saving %" is the drive time saved against that current order with the redirected stop left in place.

With --flow it also times the whole replanRoute flow on a SQLite database: read, matrix, solve in the
pool, the new route version written (sequences, ETAs, plan row, route event, ETA messages) and committed.

    .venv/bin/python bench/replan.py [--sizes 40,100,200] [--samples 40] [--levels 0,1,5] [--timeout 3] [--flow]
"""
from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.config import Settings  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.replanning import flows  # noqa: E402
from app.replanning.flows import propose_for  # noqa: E402
from app.replanning.matrix import HaversineMatrix  # noqa: E402
from app.replanning.pool import SolverPool, close_default_pool, default_pool  # noqa: E402
from app.routes.models import Parcel, Route, RouteStatus, Stop, Vehicle  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.tenants.models import Depot, Role, Tenant, User  # noqa: E402
from app.replanning.problem_builder import RouteSnapshot, StopSnapshot  # noqa: E402
from bench.common import summary_ms, write_result  # noqa: E402

DEPOT = (52.3889, 4.8371)
CENTRE = (52.37, 4.90)
AREA_KM = 6.0
SERVICE_SECONDS = 120
WINDOW = timedelta(hours=2)
DEPARTURE = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
KM_PER_DEGREE_LAT = 111.2


def offset(point: tuple[float, float], east_km: float, north_km: float) -> tuple[float, float]:
    lat, lon = point
    return (lat + north_km / KM_PER_DEGREE_LAT, lon + east_km / (KM_PER_DEGREE_LAT * math.cos(math.radians(lat))))


def feasible_route(size: int, rng: random.Random, speed_kmh: float) -> list[StopSnapshot]:
    """Stops in a square around the centre, ordered nearest-neighbour from the depot, windows around their ETAs."""
    points = [offset(CENTRE, rng.uniform(-AREA_KM / 2, AREA_KM / 2), rng.uniform(-AREA_KM / 2, AREA_KM / 2)) for _ in range(size)]
    durations = HaversineMatrix(speed_kmh=speed_kmh).compute([DEPOT, *points]).durations
    order, here, clock = [], 0, 0
    left = set(range(1, size + 1))
    while left:
        here = min(left, key=lambda j: durations[here][j])
        left.remove(here)
        clock += durations[order[-1][0] if order else 0][here]
        order.append((here, clock))
        clock += SERVICE_SECONDS
    stops = []
    for sequence, (index, arrival) in enumerate(order, start=1):
        eta = DEPARTURE + timedelta(seconds=arrival)
        opens = eta - timedelta(minutes=rng.randint(15, 105))
        lat, lon = points[index - 1]
        stops.append(StopSnapshot(
            id=index, sequence=sequence, lat=lat, lon=lon, window_start=opens, window_end=opens + WINDOW,
            service_seconds=SERVICE_SECONDS, parcels=rng.randint(1, 3), planned_eta=eta, version=1, customer_id=index,
        ))
    return stops


def redirected(route: list[StopSnapshot], rng: random.Random) -> RouteSnapshot:
    """The route with one stop moved 0.3-2 km away in a random direction, driver still at the depot."""
    victim = rng.randrange(len(route))
    distance, bearing = rng.uniform(0.3, 2.0), rng.uniform(0, 2 * math.pi)
    stops = list(route)
    moved = stops[victim]
    lat, lon = offset((moved.lat, moved.lon), distance * math.sin(bearing), distance * math.cos(bearing))
    stops[victim] = StopSnapshot(**{**moved.__dict__, "lat": lat, "lon": lon, "version": 2})
    return RouteSnapshot(
        route_id=1, tenant_id=1, version=1, capacity=max(150, sum(s.parcels for s in stops)), depot=DEPOT, start=DEPOT,
        start_source="DEPOT", departure=DEPARTURE, completed=(), remaining=tuple(stops), serving_stop_id=None,
    )


async def measure(size: int, level: int, samples: int, timeout: float, pool: SolverPool, seed: int) -> dict:
    rng = random.Random(seed)
    settings = Settings(replan_exploration_level=level, replan_solver_timeout_seconds=timeout)
    route = feasible_route(size, rng, settings.average_speed_kmh)
    walls, savings, unassigned = [], [], 0
    for _ in range(samples):
        snapshot = redirected(route, rng)
        started = time.perf_counter()
        proposal = await propose_for(snapshot, settings, pool)
        walls.append(time.perf_counter() - started)
        savings.append(100 * (1 - proposal.duration_seconds / proposal.previous_duration_seconds))
        unassigned += len(proposal.unassigned)
    return {
        "stops": size, "exploration_level": level, **summary_ms(walls), "max_ms": round(max(walls) * 1000, 2),
        "drive_time_saving_pct": round(statistics.fmean(savings), 2), "unassigned_per_replan": round(unassigned / samples, 2),
    }


async def run(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    pool = SolverPool(max_workers=1)
    await pool.start()  # as the app lifespan does: worker start-up is not part of a replan
    try:
        rows = []
        for size in args.sizes:
            for level in args.levels:
                await measure(size, level, 2, args.timeout, pool, seed=size)  # warm the worker's code paths
                rows.append(await measure(size, level, args.samples, args.timeout, pool, seed=size))
                print_row(rows[-1])
    finally:
        pool.close()
    flow_rows = []
    if args.flow:
        await default_pool().start()  # the flow solves in the process-wide pool, as the app does
        try:
            with tempfile.TemporaryDirectory() as directory:
                print(f"\nreplan_route on SQLite (default level)\n{'stops':>5} {'n':>4} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9}")
                for size in args.sizes:
                    flow_rows.append(await measure_flow(size, args.samples, size, Path(directory)))
                    row = flow_rows[-1]
                    print(f"{row['stops']:>5} {row['n']:>4} {row['p50_ms']:>9.1f} {row['p90_ms']:>9.1f} {row['p99_ms']:>9.1f}", flush=True)
        finally:
            close_default_pool()
    return rows, flow_rows


async def measure_flow(size: int, samples: int, seed: int, directory: Path) -> dict:
    """Full replan_route calls on a fresh SQLite database, one redirect (a stop moved, its version bumped) before each."""
    url = f"sqlite+aiosqlite:///{directory / f'replan_{size}.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    runtime = bootstrap(Settings(database_url=url, log_level="WARNING"))
    await runtime.start()
    try:
        principal, route_id, stop_ids = await seed_route(runtime, feasible_route(size, random.Random(seed), 30.0))
        rng, walls, version = random.Random(seed), [], 1
        for sample in range(samples + 2):
            async with runtime.sessionmaker() as session, session.begin():
                stop = await session.get(Stop, rng.choice(stop_ids))
                stop.lat, stop.lon = offset((stop.lat, stop.lon), rng.uniform(-1, 1), rng.uniform(-1, 1))
                stop.version += 1
            started = time.perf_counter()
            replanned = await flows.replan_route(runtime, principal, route_id=route_id, expected_version=version, now=DEPARTURE)
            if sample >= 2:  # the first two warm the code paths
                walls.append(time.perf_counter() - started)
            version = replanned.route.version
        return {"stops": size, "exploration_level": runtime.settings.replan_exploration_level, **summary_ms(walls)}
    finally:
        await runtime.stop()


async def seed_route(runtime: Runtime, stops: list[StopSnapshot]) -> tuple[Principal, int, list[int]]:
    """A tenant, depot, dispatcher, van and one route carrying the generated stops (two parcels each)."""
    async with runtime.sessionmaker() as session, session.begin():
        tenant = Tenant(slug="bench", name="Bench")
        session.add(tenant)
        await session.flush()
        depot = Depot(tenant_id=tenant.id, name="Depot", lat=DEPOT[0], lon=DEPOT[1])
        dispatcher = User(tenant_id=tenant.id, email="dispatcher@bench.test", name="Dispatcher", role=Role.DISPATCHER)
        session.add_all([depot, dispatcher])
        await session.flush()
        vehicle = Vehicle(tenant_id=tenant.id, depot_id=depot.id, label="VAN", capacity=1000)
        session.add(vehicle)
        await session.flush()
        route = Route(tenant_id=tenant.id, depot_id=depot.id, vehicle_id=vehicle.id, service_date=DEPARTURE.date(), status=RouteStatus.IN_PROGRESS)
        session.add(route)
        await session.flush()
        rows = []
        for spec in stops:
            customer = Customer(tenant_id=tenant.id, name=f"C{spec.id}", phone=f"+316{spec.id:08d}", timezone="Europe/Amsterdam")
            session.add(customer)
            await session.flush()
            row = Stop(
                tenant_id=tenant.id, route_id=route.id, sequence=spec.sequence, customer_id=customer.id, address=f"Stop {spec.id}",
                lat=spec.lat, lon=spec.lon, window_start=spec.window_start, window_end=spec.window_end,
                planned_eta=spec.planned_eta, service_seconds=spec.service_seconds,
            )
            session.add(row)
            await session.flush()
            session.add_all([Parcel(tenant_id=tenant.id, stop_id=row.id, barcode=f"P{row.id}-{n}") for n in range(2)])
            rows.append(row.id)
    return Principal(user_id=dispatcher.id, tenant_id=tenant.id, role=Role.DISPATCHER, scopes=frozenset()), route.id, rows


def print_row(row: dict) -> None:
    print(
        f"{row['stops']:>5} {row['exploration_level']:>5} {row['n']:>4} {row['p50_ms']:>9.1f} {row['p90_ms']:>9.1f} "
        f"{row['p99_ms']:>9.1f} {row['max_ms']:>9.1f} {row['drive_time_saving_pct']:>10.2f} {row['unassigned_per_replan']:>10.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[40, 100, 200])
    parser.add_argument("--levels", type=lambda v: [int(x) for x in v.split(",")], default=[0, 1, 5])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--flow", action="store_true", help="also time the full replan_route flow on SQLite")
    parser.add_argument("--timeout", type=float, default=Settings().replan_solver_timeout_seconds, help="pool time limit, s")
    args = parser.parse_args()
    print(f"{'stops':>5} {'level':>5} {'n':>4} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'max ms':>9} {'saving %':>10} {'unassigned':>10}")
    rows, flow_rows = asyncio.run(run(args))
    path = write_result("replan", {
        "what": "propose_for(): haversine matrix + problem + SolverPool.solve (spawned worker) + proposal, after one redirect",
        "samples": args.samples, "timeout_s": args.timeout, "vroom_timeout_share": 0.75, "rows": rows,
        "flow": {"what": "flows.replan_route on SQLite: read, solve in the pool, write and commit the new version", "rows": flow_rows},
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
