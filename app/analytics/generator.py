"""`detour seed --scale N`: a tenant with months of realistic history and N exceptions, for the dashboard and its benchmark.

The patterns it plants, so the analytics have something true to find: deliveries and
failures peak in the evening; dense city cores have gated buildings and fail more on
access; customers who act themselves (link, SMS reply) get resolved faster; about 90 % of
stops are delivered at the first attempt. Rows go in by the day-batch with explicit ids
(reserved from the sequences on PostgreSQL) through COPY on PostgreSQL and multi-row
INSERTs on SQLite. Parcels are not generated: no figure reads them.
"""
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import current_time
from app.analytics.areas import stored_cell
from app.analytics.rollups import rebuild_days
from app.delivery_exceptions.models import REASON_CODES, ExceptionKind
from app.geo import haversine_km
from app.tenants.models import Role

DEPOTS = [  # name, lat, lon, zone
    ("Amsterdam Sloterdijk", 52.3889, 4.8371, "Europe/Amsterdam"),
    ("London Park Royal", 51.5290, -0.2750, "Europe/London"),
    ("New York Maspeth", 40.7260, -73.9120, "America/New_York"),
]
STOPS_PER_ROUTE = 120
DENSE_SHARE = 0.4
HOUR_WEIGHTS = {8: 3, 9: 5, 10: 6, 11: 6, 12: 5, 13: 5, 14: 5, 15: 5, 16: 6, 17: 9, 18: 11, 19: 10, 20: 7, 21: 3}
WEEKDAY_WEIGHTS = [1.1, 1.1, 1.1, 1.1, 1.2, 0.8, 0.3]  # Monday … Sunday
FIRST_FAIL = {True: 0.115, False: 0.055}  # dense core vs suburbs, before the evening factor
EVENING_FACTOR = 1.5
REATTEMPT_FAIL = 0.2
OTHER_EXCEPTION = 0.03  # delays and routing errors that do not fail the attempt
FAILING_KINDS = {
    True: [(ExceptionKind.ACCESS_DENIED, 45), (ExceptionKind.CUSTOMER_ABSENT, 35), (ExceptionKind.ADDRESS_PROBLEM, 8), (ExceptionKind.REFUSED, 6), (ExceptionKind.PACKAGE_DAMAGED, 6)],
    False: [(ExceptionKind.ACCESS_DENIED, 12), (ExceptionKind.CUSTOMER_ABSENT, 60), (ExceptionKind.ADDRESS_PROBLEM, 14), (ExceptionKind.REFUSED, 7), (ExceptionKind.PACKAGE_DAMAGED, 7)],
}
OTHER_KINDS = [(ExceptionKind.DELAYED, 70), (ExceptionKind.ROUTING_ERROR, 20), (ExceptionKind.OTHER, 10)]
CHANNELS = [("SELF_SERVICE", 45, 40.0), ("STAFF_CONTACT", 40, 110.0), ("NO_CONTACT", 15, 180.0)]  # share, median minutes
OUTCOMES = {
    "SELF_SERVICE": [("RESCHEDULED", 35), ("SECURE_DROPOFF", 25), ("PICKUP_POINT", 20), ("DELIVERED_TO_NEIGHBOR", 20)],
    "STAFF_CONTACT": [("DELIVERED_TO_CUSTOMER", 40), ("DELIVERED_TO_NEIGHBOR", 25), ("RESCHEDULED", 20), ("RETURNED_TO_DEPOT", 15)],
    "NO_CONTACT": [("DELIVERED_TO_CUSTOMER", 30), ("RETURNED_TO_DEPOT", 50), ("ADDRESS_CORRECTED", 20)],
}
TABLES = {
    "customer": ("id", "tenant_id", "name", "phone", "language", "timezone", "preferred_channels", "delivery_instructions", "created_at"),
    "route": ("id", "tenant_id", "depot_id", "driver_id", "service_date", "status", "version", "updated_at"),
    "stop": ("id", "tenant_id", "route_id", "sequence", "customer_id", "address", "lat", "lon", "window_start", "window_end",
             "planned_eta", "service_seconds", "status", "attempts", "version"),
    "stop_fact": ("stop_id", "tenant_id", "depot_id", "driver_id", "h3_cell", "first_attempt_at", "first_local_date", "first_delivered",
                  "failed_attempts"),
    "delivery_attempt": ("id", "tenant_id", "stop_id", "driver_id", "attempt_number", "outcome", "attempted_at"),
    "delivery_exception": ("id", "tenant_id", "depot_id", "route_id", "stop_id", "kind", "reason_code", "description", "status",
                           "reported_by_id", "reported_at", "lat", "lon", "failed_attempt_number", "resolved_at", "resolution_outcome",
                           "failure_cost_cents", "idempotency_key", "request_fingerprint", "version", "updated_at"),
    "exception_area": ("exception_id", "tenant_id", "depot_id", "stop_id", "reported_by_id", "reported_at", "kind", "reason_code", "h3_cell"),
    "exception_event": ("id", "tenant_id", "depot_id", "route_id", "exception_id", "type", "step", "actor_id", "actor_role", "occurred_at", "payload"),
}


def _pick(rng: random.Random, weighted: list[tuple]) -> tuple:
    return rng.choices(weighted, weights=[w[1] for w in weighted])[0]


@dataclass
class Home:
    customer_id: int
    lat: float
    lon: float
    dense: bool
    cell: int


@dataclass
class DepotPlan:
    id: int
    lat: float
    lon: float
    zone: ZoneInfo
    drivers: list[int]
    homes: list[Home]


class Writer:
    """Bulk rows into one connection: COPY on PostgreSQL, executemany INSERT on SQLite; ids handed out from reserved blocks."""

    BLOCK = 20_000

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self._pools: dict[str, list[int]] = {}
        self._next_sqlite_id: dict[str, int] = {}

    async def next_id(self, table: str) -> int:
        pool = self._pools.setdefault(table, [])
        if not pool:
            pool.extend(reversed(await self._reserve(table, self.BLOCK)))
        return pool.pop()

    async def _reserve(self, table: str, count: int) -> list[int]:
        if self.postgres:  # nextval is safe beside other writers; unused ids are simply skipped
            rows = await self.connection.execute(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count})
            return [r[0] for r in rows]
        if table not in self._next_sqlite_id:  # SQLite has one writer at a time: max(id) + 1 onwards is ours
            self._next_sqlite_id[table] = ((await self.connection.execute(sa.text(f"SELECT max(id) FROM {table}"))).scalar() or 0) + 1
        first = self._next_sqlite_id[table]
        self._next_sqlite_id[table] = first + count
        return list(range(first, first + count))

    async def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = TABLES[table]
        if self.postgres:
            raw = (await self.connection.get_raw_connection()).driver_connection
            await raw.copy_records_to_table(table, records=rows, columns=columns)
            return
        target = sa.table(table, *[sa.column(c) for c in columns])
        for start in range(0, len(rows), 5000):
            await self.connection.execute(target.insert(), [_sqlite_row(columns, r) for r in rows[start : start + 5000]])


def _sqlite_text(value: datetime) -> str:
    """A timestamp as SQLAlchemy stores it on SQLite (naive UTC, always with microseconds), so text order is time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_row(columns: tuple[str, ...], row: tuple) -> dict:
    return {c: (_sqlite_text(v) if isinstance(v, datetime) else v) for c, v in zip(columns, row, strict=True)}


async def generate(
    connection: AsyncConnection, *, exceptions: int, days: int = 365, slug: str | None = None, seed: int = 42,
    end: date | None = None, progress: Callable[[int, int], None] | None = None,
) -> int:
    """Create a tenant with `exceptions` exceptions over the `days` days before `end`; returns the tenant id."""
    rng = random.Random(seed)
    writer = Writer(connection)
    end = end or current_time().date()
    stops_per_day = exceptions / days / 0.15  # about 0.15 exceptions per stop with the rates above
    tenant_id = await _create_tenant(connection, slug or f"scale-{exceptions}", exceptions)
    dispatcher = await _create_user(connection, tenant_id, Role.DISPATCHER, "dispatcher")
    await _create_user(connection, tenant_id, Role.SUPERVISOR, "supervisor")
    drivers_per_depot = max(1, math.ceil(stops_per_day * 1.3 / len(DEPOTS) / STOPS_PER_ROUTE))
    depots = [await _create_depot(connection, writer, rng, tenant_id, spec, drivers_per_depot, max(50, exceptions // 20)) for spec in DEPOTS]
    day_weights = [WEEKDAY_WEIGHTS[(end - timedelta(days=days - i)).weekday()] for i in range(days)]
    quotas = _split(exceptions, day_weights)
    history = _History(writer, rng, tenant_id, dispatcher, end, exceptions, progress)
    for offset, quota in enumerate(quotas):
        await history.day(depots, end - timedelta(days=days - offset), quota)
    await history.flush()
    await connection.run_sync(lambda sync: rebuild_days(sync, [tenant_id]))  # the rows went in around the session hook
    return tenant_id


def _split(total: int, weights: list[float]) -> list[int]:
    scale = total / sum(weights)
    quotas = [int(w * scale) for w in weights]
    for i in range(total - sum(quotas)):
        quotas[i % len(quotas)] += 1
    return quotas


async def _create_tenant(connection: AsyncConnection, slug: str, exceptions: int) -> int:
    now = current_time()
    return (await connection.execute(
        sa.text("INSERT INTO tenant (slug, name, currency, reattempt_base_cost_cents, reattempt_cost_per_km_cents, created_at) "
                "VALUES (:slug, :name, 'EUR', 450, 35, :now) RETURNING id"),
        {"slug": slug, "name": f"Scale test ({exceptions:,} exceptions)", "now": _ts(connection, now)},
    )).scalar_one()


def _ts(connection: AsyncConnection, value: datetime) -> datetime | str:
    return value if connection.dialect.name == "postgresql" else _sqlite_text(value)


async def _create_user(connection: AsyncConnection, tenant_id: int, role: Role, name: str, phone: str | None = None) -> int:
    return (await connection.execute(
        sa.text("INSERT INTO app_user (tenant_id, email, name, role, phone, active, created_at) VALUES (:t, :email, :name, :role, :phone, true, :now) RETURNING id"),
        {"t": tenant_id, "email": f"{name}@t{tenant_id}.scale.test", "name": name, "role": role.value, "phone": phone, "now": _ts(connection, current_time())},
    )).scalar_one()


async def _create_depot(connection: AsyncConnection, writer: Writer, rng: random.Random, tenant_id: int, spec: tuple, drivers: int, customers: int) -> DepotPlan:
    name, lat, lon, zone = spec
    depot_id = (await connection.execute(
        sa.text("INSERT INTO depot (tenant_id, name, address, lat, lon, timezone) VALUES (:t, :n, '', :lat, :lon, :z) RETURNING id"),
        {"t": tenant_id, "n": name, "lat": lat, "lon": lon, "z": zone},
    )).scalar_one()
    driver_ids = [await _create_user(connection, tenant_id, Role.DRIVER, f"driver-{depot_id}-{i}") for i in range(drivers)]
    now, homes, rows = current_time(), [], []
    for _ in range(customers):
        customer_id = await writer.next_id("customer")
        dense = rng.random() < DENSE_SHARE
        radius = 0.015 if dense else 0.12  # degrees: a ~1.5 km core, ~12 km of suburbs
        home_lat, home_lon = lat + rng.gauss(0, radius), lon + rng.gauss(0, radius * 1.6)
        homes.append(Home(customer_id, home_lat, home_lon, dense, stored_cell(home_lat, home_lon)))
        rows.append((customer_id, tenant_id, f"Customer {customer_id}", None, "en", zone, json.dumps(["SMS"]), "", now))
    await writer.write("customer", rows)
    return DepotPlan(depot_id, lat, lon, ZoneInfo(zone), driver_ids, homes)


class _History:
    """Builds day after day of routes, stops, attempts, exceptions and events, and writes them in batches."""

    def __init__(self, writer: Writer, rng: random.Random, tenant_id: int, dispatcher: int, end: date, total: int,
                 progress: Callable[[int, int], None] | None) -> None:
        self.writer, self.rng, self.tenant_id, self.dispatcher, self.end = writer, rng, tenant_id, dispatcher, end
        self.total, self.done, self.progress = total, 0, progress
        self.rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
        self.routes: dict[int, int] = {}
        self.hours = list(HOUR_WEIGHTS)
        self.hour_weights = list(HOUR_WEIGHTS.values())

    async def day(self, depots: list[DepotPlan], service_date: date, quota: int) -> None:
        made, per_depot = 0, [0] * len(depots)
        self.routes = {}
        while made < quota:
            index = self.rng.randrange(len(depots))
            made += await self._stop(depots[index], service_date, per_depot[index], quota - made)
            per_depot[index] += 1
        if sum(len(r) for r in self.rows.values()) > 60_000:
            await self.flush()

    async def _stop(self, depot: DepotPlan, service_date: date, number: int, room: int) -> int:
        rng, route_index = self.rng, number // STOPS_PER_ROUTE
        route_id = await self._route(depot, service_date, route_index)
        driver = depot.drivers[route_index % len(depot.drivers)]
        home = rng.choice(depot.homes)
        hour = rng.choices(self.hours, weights=self.hour_weights)[0]
        local = datetime.combine(service_date, time(hour, rng.randrange(60), rng.randrange(60)), depot.zone)
        first_at = local.astimezone(UTC)
        evening = 17 <= hour <= 20
        failed_first = rng.random() < FIRST_FAIL[home.dense] * (EVENING_FACTOR if evening else 1.0)
        failed_second = failed_first and rng.random() < REATTEMPT_FAIL
        stop_id = await self.writer.next_id("stop")
        window = first_at.replace(minute=0, second=0)
        attempts = [(1, failed_first, first_at)]
        if failed_first:
            attempts.append((2, failed_second, first_at + timedelta(days=1, minutes=rng.randrange(-90, 90))))
        delivered = not attempts[-1][1]
        self.rows["stop"].append((stop_id, self.tenant_id, route_id, number % STOPS_PER_ROUTE + 1, home.customer_id, f"Street {home.customer_id}",
                                  home.lat, home.lon, window, window + timedelta(hours=2), first_at, 180,
                                  "DELIVERED" if delivered else "FAILED", len(attempts), 1))
        self.rows["stop_fact"].append((stop_id, self.tenant_id, depot.id, driver, home.cell, first_at, service_date, not failed_first,
                                       int(failed_first) + int(failed_second)))
        made = 0
        for attempt_number, failed, at in attempts:
            self.rows["delivery_attempt"].append((await self.writer.next_id("delivery_attempt"), self.tenant_id, stop_id, driver, attempt_number, "FAILED" if failed else "DELIVERED", at))
            if failed and made < room:
                kind = _pick(rng, FAILING_KINDS[home.dense])[0]
                await self._exception(depot, route_id, stop_id, driver, home, kind, at, attempt_number)
                made += 1
        if made < room and rng.random() < OTHER_EXCEPTION:
            await self._exception(depot, route_id, stop_id, driver, home, _pick(rng, OTHER_KINDS)[0], first_at - timedelta(minutes=rng.randrange(5, 40)), None)
            made += 1
        return made

    async def _route(self, depot: DepotPlan, service_date: date, route_index: int) -> int:
        key = depot.id * 100_000 + route_index
        if key not in self.routes:
            route_id = self.routes[key] = await self.writer.next_id("route")
            driver = depot.drivers[route_index % len(depot.drivers)]
            self.rows["route"].append((route_id, self.tenant_id, depot.id, driver, service_date, "COMPLETED", 1, current_time()))
        return self.routes[key]

    async def _exception(self, depot: DepotPlan, route_id: int, stop_id: int, driver: int, home: Home, kind: ExceptionKind, at: datetime, attempt: int | None) -> None:
        rng = self.rng
        reasons = REASON_CODES[kind]
        reason = rng.choice(("GATE_CLOSED", "ENTRY_CODE_INVALID")) if kind is ExceptionKind.ACCESS_DENIED and home.dense and rng.random() < 0.7 else rng.choice(reasons)
        channel, _, median = _pick(rng, CHANNELS)
        age = datetime.combine(self.end, time(0), UTC) - at
        resolved_at, outcome, cost, status = None, None, None, rng.choice(("OPEN", "CONTACTING_CUSTOMER", "AWAITING_DECISION"))
        if rng.random() < (0.97 if age > timedelta(days=1) else 0.4):
            resolved_at = at + timedelta(minutes=rng.lognormvariate(math.log(median), 0.6))
            outcome = _pick(rng, OUTCOMES[channel])[0]
            status = "FAILED" if outcome == "RETURNED_TO_DEPOT" else "RESOLVED"
            cost = 0 if attempt is None else 450 + round(35 * 2 * haversine_km(depot.lat, depot.lon, home.lat, home.lon))
        exception_id = await self.writer.next_id("delivery_exception")
        self.rows["delivery_exception"].append((
            exception_id, self.tenant_id, depot.id, route_id, stop_id, kind.value, reason, "", status, driver, at,
            home.lat + rng.gauss(0, 0.0002), home.lon + rng.gauss(0, 0.0002), attempt, resolved_at, outcome, cost,
            f"gen-{stop_id}-{attempt or 0}", "generated", 1, resolved_at or at,
        ))
        self.rows["exception_area"].append((exception_id, self.tenant_id, depot.id, stop_id, driver, at, kind.value, reason, home.cell))
        if channel != "NO_CONTACT":  # the one event the analytics read: who reached whom (see service.contact_level)
            by_customer = channel == "SELF_SERVICE"  # shaped like outreach's events: the customer's role and response
            payload = ({"customerResponseId": exception_id, "option": outcome or "RESCHEDULE", "source": rng.choice(("LINK_PAGE", "SMS_REPLY"))}
                       if by_customer else {"from": "OPEN", "to": "CONTACTING_CUSTOMER"})
            contact_at = at + (resolved_at - at) / 2 if resolved_at else at + timedelta(minutes=5)
            self.rows["exception_event"].append((
                await self.writer.next_id("exception_event"), self.tenant_id, depot.id, route_id, exception_id, "STATUS_CHANGED",
                "CUSTOMER_CONTACTED", None if by_customer else self.dispatcher, "customer" if by_customer else "dispatcher",
                contact_at, json.dumps(payload),
            ))
        self.done += 1
        if self.progress and self.done % 1000 == 0:
            self.progress(self.done, self.total)

    async def flush(self) -> None:
        """Write the batch, parents before children."""
        for table in TABLES:
            await self.writer.write(table, self.rows[table])
            self.rows[table] = []
        if self.progress:
            self.progress(self.done, self.total)
