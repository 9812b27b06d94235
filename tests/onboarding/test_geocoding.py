"""Stops sent with an address only are geocoded through a Nominatim-compatible server (a local one here)."""
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from sqlmodel import select

from app.customers.service import CustomerData
from app.geocoding.nominatim import NominatimGeocoder
from app.planning.imports import import_route_plan
from app.planning.plan import PlanRejected, PlanRoute, PlanStop, RoutePlan
from app.routes.models import Stop
from app.runtime import unit_of_work
from app.tenants.models import Depot

KNOWN = {"Dam 1, Amsterdam": ("52.3731", "4.8926")}


@contextmanager
def nominatim() -> Iterator[tuple[str, list[dict]]]:
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            requests.append({"path": url.path, **query, "agent": self.headers.get("User-Agent")})
            found = KNOWN.get(query.get("q", ""))
            body = json.dumps([{"lat": found[0], "lon": found[1], "display_name": query["q"]}] if found else []).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def plan(*addresses: str) -> RoutePlan:
    nine = datetime(2026, 12, 4, 9, tzinfo=timezone.utc)
    stops = [PlanStop(external_ref=f"g-{i}", address=a, window_start=nine, window_end=nine + timedelta(hours=2),
                      customer=CustomerData(external_ref=f"gc-{i}", name="Geo"), path=f"routes[0].stops[{i}]")
             for i, a in enumerate(addresses)]
    return RoutePlan(service_date=date(2026, 12, 4), depot_ref="geo-depot", routes=[PlanRoute(external_ref="G", stops=stops, path="routes[0]")])


async def depot_ref(factory, fleet) -> None:  # noqa: ANN001
    async with unit_of_work(factory.runtime) as uow:
        depot = await uow.session.get(Depot, fleet.depot.id)
        depot.external_ref = "geo-depot"
        uow.session.add(depot)


async def test_an_address_without_coordinates_is_geocoded(factory):
    # given a runtime with a Nominatim-compatible geocoder
    fleet = await factory.fleet(stops=0)
    await depot_ref(factory, fleet)
    with nominatim() as (url, requests):
        runtime = replace(factory.runtime, geocoder=NominatimGeocoder(url, user_agent="detour-test"))

        # when a stop arrives with an address only
        summary = await import_route_plan(runtime, tenant_id=fleet.tenant.id, plan=plan("Dam 1, Amsterdam"))

    # then it is stored at the geocoder's coordinates, asked for once with a User-Agent
    async with factory.runtime.sessionmaker() as session:
        stop = (await session.exec(select(Stop).where(Stop.external_ref == "g-0"))).one()
    assert summary.stops_created == 1 and (stop.lat, stop.lon) == (52.3731, 4.8926)
    assert requests == [{"path": "/search", "q": "Dam 1, Amsterdam", "format": "jsonv2", "limit": "1", "agent": "detour-test"}]


async def test_unknown_addresses_and_a_missing_geocoder_are_row_errors(factory):
    # given a plan with one known and one unknown address
    fleet = await factory.fleet(stops=0)
    await depot_ref(factory, fleet)
    with nominatim() as (url, _):
        runtime = replace(factory.runtime, geocoder=NominatimGeocoder(url, user_agent="detour-test"))

        # when it is imported with the geocoder, and without one
        try:
            await import_route_plan(runtime, tenant_id=fleet.tenant.id, plan=plan("Dam 1, Amsterdam", "Nowhere 99"))
        except PlanRejected as rejected:
            with_geocoder = [(e.path, e.field, e.code.value) for e in rejected.errors]
    try:
        await import_route_plan(replace(factory.runtime, geocoder=None), tenant_id=fleet.tenant.id, plan=plan("Dam 1, Amsterdam"))
    except PlanRejected as rejected:
        without = [(e.path, e.field, e.code.value) for e in rejected.errors]

    # then the unknown address, and every address without a geocoder, is a typed error for its row
    assert with_geocoder == [("routes[0].stops[1]", "address", "NO_COORDINATES")]
    assert without == [("routes[0].stops[0]", "lat", "NO_COORDINATES")]
