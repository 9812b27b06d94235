"""Pre-arrival sequences and quiet hours: scheduled rows fired on time, stopped by an answer or a delivery."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.customers.models import Customer
from app.clock import current_time as utcnow
from app.outreach.flows import enqueue_sms
from app.outreach.models import Notification, NotificationStatus
from app.outreach.sequences import plan_due_sequences
from app.outreach.service import in_quiet_hours
from app.outreach.templates import render
from app.routes.models import Stop, StopStatus
from app.runtime import unit_of_work
from tests.factories import gql
from tests.outreach.conftest import drain, notifications, post_signed, report


async def _arriving_in(runtime, stop_id: int, minutes: int) -> None:  # noqa: ANN001
    now = utcnow()
    async with runtime.sessionmaker() as session, session.begin():
        stop = await session.get(Stop, stop_id)
        stop.planned_eta = now + timedelta(minutes=minutes)
        stop.window_start, stop.window_end = now, now + timedelta(hours=2)
        session.add(stop)


async def _make_due(runtime, purpose: str | None = None) -> None:  # noqa: ANN001
    query = sa.update(Notification).where(Notification.status == NotificationStatus.PENDING)
    if purpose:
        query = query.where(Notification.purpose == purpose)
    async with runtime.sessionmaker() as session, session.begin():
        await session.exec(query.values(send_after=utcnow() - timedelta(seconds=1)))


async def test_sequence_is_scheduled_relative_to_eta_and_window_and_stops_when_the_customer_answers(http, factory, twilio, worker, outreach_runtime):
    # given a stop whose driver arrives in 40 minutes
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await _arriving_in(outreach_runtime, stop.id, 40)

    # when the worker plans sequences (twice: a second pass must not duplicate them)
    assert await plan_due_sequences(outreach_runtime) == 1
    assert await plan_due_sequences(outreach_runtime) == 0

    # then the default steps wait as scheduled rows: T-30, T-10 (push, or SMS without the app), at the door, window close -15
    rows = await notifications(outreach_runtime, stop_id=stop.id)
    assert [r.purpose for r in rows] == ["pre_arrival.soon", "pre_arrival.push", "pre_arrival.door", "pre_arrival.no_answer"]
    assert all(r.status is NotificationStatus.PENDING and r.send_after > utcnow() for r in rows)
    assert abs((rows[2].send_after - rows[0].send_after) - timedelta(minutes=30)) < timedelta(seconds=1)
    assert await worker.run_once() == 0  # nothing is due yet

    # when the first step's time comes
    await _make_due(outreach_runtime, "pre_arrival.soon")
    await drain(worker)
    assert len(twilio.messages) == 1 and "reply 1 if you are not home" in twilio.messages[0].form["Body"].lower()

    # and the customer replies "1"
    await post_signed(http, "/webhooks/twilio/inbound", {"From": twilio.messages[0].form["To"], "Body": "1"})

    # then every later step is cancelled, with why, and even when due none goes out
    await _make_due(outreach_runtime)
    await drain(worker)
    later = (await notifications(outreach_runtime, stop_id=stop.id))[1:]
    assert {r.status for r in later} == {NotificationStatus.CANCELLED}
    assert {r.failure_reason for r in later} == {"the customer answered"}
    assert len(twilio.messages) == 1


async def test_steps_of_a_delivered_stop_are_cancelled_when_they_fall_due(factory, twilio, worker, outreach_runtime):
    # given a stop with a planned sequence that is then delivered
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await _arriving_in(outreach_runtime, stop.id, 30)
    await plan_due_sequences(outreach_runtime)
    async with outreach_runtime.sessionmaker() as session, session.begin():
        delivered = await session.get(Stop, stop.id)
        delivered.status = StopStatus.DELIVERED
        session.add(delivered)

    # when the steps fall due
    await _make_due(outreach_runtime)
    await drain(worker)

    # then none is sent and each says why
    rows = await notifications(outreach_runtime, stop_id=stop.id)
    assert rows and {r.status for r in rows} == {NotificationStatus.CANCELLED}
    assert {r.failure_reason for r in rows} == {"the stop is already DELIVERED"}
    assert twilio.messages == []


def test_quiet_hours_are_read_on_the_customers_own_clock():
    # given quiet hours from 22:00 to 07:00 (across midnight) in two time zones
    amsterdam = Customer(tenant_id=1, name="A", timezone="Europe/Amsterdam", quiet_hours_start=time(22), quiet_hours_end=time(7))
    new_york = Customer(tenant_id=1, name="B", timezone="America/New_York", quiet_hours_start=time(22), quiet_hours_end=time(7))
    late_evening_utc = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam, 17:30 in New York
    midday_utc = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 13:00 in Amsterdam, 07:00 in New York

    # then only the Amsterdam customer is in quiet hours late in the evening, and nobody at midday
    assert in_quiet_hours(amsterdam, late_evening_utc) is True
    assert in_quiet_hours(new_york, late_evening_utc) is False
    assert in_quiet_hours(amsterdam, midday_utc) is False and in_quiet_hours(new_york, midday_utc) is False


async def test_message_in_the_customers_quiet_hours_is_suppressed_with_why(factory, twilio, worker, outreach_runtime):
    # given two customers with quiet hours around the current Amsterdam time, one living in Amsterdam, one in New York
    fleet = await factory.fleet(stops=2)
    now_amsterdam = utcnow().astimezone(ZoneInfo("Europe/Amsterdam"))
    start, end = (now_amsterdam - timedelta(hours=1)).time(), (now_amsterdam + timedelta(hours=1)).time()
    ids = [s.customer_id for s in fleet.stops]
    async with outreach_runtime.sessionmaker() as session, session.begin():
        for customer_id, zone in zip(ids, ("Europe/Amsterdam", "America/New_York"), strict=True):
            customer = await session.get(Customer, customer_id)
            customer.timezone, customer.quiet_hours_start, customer.quiet_hours_end = zone, start, end
            session.add(customer)

    # when the dispatcher messages both
    async with unit_of_work(outreach_runtime) as uow:
        quiet = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612340000", text="hi", purpose="test", customer_id=ids[0])
        awake = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone="+31612340001", text="hi", purpose="test", customer_id=ids[1])
    await drain(worker)

    # then the Amsterdam message is suppressed with the reason, the New York one goes out
    assert quiet.status is NotificationStatus.SUPPRESSED and "quiet hours" in quiet.failure_reason
    assert awake.status is NotificationStatus.PENDING
    assert [m.form["To"] for m in twilio.messages] == ["+31612340001"]


UPDATE_SEQUENCE = """
mutation U($input: UpdateOutreachSequenceInput!) {
  updateOutreachSequence(input: $input) { sequence { active isDefault steps { name offsetMinutes } } errors { code field } }
}
"""


async def test_supervisor_replaces_the_steps_and_new_sequences_follow_them(http, factory, outreach_runtime):
    # given a tenant on the default steps and a stop arriving in 60 minutes
    fleet = await factory.fleet(stops=2)
    await _arriving_in(outreach_runtime, fleet.stops[0].id, 60)
    await _arriving_in(outreach_runtime, fleet.stops[1].id, 600)  # beyond the planning horizon for now
    step = {"name": "heads-up", "anchor": "ETA", "offsetMinutes": -20, "channel": "SMS", "template": "pre_arrival.soon"}

    # when a dispatcher tries, a supervisor sends an unknown template, then the supervisor saves one step
    refused = await gql(http, UPDATE_SEQUENCE, {"input": {"steps": [step]}}, token=factory.token(fleet.dispatcher))
    invalid = await gql(http, UPDATE_SEQUENCE, {"input": {"steps": [{**step, "template": "nope"}]}}, token=factory.token(fleet.supervisor))
    saved = await gql(http, UPDATE_SEQUENCE, {"input": {"steps": [step]}}, token=factory.token(fleet.supervisor))
    await plan_due_sequences(outreach_runtime)

    # then only the supervisor's valid change counts, and the stop gets that one step at ETA-20
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert invalid["data"]["updateOutreachSequence"]["errors"] == [{"code": "INVALID_INPUT", "field": "steps"}]
    assert saved["data"]["updateOutreachSequence"]["sequence"] == {
        "active": True, "isDefault": False, "steps": [{"name": "heads-up", "offsetMinutes": -20}]}
    [row] = await notifications(outreach_runtime, stop_id=fleet.stops[0].id)
    async with outreach_runtime.sessionmaker() as session:
        stop = await session.get(Stop, fleet.stops[0].id)
    assert row.purpose == "pre_arrival.heads-up" and row.send_after == stop.planned_eta - timedelta(minutes=20)

    # when the supervisor switches the sequence off
    await gql(http, UPDATE_SEQUENCE, {"input": {"steps": [step], "active": False}}, token=factory.token(fleet.supervisor))
    await _arriving_in(outreach_runtime, fleet.stops[1].id, 60)
    await plan_due_sequences(outreach_runtime)

    # then later stops get no pre-arrival messages
    assert await notifications(outreach_runtime, stop_id=fleet.stops[1].id) == []


async def test_scheduled_step_falling_in_quiet_hours_is_suppressed_when_due(factory, twilio, worker, outreach_runtime):
    # given a scheduled sequence, and the customer then sets quiet hours around the current time (their clock)
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await _arriving_in(outreach_runtime, stop.id, 40)
    await plan_due_sequences(outreach_runtime)
    local = utcnow().astimezone(ZoneInfo("Europe/Amsterdam"))
    async with outreach_runtime.sessionmaker() as session, session.begin():
        customer = await session.get(Customer, stop.customer_id)
        customer.quiet_hours_start, customer.quiet_hours_end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
        session.add(customer)

    # when the first step falls due
    await _make_due(outreach_runtime, "pre_arrival.soon")
    await drain(worker)

    # then it is not sent, and says why
    first = (await notifications(outreach_runtime, stop_id=stop.id))[0]
    assert first.status is NotificationStatus.SUPPRESSED and first.failure_reason.startswith("quiet hours of the customer")
    assert twilio.messages == []


def test_templates_speak_the_customers_language_and_fall_back_to_english():
    # given the same message for a Dutch, a Belgian-Dutch and a Portuguese customer
    values = {"company": "Detour", "address": "Teststraat 1", "link": "L", "next_window": "23-11 10:00-12:00"}

    # then Dutch for both Dutch variants, English where we have no translation
    assert render("exception.CUSTOMER_ABSENT", "nl", **values).startswith("Detour: we konden je pakket niet bezorgen")
    assert render("exception.CUSTOMER_ABSENT", "nl-BE", **values) == render("exception.CUSTOMER_ABSENT", "nl", **values)
    assert render("exception.CUSTOMER_ABSENT", "pt", **values).startswith("Detour: we could not deliver your parcel")


async def test_not_home_answer_before_arrival_becomes_the_alternative_when_the_driver_reports(http, factory, twilio, worker, outreach_runtime):
    # given a customer who got the T-30 message and replied "1" (not home)
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await _arriving_in(outreach_runtime, stop.id, 40)
    await plan_due_sequences(outreach_runtime)
    await _make_due(outreach_runtime, "pre_arrival.soon")
    await drain(worker)
    await post_signed(http, "/webhooks/twilio/inbound", {"From": twilio.messages[0].form["To"], "Body": "1"})

    # when the driver reports the absence at the door
    exc = await report(http, factory.token(fleet.driver), stop.id)
    await drain(worker)

    # then the earlier answer is the customer's reschedule on the exception, and the customer is not asked again
    body = await gql(http, "query A($id: ID!) { alternatives(exceptionId: $id) { kind proposedBy } }", {"id": exc["id"]},
                     token=factory.token(fleet.dispatcher))
    assert body["data"]["alternatives"] == [{"kind": "RESCHEDULE", "proposedBy": "CUSTOMER"}]
    assert len(twilio.messages) == 1
