"""Proposing, deciding and executing alternatives through the flows outreach and the API call."""
from datetime import timedelta

import pytest

from app.alternatives.flows import AlternativeKind, ProposerKind, approve_alternative, propose_alternative
from app.alternatives.handover import HandoverProof, confirm_handover
from app.alternatives.models import Alternative, AlternativeStatus, DecisionOutcome, Neighbor
from app.alternatives.setup_flows import set_safe_place
from app.clock import current_time as utcnow
from app.delivery_exceptions.models import DeliveryException, ExceptionEvent, ExceptionStatus, ResolutionOutcome
from app.errors import DomainError, ErrorCode
from app.integrations.models import IntegrationEvent
from app.outreach.models import Notification
from app.routes.models import Parcel, ParcelStatus, Stop, StopStatus
from tests.alternatives.helpers import absent_customer, neighbor, principal, rows


async def test_customer_reschedule_is_approved_by_policy_and_takes_the_stop_off_today(runtime, factory):
    # given a customer who was not home
    scene = await absent_customer(factory)
    start = utcnow() + timedelta(days=1)

    # when they pick a new window through outreach
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.RESCHEDULE,
        proposed_by=ProposerKind.CUSTOMER, actor=None,
        details={"windowStart": start.isoformat(), "windowEnd": (start + timedelta(hours=2)).isoformat()},
    )

    # then the rule approved and executed it, and the exception is resolved as rescheduled
    assert alt.status is AlternativeStatus.EXECUTED and alt.decision_rule == "customer_choice"
    [exc] = await rows(runtime, DeliveryException, DeliveryException.id == scene.exception.id)
    assert exc.status is ExceptionStatus.RESOLVED
    [stop] = await rows(runtime, Stop, Stop.id == scene.stop.id)
    assert stop.status is StopStatus.RESCHEDULED and stop.window_start == start.replace(microsecond=start.microsecond)
    parcels = await rows(runtime, Parcel, Parcel.stop_id == stop.id)
    assert {p.status for p in parcels} == {ParcelStatus.HELD}
    events = await rows(runtime, ExceptionEvent, ExceptionEvent.exception_id == exc.id)
    assert [(e.type.value, e.actor_role) for e in events][1:] == [
        ("ALTERNATIVE_PROPOSED", "customer"), ("ALTERNATIVE_APPROVED", "rule"), ("STATUS_CHANGED", "rule"),
        ("ALTERNATIVE_EXECUTED", "rule"), ("RESOLVED", "rule"),
    ]
    [wms] = await rows(runtime, IntegrationEvent, IntegrationEvent.tenant_id == scene.tenant_id)
    assert wms.kind == "wms.parcel_held" and len(wms.payload["parcels"]) == 2


async def test_driver_neighbour_without_consent_is_refused(runtime, factory):
    # given a neighbour the customer listed but who never confirmed the code
    scene = await absent_customer(factory)
    unverified = await neighbor(runtime, scene, verified=False)

    # when the driver proposes to hand the parcel to them
    with pytest.raises(DomainError) as refused:
        await propose_alternative(
            runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.NEIGHBOR_HANDOVER,
            proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={"neighborId": unverified.id},
        )

    # then it is refused for lack of consent and nothing was recorded
    assert refused.value.code is ErrorCode.CONSENT_REQUIRED
    assert await rows(runtime, Alternative, Alternative.exception_id == scene.exception.id) == []


async def test_driver_neighbour_with_consent_waits_for_dispatcher_then_texts_the_neighbour(runtime, factory):
    # given a verified neighbour
    scene = await absent_customer(factory)
    consented = await neighbor(runtime, scene)

    # when the driver proposes the handover
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.NEIGHBOR_HANDOVER,
        proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={"neighborId": consented.id},
    )

    # then it waits for a dispatcher
    assert alt.status is AlternativeStatus.PROPOSED and alt.decision is DecisionOutcome.NEEDS_DISPATCHER
    [exc] = await rows(runtime, DeliveryException, DeliveryException.id == scene.exception.id)
    assert exc.status is ExceptionStatus.AWAITING_DECISION

    # when the dispatcher approves
    approved = await approve_alternative(runtime, principal(scene.fleet.dispatcher), alternative_id=alt.id, expected_version=alt.version)

    # then the neighbour gets a code by SMS, and only its hash is stored
    assert approved.status is AlternativeStatus.APPROVED
    sms = await rows(runtime, Notification, Notification.recipient == consented.phone)
    assert [n.purpose for n in sms] == ["neighbor_handover_code"]


async def test_customer_names_a_new_neighbour_which_counts_as_consent(runtime, factory):
    # given a customer who was out
    scene = await absent_customer(factory)

    # when they answer outreach with a neighbour's name, address and phone
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.NEIGHBOR_HANDOVER,
        proposed_by=ProposerKind.CUSTOMER, actor=None,
        details={"name": "Bob Across", "address": "Teststraat 5", "phone": "+31 6 12345679"},
    )

    # then the neighbour is on their list as consented by that answer, and the handover is approved for the driver
    [listed] = await rows(runtime, Neighbor, Neighbor.id == alt.neighbor_id)
    assert listed.consent_from_outreach and listed.phone == "+31612345679"
    assert alt.status is AlternativeStatus.APPROVED and alt.decision_rule == "customer_choice"


async def test_driver_confirms_by_name_and_signature_but_not_for_someone_else(runtime, factory):
    # given an approved handover to a consented neighbour
    scene = await absent_customer(factory)
    consented = await neighbor(runtime, scene, name="Ann Next")
    dispatcher = principal(scene.fleet.dispatcher)
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.NEIGHBOR_HANDOVER,
        proposed_by=ProposerKind.DISPATCHER, actor=dispatcher, details={"neighborId": consented.id},
    )
    assert alt.status is AlternativeStatus.APPROVED  # the dispatcher may approve it, so proposing approved it
    driver = principal(scene.fleet.driver)

    # when the driver names someone else, then consent is required
    with pytest.raises(DomainError) as refused:
        await confirm_handover(runtime, driver, alternative_id=alt.id, proof=HandoverProof(receiver_name="Carl", signature_ref="sig/1.png"))
    assert refused.value.code is ErrorCode.CONSENT_REQUIRED

    # when the driver records the neighbour's name and signature
    done = await confirm_handover(
        runtime, driver, alternative_id=alt.id, proof=HandoverProof(receiver_name=" ann next ", signature_ref="sig/2.png")
    )

    # then it is executed with that proof and the stop is delivered
    assert done.status is AlternativeStatus.EXECUTED
    assert done.proof == {"method": "name", "receiverName": "ann next", "signatureRef": "sig/2.png"}
    [stop] = await rows(runtime, Stop, Stop.id == scene.stop.id)
    assert stop.status is StopStatus.DELIVERED


async def test_safe_place_chosen_in_advance_is_approved_and_needs_a_photo(runtime, factory):
    # given a customer who chose a safe place in advance
    scene = await absent_customer(factory)
    await set_safe_place(runtime, principal(scene.fleet.dispatcher), customer_id=scene.stop.customer_id, instructions="Behind the blue gate")

    # when the driver proposes a secure drop-off without saying where
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.SECURE_DROPOFF,
        proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={},
    )

    # then the rule approves it with the customer's own instructions
    assert (alt.status, alt.decision_rule) == (AlternativeStatus.APPROVED, "preselected_safe_place")
    assert alt.details == {"instructions": "Behind the blue gate"}

    # when confirmed without a photo, then it is refused; with one, the exception closes as a secure drop-off
    with pytest.raises(DomainError) as refused:
        await confirm_handover(runtime, principal(scene.fleet.driver), alternative_id=alt.id, proof=HandoverProof())
    assert refused.value.field == "photoRef"
    await confirm_handover(runtime, principal(scene.fleet.driver), alternative_id=alt.id, proof=HandoverProof(photo_ref="photo/9.jpg"))
    [exc] = await rows(runtime, DeliveryException, DeliveryException.id == scene.exception.id)
    assert exc.resolution_outcome is ResolutionOutcome.SECURE_DROPOFF
