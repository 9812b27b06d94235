"""A reply from a number two fleets texted lately is given to neither: one shared sender cannot tell which it answers."""
from datetime import timedelta

from sqlmodel import select, update

from app.outreach.models import CustomerResponse, Notification
from tests.outreach.conftest import drain, post_signed, report

CUSTOMER_PHONE = "+31612340000"


async def _responses(runtime) -> list[CustomerResponse]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(CustomerResponse))).all())


async def _two_fleets_text_one_number(http, factory, worker):  # noqa: ANN001, ANN202
    ours, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    for fleet in (ours, theirs):
        await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    return ours, theirs


async def test_a_reply_two_fleets_could_be_answering_reaches_neither(http, factory, worker, outreach_runtime):
    # given two fleets that both texted the same number today
    ours, theirs = await _two_fleets_text_one_number(http, factory, worker)

    # when the customer replies "1"
    reply = await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "1", "MessageSid": "SMa1"})

    # then no fleet records an answer, and the customer is pointed to the link without naming either company
    assert reply.status_code == 200 and "link in their message" in reply.text
    assert ours.tenant.name not in reply.text and theirs.tenant.name not in reply.text
    assert await _responses(outreach_runtime) == []


async def test_a_reply_goes_to_the_only_fleet_that_texted_within_the_window(http, factory, worker, outreach_runtime):
    # given two fleets that texted the same number, one of them three days ago
    ours, theirs = await _two_fleets_text_one_number(http, factory, worker)
    async with outreach_runtime.sessionmaker() as session, session.begin():
        long_ago = outreach_runtime.clock.now() - timedelta(days=3)
        await session.exec(update(Notification).where(Notification.tenant_id == ours.tenant.id).values(sent_at=long_ago))

    # when the customer replies "1"
    reply = await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "1", "MessageSid": "SMa2"})

    # then the fleet that texted lately gets the answer
    assert reply.status_code == 200 and "link in their message" not in reply.text
    [response] = await _responses(outreach_runtime)
    assert response.tenant_id == theirs.tenant.id
