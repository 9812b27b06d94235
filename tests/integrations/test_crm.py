"""The CRM adapter over real HTTP against a local CRM, and the refresh Detour runs when an exception opens."""
import logging
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import select

from app.clock import FrozenClock
from app.customers.models import Customer
from app.integrations.crm import CrmUnavailable, HttpCrm, parse_answer
from app.integrations.crm_flows import apply_preferences
from app.outreach.flows import enqueue_sms
from app.outreach.models import ConsentRecord, ConsentSource, ConsentStatus, NotificationStatus
from app.runtime import unit_of_work
from tests.conftest import client_for
from tests.delivery_exceptions.test_mutations import report
from tests.factories import Factory
from tests.integrations.crm_server import TOKEN, LocalCrm

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PREFERENCES = {
    "externalRef": "CRM-1", "preferredChannels": ["PUSH", "SMS"], "language": "nl", "timezone": "Europe/Brussels",
    "quietHours": {"start": "21:00", "end": "08:00"},
    "smsConsent": {"status": "REVOKED", "capturedAt": "2026-11-30T18:00:00Z"},
}


@pytest.fixture(scope="session")
def local_crm():
    server = LocalCrm().start()
    yield server
    server.stop()


@pytest.fixture
def crm(local_crm):
    local_crm.customers.clear()
    local_crm.script.clear()
    local_crm.requests.clear()
    return local_crm


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def crm_runtime(runtime, crm, clock):
    return replace(runtime, clock=clock, crm=HttpCrm(crm.url, token=TOKEN, timeout_seconds=2))


async def _fleet_with_known_customer(crm_runtime, ref="CRM-1", slug=None):
    fleet = await Factory(crm_runtime).fleet(stops=2, slug=slug)
    async with crm_runtime.sessionmaker() as session, session.begin():
        for stop in fleet.stops:
            customer = await session.get(Customer, stop.customer_id)
            customer.external_ref = f"{ref}" if stop is fleet.stops[0] else f"{ref}-other"
            session.add(customer)
    return fleet


async def _customer(runtime, customer_id):
    async with runtime.sessionmaker() as session:
        return await session.get(Customer, customer_id)


async def _consents(runtime):
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(ConsentRecord).order_by(ConsentRecord.id))).all())


ABSENT = {"kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "description": ""}


# --- the adapter on the wire -------------------------------------------------------------------------------------

async def test_the_adapter_reads_the_contract_with_its_token_and_never_sends_a_phone_number(crm):
    # given a CRM that knows the customer under a reference that needs escaping
    crm.customers["ACME/42 ü"] = PREFERENCES
    adapter = HttpCrm(crm.url, token=TOKEN, timeout_seconds=2)

    # when Detour asks for their preferences
    found = await adapter.preferences(external_ref="ACME/42 ü")

    # then every field of the contract is read
    assert found.preferred_channels == ("PUSH", "SMS") and found.language == "nl" and found.timezone == "Europe/Brussels"
    assert (found.quiet_hours.start, found.quiet_hours.end) == (time(21, 0), time(8, 0)) and found.quiet_hours_given
    assert found.sms_consent.granted is False and found.sms_consent.captured_at == datetime(2026, 11, 30, 18, tzinfo=UTC)
    # and the request was one GET on the escaped path with the bearer token, no phone anywhere
    (request,) = crm.requests
    assert request["path"] == "/api/customers/ACME%2F42%20%C3%BC/preferences"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert "+31" not in str(request)


async def test_unknown_customers_are_none_and_every_failure_is_crm_unavailable(crm):
    adapter = HttpCrm(crm.url, token=TOKEN, timeout_seconds=2)

    # given / when / then: unknown → None
    assert await adapter.preferences(external_ref="nobody") is None

    # a server error, a refused token, a body that is not JSON, a body outside the contract
    crm.script.extend([(500, {"error": "boom"}), (200, b"<html>"), (200, {"language": 7, "smsConsent": {"status": "MAYBE"}})])
    with pytest.raises(CrmUnavailable, match="HTTP 500"):
        await adapter.preferences(external_ref="x")
    with pytest.raises(CrmUnavailable, match="not JSON"):
        await adapter.preferences(external_ref="x")
    with pytest.raises(CrmUnavailable, match="language") as broken:
        await adapter.preferences(external_ref="x")
    assert "smsConsent.status" in str(broken.value) and "MAYBE" not in str(broken.value)
    with pytest.raises(CrmUnavailable, match="HTTP 401"):
        await HttpCrm(crm.url, token="wrong", timeout_seconds=2).preferences(external_ref="x")
    # and a CRM that is not there at all
    with pytest.raises(CrmUnavailable, match="did not answer"):
        await HttpCrm("http://127.0.0.1:9/api", token=TOKEN, timeout_seconds=1).preferences(external_ref="x")


async def test_a_crm_consent_without_a_utc_offset_breaks_the_contract(crm):
    crm.customers["c"] = {"smsConsent": {"status": "GRANTED", "capturedAt": "2026-11-30T18:00:00"}}
    with pytest.raises(CrmUnavailable, match="smsConsent.capturedAt"):
        await HttpCrm(crm.url, token=TOKEN, timeout_seconds=2).preferences(external_ref="c")


# --- the refresh when an exception opens ---------------------------------------------------------------------------

async def test_an_exception_refreshes_the_customer_from_the_crm_and_its_consent_stops_sms(crm, crm_runtime, clock):
    # given a customer the CRM knows, who revoked SMS consent there yesterday
    fleet = await _fleet_with_known_customer(crm_runtime)
    crm.customers["CRM-1"] = PREFERENCES
    customer_id = fleet.stops[0].customer_id

    # when the driver reports them absent
    async with client_for(crm_runtime) as http:
        reported = await report(http, Factory(crm_runtime).token(fleet.driver), fleet.stops[0].id, **ABSENT)

    # then the report stands, and the customer carries the CRM's preferences, refreshed at the runtime's time
    assert reported["errors"] == []
    customer = await _customer(crm_runtime, customer_id)
    assert (customer.language, customer.timezone, customer.preferred_channels) == ("nl", "Europe/Brussels", ["PUSH", "SMS"])
    assert (customer.quiet_hours_start, customer.quiet_hours_end) == (time(21, 0), time(8, 0))
    assert customer.crm_refreshed_at == NOW
    # and the CRM's consent is the record in force: an SMS to them is suppressed
    (consent,) = await _consents(crm_runtime)
    assert (consent.status, consent.source, consent.phone) == (ConsentStatus.REVOKED, ConsentSource.CRM, customer.phone)
    assert consent.captured_at == datetime(2026, 11, 30, 18, tzinfo=UTC)
    async with unit_of_work(crm_runtime) as uow:
        text = await enqueue_sms(uow, tenant_id=fleet.tenant.id, to_phone=customer.phone, text="hello", purpose="test", customer_id=customer_id)
    assert text.status is NotificationStatus.SUPPRESSED and "opted out" in text.failure_reason


async def test_a_customer_refreshed_recently_is_not_asked_again_until_the_period_is_over(crm, crm_runtime, clock):
    # given a customer refreshed by a first exception
    fleet = await _fleet_with_known_customer(crm_runtime)
    crm.customers["CRM-1"] = {"language": "de"}
    token = Factory(crm_runtime).token(fleet.driver)
    async with client_for(crm_runtime) as http:
        await report(http, token, fleet.stops[0].id, key="a", **ABSENT)
        asked_first = len(crm.requests)

        # when a second exception opens for them within DETOUR_CRM_REFRESH_HOURS (24), and a third one after it
        clock.advance(timedelta(hours=23))
        crm.customers["CRM-1"] = {"language": "fr"}
        await _reopen(crm_runtime, fleet)
        await report(http, token, fleet.stops[0].id, key="b", **ABSENT)
        within = (len(crm.requests), (await _customer(crm_runtime, fleet.stops[0].customer_id)).language)
        clock.advance(timedelta(hours=2))
        await _reopen(crm_runtime, fleet)
        await report(http, token, fleet.stops[0].id, key="c", **ABSENT)

    # then the CRM was asked once, not the second time, and again the third
    assert asked_first == 1
    assert within == (1, "de")
    assert len(crm.requests) == 2
    assert (await _customer(crm_runtime, fleet.stops[0].customer_id)).language == "fr"


async def _reopen(runtime, fleet):
    """Close the stop's open exception so the driver can report a new one on it."""
    from app.delivery_exceptions.models import DeliveryException, ExceptionStatus

    async with runtime.sessionmaker() as session, session.begin():
        for exc in (await session.exec(select(DeliveryException).where(DeliveryException.stop_id == fleet.stops[0].id))).all():
            exc.status = ExceptionStatus.FAILED
            session.add(exc)


async def test_a_failing_crm_never_fails_the_report_and_logs_no_phone_number(crm, crm_runtime, caplog):
    # given a CRM that answers 500
    fleet = await _fleet_with_known_customer(crm_runtime)
    crm.script.append((500, {"error": "down"}))
    customer = await _customer(crm_runtime, fleet.stops[0].customer_id)

    # when an exception opens for a customer it knows
    caplog.set_level(logging.INFO)
    async with client_for(crm_runtime) as http:
        reported = await report(http, Factory(crm_runtime).token(fleet.driver), fleet.stops[0].id, **ABSENT)

    # then the report succeeded, the customer is unchanged and not marked refreshed (the next exception tries again)
    assert reported["errors"] == [] and reported["exception"]["status"] == "OPEN"
    after = await _customer(crm_runtime, customer.id)
    assert after.language == customer.language and after.crm_refreshed_at is None
    # and the failure was logged, without the phone number anywhere in the log records
    failures = [r for r in caplog.records if r.getMessage() == "crm.refresh_failed"]
    assert failures and failures[0].reason == "the CRM answered HTTP 500"
    assert all(customer.phone not in str(r.__dict__) for r in caplog.records)


async def test_values_the_customer_model_refuses_change_nothing(crm, crm_runtime, caplog):
    # given a CRM answering a language Detour has no templates for, along with a consent
    fleet = await _fleet_with_known_customer(crm_runtime)
    crm.customers["CRM-1"] = {**PREFERENCES, "language": "tlh"}
    customer = await _customer(crm_runtime, fleet.stops[0].customer_id)

    # when an exception opens for them
    caplog.set_level(logging.INFO)
    async with client_for(crm_runtime) as http:
        await report(http, Factory(crm_runtime).token(fleet.driver), fleet.stops[0].id, **ABSENT)

    # then nothing was changed, consent included, and the refusal names the field
    after = await _customer(crm_runtime, customer.id)
    assert (after.language, after.timezone, after.crm_refreshed_at) == (customer.language, customer.timezone, None)
    assert await _consents(crm_runtime) == []
    refused = [r for r in caplog.records if r.getMessage() == "crm.preferences_refused"]
    assert refused and refused[0].field == "language"


async def test_customers_without_a_crm_reference_and_runtimes_without_a_crm_are_left_alone(crm, crm_runtime):
    # given a customer with no external reference, and one the CRM would know but no CRM configured
    fleet = await Factory(crm_runtime).fleet(stops=1)
    crm.customers["CRM-1"] = PREFERENCES
    no_crm = replace(crm_runtime, crm=None)
    known = await _fleet_with_known_customer(no_crm, slug="no-crm")

    # when exceptions open for both
    async with client_for(crm_runtime) as http:
        await report(http, Factory(crm_runtime).token(fleet.driver), fleet.stops[0].id, **ABSENT)
    async with client_for(no_crm) as http:
        await report(http, Factory(no_crm).token(known.driver), known.stops[0].id, **ABSENT)

    # then the CRM was never asked
    assert crm.requests == []


async def test_an_absent_quiet_hours_key_keeps_them_and_null_clears_them(crm_runtime):
    # given a customer with quiet hours
    fleet = await _fleet_with_known_customer(crm_runtime)
    customer_id = fleet.stops[0].customer_id
    async with crm_runtime.sessionmaker() as session, session.begin():
        customer = await session.get(Customer, customer_id)
        customer.quiet_hours_start, customer.quiet_hours_end = time(22, 0), time(7, 0)
        session.add(customer)

    # when the CRM's answer leaves quietHours out
    await apply_preferences(crm_runtime, customer_id=customer_id, preferences=parse_answer({"language": "de"}))
    kept = await _customer(crm_runtime, customer_id)

    # then they stay; and when it says null, they are cleared
    await apply_preferences(crm_runtime, customer_id=customer_id, preferences=parse_answer({"quietHours": None}))
    cleared = await _customer(crm_runtime, customer_id)
    assert (kept.language, kept.quiet_hours_start, kept.quiet_hours_end) == ("de", time(22, 0), time(7, 0))
    assert (cleared.language, cleared.quiet_hours_start, cleared.quiet_hours_end) == ("de", None, None)
