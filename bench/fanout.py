"""Fan-out of live exception events: N dispatchers on one depot, spread over 2 API processes (PostgreSQL + Redis).

Every subscriber is its own dispatcher user and subscribes with the console's document
(graphql/dispatcher/ExceptionEvents.graphql, `actor { id name }` included). For each N, M notes are added to
one exception by a writer process; every subscriber must receive every event. Latency runs from the event's
`occurred_at` (set in the writing transaction, just before commit) to the moment the WebSocket client reads it.
Server CPU per delivery is the user + system CPU time both API processes spent from the first measured write
until the last delivery, divided by the deliveries. Memory per subscriber is the servers' RSS growth after N
sockets subscribed, divided by N.

Servers, measured one after the other under the same conditions:
  fanout  this checkout (events resolved once per document and visibility, the same bytes sent to every live socket
          from the feed's task)
  main    another checkout's code (--main-root, default /work/main): the per-socket execution before it
  relay   bench/fanout_relay.py, a raw Starlette WebSocket relay of payloads the writer publishes on Redis:
          no GraphQL, auth or database work, the floor on this machine
All of them are served by the same uvicorn with the same options (tests/realtime/servers.py: permessage-deflate
as DETOUR_WS_PER_MESSAGE_DEFLATE says, off unless set).

    .venv/bin/python bench/fanout.py [--subscribers 1000,2000] [--events 50] [--interval-ms 100] [--servers relay,main,fanout]
        [--main-events 10] [--main-root /work/main] [--redis redis://127.0.0.1:6379/0] [--client-loop uvloop|asyncio]
        [--profile DIR]

The client (all N sockets in this one process, on the same 2 cores as the servers) runs on uvloop unless told
otherwise: with asyncio's own loop it spent about as much CPU reading the frames as both servers sending them.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from redis.asyncio import Redis  # noqa: E402
from sqlmodel import col, select  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from app import migrate  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.config import Settings  # noqa: E402
from app.delivery_exceptions.flows import ExceptionReport, add_exception_note, report_exception  # noqa: E402
from app.delivery_exceptions.models import EventType, ExceptionEvent, ExceptionKind  # noqa: E402
from app.tenants.models import Role, User  # noqa: E402
from app.bootstrap import running  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.realtime.servers import ApiProcess, api_processes  # noqa: E402

RESULTS = REPO / "bench" / "results" / "fanout.json"
SUBSCRIBE = (REPO / "graphql" / "dispatcher" / "ExceptionEvents.graphql").read_text()
SERVER_APPS = {"fanout": "app.main:create_app", "main": "app.main:create_app", "relay": "bench.fanout_relay:create_app"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _subscriber(process: ApiProcess, token: str, depot_id: int, after: int) -> ClientConnection:
    socket = await connect(process.ws_url, subprotocols=["graphql-transport-ws"], max_queue=None, open_timeout=60)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    variables = {"depotId": str(depot_id), "after": str(after)}
    await socket.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}}))
    return socket


EVENT_ID = '"type": "next", "payload": {"data": {"exceptionEvents": {"id": "'


async def _receive(socket: ClientConnection, into: list[tuple[int, float]]) -> None:
    async for raw in socket:
        received_at = time.time()
        at = raw.find(EVENT_ID)  # the client shares the 2 cores with the servers: read the id without decoding it all
        if at >= 0:
            start = at + len(EVENT_ID)
            into.append((int(raw[start:raw.index('"', start)]), received_at))
        elif (message := json.loads(raw)).get("type") == "next":
            into.append((int(message["payload"]["data"]["exceptionEvents"]["id"]), received_at))


async def _dispatchers(writer, tenant_id: int, count: int) -> list[User]:  # noqa: ANN001
    """`count` dispatchers of the tenant: a thousand people, not one token a thousand times."""
    async with writer.sessionmaker() as session, session.begin():
        users = [User(tenant_id=tenant_id, email=f"dispatcher-{n}@bench.test", name=f"Dispatcher {n}", role=Role.DISPATCHER) for n in range(count)]
        session.add_all(users)
    return users


def _relay_payload(event: ExceptionEvent, actor: User) -> str:
    """What the dispatcher document's `next` payload holds for the event, for the relay to send as is."""
    return json.dumps({"data": {"exceptionEvents": {
        "id": str(event.id), "type": event.type.value, "step": event.step.value, "occurredAt": event.occurred_at.isoformat(),
        "exceptionId": str(event.exception_id), "actorRole": event.actor_role, "actor": {"id": str(actor.id), "name": actor.name},
        "payload": event.payload,
    }}})


async def _write(writer, staff: Principal, exception_id: int, note: str, relay: Redis | None, prefix: str, actor: User) -> int:  # noqa: ANN001
    """Add a note (one committed event); returns the event's id."""
    await add_exception_note(writer, staff, exception_id=exception_id, note=note)
    async with writer.sessionmaker() as session:
        event = (await session.exec(
            select(ExceptionEvent).where(ExceptionEvent.exception_id == exception_id, ExceptionEvent.type == EventType.NOTE_ADDED)
            .order_by(col(ExceptionEvent.id).desc()).limit(1)
        )).one()
    if relay is not None:
        await relay.publish(prefix + "relay", _relay_payload(event, actor))
    return event.id


def _profilers(processes: list[ApiProcess], into: Path | None, label: str) -> list[subprocess.Popen]:
    """py-spy sampling each server while events are measured (collapsed stacks, one file per process)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if into is None:
        return []
    into.mkdir(parents=True, exist_ok=True)
    pids = {f"{label}-{n}": p.pid for n, p in enumerate(processes)} | {f"{label}-client": os.getpid()}  # and this bench's client
    return [subprocess.Popen([spy, "record", "--nonblocking", "--gil", "-r", "200", "-f", "raw", "-p", str(pid),
                              "-o", str(into / f"{name}.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


def _stop(profilers: list[subprocess.Popen]) -> None:
    for profiler in profilers:
        profiler.send_signal(2)  # py-spy writes its file on SIGINT
    for profiler in profilers:
        profiler.wait(30)


async def run_case(server: str, subscribers: int, events: int, interval_ms: float, redis_url: str, main_root: Path,
                   profile: Path | None = None) -> dict:
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
            tokens = [factory.token(user) for user in await _dispatchers(writer, fleet.tenant.id, subscribers)]
            relay = Redis.from_url(redis_url) if server == "relay" else None
            servers = {"root": main_root if server == "main" else REPO, "app": SERVER_APPS[server]}
            env = {"DETOUR_MAX_SOCKETS_PER_PROCESS": str(subscribers + 100)}
            with api_processes(2, database_url=database_url, broadcast_url=redis_url, prefix=prefix, extra_env=env, **servers) as processes:
                rss_before = sum(p.rss_bytes() for p in processes)
                sockets: list[ClientConnection] = []
                for start in range(0, subscribers, 50):  # open in batches: 2 cores serve both ends
                    sockets += await asyncio.gather(*(
                        _subscriber(processes[i % 2], tokens[i], fleet.depot.id, head) for i in range(start, min(start + 50, subscribers))
                    ))
                inboxes: list[list[tuple[int, float]]] = [[] for _ in sockets]
                readers = [asyncio.create_task(_receive(s, inbox)) for s, inbox in zip(sockets, inboxes, strict=True)]

                # warm-up: one event every subscriber must see, so all of them are live before measuring
                await _write(writer, staff, exc.id, "warm-up", relay, prefix, fleet.dispatcher)
                async with asyncio.timeout(180):
                    while any(not inbox for inbox in inboxes):
                        await asyncio.sleep(0.05)
                rss_after = sum(p.rss_bytes() for p in processes)

                await asyncio.sleep(1.0)  # let the warm-up settle before the CPU clock starts
                profilers = _profilers(processes, profile, f"{server}-{subscribers}")
                cpu_before = sum(p.cpu_seconds() for p in processes)
                started = time.monotonic()
                written: list[int] = []
                for n in range(events):
                    written.append(await _write(writer, staff, exc.id, f"bench {n}", relay, prefix, fleet.dispatcher))
                    await asyncio.sleep(interval_ms / 1000)
                write_seconds = time.monotonic() - started
                try:
                    async with asyncio.timeout(180):
                        while not all(inbox and inbox[-1][0] >= written[-1] for inbox in inboxes):
                            await asyncio.sleep(0.01)
                except TimeoutError:
                    pass
                drain_seconds = time.monotonic() - started
                cpu_seconds = sum(p.cpu_seconds() for p in processes) - cpu_before
                _stop(profilers)
                if relay is not None:
                    await relay.aclose()
                for task in readers:
                    task.cancel()
                await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)

            async with writer.sessionmaker() as session:
                occurred = {e.id: e.occurred_at.timestamp() for e in (await session.exec(select(ExceptionEvent).where(ExceptionEvent.id > head))).all()}
    finally:
        await drop_postgres_database(database_url)

    measured_ids = set(written)  # the bench's notes (not the warm-up, nor what the report's handlers add)
    latencies = [(at - occurred[i]) * 1000 for inbox in inboxes for i, at in inbox if i in measured_ids]
    delivered = sum(1 for inbox in inboxes for i, _ in inbox if i in measured_ids)
    by_event: dict[int, list[float]] = {}
    for inbox in inboxes:
        for i, at in inbox:
            if i in measured_ids:
                by_event.setdefault(i, []).append((at - occurred[i]) * 1000)
    in_order = all([i for i, _ in inbox] == sorted({i for i, _ in inbox}) for inbox in inboxes)
    return {
        "server": server, "subscribers": subscribers, "processes": 2, "document": "graphql/dispatcher/ExceptionEvents.graphql", "events": events, "interval_ms": interval_ms,
        "expected_deliveries": subscribers * events, "delivered": delivered, "all_delivered": delivered == subscribers * events,
        "in_order_no_duplicates": in_order,
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p99_ms": round(_percentile(latencies, 99), 1) if latencies else None,
        "latency_max_ms": round(max(latencies), 1) if latencies else None,
        "write_seconds": round(write_seconds, 2), "drain_seconds": round(drain_seconds, 2),
        "server_cpu_seconds": round(cpu_seconds, 2),
        "server_cpu_us_per_delivery": round(cpu_seconds / delivered * 1e6, 1) if delivered else None,
        "server_rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
        "memory_per_subscriber_kb": round((rss_after - rss_before) / subscribers / 1024, 1),
        # first and last receipt of each event, in write order: a stall of a whole process shows as one slow event
        "per_event_first_last_ms": [[round(min(by_event[i]), 1), round(max(by_event[i]), 1)] for i in written if i in by_event],
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="1000,2000")
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--main-events", type=int, default=10, help="events for `main`, whose backlog drains slowly")
    parser.add_argument("--interval-ms", type=float, default=100.0, help="pause between two writes")
    parser.add_argument("--servers", default="relay,main,fanout")
    parser.add_argument("--main-root", type=Path, default=Path("/work/main"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--results", default="fanout.json", help="file name under bench/results/")
    parser.add_argument("--client-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop of this bench's client of N sockets (it shares the 2 cores with the servers)")
    parser.add_argument("--profile", type=Path, default=None, help="sample the servers and the client with py-spy into this folder (skews CPU)")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    results = []
    for n in args.subscribers.split(","):
        for server in args.servers.split(","):
            events = args.main_events if server == "main" else args.events
            try:
                results.append(await run_case(server, int(n), events, args.interval_ms, args.redis, args.main_root, args.profile))
            except Exception as error:  # noqa: BLE001 - a server that cannot take the load is a result too
                results.append({"server": server, "subscribers": int(n), "events": events, "error": f"{error.__class__.__name__}: {error}"})
            print(_row(results[-1]), flush=True)
    relay_cpu = {r["subscribers"]: r["server_cpu_us_per_delivery"] for r in results if r["server"] == "relay" and "error" not in r}
    relay_p99 = {r["subscribers"]: r["latency_p99_ms"] for r in results if r["server"] == "relay" and "error" not in r}
    for r in results:
        if "error" in r:
            continue
        floor, p99_floor = relay_cpu.get(r["subscribers"]), relay_p99.get(r["subscribers"])
        r["cpu_ratio_to_relay"] = round(r["server_cpu_us_per_delivery"] / floor, 2) if floor and r["server_cpu_us_per_delivery"] else None
        r["p99_ratio_to_relay"] = round(r["latency_p99_ms"] / p99_floor, 2) if p99_floor and r["latency_p99_ms"] else None
    print()
    print(f"{'server':>7} {'subs':>5} {'events':>6} {'delivered':>15} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>9} {'drain s':>8} "
          f"{'CPU µs/deliv':>12} {'× relay':>8} {'p99 × relay':>11} {'KiB/sub':>8}")
    for r in results:
        print(_row(r))
    output = RESULTS.with_name(args.results)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"command": " ".join(["bench/fanout.py", *sys.argv[1:]]), "client_loop": args.client_loop,
                                  "results": results}, indent=2))
    print(f"wrote {output.relative_to(REPO)}")


def _row(r: dict) -> str:
    if "error" in r:
        return f"{r['server']:>7} {r['subscribers']:>5} {r['events']:>6}  failed: {r['error'][:80]}"
    return (f"{r['server']:>7} {r['subscribers']:>5} {r['events']:>6} {r['delivered']:>7}/{r['expected_deliveries']:<7} "
            f"{r['latency_p50_ms']!s:>8} {r['latency_p99_ms']!s:>8} {r['latency_max_ms']!s:>9} {r['drain_seconds']:>8} "
            f"{r['server_cpu_us_per_delivery']!s:>12} {r.get('cpu_ratio_to_relay')!s:>8} {r.get('p99_ratio_to_relay')!s:>11} "
            f"{r['memory_per_subscriber_kb']:>8}")


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.client_loop == "uvloop":  # the client reads N sockets in one process: the cheaper loop measures less of itself
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
