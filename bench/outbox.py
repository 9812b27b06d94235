"""Outbox throughput to a local Twilio (1 and 2 `detour worker` processes) and reportException → SMS latency.

    .venv/bin/python bench/outbox.py [--messages 400] [--reports 40] [--database-url URL]

Throughput: the worker processes start idle; N rows are committed in one transaction; the clock runs from that
commit to the last Messages.json request received by the local Twilio server (the real twilio SDK on the wire).
Baseline, in the same run: the twilio SDK alone (the worker's own `TwilioSms` sender, no database) sending the same
number of messages from this process, as many at a time as its thread pool runs; each worker row is also given as a
share of it.
CPU per message, which the machine's load does not skew: process CPU time of the same process sending N messages with
the SDK alone and then through an in-process worker (the local Twilio server's threads included in both).
Latency: the embedded setup (worker loop in the API process, woken by the commit's notice): from the
reportException commit to the moment the SMS request reaches the local Twilio server.
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.config import Settings  # noqa: E402
from app.delivery_exceptions.flows import ExceptionReport, report_exception  # noqa: E402
from app.delivery_exceptions.models import ExceptionKind  # noqa: E402
from app.outreach.channels import OutboundMessage, TwilioSms  # noqa: E402
from app.outreach.models import Notification, NotificationChannel  # noqa: E402
from app.outreach.worker import OutboxWorker  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from bench.common import summary_ms, write_result  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.outreach.fakes import FakeTwilio  # noqa: E402

ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
AUTH_TOKEN = "bench-twilio-auth-token-0123456789"  # noqa: S105 - a local test value


def outreach_env(url: str, twilio: FakeTwilio) -> dict[str, str]:
    return {
        "DETOUR_DATABASE_URL": url, "DETOUR_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "DETOUR_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "DETOUR_TWILIO_FROM_NUMBER": "+3197010000001", "DETOUR_TWILIO_API_BASE_URL": twilio.base_url,
        "DETOUR_WORKER_POLL_SECONDS": "0.05", "DETOUR_LOG_LEVEL": "WARNING", "DETOUR_OUTBOX_BATCH_SIZE": "20",
    }


async def throughput(runtime: Runtime, twilio: FakeTwilio, env: dict[str, str], tenant_id: int, workers: int, messages: int) -> dict:
    logs = Path(tempfile.mkdtemp(prefix="detour-outbox-workers-"))
    processes = [  # stderr to a file: a pipe nobody reads would stall a worker once it fills
        subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env={**os.environ, **env},
                         stdout=subprocess.DEVNULL, stderr=(logs / f"worker-{n}.log").open("w"))
        for n in range(workers)
    ]
    try:
        await asyncio.sleep(3.0)  # let the processes import and connect before the clock starts
        twilio.requests.clear()
        async with runtime.sessionmaker() as session, session.begin():
            session.add_all([
                Notification(tenant_id=tenant_id, channel=NotificationChannel.SMS, recipient=f"+316{workers}{i:07d}",  # per run: a lookup never finds another run's message
                             body=f"bench message {i}", purpose="bench", idempotency_key=f"bench-{workers}-{i}")
                for i in range(messages)
            ])
        committed = time.perf_counter()
        deadline = committed + 300
        while len(twilio.messages) < messages and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        sent = twilio.messages
        assert sent, f"no message sent in 300 s; worker logs in {logs}"
        elapsed = max(r.at for r in sent) - committed
        bodies = [r.form["Body"] for r in sent]
        assert len(bodies) == messages == len(set(bodies)), f"{len(bodies)} requests for {messages} messages"
        return {"workers": workers, "messages": messages, "seconds": round(elapsed, 3), "messages_per_s": round(messages / elapsed, 1)}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def sdk_alone(settings: Settings, twilio: FakeTwilio, messages: int) -> dict:
    """The ceiling: the same SDK client sending straight to the local Twilio, no outbox around it."""
    sender = TwilioSms(settings)
    try:
        twilio.requests.clear()
        started = time.perf_counter()
        await asyncio.gather(*(sender.send(OutboundMessage(
            notification_id=i, idempotency_key=f"sdk-{i}", channel=NotificationChannel.SMS, recipient=f"+317{i:08d}",
            body=f"sdk message {i}", title="", template=f"sdk message {i}",
        )) for i in range(messages)))
        elapsed = max(r.at for r in twilio.messages) - started
    finally:
        await sender.aclose()
    assert len(twilio.messages) == messages
    return {"workers": "sdk alone", "messages": messages, "seconds": round(elapsed, 3), "messages_per_s": round(messages / elapsed, 1)}


async def cpu_per_message(runtime: Runtime, settings: Settings, twilio: FakeTwilio, tenant_id: int, messages: int) -> dict:
    """Milliseconds of this process's CPU per message: the SDK alone, then the outbox worker in-process."""
    started = time.process_time()
    await sdk_alone(settings, twilio, messages)
    sdk = (time.process_time() - started) / messages * 1000
    async with runtime.sessionmaker() as session, session.begin():
        session.add_all([
            Notification(tenant_id=tenant_id, channel=NotificationChannel.SMS, recipient=f"+319{i:08d}",
                         body=f"cpu message {i}", purpose="bench", idempotency_key=f"bench-cpu-{i}")
            for i in range(messages)
        ])
    worker = OutboxWorker(runtime)
    started = time.process_time()
    try:
        while await worker.run_once():
            pass
    finally:
        for sender in worker.senders.values():
            await sender.aclose()
    outbox = (time.process_time() - started) / messages * 1000
    return {"sdk_alone_cpu_ms": round(sdk, 2), "outbox_worker_cpu_ms": round(outbox, 2), "ratio": round(outbox / sdk, 2)}


async def latency(runtime: Runtime, twilio: FakeTwilio, reports: int) -> dict:
    factory = Factory(runtime)
    fleet = await factory.fleet(stops=reports)
    driver = Principal(user_id=fleet.driver.id, tenant_id=fleet.tenant.id, role=fleet.driver.role, scopes=frozenset())
    stop = asyncio.Event()
    worker = asyncio.create_task(OutboxWorker(runtime).run_forever(stop))
    await asyncio.sleep(0.5)
    samples = []
    try:
        for i, target in enumerate(fleet.stops):
            twilio.requests.clear()
            await report_exception(runtime, driver, ExceptionReport(
                stop_id=target.id, kind=ExceptionKind.CUSTOMER_ABSENT, reason_code="NO_ANSWER", description="", idempotency_key=f"bench-{i}",
            ))
            committed = time.perf_counter()
            while not twilio.messages:
                await asyncio.sleep(0.0005)
            samples.append(twilio.messages[0].at - committed)
    finally:
        stop.set()
        await worker
    return summary_ms(samples)


async def main(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='detour-outbox-')}/bench.db"
    await asyncio.to_thread(migrate.upgrade, url)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    env = outreach_env(url, twilio)
    settings = Settings(**{k.removeprefix("DETOUR_").lower(): v for k, v in env.items()})
    runtime = bootstrap(settings)
    await runtime.start()
    try:
        fleet = await Factory(runtime).fleet(stops=1, slug=f"bench-{int(time.time())}")
        baseline = await sdk_alone(settings, twilio, args.messages)
        rows = [await throughput(runtime, twilio, env, fleet.tenant.id, workers, args.messages) for workers in (1, 2)]
        rows = [baseline, *rows]
        for row in rows:
            row["share_of_sdk"] = round(row["messages_per_s"] / baseline["messages_per_s"], 2)
        cpu = await cpu_per_message(runtime, settings, twilio, fleet.tenant.id, args.messages)
        lat = await latency(runtime, twilio, args.reports)
    finally:
        await runtime.stop()
        twilio.stop()
    backend = url.split(":")[0].split("+")[0]
    print(f"outbox benchmark on {backend} ({os.cpu_count()} cores), real twilio SDK → local Twilio server")
    print(f"{'workers':>10} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'× sdk':>6}")
    for row in rows:
        print(f"{row['workers']:>10} {row['messages']:>9} {row['seconds']:>8} {row['messages_per_s']:>8} {row['share_of_sdk']:>6}")
    print(f"CPU per message in one process: SDK alone {cpu['sdk_alone_cpu_ms']} ms, outbox worker {cpu['outbox_worker_cpu_ms']} ms "
          f"({cpu['ratio']} ×)")
    print(f"reportException commit → SMS on the wire (embedded worker, n={lat['n']}): "
          f"p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, p99 {lat['p99_ms']} ms")
    path = write_result(f"outbox_{backend}", {"backend": backend, "throughput": rows, "cpu_per_message": cpu, "report_to_sms_latency": lat})
    print(f"written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))
