"""The flows that depend on the hour work at any hour: the clock is frozen early in the morning and late at night.

The replayed documents run under the same two times (tests/api/test_replay_documents.py); here, a code
revealed in the stop's window, a replan that plans the remaining stops, and a reminder that falls due
when the clock is advanced (no sleeping, no rewriting of the rows' times).
"""
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.access import flows as access
from app.alternatives.models import SafePlace
from app.clock import FrozenClock
from app.outreach.worker import OutboxWorker
from app.replanning import flows as replanning
from tests.access.conftest import GATE_CODE, add_profile, place_driver, principal_of
from tests.factories import Factory, gql
from tests.conftest import client_for
from tests.outreach.conftest import (  # noqa: F401  (fixtures: the local Twilio and FCM servers)
    _reset_fakes, drain, fcm, fcm_key, notifications, outreach_runtime, outreach_settings, report, twilio,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HOURS = {"early-morning": (5, 40), "late-evening": (22, 50)}
ALTERNATIVES = "query A($id: ID!) { alternatives(exceptionId: $id) { kind proposedBy } }"


@pytest.fixture(params=sorted(HOURS))
def frozen(request, outreach_runtime):  # noqa: ANN001, ANN201
    hour, minute = HOURS[request.param]
    return replace(outreach_runtime, clock=FrozenClock(datetime(2026, 12, 1, hour, minute, tzinfo=AMSTERDAM)))


async def test_the_driver_at_the_door_gets_the_code_inside_the_window(frozen):
    # given a stop whose window is open now, its building's codes, and the driver at the door
    fleet = await Factory(frozen).fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(frozen, fleet.dispatcher, stop)
    await place_driver(frozen, fleet.driver, stop)

    # when the driver asks for the code
    reveal = await access.reveal_access_code(frozen, principal_of(fleet.driver), stop_id=stop.id, position=None)

    # then it is revealed
    assert reveal.secrets.gate_code.get_secret_value() == GATE_CODE


async def test_a_replan_plans_the_remaining_stops(frozen, solver_pool):  # noqa: ANN001
    # given a route whose windows lie ahead of the frozen time
    fleet = await Factory(frozen).fleet(stops=4)

    # when the dispatcher replans it
    replanned = await replanning.replan_route(frozen, principal_of(fleet.dispatcher), route_id=fleet.route.id, expected_version=fleet.route.version)

    # then every remaining stop is planned, none left out for a closed window
    assert len(replanned.proposal.route.planned) == 4 and replanned.proposal.route.unassigned == ()


async def test_the_no_answer_reminder_falls_due_when_the_clock_moves_on(frozen, twilio):  # noqa: ANN001
    # given an absent customer who chose a safe place in advance, messaged at the frozen time
    factory = Factory(frozen)
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    async with frozen.sessionmaker() as session, session.begin():
        session.add(SafePlace(tenant_id=fleet.tenant.id, customer_id=stop.customer_id, instructions="behind the blue gate"))
    started = frozen.clock.now()
    worker = OutboxWorker(frozen)
    try:
        async with client_for(frozen) as http:
            exc = await report(http, factory.token(fleet.driver), stop.id)
            await drain(worker)
            sent_at_report = len(twilio.messages)

            # when the clock reaches the reminder's time without an answer
            frozen.clock.advance(timedelta(minutes=frozen.settings.outreach_no_answer_minutes - 1))
            await drain(worker)
            early = len(twilio.messages)
            frozen.clock.advance(timedelta(minutes=2))
            await drain(worker)
            proposed = await gql(http, ALTERNATIVES, {"id": exc["id"]}, token=factory.token(fleet.dispatcher))
    finally:
        for sender in worker.senders.values():
            await sender.aclose()

    # then the reminder went out only once it was due, stamped with the frozen time, and the safe place is proposed
    assert (sent_at_report, early, len(twilio.messages)) == (1, 1, 2)
    [first, reminder] = await notifications(frozen, exception_id=int(exc["id"]))
    assert first.sent_at == started
    assert reminder.sent_at == frozen.clock.now()
    assert proposed["data"]["alternatives"] == [{"kind": "SECURE_DROPOFF", "proposedBy": "RULE"}]
