"""Builders for tenants, people, routes and stops, written straight to the database."""
from dataclasses import dataclass, field
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import httpx

from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import writing_with
from app.auth.scopes import ALL_SCOPES
from app.auth.tokens import Claims, issue_token
from app.customers.models import Customer
from app.routes.models import Parcel, Route, RouteStatus, Stop, Vehicle
from app.runtime import Runtime
from app.tenants.models import Depot, Role, Tenant, User, UserDepot
from tests.api.statement_budgets import counted_statements


@dataclass
class Fleet:
    """One tenant with a depot, staff and a driver with a route."""

    tenant: Tenant
    depot: Depot
    driver: User
    dispatcher: User
    supervisor: User
    integrator: User
    route: Route
    stops: list[Stop] = field(default_factory=list)


class Factory:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._serial = 0

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A transaction whose rows are stamped by the runtime's clock."""
        with writing_with(self.runtime.clock):
            async with self.runtime.sessionmaker() as session, session.begin():
                yield session

    async def fleet(self, *, stops: int = 5, slug: str | None = None, service_date: date | None = None, depot_tz: str = "UTC") -> Fleet:
        n = self._next()
        async with self._writing() as session:
            tenant = Tenant(slug=slug or f"tenant-{n}", name=f"Tenant {n}", reattempt_base_cost_cents=500, reattempt_cost_per_km_cents=40)
            session.add(tenant)
            await session.flush()
            depot = Depot(tenant_id=tenant.id, name=f"Depot {n}", lat=52.3889, lon=4.8371, timezone=depot_tz)
            session.add(depot)
            await session.flush()
            people = {
                role: User(tenant_id=tenant.id, email=f"{role.value}{n}@example.test", name=f"{role.value} {n}", role=role)
                for role in Role
            }
            session.add_all(people.values())
            await session.flush()
            vehicle = Vehicle(tenant_id=tenant.id, depot_id=depot.id, label=f"VAN-{n}", capacity=100)
            session.add(vehicle)
            await session.flush()
            route = Route(
                tenant_id=tenant.id, depot_id=depot.id, driver_id=people[Role.DRIVER].id, vehicle_id=vehicle.id,
                service_date=service_date or self.runtime.clock.now().date(), status=RouteStatus.IN_PROGRESS,
            )
            session.add(route)
            await session.flush()
            fleet = Fleet(tenant, depot, people[Role.DRIVER], people[Role.DISPATCHER], people[Role.SUPERVISOR], people[Role.INTEGRATOR], route)
            fleet.stops = await self._stops(session, fleet, stops)
        return fleet

    async def _stops(self, session, fleet: Fleet, count: int) -> list[Stop]:  # noqa: ANN001
        start = self.runtime.clock.now().replace(minute=0, second=0, microsecond=0)
        stops = []
        for i in range(count):
            customer = Customer(tenant_id=fleet.tenant.id, name=f"Customer {i}", phone=f"+3161234{i:04d}", timezone="Europe/Amsterdam")
            session.add(customer)
            await session.flush()
            stop = Stop(
                tenant_id=fleet.tenant.id, route_id=fleet.route.id, sequence=i + 1, customer_id=customer.id,
                address=f"Teststraat {i + 1}, Amsterdam", lat=52.37 + i * 0.001, lon=4.89 + i * 0.001,
                window_start=start + timedelta(minutes=15 * i), window_end=start + timedelta(minutes=15 * i + 120),
                planned_eta=start + timedelta(minutes=15 * i + 10),
            )
            session.add(stop)
            await session.flush()
            session.add_all([Parcel(tenant_id=fleet.tenant.id, stop_id=stop.id, barcode=f"T{fleet.tenant.id}-{stop.id}-{p}", declared_value_cents=2500) for p in range(2)])
            stops.append(stop)
        await session.flush()
        return stops

    async def link_depot(self, user: User, depot_id: int) -> None:
        async with self._writing() as session:
            session.add(UserDepot(user_id=user.id, depot_id=depot_id))

    def token(self, user: User, *, scopes: frozenset[str] | None = None, **kwargs: object) -> str:
        """A JWT; integrators get every scope unless told otherwise (their scopes bind, see app/auth/permissions.py)."""
        if scopes is None:
            scopes = ALL_SCOPES if user.role is Role.INTEGRATOR else frozenset()
        return issue_token(self.runtime.settings, Claims(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=scopes), **kwargs)


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, *, token: str | None = None) -> dict:
    """POST a GraphQL operation; returns the decoded body (data and errors).

    A document of graphql/ is held to its SQL statement budget (tests/api/statement_budgets.py) every time it is sent.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with counted_statements(client, query) as counted:
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code in (200, 400), response.text
    if counted is not None:
        counted.check()
    return response.json()
