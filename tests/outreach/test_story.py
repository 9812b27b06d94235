"""The whole story over HTTP: report → SMS over the wire → the customer replies "1" → alternative → timeline."""
import asyncio
import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.alternatives.models import SafePlace
from app.clock import current_time as utcnow
from app.outreach.flows import enqueue_sms
from app.outreach.models import Notification, NotificationStatus
from app.runtime import unit_of_work
from tests.factories import gql
from tests.outreach.conftest import drain, notifications, post_signed, report
from tests.realtime.asgi_socket import AsgiSocket

EXCEPTION = """
query E($id: ID!) {
  exception(id: $id) {
    status
    timeline { type step payload }
    notifications { channel status purpose body providerMessageId }
    customerResponses { option source details text alternativeId }
  }
  alternatives(exceptionId: $id) { id kind proposedBy details }
}
"""
MESSAGE = """
mutation M($input: MessageCustomerInput!) { messageCustomer(input: $input) { notification { status body } errors { code message } } }
"""


async def test_report_sms_reply_one_becomes_a_customer_reschedule_on_the_timeline(http, factory, twilio, worker):
    # given a driver who finds nobody home
    fleet = await factory.fleet(stops=2)
    stop = fleet.stops[1]
    dispatcher = factory.token(fleet.dispatcher)
    exc = await report(http, factory.token(fleet.driver), stop.id)

    # when the worker sends the customer message
    await drain(worker)
    sms = twilio.messages[-1].form
    assert sms["To"] == "+31612340001" and re.search(r"https://detour\.example/c/[\w\-.]+", sms["Body"])

    # and the customer replies "1" (Twilio signs the webhook)
    reply = await post_signed(http, "/webhooks/twilio/inbound", {"From": sms["To"], "To": sms["From"], "Body": " 1 "})

    # then they are thanked in TwiML, and the choice is a customer-proposed reschedule to the next window
    assert reply.status_code == 200 and "thank you" in reply.text
    body = await gql(http, EXCEPTION, {"id": exc["id"]}, token=dispatcher)
    data = body["data"]
    [response] = data["exception"]["customerResponses"]
    assert response["option"] == "RESCHEDULE" and response["source"] == "SMS_REPLY" and response["text"] == " 1 "
    [alternative] = data["alternatives"]
    assert alternative["kind"] == "RESCHEDULE" and alternative["proposedBy"] == "CUSTOMER"
    assert alternative["id"] == response["alternativeId"]
    assert alternative["details"]["windowStart"] == response["details"]["windowStart"]
    # and the exception moved on from CONTACTING_CUSTOMER, every step on the timeline in order
    types = [(e["type"], e["payload"].get("to")) for e in data["exception"]["timeline"]]
    assert types[0] == ("REPORTED", None)
    assert types[1] == ("STATUS_CHANGED", "CONTACTING_CUSTOMER")
    assert "ALTERNATIVE_PROPOSED" in [t for t, _ in types[2:]]
    assert data["exception"]["status"] != "CONTACTING_CUSTOMER"
    # and the notification shows what was sent, without the live link token
    note, reminder = data["exception"]["notifications"]
    assert note["status"] == "SENT" and "<link>" in note["body"] and note["providerMessageId"].startswith("SM")
    assert (reminder["purpose"], reminder["status"]) == ("exception.no_answer", "PENDING")


async def test_dispatcher_messages_the_customer_now(http, factory, twilio, worker):
    # given an open exception
    fleet = await factory.fleet(stops=1)
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)

    # when the dispatcher writes to the customer, and a driver tries the same
    sent = await gql(http, MESSAGE, {"input": {"exceptionId": exc["id"], "text": "Can we come back at 17:00?"}},
                     token=factory.token(fleet.dispatcher))
    refused = await gql(http, MESSAGE, {"input": {"exceptionId": exc["id"], "text": "hi"}}, token=factory.token(fleet.driver))
    await drain(worker)

    # then the dispatcher's message goes out by SMS; the driver is not allowed
    assert sent["data"]["messageCustomer"]["errors"] == []
    assert sent["data"]["messageCustomer"]["notification"]["status"] == "PENDING"
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "Can we come back at 17:00?" in [m.form["Body"] for m in twilio.messages]
    assert len(twilio.messages) == 2  # the report's own message and the dispatcher's


ALTERNATIVES = "query A($id: ID!) { alternatives(exceptionId: $id) { kind proposedBy details } }"


async def _make_reminders_due(runtime) -> None:  # noqa: ANN001
    async with runtime.sessionmaker() as session, session.begin():
        await session.exec(
            sa.update(Notification).where(Notification.purpose == "exception.no_answer").values(send_after=utcnow() - timedelta(seconds=1))
        )


async def test_no_answer_in_time_sends_a_reminder_and_proposes_the_customers_safe_place(http, factory, twilio, worker, outreach_runtime):
    # given a customer who chose a safe place in advance, and an absence the driver reported
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    async with outreach_runtime.sessionmaker() as session, session.begin():
        session.add(SafePlace(tenant_id=fleet.tenant.id, customer_id=stop.customer_id, instructions="behind the blue gate"))
    exc = await report(http, factory.token(fleet.driver), stop.id)
    await drain(worker)

    # when the customer does not answer before the reminder is due
    await _make_reminders_due(outreach_runtime)
    await drain(worker)

    # then the reminder went out and the policy's fallback, the safe place, is proposed by the rule
    assert len(twilio.messages) == 2 and "have not heard from you" in twilio.messages[1].form["Body"]
    body = await gql(http, ALTERNATIVES, {"id": exc["id"]}, token=factory.token(fleet.dispatcher))
    assert body["data"]["alternatives"] == [
        {"kind": "SECURE_DROPOFF", "proposedBy": "RULE", "details": {"instructions": "behind the blue gate"}}]


async def test_reminder_is_cancelled_when_the_customer_answered(http, factory, twilio, worker, outreach_runtime):
    # given a reported absence whose customer answered with their own words
    fleet = await factory.fleet(stops=1)
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    await post_signed(http, "/webhooks/twilio/inbound", {"From": twilio.messages[0].form["To"], "Body": "call me please"})

    # when the reminder falls due
    await _make_reminders_due(outreach_runtime)
    await drain(worker)

    # then it is not sent, and says why
    [reminder] = [n for n in await notifications(outreach_runtime, exception_id=int(exc["id"])) if n.purpose == "exception.no_answer"]
    assert reminder.status is NotificationStatus.CANCELLED and reminder.failure_reason == "the customer answered"
    assert len(twilio.messages) == 1


EXCEPTION_EVENTS = (Path(__file__).resolve().parents[2] / "graphql" / "dispatcher" / "ExceptionEvents.graphql").read_text()


async def test_dispatcher_subscription_hears_the_customers_answer(http, factory, twilio, worker, outreach_app, outreach_runtime):
    # given a reported absence whose customer was messaged, and a dispatcher following the depot's events
    fleet = await factory.fleet(stops=1)
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    socket = AsgiSocket(outreach_app)
    try:
        await socket.init({"token": factory.token(fleet.dispatcher)})
        await socket.subscribe("q", EXCEPTION_EVENTS, {"depotId": str(fleet.depot.id)})
        for _ in range(200):  # the stream starts when the subscription has registered
            if any(feed.followers for feed in outreach_runtime.hub.feeds.values()):
                break
            await asyncio.sleep(0.01)

        # when the customer replies "1"
        await post_signed(http, "/webhooks/twilio/inbound", {"From": twilio.messages[0].form["To"], "Body": "1"})
        live = (await socket.next_payload("q"))["payload"]["data"]["exceptionEvents"]
    finally:
        await socket.close()

    # then the subscription streams the customer's choice on the exception
    assert live["exceptionId"] == exc["id"] and live["type"] == "ALTERNATIVE_PROPOSED"
    assert live["payload"]["proposedBy"] == "CUSTOMER" and live["payload"]["kind"] == "RESCHEDULE"


async def test_one_time_codes_go_over_the_wire_but_are_not_kept_or_shown(http, factory, twilio, worker, outreach_runtime):
    # given an exception, and a handover code texted about it (as the alternatives do)
    fleet = await factory.fleet(stops=1)
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    async with unit_of_work(outreach_runtime) as uow:
        await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612349876", text="Give the driver this code: 482913",
                          purpose="neighbor_handover_code", exception_id=int(exc["id"]))

    # when the worker sends it
    await drain(worker)

    # then the neighbour got the code, while the outbox row and the exception's notifications (driver included) hide it
    assert "Give the driver this code: 482913" in [m.form["Body"] for m in twilio.messages]
    [row] = [n for n in await notifications(outreach_runtime, exception_id=int(exc["id"])) if n.purpose == "neighbor_handover_code"]
    assert row.status is NotificationStatus.SENT and row.body == "Give the driver this code: <code>"
    shown = await gql(http, EXCEPTION, {"id": exc["id"]}, token=factory.token(fleet.driver))
    assert "482913" not in str(shown) and "this code: <code>" in str(shown["data"]["exception"]["notifications"])
