"""myRoute for a 40-stop demo route over real HTTP: latency percentiles and SQL statements per request.

    .venv/bin/python bench/my_route.py [--requests 300] [--database-url URL]
"""
import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate  # noqa: E402
from app.auth.tokens import Claims, issue_token  # noqa: E402
from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.seed import seed_demo  # noqa: E402
from app.tenants.models import Role, User  # noqa: E402
from bench.common import free_port, start_server, summary_ms, write_result  # noqa: E402

QUERY = (Path(__file__).resolve().parents[1] / "graphql" / "driver" / "MyRoute.graphql").read_text()


async def prepare(url: str) -> tuple[str, int]:
    """Migrate, seed the demo tenant; the first driver's token (valid an hour) and the statements one warm myRoute
    takes in-process (after a first request has filled the caches)."""
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(database_url=url)
    runtime = bootstrap(settings)
    await runtime.start()
    try:
        async with runtime.sessionmaker() as session, session.begin():
            await seed_demo(session, now=runtime.clock.now())
        async with runtime.sessionmaker() as session:
            driver = (await session.exec(select(User).where(User.role == Role.DRIVER).order_by(User.id))).first()
        token = issue_token(settings, Claims(user_id=driver.id, tenant_id=driver.tenant_id, role=driver.role), ttl_seconds=3600)
        statements: list[str] = []
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://bench") as client:
            await client.post("/graphql", json={"query": QUERY}, headers=headers)
            event.listen(runtime.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            result = (await client.post("/graphql", json={"query": QUERY}, headers=headers)).json()
        assert len(result["data"]["myRoute"]["stops"]) == 40, result
        return token, len(statements)
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="detour-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    token, statements = asyncio.run(prepare(url))
    port = free_port()
    server = start_server({"DETOUR_DATABASE_URL": url, "DETOUR_LOG_LEVEL": "WARNING"}, port)
    try:
        samples = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(args.requests + 20):
                started = time.perf_counter()
                response = client.post("/graphql", json={"query": QUERY, "operationName": "MyRoute"})
                elapsed = time.perf_counter() - started
                assert response.status_code == 200 and "errors" not in response.json(), response.text
                if i >= 20:  # warm-up: parser/validation caches, connection pool
                    samples.append(elapsed)
    finally:
        server.terminate()
        server.wait()
    stats = summary_ms(samples)
    backend = url.split(":", 1)[0]
    print(f"{'backend':<22}{'stops':>6}{'SQL/request':>13}{'n':>6}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    print(f"{backend:<22}{40:>6}{statements:>13}{stats['n']:>6}{stats['p50_ms']:>9}{stats['p90_ms']:>9}{stats['p99_ms']:>9}")
    path = write_result(f"my_route_{backend.split('+')[0]}", {"backend": backend, "stops": 40, "sql_statements": statements, **stats})
    print(f"written {path}")


if __name__ == "__main__":
    os.environ.setdefault("DETOUR_LOG_LEVEL", "WARNING")
    main()
