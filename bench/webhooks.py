"""Webhook deliveries per second with 1 and 2 `detour worker` processes, and commit → receiver latency, on PostgreSQL.

    .venv/bin/python bench/webhooks.py [--messages 400] [--events 40] [--database-url URL]

Throughput: the worker processes start idle; N messages (one delivery each) are committed in one transaction;
the clock runs from that commit to the last signed POST received by a local receiver (which verifies every
signature with the standardwebhooks package). Latency: a dispatcher loop in this process, woken by the
commit's notice: from the commit of one message to its arrival at the receiver.
"""
import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.config import Settings  # noqa: E402
from app.integrations import webhooks  # noqa: E402
from app.integrations.catalogue import WEBHOOK_CHANNEL  # noqa: E402
from app.integrations.dispatcher import run_forever  # noqa: E402
from app.realtime.bus import Notice  # noqa: E402
from app.vault import vault_for  # noqa: E402
from app.runtime import Runtime, unit_of_work  # noqa: E402
from bench.common import summary_ms, write_result  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.integrations.receiver import Receiver  # noqa: E402


async def enqueue(runtime: Runtime, tenant_id: int, count: int, tag: str) -> None:
    async with unit_of_work(runtime) as uow:
        for i in range(count):
            await webhooks.enqueue(session=uow.session, tenant_id=tenant_id, event_type="exception.reported", data={"n": i},
                                   source_key=f"bench:{tag}:{i}", occurred_at=uow.clock.now())
        uow.notify(Notice(WEBHOOK_CHANNEL, {"bench": tag}))


async def throughput(runtime: Runtime, receiver: Receiver, env: dict[str, str], tenant_id: int, workers: int, messages: int) -> dict:
    processes = [subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(workers)]
    try:
        await asyncio.sleep(3.0)  # let the processes import and connect before the clock starts
        receiver.received.clear()
        await enqueue(runtime, tenant_id, messages, f"tp{workers}")
        committed = time.perf_counter()
        deadline = committed + 300
        while len(receiver.received) < messages and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        got = list(receiver.received)
        ids = {r.headers["webhook-id"] for r in got}
        assert len(got) == messages == len(ids), f"{len(got)} requests for {messages} messages"
        assert all(all(r.verified.values()) for r in got), "a signature did not verify"
        elapsed = max(r.at for r in got) - committed
        return {"workers": workers, "deliveries": messages, "seconds": round(elapsed, 3), "deliveries_per_s": round(messages / elapsed, 1)}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def latency(runtime: Runtime, receiver: Receiver, tenant_id: int, events: int) -> dict:
    stop = asyncio.Event()
    loop = asyncio.create_task(run_forever(runtime, stop))
    await asyncio.sleep(0.5)
    samples = []
    try:
        for i in range(events):
            receiver.received.clear()
            await enqueue(runtime, tenant_id, 1, f"lat{i}")
            committed = time.perf_counter()
            while not receiver.received:
                await asyncio.sleep(0.0005)
            samples.append(receiver.received[0].at - committed)
    finally:
        stop.set()
        await loop
    return summary_ms(samples)


async def main(args: argparse.Namespace) -> None:
    url = args.database_url or await create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    receiver = Receiver().start()
    env = {"DETOUR_DATABASE_URL": url, "DETOUR_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true", "DETOUR_WORKER_POLL_SECONDS": "0.05",
           "DETOUR_LOG_LEVEL": "WARNING", "DETOUR_WEBHOOK_BATCH_SIZE": "50"}
    runtime = bootstrap(Settings(**{k.removeprefix("DETOUR_").lower(): v for k, v in env.items()}))
    await runtime.start()
    try:
        fleet = await Factory(runtime).fleet(stops=1, slug=f"bench-{int(time.time())}")
        async with unit_of_work(runtime) as uow:
            _, secret = await webhooks.create_endpoint(session=uow.session, vault=vault_for(runtime.settings), tenant_id=fleet.tenant.id,
                                                       url=receiver.url, event_types=[], description="bench", allow_private=True)
        receiver.secrets.append(secret)
        rows = [await throughput(runtime, receiver, env, fleet.tenant.id, workers, args.messages) for workers in (1, 2)]
        lat = await latency(runtime, receiver, fleet.tenant.id, args.events)
    finally:
        await runtime.stop()
        receiver.stop()
        if not args.database_url:
            await drop_postgres_database(url)
    backend = url.split(":")[0].split("+")[0]
    print(f"webhook benchmark on {backend} ({os.cpu_count()} cores), signed POSTs → local receiver (standardwebhooks verifier)")
    print(f"{'workers':>8} {'deliveries':>11} {'seconds':>8} {'deliv/s':>8}")
    for row in rows:
        print(f"{row['workers']:>8} {row['deliveries']:>11} {row['seconds']:>8} {row['deliveries_per_s']:>8}")
    print(f"commit → receiver (dispatcher loop woken by the commit, n={lat['n']}): "
          f"p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, p99 {lat['p99_ms']} ms")
    print(f"written to {write_result(f'webhooks_{backend}', {'backend': backend, 'throughput': rows, 'commit_to_receiver_latency': lat})}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))
