"""The demo day follows the clock: seeded around now, seeded again once its service date has passed."""
import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import func, select

from app.demo.day import CREATED, PRESENT, RESEEDED, ensure_demo_day
from app.routes.models import Route, Stop, StopStatus
from app.seed import DEMO_SLUG
from app.tenants.models import Tenant
from tests.demo.conftest import AMSTERDAM, amsterdam


async def _demo_state(runtime):  # noqa: ANN001, ANN202
    async with runtime.sessionmaker() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG))).one()
        routes = (await session.exec(select(Route).where(Route.tenant_id == tenant.id))).all()
        pending = (await session.exec(select(Stop).where(Stop.tenant_id == tenant.id, Stop.status == StopStatus.PENDING))).all()
    return tenant, routes, pending


@pytest.mark.parametrize(("hour", "minute"), [(5, 40), (21, 30)])
async def test_a_stale_demo_is_seeded_again_for_today_and_other_tenants_are_untouched(runtime, factory, hour, minute) -> None:
    # given a demo seeded yesterday morning, and a user's own tenant
    yesterday = amsterdam(2026, 3, 9, 9, 0)
    await ensure_demo_day(dataclasses.replace(runtime, clock=yesterday))
    fleet = await factory.fleet(stops=4, slug="acme")
    old_tenant, _, _ = await _demo_state(runtime)
    # when serve starts the next day, early in the morning or late in the evening
    today = amsterdam(2026, 3, 10, hour, minute)
    said = await ensure_demo_day(dataclasses.replace(runtime, clock=today))
    # then the demo is today's, with the driver mid-route and windows still ahead
    assert said == RESEEDED
    tenant, routes, pending = await _demo_state(runtime)
    assert tenant.id != old_tenant.id
    assert {r.service_date for r in routes} == {today.now().astimezone(AMSTERDAM).date()}
    assert pending and all(s.window_end > today.now() for s in pending)
    assert min(s.planned_eta for s in pending) - today.now() < timedelta(minutes=30)
    # and the user's tenant kept every row
    async with runtime.sessionmaker() as session:
        assert (await session.exec(select(func.count()).select_from(Stop).where(Stop.tenant_id == fleet.tenant.id))).one() == 4
        assert (await session.get(Tenant, fleet.tenant.id)).slug == "acme"


async def test_todays_demo_is_left_alone(runtime) -> None:
    # given a demo seeded this morning
    morning = amsterdam(2026, 3, 10, 7, 0)
    assert await ensure_demo_day(dataclasses.replace(runtime, clock=morning)) == CREATED
    tenant, _, _ = await _demo_state(runtime)
    # when serve starts again late the same evening
    said = await ensure_demo_day(dataclasses.replace(runtime, clock=amsterdam(2026, 3, 10, 23, 50)))
    # then nothing was re-seeded
    assert said == PRESENT
    assert (await _demo_state(runtime))[0].id == tenant.id
