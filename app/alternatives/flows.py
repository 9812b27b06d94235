"""Proposing, approving, rejecting and confirming alternatives: one transaction each, notices after commit.

A customer's choice (outreach's CustomerAnswered) and a silence (CustomerDidNotAnswer) reach this domain as
events: `propose_customer_choice` and `propose_safe_place_fallback` are their in-transaction handlers.
"""
from typing import Any

from app.alternatives import execution, neighbors, pickup_points
from app.alternatives import details as details_rules
from app.alternatives import service as alternatives
from app.alternatives.models import (
    Alternative,
    AlternativeKind,
    AlternativeStatus,
    DecisionOutcome,
    NeighborStatus,
    ProposerKind,
)
from app.alternatives.policy import Proposal, decide, may_approve
from app.auth.principal import Principal, may_see_depot
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import DeliveryException, EventType, ExceptionStatus, ResolutionStep
from app.errors import DomainError, ErrorCode, ensure_version, invalid, not_found
from app.events import CustomerAnswered, CustomerDidNotAnswer
from app.routes.models import Route, Stop
from app.routes.permissions import may_drive_route, may_see_route
from app.runtime import Runtime, UnitOfWork, unit_of_work

PEOPLE_ACTING_FOR_THEMSELVES = (ProposerKind.DRIVER, ProposerKind.DISPATCHER, ProposerKind.SUPERVISOR)


async def propose_alternative(
    runtime: Runtime, *, tenant_id: int, stop_id: int, kind: AlternativeKind, proposed_by: ProposerKind,
    actor: Principal | None, details: dict, expected_exception_version: int | None = None,
) -> Alternative:
    """Propose an alternative for the stop's open exception; the policy may approve (and execute) it at once."""
    async with unit_of_work(runtime) as uow:
        return await _propose(
            uow, tenant_id=tenant_id, stop_id=stop_id, kind=kind, proposed_by=proposed_by,
            actor=actor, details=details, expected_exception_version=expected_exception_version,
        )


async def propose_customer_choice(uow: UnitOfWork, event: CustomerAnswered) -> None:
    """In-transaction handler: the customer's choice becomes their proposal (the policy may approve it at once)."""
    alt = await _propose(
        uow, tenant_id=event.tenant_id, stop_id=event.stop_id, kind=AlternativeKind(event.option), proposed_by=ProposerKind.CUSTOMER,
        actor=None, details=event.details, expected_exception_version=None,
    )
    event.reply.alternative_id = alt.id


async def propose_safe_place_fallback(uow: UnitOfWork, event: CustomerDidNotAnswer) -> None:
    """In-transaction handler: no answer in time, so the safe place the customer chose in advance is proposed by rule."""
    stop = await uow.session.get(Stop, event.stop_id)
    if await neighbors.safe_place(session=uow.session, tenant_id=stop.tenant_id, customer_id=stop.customer_id) is None:
        return
    alt = await _propose(
        uow, tenant_id=stop.tenant_id, stop_id=stop.id, kind=AlternativeKind.SECURE_DROPOFF, proposed_by=ProposerKind.RULE,
        actor=None, details={}, expected_exception_version=None,
    )
    event.reply.alternative_id = alt.id


def _check_actor(actor: Principal | None, proposed_by: ProposerKind, tenant_id: int, route: Route) -> None:
    if actor is None:
        if proposed_by in PEOPLE_ACTING_FOR_THEMSELVES:
            raise invalid(f"a {proposed_by.value.lower()} proposal needs the signed-in person", "proposedBy")
        return
    if actor.tenant_id != tenant_id or not may_see_route(actor, route):
        raise not_found("stop", "stopId")
    if proposed_by in PEOPLE_ACTING_FOR_THEMSELVES and alternatives.proposer_for(actor) is not proposed_by:
        raise DomainError(ErrorCode.FORBIDDEN, f"a {actor.role.value} cannot propose as {proposed_by.value}", field="proposedBy")
    if proposed_by not in PEOPLE_ACTING_FOR_THEMSELVES and not actor.is_staff:
        raise DomainError(ErrorCode.FORBIDDEN, "only staff record a customer's or a rule's choice", field="proposedBy")
    if actor.is_driver and not may_drive_route(actor, route):
        raise DomainError(ErrorCode.FORBIDDEN, "only the driver assigned to this route can propose on it", field="stopId")


async def _propose(
    uow: UnitOfWork, *, tenant_id: int, stop_id: int, kind: AlternativeKind, proposed_by: ProposerKind,
    actor: Principal | None, details: dict[str, Any], expected_exception_version: int | None,
) -> Alternative:
    session = uow.session
    kind, proposed_by = AlternativeKind(kind), ProposerKind(proposed_by)
    stop = await session.get(Stop, stop_id)
    if stop is None or stop.tenant_id != tenant_id or stop.route_id is None:  # a stop not yet planned has no exception
        raise not_found("stop", "stopId")
    route = await session.get(Route, stop.route_id)
    _check_actor(actor, proposed_by, tenant_id, route)
    checked = details_rules.check(kind, details or {})
    open_exc = await exceptions.open_exception_on_stop(session=session, stop_id=stop.id)
    if open_exc is None:
        raise DomainError(ErrorCode.NO_OPEN_EXCEPTION, "the stop has no open exception to resolve", field="stopId")
    exc = await alternatives.lock_exception(session=session, tenant_id=tenant_id, exception_id=open_exc.id)
    alternatives.ensure_open(exc)
    if expected_exception_version is not None:
        ensure_version(current=exc.version, expected=expected_exception_version, what="the exception")
    live = await alternatives.live_alternatives(session=session, tenant_id=tenant_id, exception_id=exc.id)
    # Once one is approved the exception waits on it; a dispatcher moving it back to a decision reopens the choice.
    decided = [a for a in live if a.status is not AlternativeStatus.PROPOSED and exc.status is ExceptionStatus.ACTION_APPROVED]
    if decided:
        raise DomainError(
            ErrorCode.ALTERNATIVE_ALREADY_DECIDED,
            f"{decided[0].kind.value} (alternative {decided[0].id}) was already approved for this delivery",
            field="stopId",
        )
    parcels = await alternatives.parcel_facts(session=session, tenant_id=tenant_id, stop_id=stop.id)
    stored, neighbor_id, consented, preselected = dict(checked.stored), None, False, False
    if kind is AlternativeKind.NEIGHBOR_HANDOVER:
        neighbor = await _neighbor_for(session, stop, checked, proposed_by)
        neighbor_id, consented = neighbor.id, neighbor.status is NeighborStatus.VERIFIED
        stored["neighborId"] = neighbor.id
    elif kind is AlternativeKind.PICKUP_POINT:
        point = await pickup_points.get(session=session, tenant_id=tenant_id, pickup_point_id=checked.pickup_point_id)
        pickup_points.ensure_usable(point, uow.clock.now(), len(parcels))
        stored["pickupPointId"] = point.id
    elif kind is AlternativeKind.SECURE_DROPOFF:
        place = await neighbors.safe_place(session=session, tenant_id=tenant_id, customer_id=stop.customer_id)
        given = stored.get("instructions")
        if given is None and place is None:
            raise invalid("say where the parcel is left: instructions", "instructions")
        preselected = place is not None and (given is None or given.casefold() == place.instructions.casefold())
        stored["instructions"] = given or place.instructions
    rules, _ = await alternatives.load_policy(session=session, tenant_id=tenant_id)
    proposal = Proposal(kind, exc.kind, stop.attempts, neighbor_consented=consented, safe_place_preselected=preselected)
    decision = decide(rules, proposal, alternatives.facts(parcels), proposed_by)
    if decision.outcome is DecisionOutcome.REFUSED:
        if decision.rule == "neighbor_consent_required":
            raise DomainError(ErrorCode.CONSENT_REQUIRED, "the customer has not consented to this neighbour (verified)", field="neighborId")
        raise DomainError(ErrorCode.POLICY_REFUSED, f"the policy refuses {kind.value} ({decision.rule})", field="kind")
    superseded = [a for a in live if a.status is not AlternativeStatus.EXECUTED]
    for earlier in superseded:
        earlier.status = AlternativeStatus.SUPERSEDED
        earlier.version += 1
        session.add(earlier)
    alt = Alternative(
        tenant_id=tenant_id, exception_id=exc.id, stop_id=stop.id, route_id=route.id, kind=kind, details=stored,
        neighbor_id=neighbor_id, pickup_point_id=stored.get("pickupPointId"), proposed_by=proposed_by,
        proposed_by_user_id=actor.user_id if actor else None, decision=decision.outcome, decision_rule=decision.rule,
    )
    session.add(alt)
    await session.flush()
    proposed = alternatives.record(
        session=session, exc=exc, type=EventType.ALTERNATIVE_PROPOSED,
        step=ResolutionStep.CUSTOMER_CONTACTED if proposed_by is ProposerKind.CUSTOMER else ResolutionStep.ANALYSED,
        actor=actor, proposer=proposed_by,
        payload={
            "alternativeId": alt.id, "kind": kind.value, "proposedBy": proposed_by.value, "details": stored,
            "decision": decision.outcome.value, "rule": decision.rule, "supersedes": [a.id for a in superseded],
        },
    )
    if decision.outcome is DecisionOutcome.APPROVED_AUTOMATICALLY:
        await session.flush()
        execution.publish(uow, [proposed])
        await execution.approve(uow, alt=alt, exc=exc, approver=None, approver_kind=ProposerKind.RULE)
    elif actor is not None and proposed_by in PEOPLE_ACTING_FOR_THEMSELVES and may_approve(decision.outcome, proposed_by):
        await session.flush()
        execution.publish(uow, [proposed])
        await execution.approve(uow, alt=alt, exc=exc, approver=actor, approver_kind=proposed_by)
    else:
        waiting = alternatives.move_status(
            session=session, exc=exc, status=ExceptionStatus.AWAITING_DECISION, actor=actor, proposer=proposed_by,
            note=f"{kind.value} needs {decision.outcome.value.removeprefix('NEEDS_').lower()} approval",
        )
        await session.flush()
        execution.publish(uow, [proposed, waiting])
    return alt


async def _neighbor_for(session, stop: Stop, checked: details_rules.CheckedDetails, proposed_by: ProposerKind):  # noqa: ANN001, ANN202
    """The consented neighbour named by id, or one the customer names in their answer (their consent)."""
    if checked.neighbor_id is not None:
        neighbor = await neighbors.get(session=session, tenant_id=stop.tenant_id, neighbor_id=checked.neighbor_id)
        if neighbor.customer_id != stop.customer_id:
            raise not_found("neighbor", "neighborId")
        neighbors.ensure_not_revoked(neighbor)
        return neighbor
    if proposed_by is not ProposerKind.CUSTOMER:
        raise DomainError(
            ErrorCode.CONSENT_REQUIRED, "only the customer can name a new neighbour; add them to the customer's neighbours",
            field="neighborId",
        )
    person = checked.new_neighbor
    return await neighbors.add(
        session=session, tenant_id=stop.tenant_id, customer_id=stop.customer_id, name=person["name"],
        address=person["address"], phone=person["phone"], unit=person["unit"], from_outreach=True,
    )


async def lock_alternative(uow: UnitOfWork, principal: Principal, alternative_id: int) -> tuple[Alternative, DeliveryException, Route]:
    """The alternative and its exception, under the exception's write lock, when the caller may see them."""
    session = uow.session
    alt = await alternatives.get(session=session, tenant_id=principal.tenant_id, alternative_id=alternative_id)
    route = await session.get(Route, alt.route_id) if alt else None
    if alt is None or route is None or not may_see_route(principal, route):
        raise not_found("alternative")
    exc = await alternatives.lock_exception(session=session, tenant_id=principal.tenant_id, exception_id=alt.exception_id)
    alt = await alternatives.get(session=session, tenant_id=principal.tenant_id, alternative_id=alternative_id)
    return alt, exc, route


def _ensure_pending(alt: Alternative, expected_version: int | None) -> None:
    if alt.status is not AlternativeStatus.PROPOSED:
        raise DomainError(ErrorCode.ALTERNATIVE_ALREADY_DECIDED, f"the alternative is already {alt.status.value}", field="id")
    alternatives.ensure_alternative_version(alt, expected_version)


async def approve_alternative(runtime: Runtime, principal: Principal, *, alternative_id: int, expected_version: int) -> Alternative:
    """A dispatcher or supervisor approves a proposal the policy left to them; it is carried out at once."""
    async with unit_of_work(runtime) as uow:
        alt, exc, route = await lock_alternative(uow, principal, alternative_id)
        _ensure_pending(alt, expected_version)
        alternatives.ensure_open(exc)
        approver_kind = alternatives.proposer_for(principal)
        if not may_depot(principal, route):
            raise DomainError(ErrorCode.FORBIDDEN, "only the depot's dispatchers and supervisors decide", field="id")
        if not may_approve(alt.decision, approver_kind):
            raise DomainError(
                ErrorCode.POLICY_REQUIRES_SUPERVISOR,
                f"the policy leaves this to a supervisor or the customer's own choice ({alt.decision_rule})", field="id",
            )
        await execution.approve(uow, alt=alt, exc=exc, approver=principal, approver_kind=approver_kind)
        return alt


def may_depot(principal: Principal, route: Route) -> bool:
    return principal.is_staff and may_see_depot(principal, route.depot_id)


async def reject_alternative(
    runtime: Runtime, principal: Principal, *, alternative_id: int, expected_version: int, reason: str
) -> Alternative:
    """A dispatcher or supervisor turns a proposal down; the exception keeps waiting for another."""
    text = reason.strip()
    if not text or len(text) > 500:
        raise invalid("a reason of 1 to 500 characters is required", "reason")
    async with unit_of_work(runtime) as uow:
        alt, exc, route = await lock_alternative(uow, principal, alternative_id)
        _ensure_pending(alt, expected_version)
        if not may_depot(principal, route):
            raise DomainError(ErrorCode.FORBIDDEN, "only the depot's dispatchers and supervisors decide", field="id")
        alt.status, alt.rejection_reason, alt.decided_at = AlternativeStatus.REJECTED, text, uow.clock.now()
        alt.decided_by_user_id = principal.user_id
        alt.version += 1
        uow.session.add(alt)
        event = alternatives.record(
            session=uow.session, exc=exc, type=EventType.ALTERNATIVE_REJECTED, step=ResolutionStep.ANALYSED,
            actor=principal, proposer=alternatives.proposer_for(principal),
            payload={"alternativeId": alt.id, "kind": alt.kind.value, "reason": text},
        )
        await uow.session.flush()
        execution.publish(uow, [event])
        return alt
