"""Fan-out of live exception events: N dispatchers on one depot, spread over 2 API processes (PostgreSQL + Redis).

For each N, M notes are added to one exception by a writer process; every subscriber must receive every
event. Latency runs from the event's `occurred_at` (set in the writing transaction, just before commit)
to the moment the WebSocket client reads it. Memory per subscriber is the servers' RSS growth after
N sockets subscribed, divided by N (one socket, one subscription each).

    .venv/bin/python bench/fanout.py [--subscribers 100,1000] [--events 50] [--interval-ms 100] [--redis redis://127.0.0.1:6379/0]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlmodel import select  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from app import migrate  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.config import Settings  # noqa: E402
from app.delivery_exceptions.flows import ExceptionReport, add_exception_note, report_exception  # noqa: E402
from app.delivery_exceptions.models import ExceptionEvent, ExceptionKind  # noqa: E402
from app.bootstrap import running  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.realtime.servers import ApiProcess, api_processes  # noqa: E402

RESULTS = REPO / "bench" / "results" / "fanout.json"
SUBSCRIBE = "subscription($d: ID!, $a: ID) { exceptionEvents(depotId: $d, after: $a) { id } }"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _subscriber(process: ApiProcess, token: str, depot_id: int, after: int) -> ClientConnection:
    socket = await connect(process.ws_url, subprotocols=["graphql-transport-ws"], max_queue=None, open_timeout=60)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"d": str(depot_id), "a": str(after)}}}))
    return socket


async def _receive(socket: ClientConnection, into: list[tuple[int, float]], expected: int, done: asyncio.Event) -> None:
    async for raw in socket:
        received_at = time.time()
        message = json.loads(raw)
        if message.get("type") == "next":
            into.append((int(message["payload"]["data"]["exceptionEvents"]["id"]), received_at))
            if len(into) >= expected:
                done.set()
                return


async def run_case(subscribers: int, events: int, interval_ms: float, redis_url: str) -> dict:
    database_url = await create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, database_url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    try:
        async with running(Settings(database_url=database_url, broadcast_url=redis_url, broadcast_channel_prefix=prefix)) as writer:
            factory = Factory(writer)
            fleet = await factory.fleet(stops=1)
            driver = Principal(user_id=fleet.driver.id, tenant_id=fleet.tenant.id, role=fleet.driver.role, scopes=frozenset())
            staff = Principal(user_id=fleet.dispatcher.id, tenant_id=fleet.tenant.id, role=fleet.dispatcher.role, scopes=frozenset())
            exc, _ = await report_exception(writer, driver, ExceptionReport(
                stop_id=fleet.stops[0].id, kind=ExceptionKind.CUSTOMER_ABSENT, reason_code="NO_ANSWER", description="", idempotency_key="bench",
            ))
            async with writer.sessionmaker() as session:
                head = max((await session.exec(select(ExceptionEvent.id))).all())
            token = factory.token(fleet.dispatcher)
            with api_processes(2, database_url=database_url, broadcast_url=redis_url, prefix=prefix) as processes:
                rss_before = sum(p.rss_bytes() for p in processes)
                sockets: list[ClientConnection] = []
                for start in range(0, subscribers, 50):  # open in batches: 2 cores serve both ends
                    sockets += await asyncio.gather(*(
                        _subscriber(processes[i % 2], token, fleet.depot.id, head) for i in range(start, min(start + 50, subscribers))
                    ))
                inboxes: list[list[tuple[int, float]]] = [[] for _ in sockets]
                dones = [asyncio.Event() for _ in sockets]
                readers = [asyncio.create_task(_receive(s, inbox, events + 1, done)) for s, inbox, done in zip(sockets, inboxes, dones, strict=True)]

                # warm-up: one event every subscriber must see, so all of them are live before measuring
                await add_exception_note(writer, staff, exception_id=exc.id, note="warm-up")
                async with asyncio.timeout(120):
                    while any(not inbox for inbox in inboxes):
                        await asyncio.sleep(0.05)
                rss_after = sum(p.rss_bytes() for p in processes)

                started = time.monotonic()
                for n in range(events):
                    await add_exception_note(writer, staff, exception_id=exc.id, note=f"bench {n}")
                    await asyncio.sleep(interval_ms / 1000)
                write_seconds = time.monotonic() - started
                try:
                    async with asyncio.timeout(120):
                        await asyncio.gather(*(d.wait() for d in dones))
                except TimeoutError:
                    pass
                drain_seconds = time.monotonic() - started
                for task in readers:
                    task.cancel()
                await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)

            async with writer.sessionmaker() as session:
                occurred = {e.id: e.occurred_at.timestamp() for e in (await session.exec(select(ExceptionEvent).where(ExceptionEvent.id > head))).all()}
    finally:
        await drop_postgres_database(database_url)

    measured_ids = sorted(occurred)[1:]  # without the warm-up event
    latencies = [(at - occurred[i]) * 1000 for inbox in inboxes for i, at in inbox if i in measured_ids]
    delivered = sum(1 for inbox in inboxes for i, _ in inbox if i in measured_ids)
    in_order = all([i for i, _ in inbox] == sorted({i for i, _ in inbox}) for inbox in inboxes)
    return {
        "subscribers": subscribers, "processes": 2, "events": events, "interval_ms": interval_ms,
        "expected_deliveries": subscribers * events, "delivered": delivered, "all_delivered": delivered == subscribers * events,
        "in_order_no_duplicates": in_order,
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p99_ms": round(_percentile(latencies, 99), 1) if latencies else None,
        "latency_max_ms": round(max(latencies), 1) if latencies else None,
        "write_seconds": round(write_seconds, 2), "drain_seconds": round(drain_seconds, 2),
        "server_rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
        "memory_per_subscriber_kb": round((rss_after - rss_before) / subscribers / 1024, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="100,1000")
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval-ms", type=float, default=100.0, help="pause between two writes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    results = [await run_case(int(n), args.events, args.interval_ms, args.redis) for n in args.subscribers.split(",")]
    header = f"{'subscribers':>11} {'events':>6} {'delivered':>15} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'KiB/sub':>8}"
    print(header)
    for r in results:
        print(f"{r['subscribers']:>11} {r['events']:>6} {r['delivered']:>7}/{r['expected_deliveries']:<7} "
              f"{r['latency_p50_ms']:>8} {r['latency_p99_ms']:>8} {r['latency_max_ms']:>8} {r['memory_per_subscriber_kb']:>8}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"command": " ".join(["bench/fanout.py", *sys.argv[1:]]), "results": results}, indent=2))
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    asyncio.run(main())
