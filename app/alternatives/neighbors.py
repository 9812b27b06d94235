"""Neighbours a customer consents to: added, verified by a code sent to the neighbour, revoked."""
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alternatives.models import Neighbor, NeighborStatus, SafePlace
from app.customers.models import Customer, normalize_phone
from app.clock import current_time
from app.errors import DomainError, ErrorCode, ensure_version, invalid, not_found


async def get_customer(*, session: AsyncSession, tenant_id: int, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.tenant_id != tenant_id:
        raise not_found("customer", "customerId")
    return customer


async def get(*, session: AsyncSession, tenant_id: int, neighbor_id: int) -> Neighbor:
    neighbor = await session.get(Neighbor, neighbor_id, populate_existing=True)
    if neighbor is None or neighbor.tenant_id != tenant_id:
        raise not_found("neighbor", "neighborId")
    return neighbor


async def list_for_customer(*, session: AsyncSession, tenant_id: int, customer_id: int) -> list[Neighbor]:
    rows = await session.exec(
        select(Neighbor).where(Neighbor.tenant_id == tenant_id, Neighbor.customer_id == customer_id).order_by(col(Neighbor.id))
    )
    return list(rows.all())


def _clean(name: str, address: str, unit: str, phone: str) -> tuple[str, str, str, str]:
    name, address, unit = name.strip(), address.strip(), unit.strip()
    if not name or len(name) > 200:
        raise invalid("a neighbour's name of 1 to 200 characters is required", "name")
    if not address or len(address) > 500:
        raise invalid("a neighbour's address of 1 to 500 characters is required", "address")
    if len(unit) > 50:
        raise invalid("the unit is at most 50 characters", "unit")
    try:
        return name, address, unit, normalize_phone(phone)
    except ValueError as error:
        raise invalid(str(error), "phone") from None


async def add(
    *, session: AsyncSession, tenant_id: int, customer_id: int, name: str, address: str, phone: str, unit: str = "",
    from_outreach: bool = False,
) -> Neighbor:
    """A neighbour on the customer's list, waiting for the code sent to their phone (the listed one if already there)."""
    await get_customer(session=session, tenant_id=tenant_id, customer_id=customer_id)
    name, address, unit, phone = _clean(name, address, unit, phone)
    listed = (
        await session.exec(
            select(Neighbor).where(Neighbor.tenant_id == tenant_id, Neighbor.customer_id == customer_id)
            .where(Neighbor.phone == phone, Neighbor.status != NeighborStatus.REVOKED)
        )
    ).first()
    if listed is not None:
        return listed
    neighbor = Neighbor(
        tenant_id=tenant_id, customer_id=customer_id, name=name, address=address, unit=unit, phone=phone,
        consent_from_outreach=from_outreach,
    )
    session.add(neighbor)
    await session.flush()
    return neighbor


def ensure_not_revoked(neighbor: Neighbor) -> None:
    if neighbor.status is NeighborStatus.REVOKED:
        raise DomainError(ErrorCode.CONSENT_REQUIRED, "the customer revoked consent for this neighbour", field="neighborId")


def mark_verified(*, session: AsyncSession, neighbor: Neighbor) -> None:
    neighbor.status, neighbor.verified_at = NeighborStatus.VERIFIED, current_time()
    neighbor.version += 1
    session.add(neighbor)


def revoke(*, session: AsyncSession, neighbor: Neighbor, expected_version: int) -> None:
    """Consent ends; approved handovers to this neighbour can no longer be confirmed."""
    ensure_version(current=neighbor.version, expected=expected_version, what="the neighbour")
    ensure_not_revoked(neighbor)
    neighbor.status, neighbor.revoked_at = NeighborStatus.REVOKED, current_time()
    neighbor.version += 1
    session.add(neighbor)


async def safe_place(*, session: AsyncSession, tenant_id: int, customer_id: int) -> SafePlace | None:
    rows = await session.exec(select(SafePlace).where(SafePlace.tenant_id == tenant_id, SafePlace.customer_id == customer_id))
    return rows.first()


async def set_safe_place(*, session: AsyncSession, tenant_id: int, customer_id: int, instructions: str | None) -> SafePlace | None:
    """Record (or with None, remove) the safe place the customer chose in advance."""
    await get_customer(session=session, tenant_id=tenant_id, customer_id=customer_id)
    current = await safe_place(session=session, tenant_id=tenant_id, customer_id=customer_id)
    if instructions is None:
        if current is not None:
            await session.delete(current)
        return None
    text = instructions.strip()
    if not text or len(text) > 500:
        raise invalid("safe place instructions of 1 to 500 characters are required", "instructions")
    current = current or SafePlace(tenant_id=tenant_id, customer_id=customer_id, instructions=text)
    current.instructions, current.updated_at = text, current_time()
    session.add(current)
    await session.flush()
    return current
