"""Carrying out an approved alternative: the stop, the route, the timeline, the warehouse and the people told."""
from datetime import datetime

from app.alternatives import codes, messages, neighbors, pickup_points
from app.alternatives import service as alternatives
from app.alternatives.models import (
    Alternative,
    AlternativeKind,
    AlternativeStatus,
    CodePurpose,
    Neighbor,
    ProposerKind,
)
from app.alternatives.resequencing import resequence_route
from app.auth.principal import Principal
from app.customers.models import Customer
from app.delivery_exceptions.flows import close_exception
from app.delivery_exceptions.models import (
    DeliveryException,
    EventType,
    ExceptionEvent,
    ExceptionStatus,
    ResolutionOutcome,
    ResolutionStep,
)
from app.delivery_exceptions.notices import event_notices
from app.events import AlternativeApproved, AlternativeExecuted
from app.integrations.outbox import record_once
from app.realtime.models import RouteChangeKind
from app.realtime.route_events import record_route_change
from app.routes import service as routes
from app.routes.models import Route, Stop, StopStatus
from app.runtime import UnitOfWork

K = AlternativeKind
CONFIRMED_AT_THE_DOOR = frozenset({K.NEIGHBOR_HANDOVER, K.SECURE_DROPOFF})
CLOSING_OUTCOME = {
    K.RESCHEDULE: ResolutionOutcome.RESCHEDULED,
    K.PICKUP_POINT: ResolutionOutcome.PICKUP_POINT,
    K.RETURN_TO_DEPOT: ResolutionOutcome.RETURNED_TO_DEPOT,
    K.NEIGHBOR_HANDOVER: ResolutionOutcome.DELIVERED_TO_NEIGHBOR,
    K.SECURE_DROPOFF: ResolutionOutcome.SECURE_DROPOFF,
}
WMS_EVENT = {
    K.RESCHEDULE: "wms.parcel_held",
    K.PICKUP_POINT: "wms.parcel_redirected",
    K.ADDRESS_CORRECTION: "wms.parcel_redirected",
    K.RETURN_TO_DEPOT: "wms.parcel_returned",
}


def publish(uow: UnitOfWork, events: list[ExceptionEvent | None]) -> None:
    """Queue the notices of events that already have their ids (call after a flush)."""
    for event in events:
        if event is not None:
            uow.notify(*event_notices(event))


def _role(actor: Principal | None, proposer: ProposerKind) -> str:
    return actor.role.value if actor else proposer.value.lower()


async def approve(
    uow: UnitOfWork, *, alt: Alternative, exc: DeliveryException, approver: Principal | None,
    approver_kind: ProposerKind,
) -> None:
    """Mark the alternative approved (by a person, or by the rule when approver is None) and carry it out."""
    session = uow.session
    alt.status, alt.decided_at = AlternativeStatus.APPROVED, uow.clock.now()
    alt.decided_by_user_id = approver.user_id if approver else None
    alt.version += 1
    session.add(alt)
    approved = alternatives.record(
        session=session, exc=exc, type=EventType.ALTERNATIVE_APPROVED, step=ResolutionStep.CORRECTIVE_ACTION,
        actor=approver, proposer=approver_kind,
        payload={"alternativeId": alt.id, "kind": alt.kind.value, "decision": alt.decision.value, "rule": alt.decision_rule},
    )
    moved = alternatives.move_status(
        session=session, exc=exc, status=ExceptionStatus.ACTION_APPROVED, actor=approver, proposer=approver_kind,
        note=f"{alt.kind.value} approved",
    )
    await session.flush()
    publish(uow, [approved, moved])
    await uow.emit(AlternativeApproved(
        tenant_id=alt.tenant_id, alternative_id=alt.id, exception_id=exc.id, kind=alt.kind.value,
        approver_role=_role(approver, approver_kind),
    ))
    if alt.kind in CONFIRMED_AT_THE_DOOR:
        await _prepare_handover(uow, alt=alt, exc=exc)
    else:
        await _execute(uow, alt=alt, exc=exc, actor=approver, proposer=approver_kind, proof={})


async def _prepare_handover(uow: UnitOfWork, *, alt: Alternative, exc: DeliveryException) -> None:
    """A neighbour handover gets a code texted to the neighbour, which the driver asks for at the door."""
    if alt.kind is not K.NEIGHBOR_HANDOVER:
        return
    session = uow.session
    neighbor = await session.get(Neighbor, alt.neighbor_id)
    stop = await session.get(Stop, alt.stop_id)
    customer = await session.get(Customer, stop.customer_id)
    code = await codes.issue(
        session=session, settings=uow.settings, tenant_id=alt.tenant_id, purpose=CodePurpose.HANDOVER,
        subject_id=alt.id, ttl_seconds=uow.settings.handover_code_ttl_seconds,
    )
    await messages.send_sms(
        uow, tenant_id=alt.tenant_id, to_phone=neighbor.phone, text=messages.handover_code_text(customer.name, code),
        purpose="neighbor_handover_code", exception_id=exc.id,
    )


async def confirm_at_the_door(
    uow: UnitOfWork, *, alt: Alternative, exc: DeliveryException, driver: Principal, proof: dict[str, str]
) -> None:
    """The driver handed the parcels over as approved: close the exception and tell the people involved."""
    await _execute(uow, alt=alt, exc=exc, actor=driver, proposer=ProposerKind.DRIVER, proof=proof)
    session = uow.session
    stop = await session.get(Stop, alt.stop_id)
    customer = await session.get(Customer, stop.customer_id)
    if alt.kind is K.NEIGHBOR_HANDOVER:
        neighbor = await session.get(Neighbor, alt.neighbor_id)
        texts = [
            (customer.phone, messages.left_with_neighbor_text(neighbor.name, neighbor.address), "handover_done", customer.id),
            (neighbor.phone, messages.received_for_customer_text(customer.name), "handover_thanks", None),
        ]
    else:
        texts = [(customer.phone, messages.safe_place_text(alt.details.get("instructions", "")), "dropoff_done", customer.id)]
    for phone, text, purpose, customer_id in texts:
        if phone:
            await messages.send_sms(
                uow, tenant_id=alt.tenant_id, to_phone=phone, text=text, purpose=purpose, customer_id=customer_id,
                exception_id=exc.id,
            )


async def _execute(
    uow: UnitOfWork, *, alt: Alternative, exc: DeliveryException, actor: Principal | None,
    proposer: ProposerKind, proof: dict[str, str],
) -> None:
    session = uow.session
    stop = await session.get(Stop, alt.stop_id)
    route = await session.get(Route, alt.route_id)
    parcels = await alternatives.parcel_facts(session=session, tenant_id=alt.tenant_id, stop_id=stop.id)
    if alt.kind is K.RESCHEDULE:
        stop.window_start = datetime.fromisoformat(alt.details["windowStart"])
        stop.window_end = datetime.fromisoformat(alt.details["windowEnd"])
    elif alt.kind is K.ADDRESS_CORRECTION:
        stop.address, stop.lat, stop.lon = alt.details["address"], alt.details["lat"], alt.details["lon"]
        stop.status = StopStatus.PENDING  # back on today's route, at its new place
    elif alt.kind is K.PICKUP_POINT:
        await _redirect_to_pickup_point(uow, alt=alt, exc=exc, stop=stop, parcels=len(parcels))
    stop.version += 1
    session.add(stop)
    alt.status, alt.executed_at, alt.proof = AlternativeStatus.EXECUTED, uow.clock.now(), proof
    alt.version += 1
    session.add(alt)
    events: list[ExceptionEvent | None] = [
        alternatives.record(
            session=session, exc=exc, type=EventType.ALTERNATIVE_EXECUTED, step=ResolutionStep.CORRECTIVE_ACTION,
            actor=actor, proposer=proposer,
            payload={"alternativeId": alt.id, "kind": alt.kind.value, "stopId": stop.id, "proof": sorted(proof)},
        )
    ]
    outcome = CLOSING_OUTCOME.get(alt.kind)
    if outcome is not None:
        closed = await close_exception(
            uow, actor, exc, expected_version=exc.version, outcome=outcome, note=f"{alt.kind.value} (alternative {alt.id})"
        )
        closed.actor_role = _role(actor, proposer)
        events.append(closed)
    if alt.kind in WMS_EVENT:
        await record_once(
            session=session, tenant_id=alt.tenant_id, kind=WMS_EVENT[alt.kind],
            idempotency_key=f"alternative:{alt.id}:executed",
            payload={
                "alternativeId": alt.id, "kind": alt.kind.value, "stopId": stop.id, "routeId": route.id,
                "parcels": [p.barcode for p in parcels], "pickupPointId": alt.pickup_point_id,
                "address": stop.address, "windowStart": alt.details.get("windowStart"),
            },
        )
    await routes.bump_route_version(session=session, route=route)
    replan = alt.kind not in CONFIRMED_AT_THE_DOOR
    if replan:
        await resequence_route(uow, route.id)  # at once, under the lock; the solver's order follows after the commit
    await session.flush()
    publish(uow, events)
    await uow.emit(AlternativeExecuted(
        tenant_id=alt.tenant_id, alternative_id=alt.id, exception_id=exc.id, stop_id=stop.id, route_id=route.id,
        kind=alt.kind.value, replan=replan,
    ))
    await record_route_change(
        # The solver's new order follows after the commit as its own ROUTE_REPLANNED change (app.replanning).
        uow, route=route, kind=RouteChangeKind.STOP_UPDATED,
        stop_ids=[stop.id], payload={"alternativeId": alt.id, "alternativeKind": alt.kind.value, "stopStatus": stop.status.value},
    )


async def _redirect_to_pickup_point(
    uow: UnitOfWork, *, alt: Alternative, exc: DeliveryException, stop: Stop, parcels: int
) -> None:
    session = uow.session
    point = await pickup_points.get(session=session, tenant_id=alt.tenant_id, pickup_point_id=alt.pickup_point_id)
    pickup_points.ensure_usable(point, uow.clock.now(), parcels)
    await pickup_points.reserve(session=session, point=point, parcels=parcels)
    code = await codes.issue(
        session=session, settings=uow.settings, tenant_id=alt.tenant_id, purpose=CodePurpose.PICKUP, subject_id=alt.id,
        ttl_seconds=uow.settings.pickup_code_ttl_seconds,
    )
    customer = await neighbors.get_customer(session=session, tenant_id=alt.tenant_id, customer_id=stop.customer_id)
    if customer.phone:
        await messages.send_sms(
            uow, tenant_id=alt.tenant_id, to_phone=customer.phone, text=messages.pickup_code_text(point.name, point.address, code),
            purpose="pickup_code", customer_id=customer.id, exception_id=exc.id,
        )

