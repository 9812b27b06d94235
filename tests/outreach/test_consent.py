"""SMS consent records: STOP/START replies, the carrier and the CRM append them; the latest decides what may be sent."""
import logging
from datetime import timedelta

from sqlmodel import select

from app.outreach import service
from app.outreach.flows import enqueue_sms
from app.outreach.models import ConsentRecord, ConsentSource, ConsentStatus, NotificationStatus
from app.runtime import unit_of_work
from tests.factories import gql
from tests.outreach.conftest import drain, post_signed, report

CUSTOMER_PHONE = "+31612340000"


async def _records(runtime, tenant_id):
    async with runtime.sessionmaker() as session:
        query = select(ConsentRecord).where(ConsentRecord.tenant_id == tenant_id).order_by(ConsentRecord.id)
        return list((await session.exec(query)).all())


async def _try_sms(runtime, tenant_id):
    async with unit_of_work(runtime) as uow:
        return await enqueue_sms(uow, tenant_id=tenant_id, to_phone=CUSTOMER_PHONE, text="are you home?", purpose="dispatcher")


async def test_stop_and_start_replies_append_records_for_every_tenant_that_wrote(http, factory, worker, outreach_runtime):
    # given two fleets that both texted the same number
    ours, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    for fleet in (ours, theirs):
        await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)

    # when the customer replies STOP, then START
    await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "stop", "MessageSid": "SMc1"})
    stopped = [await _records(outreach_runtime, f.tenant.id) for f in (ours, theirs)]
    blocked = await _try_sms(outreach_runtime, ours.tenant.id)
    await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "START", "MessageSid": "SMc2"})

    # then each tenant has a REVOKED then a GRANTED record from the keyword, with the word and the time
    for records in stopped:
        assert [(r.status, r.source, r.keyword) for r in records] == [(ConsentStatus.REVOKED, ConsentSource.SMS_KEYWORD, "STOP")]
    for fleet in (ours, theirs):
        records = await _records(outreach_runtime, fleet.tenant.id)
        assert [(r.status, r.keyword) for r in records] == [(ConsentStatus.REVOKED, "STOP"), (ConsentStatus.GRANTED, "START")]
        assert all(r.channel.value == "SMS" and r.phone == CUSTOMER_PHONE and r.captured_at for r in records)
    # and while STOP was in force the outbox refused to text them; after START it may again
    assert blocked.status is NotificationStatus.SUPPRESSED
    assert (await _try_sms(outreach_runtime, ours.tenant.id)).status is NotificationStatus.PENDING


async def test_a_repeated_stop_writes_no_second_record_and_no_number_is_logged(http, factory, worker, outreach_runtime, caplog):
    # given a customer who said STOP
    caplog.set_level(logging.DEBUG)
    fleet = await factory.fleet(stops=1)
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "STOP", "MessageSid": "SMr1"})

    # when they say it again, with another stop word
    await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "UNSUBSCRIBE", "MessageSid": "SMr2"})

    # then one record stands, and no log line carries the number
    assert len(await _records(outreach_runtime, fleet.tenant.id)) == 1
    assert caplog.records and all(CUSTOMER_PHONE not in str(r.__dict__) for r in caplog.records)


async def test_the_latest_captured_consent_wins_whoever_gave_it(factory, outreach_runtime):
    # given a STOP recorded now
    fleet = await factory.fleet(stops=1)
    tenant_id = fleet.tenant.id
    now = outreach_runtime.clock.now()
    async with unit_of_work(outreach_runtime) as uow:
        await service.opt_out(session=uow.session, tenant_id=tenant_id, phone=CUSTOMER_PHONE, keyword="STOP")

    # when the CRM reports a consent it captured before that STOP
    async with unit_of_work(outreach_runtime) as uow:
        older = await outreach_runtime.outbox.record_consent(
            uow, tenant_id=tenant_id, phone=CUSTOMER_PHONE, granted=True, source="CRM", captured_at=now - timedelta(days=2))

    # then it is not written and the STOP stands
    assert older is False
    assert (await _try_sms(outreach_runtime, tenant_id)).status is NotificationStatus.SUPPRESSED

    # when the CRM reports one captured later (the customer opted in again on the shop's website)
    async with unit_of_work(outreach_runtime) as uow:
        newer = await outreach_runtime.outbox.record_consent(
            uow, tenant_id=tenant_id, phone=CUSTOMER_PHONE, granted=True, source="CRM", captured_at=now + timedelta(seconds=1))

    # then it is in force (captured no later than now: a CRM clock ahead of ours cannot outrank a later STOP)
    records = await _records(outreach_runtime, tenant_id)
    assert newer is True and records[-1].source is ConsentSource.CRM and records[-1].captured_at <= outreach_runtime.clock.now()
    assert (await _try_sms(outreach_runtime, tenant_id)).status is NotificationStatus.PENDING


async def test_a_carrier_refusal_revokes_consent_with_the_carrier_as_source(http, factory, worker, outreach_runtime, twilio):
    # given Twilio refusing a number as unreachable for good (21610: the recipient unsubscribed at the carrier)
    fleet = await factory.fleet(stops=1)
    twilio.script.append((400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}))
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)

    # when the worker tries to send
    await drain(worker)

    # then the number's consent is revoked by the carrier
    records = await _records(outreach_runtime, fleet.tenant.id)
    assert [(r.status, r.source) for r in records] == [(ConsentStatus.REVOKED, ConsentSource.CARRIER)]


SET_CONSENT = """
mutation Set($input: SetSmsConsentInput!) {
  setSmsConsent(input: $input) { consent { status source capturedAt } errors { code field } }
}
"""


async def test_a_dispatcher_records_what_the_customer_said_on_the_phone(http, factory, outreach_runtime):
    # given a customer of ours and one of another tenant
    ours, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    dispatcher = factory.token(ours.dispatcher)

    async def set_consent(customer_id, status, token=dispatcher):
        return await gql(http, SET_CONSENT, {"input": {"customerId": str(customer_id), "status": status}}, token=token)

    # when the dispatcher records "no more texts" for ours, tries the other tenant's, and a driver tries too
    revoked = await set_consent(ours.stops[0].customer_id, "REVOKED")
    foreign = await set_consent(theirs.stops[0].customer_id, "REVOKED")
    driver = await set_consent(ours.stops[0].customer_id, "GRANTED", token=factory.token(ours.driver))

    # then ours is revoked by the dispatcher and texts to them are suppressed; the others are refused and change nothing
    assert revoked["data"]["setSmsConsent"]["consent"]["status"] == "REVOKED"
    assert revoked["data"]["setSmsConsent"]["consent"]["source"] == "DISPATCHER"
    assert (await _try_sms(outreach_runtime, ours.tenant.id)).status is NotificationStatus.SUPPRESSED
    assert foreign["data"]["setSmsConsent"]["errors"] == [{"code": "NOT_FOUND", "field": "customerId"}]
    assert driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _records(outreach_runtime, theirs.tenant.id) == []
    assert len(await _records(outreach_runtime, ours.tenant.id)) == 1
