"""A frozen runtime seeded with the demo tenant (plus an admin, an API key and a second fleet), and a token per role."""
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.auth.scopes import ALL_SCOPES
from app.auth.tokens import Claims, issue_token
from app.clock import FrozenClock, writing_with
from app.integrations.api_keys import create_key
from app.runtime import Runtime
from app.seed import seed_demo
from app.tenants.models import Role, User
from sqlmodel import select
from tests.factories import Factory

# A weekday morning in Amsterdam, the demo shift under way; every "now" of the run is this instant.
FROZEN_AT = datetime(2026, 12, 1, 10, 5, tzinfo=ZoneInfo("Europe/Amsterdam"))


@dataclass(frozen=True)
class Seeded:
    runtime: Runtime
    tokens: dict[str, str | None]  # role name (or "api_key", "anonymous") -> bearer token


@pytest.fixture
def fuzz_runtime(runtime: Runtime) -> Runtime:
    """The suite's runtime under a frozen clock; budgets that never run dry (the frozen clock never refills them)
    and short solver limits so a replan or rebalance costs a fraction of a second."""
    settings = runtime.settings.model_copy(update={
        "budget_capacity": 10**12, "replan_solver_timeout_seconds": 0.5, "day_plan_solver_timeout_seconds": 0.5,
        "day_plan_exploration_level": 0,
    })
    return dataclasses.replace(runtime, clock=FrozenClock(FROZEN_AT), settings=settings)


@pytest.fixture
async def seeded(fuzz_runtime: Runtime) -> Seeded:
    """The demo tenant seeded at the frozen time, so small ids hit real routes, stops, parcels and exceptions."""
    runtime = fuzz_runtime
    with writing_with(runtime.clock):
        async with runtime.sessionmaker() as session, session.begin():
            tenant = await seed_demo(session, now=runtime.clock.now())
            admin = User(tenant_id=tenant.id, email="admin@demo.detour.dev", name="Ada Admin", role=Role.ADMIN)
            session.add(admin)
            await session.flush()
            users = {u.role: u for u in (await session.exec(select(User).where(User.tenant_id == tenant.id).order_by(User.id))).all()}
            key = await create_key(session=session, tenant_id=tenant.id, created_by=users[Role.SUPERVISOR].id, name="fuzz", scopes=sorted(ALL_SCOPES))
    await Factory(runtime).fleet(stops=2, slug="other-fleet")  # rows of another tenant for the ids to hit too

    def token(user: User) -> str:
        scopes = ALL_SCOPES if user.role is Role.INTEGRATOR else frozenset()
        return issue_token(runtime.settings, Claims(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=scopes))

    tokens: dict[str, str | None] = {role.value: token(users[role]) for role in (Role.DRIVER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)}
    tokens["api_key"] = key.secret
    tokens["anonymous"] = None
    return Seeded(runtime=runtime, tokens=tokens)
