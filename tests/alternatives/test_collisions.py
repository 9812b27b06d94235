"""A dispatcher approving while the customer picks another option: one wins, the other gets a conflict."""
import asyncio

import pytest

from app.alternatives.flows import (
    AlternativeKind,
    ProposerKind,
    approve_alternative,
    propose_alternative,
    reject_alternative,
)
from app.alternatives.handover import HandoverProof, confirm_handover
from app.alternatives.models import Alternative, AlternativeStatus
from app.delivery_exceptions.flows import update_exception_status
from app.delivery_exceptions.models import DeliveryException, ExceptionStatus
from app.errors import DomainError, ErrorCode
from tests.alternatives.helpers import absent_customer, neighbor, pickup_point, principal, rows


async def handover_waiting_for_dispatcher(runtime, factory):  # noqa: ANN001, ANN201
    scene = await absent_customer(factory)
    consented = await neighbor(runtime, scene)
    locker = await pickup_point(runtime, scene.tenant_id)
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.NEIGHBOR_HANDOVER,
        proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={"neighborId": consented.id},
    )
    return scene, alt, locker


def customer_picks(runtime, scene, locker):  # noqa: ANN001, ANN201
    return propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.PICKUP_POINT,
        proposed_by=ProposerKind.CUSTOMER, actor=None, details={"pickupPointId": locker.id},
    )


def dispatcher_approves(runtime, scene, alt):  # noqa: ANN001, ANN201
    return approve_alternative(runtime, principal(scene.fleet.dispatcher), alternative_id=alt.id, expected_version=alt.version)


async def test_dispatcher_first_then_the_customer_is_told_it_is_decided(runtime, factory):
    # given a handover waiting for a dispatcher, which the dispatcher approves
    scene, alt, locker = await handover_waiting_for_dispatcher(runtime, factory)
    await dispatcher_approves(runtime, scene, alt)

    # when the customer then picks the pickup point
    with pytest.raises(DomainError) as conflict:
        await customer_picks(runtime, scene, locker)

    # then the customer gets a conflict and the handover stands
    assert conflict.value.code is ErrorCode.ALTERNATIVE_ALREADY_DECIDED
    statuses = [a.status for a in await rows(runtime, Alternative, Alternative.exception_id == scene.exception.id)]
    assert statuses == [AlternativeStatus.APPROVED]


async def test_customer_first_then_the_dispatcher_is_told_it_is_decided(runtime, factory):
    # given a handover waiting for a dispatcher, and the customer picks a pickup point meanwhile
    scene, alt, locker = await handover_waiting_for_dispatcher(runtime, factory)
    await customer_picks(runtime, scene, locker)

    # when the dispatcher approves the handover they loaded earlier
    with pytest.raises(DomainError) as conflict:
        await dispatcher_approves(runtime, scene, alt)

    # then the dispatcher gets a conflict: the customer's choice superseded it and was carried out
    assert conflict.value.code is ErrorCode.ALTERNATIVE_ALREADY_DECIDED
    statuses = [a.status for a in await rows(runtime, Alternative, Alternative.exception_id == scene.exception.id)]
    assert statuses == [AlternativeStatus.SUPERSEDED, AlternativeStatus.EXECUTED]


async def test_racing_dispatcher_and_customer_leave_exactly_one_winner(runtime, factory):
    # given a handover waiting for a dispatcher
    scene, alt, locker = await handover_waiting_for_dispatcher(runtime, factory)

    # when the dispatcher's approval and the customer's choice arrive together
    results = await asyncio.gather(
        dispatcher_approves(runtime, scene, alt), customer_picks(runtime, scene, locker), return_exceptions=True
    )

    # then exactly one succeeded and the other got a conflict
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], DomainError), results
    assert failures[0].code is ErrorCode.ALTERNATIVE_ALREADY_DECIDED
    statuses = [a.status for a in await rows(runtime, Alternative, Alternative.exception_id == scene.exception.id)]
    assert statuses in ([AlternativeStatus.APPROVED], [AlternativeStatus.SUPERSEDED, AlternativeStatus.EXECUTED])


async def test_stale_version_and_missing_authority_are_typed_errors(runtime, factory):
    # given a handover waiting for a dispatcher
    scene, alt, _ = await handover_waiting_for_dispatcher(runtime, factory)
    dispatcher = principal(scene.fleet.dispatcher)

    # when approved with a stale version, then it is a version conflict
    with pytest.raises(DomainError) as stale:
        await approve_alternative(runtime, dispatcher, alternative_id=alt.id, expected_version=alt.version - 1 or 99)
    assert stale.value.code is ErrorCode.VERSION_CONFLICT

    # when rejected, then it can no longer be approved
    rejected = await reject_alternative(runtime, dispatcher, alternative_id=alt.id, expected_version=alt.version, reason="neighbour away")
    assert rejected.status is AlternativeStatus.REJECTED and rejected.rejection_reason == "neighbour away"
    with pytest.raises(DomainError) as decided:
        await approve_alternative(runtime, dispatcher, alternative_id=alt.id, expected_version=rejected.version)
    assert decided.value.code is ErrorCode.ALTERNATIVE_ALREADY_DECIDED


async def test_dispatcher_cannot_approve_what_needs_a_supervisor(runtime, factory):
    # given a return to depot, which the default policy leaves to supervisors
    scene = await absent_customer(factory)
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.RETURN_TO_DEPOT,
        proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={},
    )

    # when a dispatcher approves, then the policy requires a supervisor
    with pytest.raises(DomainError) as refused:
        await approve_alternative(runtime, principal(scene.fleet.dispatcher), alternative_id=alt.id, expected_version=alt.version)
    assert refused.value.code is ErrorCode.POLICY_REQUIRES_SUPERVISOR

    # when the supervisor approves, then it is carried out
    done = await approve_alternative(runtime, principal(scene.fleet.supervisor), alternative_id=alt.id, expected_version=alt.version)
    assert done.status is AlternativeStatus.EXECUTED


async def test_moving_the_exception_back_to_a_decision_reopens_the_choice(runtime, factory):
    # given an approved handover, but the neighbour turns out not to be home
    scene, alt, locker = await handover_waiting_for_dispatcher(runtime, factory)
    await dispatcher_approves(runtime, scene, alt)
    [exc] = await rows(runtime, DeliveryException, DeliveryException.id == scene.exception.id)
    await update_exception_status(
        runtime, principal(scene.fleet.dispatcher), exception_id=exc.id, expected_version=exc.version,
        status=ExceptionStatus.AWAITING_DECISION, note="neighbour not home",
    )

    # when the customer then picks the pickup point
    chosen = await customer_picks(runtime, scene, locker)

    # then it is carried out and the handover can no longer be confirmed
    statuses = [a.status for a in await rows(runtime, Alternative, Alternative.exception_id == scene.exception.id)]
    assert chosen.status is AlternativeStatus.EXECUTED
    assert statuses == [AlternativeStatus.SUPERSEDED, AlternativeStatus.EXECUTED]
    with pytest.raises(DomainError) as gone:
        await confirm_handover(runtime, principal(scene.fleet.driver), alternative_id=alt.id, proof=HandoverProof(code="123456"))
    assert gone.value.code is ErrorCode.ALTERNATIVE_ALREADY_DECIDED
