"""Vehicles of a depot (routes own the table; administration creates them)."""
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import invalid
from app.routes.models import Vehicle
from app.tenants.models import Depot
from app.tenants.service import check_ref, ensure_ref_free


async def create_vehicle(
    *, session: AsyncSession, tenant_id: int, depot_id: int, label: str, capacity: int = 150,
    skills: tuple[str, ...] = (), external_ref: str | None = None,
) -> Vehicle:
    if not label.strip() or len(label) > 64:
        raise invalid("label is 1 to 64 characters", "label")
    if capacity < 0:
        raise invalid("capacity cannot be negative", "capacity")
    depot = await session.get(Depot, depot_id)
    if depot is None or depot.tenant_id != tenant_id:
        raise invalid("the depot does not exist in this tenant", "depotId")
    ref = check_ref(external_ref)
    await ensure_ref_free(session, Vehicle, tenant_id, ref)
    vehicle = Vehicle(tenant_id=tenant_id, depot_id=depot_id, label=label.strip(), capacity=capacity, skills=list(skills), external_ref=ref)
    session.add(vehicle)
    await session.flush()
    return vehicle
