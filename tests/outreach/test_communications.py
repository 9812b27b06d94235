"""`customer { communications }`: every SMS, push, answer and call note, newest first, paged, per tenant, with flat SQL."""
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from app.delivery_exceptions.models import EventType, ExceptionEvent
from app.outreach.models import (
    CallOutcome, CustomerCall, CustomerResponse, Notification, NotificationChannel, ResponseOption, ResponseSource,
)
from tests.factories import gql
from tests.integrations.test_api_keys import mint
from tests.outreach.conftest import drain, post_signed, report

ROOT = Path(__file__).resolve().parents[2] / "graphql" / "dispatcher"
HISTORY = (ROOT / "CustomerCommunications.graphql").read_text()
RECORD_CALL = (ROOT / "RecordCustomerCall.graphql").read_text()
CUSTOMER_PHONE = "+31612340000"
QUEUE_HISTORY = """
query { exceptions(first: 20) { edges { node { id stop { customer { id communications(first: 5) {
  edges { node { id kind text recipient } } pageInfo { hasNextPage } } } } } } } }
"""


async def _history(http, token, customer_id, **variables):
    return await gql(http, HISTORY, {"id": str(customer_id), **variables}, token=token)


def _nodes(result):
    return [edge["node"] for edge in result["data"]["customer"]["communications"]["edges"]]


async def test_the_history_lists_messages_answers_and_call_notes_newest_first_with_numbers_masked(http, factory, worker):
    # given a customer texted about an exception, who answered "1", and whom the dispatcher then called
    fleet = await factory.fleet(stops=1)
    customer_id = fleet.stops[0].customer_id
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    await post_signed(http, "/webhooks/twilio/inbound", {"From": CUSTOMER_PHONE, "Body": "1", "MessageSid": "SMh1"})
    dispatcher = factory.token(fleet.dispatcher)
    call = await gql(http, RECORD_CALL, {"input": {"customerId": str(customer_id), "exceptionId": exc["id"], "outcome": "REACHED",
                                                   "note": "Will be home after six"}}, token=dispatcher)

    # when the dispatcher opens the customer's history
    result = await _history(http, dispatcher, customer_id)

    # then the call note comes first, then the answer, then the messages Detour sent
    assert call["data"]["recordCustomerCall"]["errors"] == []
    nodes = _nodes(result)
    assert [n["kind"] for n in nodes[:2]] == ["CALL_NOTE", "CUSTOMER_ANSWER"]
    assert {n["kind"] for n in nodes[2:]} == {"SMS"} and len(nodes) >= 3
    assert nodes[0]["call"] == {"id": call["data"]["recordCustomerCall"]["call"]["id"], "outcome": "REACHED",
                                "note": "Will be home after six", "calledAt": nodes[0]["occurredAt"], "authorId": str(fleet.dispatcher.id)}
    assert nodes[1]["direction"] == "INBOUND" and nodes[1]["answer"]["option"] == "RESCHEDULE" and nodes[1]["text"] == "1"
    sent = nodes[-1]
    assert sent["direction"] == "OUTBOUND" and sent["notification"]["status"] in ("SENT", "DELIVERED") and "<link>" in sent["text"]
    times = [n["occurredAt"] for n in nodes]
    assert times == sorted(times, reverse=True)
    # and the phone number appears only masked
    assert sent["recipient"] == "+316…00" and CUSTOMER_PHONE not in json.dumps(result)
    # and the call is a step on the exception's timeline
    async with worker.runtime.sessionmaker() as session:
        events = (await session.exec(select(ExceptionEvent).where(ExceptionEvent.exception_id == int(exc["id"])))).all()
    assert any(e.type is EventType.NOTE_ADDED and e.payload.get("callOutcome") == "REACHED" for e in events)


async def _many_at_one_instant(runtime, fleet, count):
    """`count` entries of each kind for the first customer, all at the same instant: the cursor must still be exact."""
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    customer_id, stop_id = fleet.stops[0].customer_id, fleet.stops[0].id
    async with runtime.sessionmaker() as session, session.begin():
        for i in range(count):
            session.add(Notification(tenant_id=fleet.tenant.id, customer_id=customer_id, stop_id=stop_id, channel=NotificationChannel.PUSH,
                                     recipient=f"device-token-{i}", body=f"push {i}", purpose="test", idempotency_key=f"p-{fleet.tenant.id}-{i}",
                                     created_at=at))
            session.add(CustomerResponse(tenant_id=fleet.tenant.id, customer_id=customer_id, stop_id=stop_id, source=ResponseSource.SMS_REPLY,
                                         option=ResponseOption.FREE_TEXT, text=f"answer {i}", received_at=at,
                                         details={"phone": "+31687654321"}))
            session.add(CustomerCall(tenant_id=fleet.tenant.id, customer_id=customer_id, outcome=CallOutcome.NO_ANSWER, note=f"call {i}",
                                     called_at=at))


async def test_pages_walk_every_entry_once_even_when_times_tie(http, factory, outreach_runtime):
    # given nine entries of three kinds at one instant
    fleet = await factory.fleet(stops=1)
    await _many_at_one_instant(outreach_runtime, fleet, 3)
    token = factory.token(fleet.dispatcher)

    # when the history is read two at a time to the end
    seen, after, pages = [], None, 0
    while True:
        result = await _history(http, token, fleet.stops[0].customer_id, first=2, after=after)
        page = result["data"]["customer"]["communications"]
        seen += [edge["node"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then each entry came once, in kind order within the instant, newest (highest id) first within a kind
    assert pages == 5 and len(seen) == 9 and len({n["id"] for n in seen}) == 9
    assert [n["kind"] for n in seen] == ["PUSH"] * 3 + ["CUSTOMER_ANSWER"] * 3 + ["CALL_NOTE"] * 3
    assert [n["text"] for n in seen[:3]] == ["push 2", "push 1", "push 0"]
    # and a neighbour's number in an answer is masked too
    assert seen[3]["answer"]["details"] == {"phone": "+316…21"}


async def test_a_cursor_this_list_did_not_give_is_refused(http, factory):
    fleet = await factory.fleet(stops=1)
    result = await _history(http, factory.token(fleet.dispatcher), fleet.stops[0].customer_id, after="bm90LWEtY3Vyc29y")
    assert result["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_another_tenant_sees_neither_the_customer_nor_their_history(http, factory, outreach_runtime):
    # given a customer with history in one tenant, and a dispatcher of another tenant
    ours, theirs = await factory.fleet(stops=1), await factory.fleet(stops=1)
    await _many_at_one_instant(outreach_runtime, ours, 1)

    # when the other tenant's dispatcher asks for it, and for their own customer
    foreign = await _history(http, factory.token(theirs.dispatcher), ours.stops[0].customer_id)
    own = await _history(http, factory.token(theirs.dispatcher), theirs.stops[0].customer_id)

    # then ours is not found and theirs has an empty history
    assert foreign["data"]["customer"] is None
    assert _nodes(own) == []


async def test_integrator_keys_need_customers_read_and_drivers_cannot_read_it(http, factory, outreach_runtime):
    # given a customer with history and two keys, one with customers:read
    fleet = await factory.fleet(stops=1)
    await _many_at_one_instant(outreach_runtime, fleet, 1)
    reader = (await mint(http, factory, fleet, ["customers:read"]))["secret"]
    other = (await mint(http, factory, fleet, ["exceptions:read"]))["secret"]

    # when the CRM pulls the history with each, and the driver tries
    allowed = await _history(http, reader, fleet.stops[0].customer_id)
    refused = await _history(http, other, fleet.stops[0].customer_id)
    driver = await _history(http, factory.token(fleet.driver), fleet.stops[0].customer_id)

    # then the right key reads it; the others are FORBIDDEN
    assert len(_nodes(allowed)) == 3
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN", "missingScope": "customers:read"}
    assert driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _queue_statements(http, factory, outreach_runtime, count_statements, customers):
    fleet = await factory.fleet(stops=customers)
    token = factory.token(fleet.driver)
    for stop in fleet.stops:
        await report(http, token, stop.id)
    await _many_at_one_instant(outreach_runtime, fleet, 2)
    count_statements.count, count_statements.active = 0, True
    result = await gql(http, QUEUE_HISTORY, token=factory.token(fleet.dispatcher))
    count_statements.active = False
    assert "errors" not in result, result
    edges = result["data"]["exceptions"]["edges"]
    assert len(edges) == customers and all(e["node"]["stop"]["customer"]["communications"]["edges"] for e in edges)
    return count_statements.count


async def test_the_sql_count_does_not_grow_with_the_number_of_customers(http, factory, outreach_runtime, count_statements):
    # given / when: a queue of 2 exceptions and one of 8, each showing its customer's history
    small = await _queue_statements(http, factory, outreach_runtime, count_statements, 2)
    large = await _queue_statements(http, factory, outreach_runtime, count_statements, 8)

    # then both take the same number of statements
    assert small == large, (small, large)


async def test_call_notes_are_checked_and_bad_ones_write_nothing(http, factory, outreach_runtime):
    # given two tenants, and an exception about the first customer
    ours, theirs = await factory.fleet(stops=2), await factory.fleet(stops=1)
    exc = await report(http, factory.token(ours.driver), ours.stops[0].id)
    dispatcher = factory.token(ours.dispatcher)

    async def call(customer_id, **extra):
        body = await gql(http, RECORD_CALL, {"input": {"customerId": str(customer_id), "outcome": "NO_ANSWER", **extra}}, token=dispatcher)
        return body["data"]["recordCustomerCall"]["errors"] if "data" in body and body["data"] else body["errors"]

    # when the dispatcher notes calls to another tenant's customer, with another customer's exception, too long, and as a driver
    foreign = await call(theirs.stops[0].customer_id)
    mismatched = await call(ours.stops[1].customer_id, exceptionId=exc["id"])
    too_long = await call(ours.stops[0].customer_id, note="x" * 2001)
    driver = await gql(http, RECORD_CALL, {"input": {"customerId": str(ours.stops[0].customer_id), "outcome": "REACHED"}},
                       token=factory.token(ours.driver))

    # then each is a typed refusal and no note was written
    assert [e["code"] for e in foreign] == ["NOT_FOUND"] and foreign[0]["field"] == "customerId"
    assert [(e["code"], e["field"]) for e in mismatched] == [("INVALID_INPUT", "exceptionId")]
    assert [(e["code"], e["field"]) for e in too_long] == [("INVALID_INPUT", "note")]
    assert driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with outreach_runtime.sessionmaker() as session:
        assert (await session.exec(select(CustomerCall))).all() == []
