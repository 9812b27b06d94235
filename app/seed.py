"""A realistic demo tenant: one depot, three drivers with ~40-stop routes today, customers, parcels, open exceptions."""
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.principal import Principal
from app.customers.models import Customer
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import ExceptionKind
from app.geo import haversine_km
from app.routes.models import AttemptOutcome, DeliveryAttempt, Parcel, Route, RouteStatus, Stop, StopStatus, Vehicle
from app.tenants.models import Depot, Role, Tenant, User, UserDepot

DEMO_SLUG = "demo"
DEPOT = {"name": "Amsterdam Sloterdijk", "address": "Transformatorweg 20, 1014 AK Amsterdam", "lat": 52.3889, "lon": 4.8371, "timezone": "Europe/Amsterdam"}
STREETS = ["Prinsengracht", "Keizersgracht", "Herengracht", "Overtoom", "De Clercqstraat", "Kinkerstraat", "Jan Pieter Heijestraat",
           "Bilderdijkstraat", "Admiraal de Ruijterweg", "Postjesweg", "Hoofdweg", "Bos en Lommerweg", "Haarlemmerweg", "Westerstraat"]
FIRST = ["Sanne", "Daan", "Emma", "Lars", "Noor", "Bram", "Julia", "Thijs", "Fleur", "Sem", "Lotte", "Finn", "Eva", "Ruben", "Anouk", "Jesse"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks"]
OPEN_EXCEPTIONS = [
    (ExceptionKind.CUSTOMER_ABSENT, "NO_ANSWER", "Rang twice, nobody home."),
    (ExceptionKind.ACCESS_DENIED, "GATE_CLOSED", "Courtyard gate closed, intercom does not answer."),
    (ExceptionKind.ADDRESS_PROBLEM, "ADDRESS_INCOMPLETE", "No house number suffix; three doors at this number."),
    (ExceptionKind.DELAYED, "TRAFFIC", "A10 closed at Coenplein, running 25 minutes late."),
]
STOPS_PER_ROUTE = 40
SHIFT_MINUTES_BEFORE_NOW = 50
DRIVERS = 3


def _order_by_nearest(depot: tuple[float, float], points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    ordered, here, left = [], depot, points[:]
    while left:
        nearest = min(left, key=lambda p: haversine_km(here[0], here[1], p[0], p[1]))
        left.remove(nearest)
        ordered.append(nearest)
        here = nearest
    return ordered


async def demo_exists(session: AsyncSession) -> bool:
    return (await session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG))).first() is not None


def shift_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The demo shift began about fifty minutes ago (the sixth stop just done), whatever the hour: windows lie ahead."""
    local = now.astimezone(tz).replace(second=0, microsecond=0)
    return local - timedelta(minutes=SHIFT_MINUTES_BEFORE_NOW)


async def seed_demo(session: AsyncSession, *, now: datetime, rng_seed: int = 7) -> Tenant:
    """Create the demo tenant around `now` (the caller commits); refuses to run twice."""
    if await demo_exists(session):
        raise ValueError("the demo tenant already exists")
    rng = random.Random(rng_seed)
    tz = ZoneInfo(DEPOT["timezone"])
    start = shift_start(now, tz)
    today = now.astimezone(tz).date()
    tenant = Tenant(slug=DEMO_SLUG, name="Demo Parcel Co.")
    session.add(tenant)
    await session.flush()
    depot = Depot(tenant_id=tenant.id, **DEPOT)
    session.add(depot)
    await session.flush()
    staff = [
        User(tenant_id=tenant.id, email="dispatcher@demo.detour.dev", name="Dana Dispatcher", role=Role.DISPATCHER),
        User(tenant_id=tenant.id, email="supervisor@demo.detour.dev", name="Sam Supervisor", role=Role.SUPERVISOR),
        User(tenant_id=tenant.id, email="integrator@demo.detour.dev", name="WMS Integration", role=Role.INTEGRATOR),
    ]
    drivers = [
        User(tenant_id=tenant.id, email=f"driver{i}@demo.detour.dev", name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", role=Role.DRIVER, phone=f"+316{20000000 + i:08d}")
        for i in range(1, DRIVERS + 1)
    ]
    session.add_all(staff + drivers)
    await session.flush()
    session.add_all([UserDepot(user_id=u.id, depot_id=depot.id) for u in [staff[0], *drivers]])
    for index, driver in enumerate(drivers):
        vehicle = Vehicle(tenant_id=tenant.id, depot_id=depot.id, label=f"VAN-{index + 1:02d}", capacity=160)
        session.add(vehicle)
        await session.flush()
        route = Route(tenant_id=tenant.id, depot_id=depot.id, driver_id=driver.id, vehicle_id=vehicle.id, service_date=today, status=RouteStatus.IN_PROGRESS)
        session.add(route)
        await session.flush()
        await _seed_stops(session, rng, tenant, depot, route, driver, tz, start, sector=index)
    return tenant


async def _seed_stops(
    session: AsyncSession, rng: random.Random, tenant: Tenant, depot: Depot, route: Route, driver: User, tz: ZoneInfo, start: datetime, sector: int
) -> None:
    centre = (52.372 - 0.012 * sector, 4.86 + 0.02 * sector)
    points = _order_by_nearest((depot.lat, depot.lon), [(centre[0] + rng.uniform(-0.02, 0.02), centre[1] + rng.uniform(-0.03, 0.03)) for _ in range(STOPS_PER_ROUTE)])
    clock = start
    here = (depot.lat, depot.lon)
    stops: list[Stop] = []
    for sequence, (lat, lon) in enumerate(points, start=1):
        clock += timedelta(minutes=3 + haversine_km(here[0], here[1], lat, lon) / 25 * 60)
        here = (lat, lon)
        slot_start = clock.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1 if clock.minute < 30 else 0)
        customer = Customer(
            tenant_id=tenant.id, name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", phone=f"+316{rng.randint(10000000, 59999999)}",
            email=None, language=rng.choice(["nl", "nl", "en"]), timezone=tz.key, preferred_channels=rng.choice([["SMS"], ["PUSH", "SMS"]]),
            delivery_instructions=rng.choice(["", "", "Ring twice", "Leave with neighbour at 2-hoog if absent", "Side entrance"]),
        )
        session.add(customer)
        await session.flush()
        stop = Stop(
            tenant_id=tenant.id, route_id=route.id, sequence=sequence, customer_id=customer.id,
            address=f"{rng.choice(STREETS)} {rng.randint(1, 420)}, Amsterdam", lat=lat, lon=lon,
            window_start=slot_start, window_end=slot_start + timedelta(hours=2), planned_eta=clock, service_seconds=180,
        )
        session.add(stop)
        stops.append(stop)
        clock += timedelta(minutes=3)
    await session.flush()
    for stop in stops:
        session.add_all([
            Parcel(tenant_id=tenant.id, stop_id=stop.id, barcode=f"DT{stop.id:05d}{n}", declared_value_cents=rng.choice([1500, 2999, 4900, 12900, 45000]),
                   signature_required=rng.random() < 0.1)
            for n in range(rng.randint(1, 3))
        ])
    delivered = stops[:6]
    for stop in delivered:
        stop.status, stop.attempts = StopStatus.DELIVERED, 1
        session.add(DeliveryAttempt(tenant_id=tenant.id, stop_id=stop.id, driver_id=driver.id, attempt_number=1, outcome=AttemptOutcome.DELIVERED,
                                    attempted_at=stop.planned_eta, lat=stop.lat, lon=stop.lon))
    principal = Principal(user_id=driver.id, tenant_id=tenant.id, role=Role.DRIVER, scopes=frozenset())
    for offset, (kind, reason, description) in enumerate(OPEN_EXCEPTIONS[sector : sector + 2]):
        stop = stops[6 + offset]
        failed_attempt = None
        if kind is not ExceptionKind.DELAYED:
            stop.status, stop.attempts, failed_attempt = StopStatus.FAILED, 1, 1
            session.add(DeliveryAttempt(tenant_id=tenant.id, stop_id=stop.id, driver_id=driver.id, attempt_number=1, outcome=AttemptOutcome.FAILED,
                                        attempted_at=stop.planned_eta, lat=stop.lat, lon=stop.lon))
        await exceptions.create(
            session=session, principal=principal, stop=stop, route=route, kind=kind, reason_code=reason, description=description,
            position=(stop.lat, stop.lon), failed_attempt_number=failed_attempt, idempotency_key=f"seed-{stop.id}", fingerprint="seed",
        )
    session.add_all(stops)
    await session.flush()
