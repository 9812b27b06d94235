"""Latency of every analytics dashboard query at fleet scale, on PostgreSQL.

    .venv/bin/python bench/analytics.py --scale 1000000            # fresh database, generate, measure
    .venv/bin/python bench/analytics.py --database-url URL --slug scale-1000000   # measure an existing history

Prints a table and writes bench/results/analytics.json. Target: every query under 300 ms.
"""
import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import migrate  # noqa: E402
from app.analytics import service  # noqa: E402
from app.analytics.areas import cell_label  # noqa: E402
from app.analytics.progress import seed_history  # noqa: E402
from app.analytics.series import Bucket, Kpi, series  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import create_engine, create_sessionmaker  # noqa: E402
from app.delivery_exceptions.models import ExceptionKind  # noqa: E402

TARGET_MS = 300.0
RESULTS = Path(__file__).resolve().parent / "results" / "analytics.json"


async def fresh_database(admin_url: str, name: str) -> str:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


def dashboard(tenant_id: int, depot_id: int, driver_id: int, area: str, now: datetime) -> dict:
    """The queries a dashboard load makes, each a coroutine factory taking a sessionmaker (as the resolvers, one session per field)."""
    month = service.Scope(tenant_id=tenant_id, start=now - timedelta(days=30), end=now)
    quarter = service.Scope(tenant_id=tenant_id, start=now - timedelta(days=90), end=now)
    week = service.Scope(tenant_id=tenant_id, start=now - timedelta(days=7), end=now)
    by_depot = service.Scope(tenant_id=tenant_id, start=month.start, end=now, depot_ids=(depot_id,))
    by_driver = service.Scope(tenant_id=tenant_id, start=month.start, end=now, driver_id=driver_id)
    by_kind = service.Scope(tenant_id=tenant_id, start=month.start, end=now, kinds=(ExceptionKind.ACCESS_DENIED,))
    by_area = service.Scope(tenant_id=tenant_id, start=month.start, end=now, area=area)
    queries = {
        "kpis 30d (current + previous period)": lambda s: _both(s, month),
        "kpis 30d, one depot": lambda s: _both(s, by_depot),
        "kpis 30d, one driver": lambda s: _both(s, by_driver),
        "kpis 30d, kind ACCESS_DENIED": lambda s: _both(s, by_kind),
        "kpis 30d, one H3 res-7 area": lambda s: _both(s, by_area),
        "hour of week 90d": lambda s: _one(s, service.hour_of_week, scope=quarter),
        "areas res 8, 30d": lambda s: _one(s, service.areas, scope=month, resolution=8, limit=200),
        "areas res 6, 90d": lambda s: _one(s, service.areas, scope=quarter, resolution=6, limit=200),
        "customer preference 30d": lambda s: _one(s, service.customer_preference, scope=month),
    }
    for kpi in Kpi:
        queries[f"series {kpi.value} per day 90d"] = lambda s, kpi=kpi: _one(s, series, scope=quarter, kpi=kpi, bucket=Bucket.DAY)
    queries["series EXCEPTIONS per hour 7d"] = lambda s: _one(s, series, scope=week, kpi=Kpi.EXCEPTIONS, bucket=Bucket.HOUR)
    return queries


async def _one(sessions, query, **arguments):  # noqa: ANN001, ANN003, ANN202
    async with sessions() as session:
        return await query(session=session, **arguments)


async def _both(sessions, scope: service.Scope) -> tuple:  # noqa: ANN001
    """As the `kpis` field resolves them: this period and the previous one at the same time."""
    return await asyncio.gather(_one(sessions, service.kpis, scope=scope), _one(sessions, service.kpis, scope=scope.previous()))


async def measure(url: str, slug: str, repeat: int) -> tuple[list[dict], dict]:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        async with engine.connect() as connection:
            async def scalar(sql: str, **params: object) -> object:
                return (await connection.execute(sa.text(sql), params)).scalar_one()

            tenant_id = await scalar("SELECT id FROM tenant WHERE slug = :s", s=slug)
            counts = {t: await scalar(f"SELECT count(*) FROM {t} WHERE tenant_id = :t", t=tenant_id)
                      for t in ("delivery_exception", "stop", "delivery_attempt", "exception_event")}
            depot_id = await scalar("SELECT min(id) FROM depot WHERE tenant_id = :t", t=tenant_id)
            driver_id = await scalar("SELECT driver_id FROM route WHERE tenant_id = :t ORDER BY id DESC LIMIT 1", t=tenant_id)
            now = await scalar("SELECT max(reported_at) FROM delivery_exception WHERE tenant_id = :t", t=tenant_id)
        # the busiest resolution-7 hexagon of the month, for the area filter
        busiest = await _one(sessions, service.areas, scope=service.Scope(tenant_id=tenant_id, start=now - timedelta(days=30), end=now), resolution=7, limit=1)
        area = cell_label(busiest[0].cell)
        results = []
        for name, query in dashboard(tenant_id, depot_id, driver_id, area, now).items():
            timings = []
            for _ in range(repeat + 1):  # the first run warms the cache and is not counted
                started = time.perf_counter()
                await query(sessions)
                timings.append((time.perf_counter() - started) * 1000)
            kept = timings[1:]
            results.append({"query": name, "median_ms": round(statistics.median(kept), 1), "max_ms": round(max(kept), 1),
                            "under_target": max(kept) < TARGET_MS})
        return results, counts
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, help="generate this many exceptions into a fresh database first")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="detour_bench_analytics", help="name of the fresh database")
    parser.add_argument("--database-url", help="measure this existing database instead (with --slug)")
    parser.add_argument("--slug", help="tenant slug to measure (default scale-N)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    generation = None
    if args.database_url:
        url, slug = args.database_url, args.slug
    else:
        if not args.scale:
            parser.error("give --scale N (fresh database) or --database-url with --slug")
        url = asyncio.run(fresh_database(args.admin_url, args.database))
        migrate.upgrade(url)
        slug = args.slug or f"scale-{args.scale}"
        started = time.perf_counter()
        print(asyncio.run(seed_history(Settings(database_url=url), exceptions=args.scale, days=args.days, slug=slug)))
        generation = round(time.perf_counter() - started, 1)
        asyncio.run(_analyze(url))
    results, counts = asyncio.run(measure(url, slug, args.repeat))
    width = max(len(r["query"]) for r in results)
    print(f"\nrows: {', '.join(f'{t} {n:,}' for t, n in counts.items())}" + (f"; generated in {generation} s" if generation else ""))
    print(f"{'query':<{width}}  median ms  max ms  < {TARGET_MS:.0f} ms")
    for r in results:
        print(f"{r['query']:<{width}}  {r['median_ms']:>9.1f}  {r['max_ms']:>6.1f}  {'yes' if r['under_target'] else 'NO'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "analytics", "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": f"{platform.machine()}, {platform.python_version()}",
        "rows": counts, "generation_seconds": generation, "repeat": args.repeat, "target_ms": TARGET_MS, "results": results,
    }, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0 if all(r["under_target"] for r in results) else 1


async def _analyze(url: str) -> None:
    """Fresh statistics after the bulk load, as autovacuum would give them a little later."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(sa.text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
