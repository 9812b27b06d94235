"""What alternatives rely on, set up ahead of time: neighbours, safe places, pickup points and the policy."""
from typing import Any

from app.alternatives import codes, messages, neighbors, pickup_points
from app.alternatives import service as alternatives
from app.alternatives.models import CodePurpose, Neighbor, NeighborStatus, PickupPoint, SafePlace, TenantPolicy
from app.alternatives.pickup_points import PickupPointData
from app.auth.principal import Principal
from app.errors import DomainError, ErrorCode
from app.runtime import Runtime, UnitOfWork, unit_of_work


async def _send_verification(uow: UnitOfWork, runtime: Runtime, neighbor: Neighbor) -> None:
    customer = await neighbors.get_customer(session=uow.session, tenant_id=neighbor.tenant_id, customer_id=neighbor.customer_id)
    code = await codes.issue(
        session=uow.session, settings=runtime.settings, tenant_id=neighbor.tenant_id,
        purpose=CodePurpose.NEIGHBOR_VERIFICATION, subject_id=neighbor.id, ttl_seconds=runtime.settings.neighbor_code_ttl_seconds,
    )
    await messages.send_sms(
        uow, tenant_id=neighbor.tenant_id, to_phone=neighbor.phone,
        text=messages.neighbor_verification_text(customer.name, code), purpose="neighbor_verification",
    )


async def add_neighbor(
    runtime: Runtime, principal: Principal, *, customer_id: int, name: str, address: str, phone: str, unit: str = ""
) -> Neighbor:
    """Put a neighbour on the customer's list and text them a code to confirm they agree."""
    async with unit_of_work(runtime) as uow:
        neighbor = await neighbors.add(
            session=uow.session, tenant_id=principal.tenant_id, customer_id=customer_id, name=name, address=address,
            phone=phone, unit=unit,
        )
        await _send_verification(uow, runtime, neighbor)
        return neighbor


async def resend_neighbor_code(runtime: Runtime, principal: Principal, *, neighbor_id: int) -> Neighbor:
    """A new code for a neighbour still to be verified; earlier codes stop working."""
    async with unit_of_work(runtime) as uow:
        neighbor = await neighbors.get(session=uow.session, tenant_id=principal.tenant_id, neighbor_id=neighbor_id)
        if neighbor.status is not NeighborStatus.PENDING_VERIFICATION:
            raise DomainError(ErrorCode.INVALID_TRANSITION, f"the neighbour is already {neighbor.status.value}", field="id")
        await _send_verification(uow, runtime, neighbor)
        return neighbor


async def verify_neighbor(runtime: Runtime, *, tenant_id: int, neighbor_id: int, code: str) -> Neighbor:
    """Check the code the neighbour received (typed in by staff, or from the neighbour's SMS reply)."""
    async with unit_of_work(runtime) as uow:
        neighbor = await neighbors.get(session=uow.session, tenant_id=tenant_id, neighbor_id=neighbor_id)
        if neighbor.status is not NeighborStatus.PENDING_VERIFICATION:
            raise DomainError(ErrorCode.INVALID_TRANSITION, f"the neighbour is already {neighbor.status.value}", field="id")
        failure = await codes.check(
            session=uow.session, settings=runtime.settings, tenant_id=tenant_id,
            purpose=CodePurpose.NEIGHBOR_VERIFICATION, subject_id=neighbor.id, code=code,
        )
        if failure is None:
            neighbors.mark_verified(session=uow.session, neighbor=neighbor)
    if failure is not None:  # raised after the commit, so the wrong try is counted
        raise failure
    return neighbor


async def revoke_neighbor(runtime: Runtime, principal: Principal, *, neighbor_id: int, expected_version: int) -> Neighbor:
    async with unit_of_work(runtime) as uow:
        neighbor = await neighbors.get(session=uow.session, tenant_id=principal.tenant_id, neighbor_id=neighbor_id)
        neighbors.revoke(session=uow.session, neighbor=neighbor, expected_version=expected_version)
        return neighbor


async def set_safe_place(runtime: Runtime, principal: Principal, *, customer_id: int, instructions: str | None) -> SafePlace | None:
    async with unit_of_work(runtime) as uow:
        return await neighbors.set_safe_place(
            session=uow.session, tenant_id=principal.tenant_id, customer_id=customer_id, instructions=instructions
        )


async def save_pickup_point(
    runtime: Runtime, principal: Principal, *, pickup_point_id: int | None, expected_version: int | None, data: PickupPointData
) -> PickupPoint:
    async with unit_of_work(runtime) as uow:
        return await pickup_points.save(
            session=uow.session, tenant_id=principal.tenant_id, data=data, pickup_point_id=pickup_point_id,
            expected_version=expected_version,
        )


async def update_policy(runtime: Runtime, principal: Principal, *, rules: dict[str, Any], expected_version: int) -> TenantPolicy:
    async with unit_of_work(runtime) as uow:
        return await alternatives.save_policy(
            session=uow.session, tenant_id=principal.tenant_id, rules=rules, expected_version=expected_version,
            actor_id=principal.user_id,
        )
