"""What keeping the analytics day sums current costs the write path: recordDeliveryAttempt with and without the upkeep.

    .venv/bin/python bench/analytics_upkeep.py                          # SQLite, and PostgreSQL when it answers
    .venv/bin/python bench/analytics_upkeep.py --attempts 300 --rounds 4

Each call is the real flow (`record_delivery_attempt`: stop lock, attempt, route version, route
change, events, the session hook that completes the stop's fact row and adds to its day's sums).
The baseline is the same flow in the same process with the day-sum upsert switched off, in
interleaved rounds (this machine is noisy). One in ten attempts fails. PostgreSQL also runs 8
concurrent drivers of one depot, where every attempt adds to the same day row: that row's lock
is held to the end of each transaction, so this is where the upkeep could queue writers.
Prints a table and writes bench/results/analytics_upkeep.json.
"""
import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app import migrate  # noqa: E402
from app.analytics import models as facts  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.config import Settings  # noqa: E402
from app.routes.flows import AttemptReport, record_delivery_attempt  # noqa: E402
from app.routes.models import AttemptOutcome  # noqa: E402
from bench.common import write_result  # noqa: E402
from tests.factories import Factory  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DATABASE = "detour_bench_upkeep"
KEEP_DAYS = facts.add_to_days


def _switch(upkeep: bool) -> None:
    facts.add_to_days = KEEP_DAYS if upkeep else (lambda connection, deltas: None)


async def _fresh_postgres() -> str | None:
    try:
        connection = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    finally:
        await connection.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"


class Statements:
    """Counts the statements the engine sends."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.count = 0
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: object) -> None:
        self.count += 1


async def _calls(runtime, driver: Principal, stop_ids: list[int], concurrency: int, statements: Statements) -> dict:  # noqa: ANN001
    """Records one attempt per stop, `concurrency` at a time; returns the per-call latencies and statements."""
    latencies: list[float] = []
    queue = list(enumerate(stop_ids))
    before = statements.count

    async def one_driver() -> None:
        while queue:
            index, stop_id = queue.pop()
            outcome = AttemptOutcome.FAILED if index % 10 == 0 else AttemptOutcome.DELIVERED
            started = time.perf_counter()
            await record_delivery_attempt(runtime, driver, AttemptReport(stop_id=stop_id, outcome=outcome, idempotency_key=f"k-{stop_id}"))
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one_driver() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "seconds": elapsed, "statements": statements.count - before}


async def measure(url: str, attempts: int, rounds: int, concurrency: int) -> list[dict]:
    await asyncio.to_thread(migrate.upgrade, url)
    runtime = bootstrap(Settings(database_url=url, log_level="WARNING"))
    await runtime.start()
    try:
        statements = Statements(runtime.engine)
        fleet = await Factory(runtime).fleet(stops=attempts * rounds * 2, depot_tz="Europe/Amsterdam")
        driver = Principal(user_id=fleet.driver.id, tenant_id=fleet.tenant.id, role=fleet.driver.role, scopes=frozenset())
        stop_ids = [s.id for s in fleet.stops]
        samples: dict[bool, list[dict]] = {True: [], False: []}
        for number in range(rounds * 2):  # with, without, with, … : the machine's drift falls on both
            upkeep = number % 2 == 0
            _switch(upkeep)
            chunk = stop_ids[number * attempts:(number + 1) * attempts]
            samples[upkeep].append(await _calls(runtime, driver, chunk, concurrency, statements))
        _switch(True)
        async with runtime.engine.connect() as connection:  # the kept sums cover exactly the attempts made with upkeep on
            kept = (await connection.execute(sa.text("SELECT coalesce(sum(first_attempts), 0) FROM stop_fact_day WHERE tenant_id = :t"),
                                             {"t": fleet.tenant.id})).scalar_one()
        assert kept == attempts * rounds, f"day sums count {kept} first attempts, {attempts * rounds} were recorded with upkeep"
    finally:
        _switch(True)
        await runtime.stop()
    rows = []
    for upkeep in (False, True):
        latencies = [x for s in samples[upkeep] for x in s["latencies"]]
        seconds = sum(s["seconds"] for s in samples[upkeep])
        rows.append({
            "backend": url.split(":")[0].split("+")[0], "concurrency": concurrency, "upkeep": upkeep, "calls": len(latencies),
            "p50_ms": round(statistics.median(latencies) * 1000, 2), "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
            "calls_per_s": round(len(latencies) / seconds, 1),
            "statements_per_call": round(sum(s["statements"] for s in samples[upkeep]) / len(latencies), 2),
        })
    return rows


async def main(args: argparse.Namespace) -> int:
    sqlite = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='detour-upkeep-')}/bench.db"
    rows = await measure(sqlite, args.attempts, args.rounds, 1)
    postgres = await _fresh_postgres()
    if postgres:
        rows += await measure(postgres, args.attempts, args.rounds, 1)
        postgres = await _fresh_postgres()
        rows += await measure(postgres, args.attempts, args.rounds, 8)
    else:
        print("PostgreSQL did not answer: SQLite only")
    print(f"{'backend':<10} {'conc.':>5} {'upkeep':>7} {'calls':>6} {'p50 ms':>7} {'mean ms':>8} {'calls/s':>8} {'stmts/call':>10}")
    for r in rows:
        print(f"{r['backend']:<10} {r['concurrency']:>5} {'on' if r['upkeep'] else 'off':>7} {r['calls']:>6} {r['p50_ms']:>7} "
              f"{r['mean_ms']:>8} {r['calls_per_s']:>8} {r['statements_per_call']:>10}")
    costs = []
    for off, on in zip(rows[::2], rows[1::2], strict=True):
        costs.append({"backend": on["backend"], "concurrency": on["concurrency"], "extra_ms_per_call": round(on["mean_ms"] - off["mean_ms"], 2),
                      "throughput_ratio": round(on["calls_per_s"] / off["calls_per_s"], 3)})
        print(f"upkeep on {on['backend']} at concurrency {on['concurrency']}: {costs[-1]['extra_ms_per_call']:+} ms per call, "
              f"throughput × {costs[-1]['throughput_ratio']}")
    path = write_result("analytics_upkeep", {"benchmark": "analytics_upkeep", "rows": rows, "costs": costs})
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=200, help="attempts per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with and rounds without the upkeep")
    sys.exit(asyncio.run(main(parser.parse_args())))
