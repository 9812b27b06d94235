"""Keep the demo tenant's day current: when its service date has passed, the demo is seeded again around now.

Re-seeding rather than re-dating: the seed places the shift around the moment it runs (stops done, the
driver mid-route, windows ahead), and yesterday's demo carries yesterday's progress at yesterday's hour —
shifting its dates by whole days would bring back the closed windows that made the demo look dead at 19:40.
Only the demo tenant's rows are removed; every other tenant is untouched.
"""
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select as sa_select
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import app.models as models
from app.routes.models import Route
from app.runtime import Runtime, unit_of_work
from app.seed import DEMO_SLUG, DEPOT, seed_demo
from app.tenants.models import Depot, Tenant, User, UserDepot

CREATED = "demo tenant created: 1 depot, 3 drivers, 3 routes of 40 stops for today"
PRESENT = "demo tenant already present (today's demo day)"
RESEEDED = "demo tenant re-seeded: its service date had passed, today's demo day starts now (other tenants untouched)"


async def demo_tenant(session: AsyncSession) -> Tenant | None:
    return (await session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG))).first()


async def demo_service_date(session: AsyncSession, tenant_id: int) -> date | None:
    """The latest service date of the demo's routes."""
    return (await session.exec(select(func.max(Route.service_date)).where(Route.tenant_id == tenant_id))).one()


async def remove_tenant(session: AsyncSession, tenant_id: int) -> None:
    """Delete every row of one tenant, children first (the caller commits)."""
    users = sa_select(User.id).where(User.tenant_id == tenant_id)
    depots = sa_select(Depot.id).where(Depot.tenant_id == tenant_id)
    await session.exec(delete(UserDepot).where(UserDepot.user_id.in_(users) | UserDepot.depot_id.in_(depots)))
    for table in reversed(models.metadata.sorted_tables):
        if "tenant_id" in table.c:
            await session.exec(delete(table).where(table.c.tenant_id == tenant_id))
    await session.exec(delete(Tenant).where(Tenant.id == tenant_id))


async def ensure_demo_day(runtime: Runtime) -> str:
    """Create the demo tenant, or seed it again when its day is over; says which."""
    async with unit_of_work(runtime) as uow:
        now = uow.clock.now()
        today = now.astimezone(ZoneInfo(DEPOT["timezone"])).date()
        tenant = await demo_tenant(uow.session)
        if tenant is None:
            await seed_demo(uow.session, now=now)
            return CREATED
        served = await demo_service_date(uow.session, tenant.id)
        if served is not None and served >= today:
            return PRESENT
        await remove_tenant(uow.session, tenant.id)
        await uow.session.flush()
        await seed_demo(uow.session, now=now)
        return RESEEDED
