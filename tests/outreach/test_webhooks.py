"""Twilio webhooks: only correctly signed calls change anything; STOP/START, replies and status callbacks."""
import asyncio

from sqlmodel import select

from app.delivery_exceptions.models import EventType, ExceptionEvent
from app.outreach.flows import enqueue_sms
from app.outreach.models import (
    CustomerResponse,
    NotificationStatus,
    ConsentRecord,
    ResponseOption,
)
from app.runtime import unit_of_work
from tests.outreach.conftest import (
    drain,
    notifications,
    post_signed,
    report,
    twilio_signature,
)

CUSTOMER_PHONE = "+31612340000"


async def _rows(runtime, model):  # noqa: ANN001, ANN202
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(model))).all())


async def _reported_and_sent(http, factory, worker):  # noqa: ANN001, ANN202
    fleet = await factory.fleet(stops=1)
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    return fleet, exc


async def test_unsigned_and_wrongly_signed_webhooks_get_403_and_change_nothing(http, factory, worker, outreach_runtime):
    # given a customer who was messaged about an exception
    await _reported_and_sent(http, factory, worker)
    reply = {"From": CUSTOMER_PHONE, "To": "+3197010000001", "Body": "1", "MessageSid": "SMinbound1"}

    # when replies arrive without a signature, with a wrong one, and signed with another account's token
    unsigned = await post_signed(http, "/webhooks/twilio/inbound", reply, signature=None)
    wrong = await post_signed(http, "/webhooks/twilio/inbound", reply, signature="bm90LWEtc2lnbmF0dXJl")
    other = await post_signed(http, "/webhooks/twilio/inbound", reply,
                              signature=twilio_signature("https://detour.example/webhooks/twilio/inbound", reply, "another-token"))
    stop = await post_signed(http, "/webhooks/twilio/inbound", {**reply, "Body": "STOP"}, signature=None)
    status = await post_signed(http, "/webhooks/twilio/status", {"MessageSid": "SMx", "MessageStatus": "delivered"}, signature=None)

    # then every one is refused and nothing was recorded
    assert [r.status_code for r in (unsigned, wrong, other, stop, status)] == [403] * 5
    assert await _rows(outreach_runtime, CustomerResponse) == []
    assert await _rows(outreach_runtime, ConsentRecord) == []


async def test_status_callback_records_delivery_and_carrier_failure(http, factory, worker, outreach_runtime):
    # given two messages Twilio accepted
    fleet = await factory.fleet(stops=1)
    async with unit_of_work(outreach_runtime) as uow:
        for phone in ("+31612340001", "+31612340002"):
            await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone=phone, text="hello", purpose="test")
    await drain(worker)
    first, second = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)

    # when Twilio reports one delivered and one undelivered, with a signature over the callback URL and its query
    path = "/webhooks/twilio/status?key=" + first.idempotency_key
    delivered = await post_signed(http, path, {"MessageSid": first.provider_message_id, "MessageStatus": "delivered"})
    undelivered = await post_signed(http, "/webhooks/twilio/status", {
        "MessageSid": second.provider_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"})

    # then the rows say so, with the carrier's error
    assert delivered.status_code == 204 and undelivered.status_code == 204
    first, second = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert first.status is NotificationStatus.DELIVERED and first.provider_status == "delivered"
    assert second.status is NotificationStatus.FAILED and "30003" in second.failure_reason


async def test_stop_suppresses_later_messages_and_start_allows_them_again(http, factory, worker, outreach_runtime):
    # given a customer who was messaged
    fleet, exc = await _reported_and_sent(http, factory, worker)
    customer_id = fleet.stops[0].customer_id

    # when they reply STOP and the dispatcher writes again
    answer = await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "Stop"})
    async with unit_of_work(outreach_runtime) as uow:
        blocked = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone=CUSTOMER_PHONE, text="are you home?",
                                    purpose="dispatcher", customer_id=customer_id)

    # then the message is recorded as suppressed, with why
    assert answer.status_code == 200
    assert blocked.status is NotificationStatus.SUPPRESSED and "opted out" in blocked.failure_reason

    # when they reply START
    await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "START"})
    async with unit_of_work(outreach_runtime) as uow:
        allowed = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone=CUSTOMER_PHONE, text="are you home?",
                                    purpose="dispatcher", customer_id=customer_id)

    # then messages may go out again
    assert allowed.status is NotificationStatus.PENDING


async def test_unknown_reply_is_a_note_for_the_dispatcher(http, factory, worker, outreach_runtime):
    # given a customer who was messaged about an exception
    _, exc = await _reported_and_sent(http, factory, worker)

    # when they answer with their own words
    answer = await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "I'm at the back door, ring again"})

    # then the text is on the exception's timeline and they get a short acknowledgement in TwiML
    assert answer.status_code == 200 and "<Message>" in answer.text
    async with outreach_runtime.sessionmaker() as session:
        events = (await session.exec(select(ExceptionEvent).where(ExceptionEvent.exception_id == int(exc["id"])))).all()
    note = [e for e in events if e.type is EventType.NOTE_ADDED][-1]
    assert note.payload["note"] == "I'm at the back door, ring again" and note.payload["option"] == ResponseOption.FREE_TEXT.value


async def _responses_and_timeline(runtime, exception_id: int) -> tuple[list, list]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        responses = (await session.exec(select(CustomerResponse))).all()
        events = (await session.exec(select(ExceptionEvent).where(ExceptionEvent.exception_id == exception_id))).all()
    return list(responses), [e for e in events if e.type is EventType.NOTE_ADDED]


async def test_a_replayed_inbound_sms_counts_once(http, factory, worker, outreach_runtime):
    # given a customer who was messaged and answered once
    _, exc = await _reported_and_sent(http, factory, worker)
    reply = {"From": CUSTOMER_PHONE, "Body": "round the back", "MessageSid": "SMreplayed0001"}
    first = await post_signed(http, "/webhooks/twilio/inbound", reply)

    # when Twilio (or anyone holding the signed request) delivers the same message again
    again = await post_signed(http, "/webhooks/twilio/inbound", reply)

    # then one answer and one timeline note; the repeat is acknowledged without a second reply
    responses, notes = await _responses_and_timeline(outreach_runtime, int(exc["id"]))
    assert first.status_code == again.status_code == 200
    assert "<Message>" in first.text and "<Message>" not in again.text
    assert len(responses) == 1 and len(notes) == 1


async def test_concurrent_deliveries_of_one_message_count_once(http, factory, worker, outreach_runtime):
    # given a customer who was messaged
    _, exc = await _reported_and_sent(http, factory, worker)
    reply = {"From": CUSTOMER_PHONE, "Body": "1", "MessageSid": "SMconcurrent01"}

    # when the same message arrives three times at once
    answers = await asyncio.gather(*(post_signed(http, "/webhooks/twilio/inbound", reply) for _ in range(3)))

    # then exactly one of them acted
    responses, _ = await _responses_and_timeline(outreach_runtime, int(exc["id"]))
    assert [a.status_code for a in answers] == [200] * 3
    assert sum("<Message>" in a.text for a in answers) == 1 and len(responses) == 1


async def test_a_repeated_status_callback_writes_nothing(http, factory, worker, outreach_runtime):
    # given a message Twilio reported undelivered
    fleet = await factory.fleet(stops=1)
    async with unit_of_work(outreach_runtime) as uow:
        await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612340009", text="hello", purpose="test")
    await drain(worker)
    (sent,) = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    callback = {"MessageSid": sent.provider_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    await post_signed(http, "/webhooks/twilio/status", callback)
    (recorded,) = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)

    # when the same callback comes again
    again = await post_signed(http, "/webhooks/twilio/status", callback)

    # then it is acknowledged and the row is exactly as the first one left it
    (replayed,) = await notifications(outreach_runtime, tenant_id=fleet.tenant.id)
    assert again.status_code == 204
    assert replayed.model_dump() == recorded.model_dump() and recorded.status is NotificationStatus.FAILED
