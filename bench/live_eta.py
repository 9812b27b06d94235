"""Live ETAs: the cost of one ETA update for a 100-stop route, and sustained reportPositions throughput for a fleet.

    .venv/bin/python bench/live_eta.py [--drivers 500] [--stops 20] [--ticks 6] [--concurrency 25] [--database-url URL]

Everything runs in one process against the ASGI app over httpx (as the done-when test does), under a FrozenClock
advanced 10 s per tick: each tick, every driver reports one fix (moving about 22 m). Three modes in the same run: live
ETAs off (the baseline), on with the default per-route coalescing (30 s; a driver who moved less than 25 m waits up
to 120 s), and on for every fix (no coalescing).
"""
import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import logging

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.auth.tokens import Claims, issue_token  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.clock import FrozenClock, writing_with  # noqa: E402
from app.config import Settings  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.main import create_app  # noqa: E402
from app.routes.models import Route, RouteStatus, Stop  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.tenants.models import Depot, Role, Tenant, User  # noqa: E402
from app.tracking.flows import on_positions_reported  # noqa: E402
from app.tracking.service import Fix, store_fixes  # noqa: E402
from bench.common import summary_ms, write_result  # noqa: E402

REPORT = "mutation($input: ReportPositionsInput!) { reportPositions(input: $input) { stored errors { code } } }"
T0 = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)  # the simulated day starts at 08:00 UTC today


async def build_fleet(runtime: Runtime, *, drivers: int, stops: int, tag: str) -> list[tuple[User, Route]]:
    """One tenant and depot; each driver with a route of `stops` stops spread east of Amsterdam."""
    with writing_with(runtime.clock):
        async with runtime.sessionmaker() as session, session.begin():
            tenant = Tenant(slug=f"bench-{tag}", name=f"Bench {tag}")
            session.add(tenant)
            await session.flush()
            depot = Depot(tenant_id=tenant.id, name="Bench depot", lat=52.3889, lon=4.8371, timezone="UTC")
            customer = Customer(tenant_id=tenant.id, name="Bench customer", phone="+31612340000", timezone="UTC")
            session.add_all([depot, customer])
            await session.flush()
            people = [User(tenant_id=tenant.id, email=f"d{tag}{i}@bench.test", name=f"Driver {i}", role=Role.DRIVER) for i in range(drivers)]
            session.add_all(people)
            await session.flush()
            routes = [Route(tenant_id=tenant.id, depot_id=depot.id, driver_id=p.id, service_date=T0.date(), status=RouteStatus.IN_PROGRESS) for p in people]
            session.add_all(routes)
            await session.flush()
            rows = []
            for n, route in enumerate(routes):
                for i in range(stops):
                    rows.append(Stop(
                        tenant_id=tenant.id, route_id=route.id, sequence=i + 1, customer_id=customer.id, address=f"Benchstraat {i}",
                        lat=52.30 + (n % 50) * 0.004 + i * 0.0007, lon=4.80 + (n // 50) * 0.01 + i * 0.0011,
                        window_start=T0, window_end=T0 + timedelta(hours=10), planned_eta=T0 + timedelta(minutes=6 * i),
                    ))
            session.add_all(rows)
    return list(zip(people, routes))


async def one_update_cost(runtime: Runtime, clock: FrozenClock, *, updates: int) -> dict:
    """on_positions_reported for one 100-stop route, the throttle off, a fresh fix before each."""
    [(driver, route)] = await build_fleet(runtime, drivers=1, stops=100, tag="single")
    samples = []
    for i in range(updates):
        clock.advance(10)
        async with runtime.sessionmaker() as session, session.begin():
            await store_fixes(session=session, tenant_id=driver.tenant_id, driver_id=driver.id, fixes=[Fix(clock.now(), 52.29 - i * 1e-4, 4.79, 5)])
        started = time.perf_counter()
        await on_positions_reported(runtime, tenant_id=driver.tenant_id, driver_id=driver.id, route_id=route.id)
        samples.append(time.perf_counter() - started)
    return summary_ms(samples)


async def throughput(runtime: Runtime, clock: FrozenClock, fleet: list[tuple[User, Route]], *, ticks: int, concurrency: int) -> dict:
    """Every driver reports one fix per simulated 10 s tick over HTTP; returns fixes per wall-clock second."""
    tokens = [issue_token(runtime.settings, Claims(user_id=d.id, tenant_id=d.tenant_id, role=d.role)) for d, _ in fleet]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://bench") as client:
        async def send(n: int, token: str, tick: int) -> None:
            fix = {"recordedAt": clock.now().isoformat(), "lat": 52.29 - tick * 2e-4, "lon": 4.79 + n * 1e-5, "accuracyM": 5}
            async with gate:
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": REPORT, "variables": {"input": {"positions": [fix]}}}, headers={"Authorization": f"Bearer {token}"})
                latencies.append(time.perf_counter() - started)
            body = response.json()
            assert body["data"]["reportPositions"]["errors"] == [], body

        started, cpu = time.perf_counter(), time.process_time()
        for tick in range(ticks):
            clock.advance(10)
            await asyncio.gather(*(send(n, token, tick) for n, token in enumerate(tokens)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    fixes = len(tokens) * ticks
    # CPU per fix (this process, all threads: the event loop and the SQLite threads) is what a shared, noisy machine
    # cannot inflate by waiting; fixes per CPU second is the throughput one free core would sustain.
    return {"fixes": fixes, "seconds": round(elapsed, 2), "fixes_per_s": round(fixes / elapsed, 1),
            "needed_fixes_per_s": round(len(tokens) / 10, 1), "cpu_ms_per_fix": round(cpu / fixes * 1000, 2),
            "fixes_per_cpu_s": round(fixes / cpu, 1), "request": summary_ms(latencies)}


async def main(args: argparse.Namespace) -> dict:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/live_eta.db"
    await asyncio.to_thread(migrate.upgrade, url)
    clock = FrozenClock(T0)
    base = bootstrap(Settings(database_url=url), clock=clock)
    await base.start()
    results: dict = {"database": url.split(":")[0], "drivers": args.drivers, "stops_per_route": args.stops, "ticks": args.ticks}
    try:
        results["one_update_100_stops"] = await one_update_cost(dataclasses.replace(base, settings=base.settings.model_copy(update={"live_eta_interval_seconds": 0, "live_eta_min_move_m": 0})), clock, updates=args.updates)
        modes = {
            "live_off": {"live_eta_enabled": False},
            "live_on_throttled_30s": {"live_eta_enabled": True, "live_eta_interval_seconds": 30},
            "live_on_every_fix": {"live_eta_enabled": True, "live_eta_interval_seconds": 0, "live_eta_min_move_m": 0},
        }
        for name, update in modes.items():
            runtime = dataclasses.replace(base, settings=base.settings.model_copy(update=update))
            fleet = await build_fleet(runtime, drivers=args.drivers, stops=args.stops, tag=name)
            results[name] = await throughput(runtime, clock, fleet, ticks=args.ticks, concurrency=args.concurrency)
    finally:
        await base.stop()
    off = results["live_off"]["fixes_per_s"]
    for name in ("live_on_throttled_30s", "live_on_every_fix"):
        results[name]["ratio_to_live_off"] = round(results[name]["fixes_per_s"] / off, 3)
        results[name]["cpu_ratio_to_live_off"] = round(results[name]["cpu_ms_per_fix"] / results["live_off"]["cpu_ms_per_fix"], 3)
    return results


def print_table(results: dict) -> None:
    single = results["one_update_100_stops"]
    print(f"one ETA update, 100-stop route ({results['database']}): p50 {single['p50_ms']} ms, p90 {single['p90_ms']} ms, mean {single['mean_ms']} ms")
    print(f"{'mode':<24}{'fixes/s':>10}{'needed':>9}{'ratio':>8}{'cpu ms/fix':>12}{'fixes/cpu-s':>13}{'req p50 ms':>12}{'req p90 ms':>12}")
    for name in ("live_off", "live_on_throttled_30s", "live_on_every_fix"):
        row = results[name]
        print(f"{name:<24}{row['fixes_per_s']:>10}{row['needed_fixes_per_s']:>9}{row.get('ratio_to_live_off', 1.0):>8}"
              f"{row['cpu_ms_per_fix']:>12}{row['fixes_per_cpu_s']:>13}{row['request']['p50_ms']:>12}{row['request']['p90_ms']:>12}")


if __name__ == "__main__":
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drivers", type=int, default=500)
    parser.add_argument("--stops", type=int, default=20, help="stops per route in the throughput fleet")
    parser.add_argument("--ticks", type=int, default=6, help="simulated 10 s rounds in which every driver reports")
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--updates", type=int, default=50, help="ETA updates timed on the 100-stop route")
    parser.add_argument("--database-url", default=None, help="default: a throwaway SQLite file")
    parser.add_argument("--output", default="live_eta", help="result file name under bench/results/")
    results = asyncio.run(main(parser.parse_args()))
    print_table(results)
    print(f"written to {write_result(parser.parse_args().output, results)}")
