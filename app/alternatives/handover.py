"""The driver confirms an approved neighbour handover or secure drop-off at the door."""
from dataclasses import dataclass

from app.alternatives import codes, execution, neighbors
from app.alternatives.execution import CONFIRMED_AT_THE_DOOR
from app.alternatives.flows import lock_alternative
from app.alternatives.models import Alternative, AlternativeKind, AlternativeStatus, CodePurpose, NeighborStatus
from app.auth.principal import Principal
from app.config import Settings
from app.errors import DomainError, ErrorCode, invalid
from app.routes.permissions import may_drive_route
from app.runtime import Runtime, UnitOfWork, unit_of_work


@dataclass(frozen=True)
class HandoverProof:
    """What the driver brings back from the door; references point to stored files, never the files themselves."""

    code: str | None = None
    receiver_name: str | None = None
    signature_ref: str | None = None
    photo_ref: str | None = None

    def references(self) -> dict[str, str]:
        refs = {"signatureRef": self.signature_ref, "photoRef": self.photo_ref}
        for key, value in refs.items():
            if value is not None and (not value.strip() or len(value) > 300):
                raise invalid(f"{key} is a reference of 1 to 300 characters", key)
        return {k: v.strip() for k, v in refs.items() if v}


async def confirm_handover(runtime: Runtime, principal: Principal, *, alternative_id: int, proof: HandoverProof) -> Alternative:
    """The driver confirms the approved neighbour handover or secure drop-off; a wrong code still counts as a try."""
    failure: DomainError | None = None
    async with unit_of_work(runtime) as uow:
        alt, exc, route = await lock_alternative(uow, principal, alternative_id)
        if not may_drive_route(principal, route):
            raise DomainError(ErrorCode.FORBIDDEN, "only the driver of the route confirms a handover", field="id")
        if alt.kind not in CONFIRMED_AT_THE_DOOR:
            raise invalid("only neighbour handovers and secure drop-offs are confirmed at the door", "id")
        if alt.status is not AlternativeStatus.APPROVED:
            code = ErrorCode.ALTERNATIVE_ALREADY_DECIDED if alt.status is not AlternativeStatus.PROPOSED else ErrorCode.INVALID_TRANSITION
            raise DomainError(code, f"the alternative is {alt.status.value}, not APPROVED", field="id")
        recorded = proof.references()
        if alt.kind is AlternativeKind.NEIGHBOR_HANDOVER:
            failure, recorded = await _neighbor_proof(uow, runtime.settings, alt, proof, recorded)
        elif "photoRef" not in recorded:
            raise invalid("a secure drop-off needs a photo reference", "photoRef")
        if failure is None:
            await execution.confirm_at_the_door(uow, alt=alt, exc=exc, driver=principal, proof=recorded)
    if failure is not None:
        raise failure
    return alt


async def _neighbor_proof(
    uow: UnitOfWork, settings: Settings, alt: Alternative, proof: HandoverProof, recorded: dict[str, str]
) -> tuple[DomainError | None, dict[str, str]]:
    neighbor = await neighbors.get(session=uow.session, tenant_id=alt.tenant_id, neighbor_id=alt.neighbor_id)
    neighbors.ensure_not_revoked(neighbor)
    if proof.code:
        failure = await codes.check(
            session=uow.session, settings=settings, tenant_id=alt.tenant_id, purpose=CodePurpose.HANDOVER,
            subject_id=alt.id, code=proof.code,
        )
        if failure is None and neighbor.status is not NeighborStatus.VERIFIED:
            neighbors.mark_verified(session=uow.session, neighbor=neighbor)  # the code proves the phone is theirs
        return failure, {**recorded, "method": "code"}
    name = (proof.receiver_name or "").strip()
    if not name or not recorded:
        raise invalid("give the neighbour's code, or their name with a signature or photo reference", "code")
    if name.casefold() != neighbor.name.casefold():
        raise DomainError(ErrorCode.CONSENT_REQUIRED, "the receiver is not the neighbour the customer consented to", field="receiverName")
    return None, {**recorded, "method": "name", "receiverName": name}
