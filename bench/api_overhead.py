"""Detour's `myRoute` against a hand-written Starlette + SQL endpoint that returns the same bytes, over real HTTP.

Both run under uvicorn (one worker each) on the same database (the seeded demo tenant, 40 stops); the load comes
from keep-alive clients at c=8 and c=32, the two servers measured in turns (interleaved repeats), on SQLite and
PostgreSQL. Prints req/s, p50/p99 and the ratio Detour / hand-written; writes bench/results/api_overhead.json.
Uvicorn's own log of each server is read afterwards: an "Exception in ASGI application" there is counted.

    .venv/bin/python bench/api_overhead.py [--backends sqlite,postgresql] [--seconds 5] [--repeats 3] [--label main]
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, percentile, start_server, write_result  # noqa: E402
from bench.my_route import QUERY, prepare  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

BODY = json.dumps({"query": QUERY, "operationName": "MyRoute"}).encode()


def uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--workers", "1", "--log-level", "warning",
            "--no-access-log"]


async def _one_client(port: int, path: str, token: str, deadline: float, samples: list[float], failures: list[str]) -> None:
    """One keep-alive HTTP/1.1 connection sending requests back to back until the deadline."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n").encode() + BODY
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            if not head.startswith(b"HTTP/1.1 200") or b'"errors"' in body[:200]:
                failures.append(head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode(errors="replace"))
            else:
                samples.append(elapsed)
    except (asyncio.IncompleteReadError, ConnectionError) as error:
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        writer.close()


async def load(port: int, path: str, token: str, concurrency: int, seconds: float, warmup_s: float = 1.0) -> dict:
    await asyncio.gather(*(_one_client(port, path, token, time.perf_counter() + warmup_s, [], []) for _ in range(concurrency)))
    samples: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(_one_client(port, path, token, started + seconds, samples, failures) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    ms = [s * 1000 for s in samples] or [0.0]
    return {"requests": len(samples), "failures": len(failures), "failure_sample": failures[:3], "rps": round(len(samples) / wall, 1),
            "p50_ms": round(statistics.median(ms), 1), "p99_ms": round(percentile(ms, 99), 1)}


def same_bytes(port_detour: int, port_hand: int, token: str) -> dict:
    """Detour's body carries the hand-written body's `data` byte for byte (plus the request's `extensions.cost`)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    detour = httpx.post(f"http://127.0.0.1:{port_detour}/graphql", content=BODY, headers=headers).content
    hand = httpx.post(f"http://127.0.0.1:{port_hand}/route", content=BODY, headers=headers).content
    data_identical = detour == hand or detour.startswith(hand[:-1] + b',"extensions":')
    return {"bytes_detour": len(detour), "bytes_hand_written": len(hand), "data_identical": data_identical, "whole_identical": detour == hand}


def asgi_exceptions(log_path: Path) -> int:
    return log_path.read_text(errors="replace").count("Exception in ASGI application")


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict:
    from tests.conftest import create_postgres_database, drop_postgres_database

    url = f"sqlite+aiosqlite:///{workdir}/bench.db" if backend == "sqlite" else asyncio.run(create_postgres_database())
    try:
        token, statements = asyncio.run(prepare(url))
        # One driver's token sends hundreds of requests a second here: the request budget still runs on every request,
        # with a leak rate that never refuses one (at the default rate the later runs measured 429s, not myRoute).
        env = {"DETOUR_DATABASE_URL": url, "DETOUR_LOG_LEVEL": "WARNING", "DETOUR_DEMO_SIMULATE": "false", "DETOUR_RUN_WORKER_IN_PROCESS": "false",
               "DETOUR_BUDGET_LEAK_PER_SECOND": "1000000"}
        ports = {"detour": free_port(), "hand_written": free_port()}
        logs = {name: workdir / f"{backend}-{name}.log" for name in ports}
        servers = [start_server(env, ports["detour"], uvicorn("app.main:create_app", ports["detour"]), timeout_s=60, log_path=logs["detour"]),
                   start_server(env, ports["hand_written"], uvicorn("bench.handwritten_route:create_app", ports["hand_written"]), timeout_s=60, log_path=logs["hand_written"])]
        paths = {"detour": "/graphql", "hand_written": "/route"}
        try:
            identity = same_bytes(ports["detour"], ports["hand_written"], token)
            runs: list[dict] = []
            for repeat in range(args.repeats):
                for concurrency in args.concurrency:
                    order = ["detour", "hand_written"] if repeat % 2 == 0 else ["hand_written", "detour"]
                    for target in order:
                        result = asyncio.run(load(ports[target], paths[target], token, concurrency, args.seconds))
                        runs.append({"target": target, "concurrency": concurrency, "repeat": repeat, **result})
                        print(f"  {backend:<11}{target:<13}c={concurrency:<3} #{repeat}  {result['rps']:>7} req/s  p50 {result['p50_ms']:>6} ms"
                              f"  p99 {result['p99_ms']:>6} ms  failures {result['failures']}", flush=True)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
        return {"backend": backend, "sql_statements_detour": statements, **identity, "runs": runs,
                "asgi_exceptions": {name: asgi_exceptions(path) for name, path in logs.items()}}
    finally:
        if backend != "sqlite":
            asyncio.run(drop_postgres_database(url))


def summarise(result: dict, concurrency_levels: list[int]) -> list[dict]:
    rows = []
    for concurrency in concurrency_levels:
        def runs(target: str) -> list[dict]:
            return [r for r in result["runs"] if r["target"] == target and r["concurrency"] == concurrency]

        detour, hand = runs("detour"), runs("hand_written")
        ratios = [d["rps"] / h["rps"] for d, h in zip(detour, hand) if h["rps"]]
        rows.append({
            "backend": result["backend"], "concurrency": concurrency,
            "detour_rps": round(statistics.median(r["rps"] for r in detour), 1),
            "detour_p50_ms": round(statistics.median(r["p50_ms"] for r in detour), 1),
            "detour_p99_ms": round(statistics.median(r["p99_ms"] for r in detour), 1),
            "hand_rps": round(statistics.median(r["rps"] for r in hand), 1),
            "hand_p50_ms": round(statistics.median(r["p50_ms"] for r in hand), 1),
            "hand_p99_ms": round(statistics.median(r["p99_ms"] for r in hand), 1),
            "ratio_median": round(statistics.median(ratios), 3) if ratios else None,
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)] if ratios else None,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="current", help="names the result file: bench/results/api_overhead_<label>.json")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="detour-api-overhead-"))
    results = [run_backend(backend, args, workdir) for backend in args.backends.split(",")]
    table = [row for result in results for row in summarise(result, args.concurrency)]
    print(f"\n{'backend':<12}{'c':>4}{'Detour req/s':>14}{'p50':>8}{'p99':>8}{'hand req/s':>12}{'p50':>8}{'p99':>8}{'ratio':>8}  range")
    for row in table:
        print(f"{row['backend']:<12}{row['concurrency']:>4}{row['detour_rps']:>14}{row['detour_p50_ms']:>8}{row['detour_p99_ms']:>8}"
              f"{row['hand_rps']:>12}{row['hand_p50_ms']:>8}{row['hand_p99_ms']:>8}{row['ratio_median']:>8}  {row['ratio_range']}")
    for result in results:
        print(f"{result['backend']}: {result['sql_statements_detour']} SQL statements per myRoute; {result['bytes_detour']} vs "
              f"{result['bytes_hand_written']} bytes, data identical: {result['data_identical']}; "
              f"ASGI exceptions logged: {result['asgi_exceptions']}")
    path = write_result(f"api_overhead_{args.label}", {"label": args.label, "seconds": args.seconds, "repeats": args.repeats,
                                                       "table": table, "backends": results})
    print(f"written {path}")


if __name__ == "__main__":
    os.environ.setdefault("DETOUR_LOG_LEVEL", "WARNING")
    main()
