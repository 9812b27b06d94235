"""Neighbour consent is verified by a one-time code: wrong, expired, reused and exhausted codes are refused."""
import re
from datetime import timedelta

import pytest
from sqlmodel import update

from app.alternatives import codes, setup_flows
from app.alternatives.flows import AlternativeKind, ProposerKind, propose_alternative
from app.alternatives.models import CodePurpose, Neighbor, NeighborStatus, OneTimeCode
from app.clock import current_time as utcnow
from app.errors import DomainError, ErrorCode
from app.outreach.models import Notification
from tests.alternatives.helpers import absent_customer, principal, rows
from tests.alternatives.helpers import neighbor as make_neighbor

NEIGHBOR_PHONE = "+31612345678"


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


async def add_neighbor(runtime, factory):  # noqa: ANN001, ANN201
    fleet = await factory.fleet(stops=1)
    neighbor = await setup_flows.add_neighbor(
        runtime, principal(fleet.dispatcher), customer_id=fleet.stops[0].customer_id, name="Ann Next",
        address="Teststraat 3", phone=NEIGHBOR_PHONE,
    )
    [sms] = await rows(runtime, Notification, Notification.recipient == NEIGHBOR_PHONE)
    return fleet, neighbor, sms


async def test_neighbour_gets_a_code_by_sms_and_only_its_hash_is_stored(runtime, factory):
    # given a dispatcher adds a neighbour to a customer's list
    fleet, neighbor, sms = await add_neighbor(runtime, factory)

    # then the neighbour was texted a code, and the stored row is a keyed hash, not the code
    code = code_in(sms.body)
    [stored] = await rows(runtime, OneTimeCode, OneTimeCode.subject_id == neighbor.id)
    assert stored.purpose is CodePurpose.NEIGHBOR_VERIFICATION and code not in stored.code_hash and len(stored.code_hash) == 64

    # when the right code is entered, then consent is verified
    verified = await setup_flows.verify_neighbor(runtime, tenant_id=fleet.tenant.id, neighbor_id=neighbor.id, code=code)
    assert verified.status is NeighborStatus.VERIFIED and verified.verified_at is not None


async def test_wrong_code_is_refused_and_the_try_is_counted(runtime, factory):
    # given a neighbour waiting for verification
    fleet, neighbor, sms = await add_neighbor(runtime, factory)
    wrong = "000000" if code_in(sms.body) != "000000" else "111111"

    # when a wrong code is entered
    with pytest.raises(DomainError) as refused:
        await setup_flows.verify_neighbor(runtime, tenant_id=fleet.tenant.id, neighbor_id=neighbor.id, code=wrong)

    # then it is refused, the attempt survived the failed request, and consent is still pending
    assert refused.value.code is ErrorCode.CODE_INVALID
    [stored] = await rows(runtime, OneTimeCode, OneTimeCode.subject_id == neighbor.id)
    assert stored.attempts == 1
    [row] = await rows(runtime, Neighbor, Neighbor.id == neighbor.id)
    assert row.status is NeighborStatus.PENDING_VERIFICATION


async def test_expired_code_is_refused(runtime, factory):
    # given a code whose time ran out
    fleet, neighbor, sms = await add_neighbor(runtime, factory)
    async with runtime.sessionmaker() as session, session.begin():
        await session.exec(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))

    # when the right code is entered too late, then it is refused as expired
    with pytest.raises(DomainError) as refused:
        await setup_flows.verify_neighbor(runtime, tenant_id=fleet.tenant.id, neighbor_id=neighbor.id, code=code_in(sms.body))
    assert refused.value.code is ErrorCode.CODE_EXPIRED


async def test_code_works_once(runtime, factory):
    # given an issued handover code
    fleet = await factory.fleet(stops=1)
    async with runtime.sessionmaker() as session, session.begin():
        code = await codes.issue(
            session=session, settings=runtime.settings, tenant_id=fleet.tenant.id, purpose=CodePurpose.HANDOVER,
            subject_id=42, ttl_seconds=60,
        )

    # when it is used twice
    outcomes = []
    for _ in range(2):
        async with runtime.sessionmaker() as session, session.begin():
            outcomes.append(await codes.check(
                session=session, settings=runtime.settings, tenant_id=fleet.tenant.id, purpose=CodePurpose.HANDOVER,
                subject_id=42, code=code,
            ))

    # then the first use passes and the second is refused as already used
    assert outcomes[0] is None
    assert outcomes[1].code is ErrorCode.CODE_ALREADY_USED


async def test_too_many_wrong_codes_lock_the_code_even_for_the_right_one(runtime, factory):
    # given a neighbour, and as many wrong tries as allowed
    fleet, neighbor, sms = await add_neighbor(runtime, factory)
    code = code_in(sms.body)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(runtime.settings.one_time_code_max_attempts):
        with pytest.raises(DomainError):
            await setup_flows.verify_neighbor(runtime, tenant_id=fleet.tenant.id, neighbor_id=neighbor.id, code=wrong)

    # when the right code finally comes, then it is refused until a new one is sent
    with pytest.raises(DomainError) as refused:
        await setup_flows.verify_neighbor(runtime, tenant_id=fleet.tenant.id, neighbor_id=neighbor.id, code=code)
    assert refused.value.code is ErrorCode.TOO_MANY_ATTEMPTS

    # when a new code is sent, then the new one works and the old one does not
    await setup_flows.resend_neighbor_code(runtime, principal(fleet.dispatcher), neighbor_id=neighbor.id)
    texts = await rows(runtime, Notification, Notification.recipient == NEIGHBOR_PHONE)
    fresh = code_in(texts[-1].body)
    verified = await setup_flows.verify_neighbor(runtime, tenant_id=fleet.tenant.id, neighbor_id=neighbor.id, code=fresh)
    assert verified.status is NeighborStatus.VERIFIED


async def test_revoked_neighbour_cannot_be_proposed(runtime, factory):
    # given a verified neighbour whose consent the customer then revokes
    scene = await absent_customer(factory)
    consented = await make_neighbor(runtime, scene)
    await setup_flows.revoke_neighbor(runtime, principal(scene.fleet.dispatcher), neighbor_id=consented.id, expected_version=consented.version)

    # when the driver proposes a handover to them, then consent is required
    with pytest.raises(DomainError) as refused:
        await propose_alternative(
            runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.NEIGHBOR_HANDOVER,
            proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={"neighborId": consented.id},
        )
    assert refused.value.code is ErrorCode.CONSENT_REQUIRED


async def test_the_same_neighbour_is_listed_once(runtime, factory):
    # given a listed neighbour
    fleet, neighbor, _ = await add_neighbor(runtime, factory)

    # when the same phone is added again in another notation
    again = await setup_flows.add_neighbor(
        runtime, principal(fleet.dispatcher), customer_id=fleet.stops[0].customer_id, name="Ann", address="Teststraat 3",
        phone="+31 6 1234 5678",
    )

    # then it is the same neighbour, with a fresh code sent
    assert again.id == neighbor.id
    assert len(await rows(runtime, Neighbor, Neighbor.customer_id == fleet.stops[0].customer_id)) == 1
    assert len(await rows(runtime, Notification, Notification.recipient == NEIGHBOR_PHONE)) == 2
