"""The demo simulator: drivers drive their routes and customers answer, all through the public HTTP API.

Drivers move at city speed, send GPS batches (`reportPositions`), deliver most stops and fail some
(`recordDeliveryAttempt` + `reportException`) at rates that rise in the evening; customers answer a share of
the texts Detour sent them — a reply digit through a correctly signed Twilio inbound webhook, a choice on the
self-service link (`chooseDeliveryOption`) — and leave the rest unanswered. Deterministic for a seed; time
comes from the injected clock (`advance` moves it in tests, sleeps `1/speed` of it when serving).
"""
import logging
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import col, select

from app.auth.tokens import Claims, issue_token
from app.clock import Clock
from app.demo.phone import sign_inbound
from app.geo import haversine_km
from app.outreach.links import LINK_MARKER, issue_link_token
from app.outreach.models import Notification, NotificationChannel, NotificationStatus
from app.runtime import Runtime
from app.seed import DEMO_SLUG, DEPOT
from app.tenants.models import Role, Tenant, User

log = logging.getLogger(__name__)

MY_ROUTE = "{ myRoute { id stops { id sequence status lat lon } } }"
REPORT_POSITIONS = "mutation($input: ReportPositionsInput!) { reportPositions(input: $input) { stored errors { code } } }"
RECORD_ATTEMPT = "mutation($input: RecordDeliveryAttemptInput!) { recordDeliveryAttempt(input: $input) { errors { code message } } }"
REPORT_EXCEPTION = "mutation($input: ReportExceptionInput!) { reportException(input: $input) { exception { id } errors { code message } } }"
CHOOSE = "mutation($input: ChooseDeliveryOptionInput!) { chooseDeliveryOption(input: $input) { response { id } errors { code message } } }"
FAILURES = (  # kind, reason, weight — absent dominates, like the real pattern
    ("CUSTOMER_ABSENT", "NO_ANSWER", 0.55), ("ACCESS_DENIED", "GATE_CLOSED", 0.2),
    ("ADDRESS_PROBLEM", "WRONG_ADDRESS", 0.15), ("PACKAGE_DAMAGED", "DAMAGED_IN_TRANSIT", 0.10),
)


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 7
    speed_kmh: float = 25.0
    service_seconds: int = 150
    tick_seconds: float = 15.0
    gps_every_seconds: float = 30.0
    failure_rate_day: float = 0.12
    failure_rate_evening: float = 0.25
    evening_from_hour: int = 17
    reply_digit_share: float = 0.4
    self_service_share: float = 0.3
    answer_delay_seconds: tuple[int, int] = (30, 150)
    # The opening scene: each driver's first stop of the run fails (absent), so the live features show at once.
    open_with_failure: bool = True


@dataclass
class Tally:
    deliveries: int = 0
    failures: Counter = field(default_factory=Counter)
    answers: Counter = field(default_factory=Counter)
    fixes: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return self.deliveries + sum(self.failures.values())


@dataclass
class Driver:
    user: User
    lat: float
    lon: float
    target: dict | None = None
    busy_until: datetime | None = None
    fixes: list[dict] = field(default_factory=list)
    last_flush: datetime | None = None
    visits: int = 0
    done: bool = False


class Simulator:
    def __init__(self, runtime: Runtime, http: httpx.AsyncClient, *, clock: Clock, config: SimulationConfig | None = None,
                 advance: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.runtime, self.http, self.clock = runtime, http, clock
        self.config = config or SimulationConfig()
        self.rng = random.Random(self.config.seed)
        self.advance = advance
        self.tally = Tally()
        self.drivers: list[Driver] = []
        self.tenant_id: int | None = None
        self.seen_notification = 0
        self.answers_due: list[tuple[datetime, Notification, str]] = []
        self.tz = ZoneInfo(DEPOT["timezone"])

    async def _gql(self, token: str, query: str, variables: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            self.tally.errors.append(f"{response.status_code} {str(body.get('errors'))[:200]}")
        return body.get("data") or {}

    async def start(self) -> None:
        """Find the demo drivers (only the demo tenant is ever touched) and place them where their route stands."""
        async with self.runtime.sessionmaker() as session:
            tenant = (await session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG))).first()
            if tenant is None:
                raise LookupError("no demo tenant: run `detour seed` first")
            self.tenant_id = tenant.id
            users = (await session.exec(select(User).where(User.tenant_id == tenant.id, User.role == Role.DRIVER).order_by(User.id))).all()
            self.seen_notification = (await session.exec(
                select(Notification.id).where(Notification.tenant_id == tenant.id).order_by(col(Notification.id).desc()))).first() or 0
        for user in users:
            stops = await self._stops(self.token(user))
            handled = [s for s in stops if s["status"] != "PENDING"]
            here = handled[-1] if handled else {"lat": DEPOT["lat"], "lon": DEPOT["lon"]}
            self.drivers.append(Driver(user=user, lat=here["lat"], lon=here["lon"]))

    def token(self, user: User) -> str:
        """A fresh driver token per call: a demo that runs for days never holds an expired one."""
        return issue_token(self.runtime.settings, Claims(user_id=user.id, tenant_id=user.tenant_id, role=user.role), ttl_seconds=600)

    async def _stops(self, token: str) -> list[dict]:
        route = (await self._gql(token, MY_ROUTE)).get("myRoute")
        return sorted(route["stops"], key=lambda s: s["sequence"]) if route else []

    async def run(self, seconds: float) -> Tally:
        """Simulate `seconds` of the demo day."""
        if not self.drivers:
            await self.start()
        elapsed = 0.0
        while elapsed < seconds:
            await self.step()
            if self.advance is not None:
                await self.advance(self.config.tick_seconds)
            elapsed += self.config.tick_seconds
        return self.tally

    async def step(self) -> None:
        now = self.clock.now()
        for driver in self.drivers:
            await self._drive(driver, now)
        await self._customers(now)

    async def _drive(self, driver: Driver, now: datetime) -> None:
        if driver.done or (driver.busy_until and driver.busy_until > now):
            return
        if driver.target is None:
            pending = [s for s in await self._stops(self.token(driver.user)) if s["status"] == "PENDING"]
            if not pending:
                driver.done = True
                return
            driver.target = pending[0]
        target = driver.target
        distance = haversine_km(driver.lat, driver.lon, target["lat"], target["lon"])
        step_km = self.config.speed_kmh * self.config.tick_seconds / 3600
        if distance > step_km:
            share = step_km / distance
            driver.lat += (target["lat"] - driver.lat) * share
            driver.lon += (target["lon"] - driver.lon) * share
        else:
            driver.lat, driver.lon = target["lat"], target["lon"]
        driver.fixes.append({"recordedAt": now.isoformat(), "lat": round(driver.lat, 6), "lon": round(driver.lon, 6),
                             "accuracyM": 8.0, "speedMps": round(self.config.speed_kmh / 3.6, 2)})
        if driver.last_flush is None or (now - driver.last_flush).total_seconds() >= self.config.gps_every_seconds:
            await self._flush(driver, now)
        if distance <= step_km:
            await self._flush(driver, now)
            await self._attempt(driver, target, now)
            driver.target, driver.busy_until = None, now + timedelta(seconds=self.config.service_seconds)

    async def _flush(self, driver: Driver, now: datetime) -> None:
        if driver.fixes:
            data = await self._gql(self.token(driver.user), REPORT_POSITIONS, {"input": {"positions": driver.fixes}})
            self.tally.fixes += (data.get("reportPositions") or {}).get("stored", 0)
            driver.fixes = []
        driver.last_flush = now

    def failure_rate(self, now: datetime) -> float:
        evening = now.astimezone(self.tz).hour >= self.config.evening_from_hour
        return self.config.failure_rate_evening if evening else self.config.failure_rate_day

    async def _attempt(self, driver: Driver, stop: dict, now: datetime) -> None:
        driver.visits += 1
        opening = self.config.open_with_failure and driver.visits == 1
        fails = self.rng.random() < self.failure_rate(now)
        position = {"lat": stop["lat"], "lon": stop["lon"], "accuracyM": 8.0}
        outcome = "FAILED" if fails or opening else "DELIVERED"
        await self._gql(self.token(driver.user), RECORD_ATTEMPT, {"input": {
            "stopId": stop["id"], "outcome": outcome, "idempotencyKey": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "attemptedAt": now.isoformat(), "position": position}})
        if outcome == "DELIVERED":
            self.tally.deliveries += 1
            return
        kind, reason, _ = FAILURES[0] if opening else self.rng.choices(FAILURES, weights=[f[2] for f in FAILURES])[0]
        await self._gql(self.token(driver.user), REPORT_EXCEPTION, {"input": {
            "stopId": stop["id"], "kind": kind, "reasonCode": reason, "idempotencyKey": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "description": "reported by the demo simulator", "occurredAt": now.isoformat(), "position": position}})
        self.tally.failures[kind] += 1

    async def _customers(self, now: datetime) -> None:
        """New texts get an answer (or silence) decided now and sent after a human delay."""
        async with self.runtime.sessionmaker() as session:
            rows = (await session.exec(
                select(Notification).where(Notification.tenant_id == self.tenant_id, Notification.id > self.seen_notification,
                                           Notification.channel == NotificationChannel.SMS, Notification.status == NotificationStatus.SENT,
                                           col(Notification.exception_id).is_not(None))
                .order_by(Notification.id))).all()
        for row in rows:
            self.seen_notification = row.id
            pick = self.rng.random()
            choice = "digit" if pick < self.config.reply_digit_share else (
                "link" if pick < self.config.reply_digit_share + self.config.self_service_share and LINK_MARKER in row.body else "silence")
            if choice == "silence":
                self.tally.answers["silence"] += 1
                continue
            self.answers_due.append((now + timedelta(seconds=self.rng.randint(*self.config.answer_delay_seconds)), row, choice))
        due, self.answers_due = [a for a in self.answers_due if a[0] <= now], [a for a in self.answers_due if a[0] > now]
        for _, row, choice in due:
            await (self._reply_digit(row) if choice == "digit" else self._choose_on_link(row))
            self.tally.answers[choice] += 1

    async def _reply_digit(self, row: Notification) -> None:
        params = {"From": row.recipient, "To": self.runtime.settings.twilio_from_number or "+3197010000000", "Body": "1",
                  "MessageSid": f"SM{uuid.UUID(int=self.rng.getrandbits(128)).hex}"}
        response = await self.http.post("/webhooks/twilio/inbound", data=params,
                                        headers={"X-Twilio-Signature": sign_inbound(self.runtime.settings, params)})
        if response.status_code != 200:
            self.tally.errors.append(f"inbound webhook {response.status_code}")

    async def _choose_on_link(self, row: Notification) -> None:
        token = issue_link_token(self.runtime.settings, tenant_id=row.tenant_id, stop_id=row.stop_id, exception_id=row.exception_id)
        data = await self._gql("", CHOOSE, {"input": {"token": token, "option": "SECURE_DROPOFF",
                                                      "instructions": "Behind the green gate, under the bench"}})
        errors = (data.get("chooseDeliveryOption") or {}).get("errors")
        if errors:
            self.tally.errors.append(f"choice refused: {errors[0]['code']}")
