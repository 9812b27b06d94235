"""The access vault: seal/open cost, and revealAccessCode over HTTP with thousands of profiles in the tenant.

    .venv/bin/python bench/access_reveal.py [--requests 300] [--profiles 5000] [--database-url URL]

Each reveal stores nothing but an audit row; the driver sits 10 m from the door inside the window, so every
request runs every rule, links the stop to its profile among `--profiles` others and opens the secrets.
"""
import argparse
import asyncio
import base64
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.access.crypto import AccessSecrets, Vault, seal_secrets  # noqa: E402
from app.access.models import AccessProfile, ProvidedBy  # noqa: E402
from app.access.service import address_key  # noqa: E402
from app.auth.tokens import Claims, issue_token  # noqa: E402
from app.config import Settings  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.main import create_app  # noqa: E402
from app.routes.models import Route, RouteStatus, Stop  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.tenants.models import Depot, Role, Tenant, User  # noqa: E402
from app.tracking.models import DriverLastPosition  # noqa: E402
from bench.common import summary_ms, write_result  # noqa: E402

REVEAL = """
mutation Reveal($input: RevealAccessCodeInput!) { revealAccessCode(input: $input) { codes { gateCode } errors { code } } }
"""


def vault_costs(rounds: int = 20_000) -> dict[str, float]:
    """Microseconds per seal and per open of a typical profile's secrets."""
    vault = Vault([base64.urlsafe_b64encode(os.urandom(32)).decode()])
    secrets = AccessSecrets().replace(gate_code="4711#", entry_code="B-2468", instructions="Concierge desk, ring 12B")
    started = time.perf_counter()
    tokens = [seal_secrets(vault, secrets, tenant_id=1) for _ in range(rounds)]
    sealed = time.perf_counter() - started
    started = time.perf_counter()
    for token in tokens:
        vault.open(token, context="detour.access.v1.tenant.1")
    opened = time.perf_counter() - started
    return {"seal_us": round(sealed / rounds * 1e6, 2), "open_us": round(opened / rounds * 1e6, 2)}


async def prepare(runtime: Runtime, profiles: int) -> tuple[str, int, int, int]:
    """One driver at one stop, `profiles` building profiles around Amsterdam; returns (token, stop, driver, tenant ids)."""
    vault = Vault(runtime.settings.access_encryption_keys)
    rng = random.Random(5)
    now = datetime.now(UTC)
    async with runtime.sessionmaker() as session, session.begin():
        tenant = Tenant(slug=f"bench-{os.getpid()}-{rng.random()}", name="Bench")
        session.add(tenant)
        await session.flush()
        depot = Depot(tenant_id=tenant.id, name="Depot", lat=52.39, lon=4.84, timezone="UTC")
        driver = User(tenant_id=tenant.id, email="driver@bench.test", name="Driver", role=Role.DRIVER)
        customer = Customer(tenant_id=tenant.id, name="Customer")
        session.add_all([depot, driver, customer])
        await session.flush()
        route = Route(tenant_id=tenant.id, depot_id=depot.id, driver_id=driver.id, service_date=now.date(), status=RouteStatus.IN_PROGRESS)
        session.add(route)
        await session.flush()
        stop = Stop(tenant_id=tenant.id, route_id=route.id, sequence=1, customer_id=customer.id, address="Keizersgracht 1",
                    lat=52.37, lon=4.89, window_start=now - timedelta(hours=1), window_end=now + timedelta(hours=2))
        session.add(stop)
        rows = []
        for i in range(profiles):
            lat, lon = 52.30 + rng.random() * 0.15, 4.75 + rng.random() * 0.25
            secrets = AccessSecrets().replace(gate_code=f"{rng.randrange(10_000):04d}", entry_code=f"E{i}")
            rows.append(AccessProfile(
                tenant_id=tenant.id, label=f"Building {i}", address=f"Street {i}", address_key=address_key(f"Street {i}"),
                lat=lat, lon=lon, provided_by=ProvidedBy.PROPERTY_MANAGER, has_gate_code=True, has_entry_code=True,
                secrets_sealed=seal_secrets(vault, secrets, tenant_id=tenant.id),
            ))
        secrets = AccessSecrets().replace(gate_code="4711", entry_code="B-2468")
        rows.append(AccessProfile(
            tenant_id=tenant.id, label="The building", address=stop.address, address_key=address_key(stop.address), lat=stop.lat,
            lon=stop.lon, provided_by=ProvidedBy.PROPERTY_MANAGER, has_gate_code=True, has_entry_code=True,
            secrets_sealed=seal_secrets(vault, secrets, tenant_id=tenant.id),
        ))
        session.add_all(rows)
        await session.flush()
    token = issue_token(runtime.settings, Claims(user_id=driver.id, tenant_id=tenant.id, role=Role.DRIVER), ttl_seconds=3600)
    return token, stop.id, driver.id, tenant.id


async def run(url: str, requests: int, profiles: int) -> dict:
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(database_url=url, log_level="WARNING", access_refusal_limit=10**6)
    runtime = bootstrap(settings)
    await runtime.start()
    try:
        token, stop_id, driver_id, tenant_id = await prepare(runtime, profiles)
        statements: list[str] = []
        counting = [False]
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", lambda *a: counting[0] and statements.append(a[2]))
        samples = []
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(requests + 20):
                if i % 50 == 0:  # keep the GPS fix fresh, as the phone would
                    async with runtime.sessionmaker() as session, session.begin():
                        await session.merge(DriverLastPosition(driver_id=driver_id, tenant_id=tenant_id, recorded_at=datetime.now(UTC), lat=52.37009, lon=4.89))
                counting[0] = i == requests + 19
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": REVEAL, "variables": {"input": {"stopId": str(stop_id)}}})
                elapsed = time.perf_counter() - started
                body = response.json()
                assert body["data"]["revealAccessCode"]["codes"]["gateCode"] == "4711", body
                if i >= 20:
                    samples.append(elapsed)
        return {"sql_statements": len(statements), **summary_ms(samples)}
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profiles", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='detour-bench-')}/bench.db"
    costs = vault_costs()
    stats = asyncio.run(run(url, args.requests, args.profiles))
    backend = url.split(":", 1)[0]
    print(f"{'seal µs':>9}{'open µs':>9}")
    print(f"{costs['seal_us']:>9}{costs['open_us']:>9}")
    print(f"{'backend':<22}{'profiles':>9}{'SQL/reveal':>12}{'n':>6}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    print(f"{backend:<22}{args.profiles:>9}{stats['sql_statements']:>12}{stats['n']:>6}{stats['p50_ms']:>9}{stats['p90_ms']:>9}{stats['p99_ms']:>9}")
    path = write_result(f"access_reveal_{backend.split('+')[0]}", {"backend": backend, "profiles": args.profiles, **costs, **stats})
    print(f"written {path}")


if __name__ == "__main__":
    main()
