"""The onboarding story from the README: an empty database to a driver seeing their imported route."""
import asyncio
import csv
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.bootstrap import bootstrap
from app.cli import main
from app.config import Settings, get_settings
from app.realtime.models import RouteEvent
from app.routes.models import Route, Stop
from tests.conftest import client_for
from tests.factories import gql
from tests.oidc_issuer import local_issuer

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "routes.csv"
SERVICE_DAY = "2026-12-02"
MY_ROUTE = (Path(__file__).resolve().parents[2] / "graphql" / "driver" / "MyRoute.graphql").read_text()


@pytest.fixture
def issuer():
    with local_issuer() as running:
        yield running


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path / 'fleet.db'}"
    monkeypatch.setenv("DETOUR_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


async def detour(*argv: str) -> int:
    """The CLI as an operator runs it (it starts its own event loop, so off this one)."""
    return await asyncio.to_thread(main, list(argv))


async def import_file(path: Path) -> int:
    return await detour("import", "routes", str(path), "--tenant", "acme", "--date", SERVICE_DAY, "--depot", "ams-w")


async def counts(url: str) -> tuple[int, int, int]:
    runtime = bootstrap(Settings(database_url=url))
    try:
        async with runtime.sessionmaker() as session:
            stops = (await session.exec(select(func.count()).select_from(Stop))).one()
            versions = (await session.exec(select(func.sum(Route.version)))).one()
            events = (await session.exec(select(func.count()).select_from(RouteEvent))).one()
        return stops, versions, events
    finally:
        await runtime.engine.dispose()


async def test_a_new_fleet_onboards_from_an_empty_database(database, issuer, tmp_path, capsys):
    # given an empty database and the fleet's people created with the CLI, as the README says
    assert await detour("migrate") == 0
    assert await detour("tenant", "create", "--slug", "acme", "--name", "Acme Parcels", "--timezone", "Europe/Amsterdam",
                  "--oidc-issuer", issuer.issuer, "--oidc-audience", "detour-acme") == 0
    assert await detour("depot", "create", "--tenant", "acme", "--ref", "ams-w", "--name", "Amsterdam West", "--lat", "52.37", "--lon", "4.85") == 0
    for n in (1, 2, 3):
        assert await detour("user", "create", "--tenant", "acme", "--role", "driver", "--email", f"d{n}@acme.test",
                      "--name", f"Driver {n}", "--ref", f"drv-00{n}", "--depot", "ams-w") == 0
    assert await detour("user", "create", "--tenant", "acme", "--role", "dispatcher", "--email", "disp@acme.test",
                  "--name", "Dispatch", "--ref", "disp-1", "--depot", "ams-w") == 0
    for van in ("van-01", "van-02"):
        assert await detour("vehicle", "create", "--tenant", "acme", "--depot", "ams-w", "--ref", van, "--label", van) == 0

    # when the sample CSV is imported
    assert await import_file(SAMPLE) == 0
    first = capsys.readouterr().out
    assert "routes            3" in first and "stops            12" in first

    # then the driver, signed in with a token from the fleet's own issuer, sees the imported stops in order
    runtime = bootstrap(Settings(database_url=database))
    try:
        async with client_for(runtime) as client:
            token = issuer.token(audience="detour-acme", sub="drv-001")
            result = await gql(client, MY_ROUTE, {"date": SERVICE_DAY}, token=token)
            stranger = await gql(client, MY_ROUTE, {"date": SERVICE_DAY}, token=issuer.token(audience="detour-acme", sub="nobody"))
    finally:
        await runtime.engine.dispose()
    rows = [r for r in csv.DictReader(SAMPLE.read_text().splitlines()) if r["driver_ref"] == "drv-001"]
    route = result["data"]["myRoute"]
    assert [s["address"] for s in route["stops"]] == [r["address"] for r in rows]
    assert route["serviceDate"] == SERVICE_DAY and route["version"] == 1
    assert route["stops"][0]["customer"]["phone"] == rows[0]["customer_phone"]
    assert stranger["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "no active Detour account" in stranger["errors"][0]["message"]

    # when the same file is imported again, nothing changes
    before = await counts(database)
    assert await import_file(SAMPLE) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert await counts(database) == before

    # when a file with bad rows is imported, it is refused whole and every bad row is named
    lines = SAMPLE.read_text().splitlines()
    lines[3] = lines[3].replace("+31612345602", "12345")  # row 4: a phone that is no number
    lines[6] = lines[6].replace("10:00,12:00", "12:00,10:00")  # row 7: a window ending before it starts
    lines[9] = lines[9].replace('"Utrechtsestraat 9, Amsterdam"', '""')  # row 10: no address
    lines.append(lines[1].replace("AMS-A-01", "AMS-A-99"))  # row 14: a parcel barcode already in row 2
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    assert await import_file(bad) == 1
    refused = capsys.readouterr().err
    assert "nothing was written" in refused
    for named in ("row 4: customer.phone: INVALID", "row 7: timeWindow: INVALID", "row 10: address: REQUIRED", "row 14: parcels.barcode: DUPLICATE_REF"):
        assert named in refused, refused
    assert await counts(database) == before
