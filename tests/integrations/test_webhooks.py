"""Webhooks out over real HTTP to a local receiver: signed (verified with standardwebhooks), retried on the schedule
with a frozen clock, 410 disables, 429 waits, failing endpoints warn before they are disabled, replay re-delivers."""
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.clock import FrozenClock
from app.integrations.dispatcher import WebhookDispatcher
from app.integrations.outbox import record_once
from app.integrations.models import IntegrationEvent
from app.integrations.webhook_models import WebhookDelivery, WebhookEndpoint
from app.outreach.models import Notification
from app.runtime import unit_of_work
from app.tenants.models import User
from tests.conftest import client_for
from tests.delivery_exceptions.test_mutations import report
from tests.factories import Factory, gql
from tests.integrations.receiver import Receiver, patch_verifier_clock

CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id enabled eventTypes } errors { code field } }
}
"""
ROTATE = "mutation($input: WebhookEndpointInput!) { rotateWebhookSecret(input: $input) { secret endpoint { previousSecretUntil } } }"
ENDPOINTS = "{ webhookEndpoints { id enabled disabledReason failingSince warnedAt } }"
LOG = """
query($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) { edges { node {
  eventId eventType status attemptCount lastStatusCode attempts { statusCode }
} } } }
"""
REPLAY = "mutation($input: ReplayWebhooksInput!) { replayWebhooks(input: $input) { queued errors { code field } } }"
PULL = "query($after: String) { parcelStatusChanges(after: $after, first: 10) { endCursor changes { kind trackingStatus data } } }"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def hooks(runtime, clock, monkeypatch):  # noqa: ANN001, ANN201
    patch_verifier_clock(monkeypatch, clock)
    settings = runtime.settings.model_copy(update={"webhook_allow_private_addresses": True})
    return replace(runtime, clock=clock, settings=settings)


@pytest.fixture
def receiver():  # noqa: ANN201
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
async def http(hooks):  # noqa: ANN001, ANN201
    async with client_for(hooks) as client:
        yield client


async def setup(http, hooks, receiver, event_types=()):  # noqa: ANN001, ANN201
    factory = Factory(hooks)
    fleet = await factory.fleet(stops=2)
    created = (await gql(http, CREATE, {"input": {"url": receiver.url, "eventTypes": list(event_types), "description": "WMS"}},
                         token=factory.token(fleet.supervisor)))["data"]["createWebhookEndpoint"]
    receiver.secrets.append(created["secret"])
    return factory, fleet, created


async def deliveries(hooks):  # noqa: ANN001, ANN201
    async with hooks.sessionmaker() as session:
        return list((await session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))).all())


async def test_a_report_is_signed_retried_after_500s_logged_and_replayed(http, hooks, clock, receiver):
    # given an endpoint for exception reports whose receiver fails twice
    factory, fleet, created = await setup(http, hooks, receiver, ["exception.reported"])
    receiver.answer(500, 503)
    dispatcher = WebhookDispatcher(hooks)

    # when a driver reports an exception and the dispatcher follows the schedule (5 s, then 5 min)
    reported = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    assert await dispatcher.run_once() == 1
    clock.advance(4)
    assert await dispatcher.run_once() == 0  # not due yet
    clock.advance(2)
    assert await dispatcher.run_once() == 1
    clock.advance(timedelta(minutes=6))
    assert await dispatcher.run_once() == 1

    # then the receiver saw three signed attempts of the same message, verified by standardwebhooks
    assert len(receiver.received) == 3
    assert all(r.verified == {created["secret"]: True} for r in receiver.received)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    payload = json.loads(receiver.received[-1].body)
    assert payload["type"] == "exception.reported"
    assert payload["data"] | {"occurredAt": None} == payload["data"] | {
        "exceptionId": reported["exception"]["id"], "stopId": str(fleet.stops[0].id), "sequence": 1,
        "trackingStatus": "delivery_failed", "incidentReason": "consignee_access_restricted", "occurredAt": None,
    }
    # and the delivery log tells the story
    log = (await gql(http, LOG, {"id": created["endpoint"]["id"]}, token=factory.token(fleet.supervisor)))["data"]["webhookDeliveries"]
    [node] = [e["node"] for e in log["edges"]]
    assert (node["status"], node["attemptCount"], [a["statusCode"] for a in node["attempts"]]) == ("SUCCEEDED", 3, [500, 503, 200])

    # when the integrator asks for a replay of that event
    replayed = (await gql(http, REPLAY, {"input": {"endpointId": created["endpoint"]["id"], "eventId": node["eventId"]}},
                          token=factory.token(fleet.integrator)))["data"]["replayWebhooks"]
    await dispatcher.run_once()

    # then the same event arrives again, freshly signed
    assert replayed == {"queued": 1, "errors": []}
    assert receiver.received[-1].headers["webhook-id"] == node["eventId"] and receiver.received[-1].verified[created["secret"]]
    await dispatcher.aclose()


async def test_410_disables_the_endpoint(http, hooks, receiver):
    # given an endpoint whose receiver answers 410 Gone
    factory, fleet, created = await setup(http, hooks, receiver)
    receiver.answer(410)
    dispatcher = WebhookDispatcher(hooks)

    # when an exception is reported, then another
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await dispatcher.run_once()
    await report(http, factory.token(fleet.driver), fleet.stops[1].id, key="key-2")
    await dispatcher.run_once()

    # then the endpoint is disabled after the first attempt and nothing more is sent
    [endpoint] = (await gql(http, ENDPOINTS, token=factory.token(fleet.supervisor)))["data"]["webhookEndpoints"]
    assert (endpoint["enabled"], endpoint["disabledReason"]) == (False, "the receiver answered 410 Gone")
    assert len(receiver.received) == 1
    assert [d.status.value for d in await deliveries(hooks)] == ["FAILED"]
    await dispatcher.aclose()


async def test_429_waits_for_retry_after(http, hooks, clock, receiver):
    factory, fleet, _ = await setup(http, hooks, receiver)
    receiver.answer((429, {"Retry-After": "3600"}))
    dispatcher = WebhookDispatcher(hooks)
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)

    await dispatcher.run_once()
    clock.advance(timedelta(minutes=59))
    early = await dispatcher.run_once()
    clock.advance(timedelta(minutes=2))
    late = await dispatcher.run_once()

    assert (early, late, len(receiver.received)) == (0, 1, 2)
    await dispatcher.aclose()


async def test_a_rotation_signs_with_both_secrets_during_the_overlap(http, hooks, clock, receiver):
    # given an endpoint whose secret was rotated
    factory, fleet, created = await setup(http, hooks, receiver)
    rotated = (await gql(http, ROTATE, {"input": {"id": created["endpoint"]["id"]}}, token=factory.token(fleet.supervisor)))["data"]["rotateWebhookSecret"]
    receiver.secrets.append(rotated["secret"])
    dispatcher = WebhookDispatcher(hooks)

    # when one event goes out during the overlap and one after it
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await dispatcher.run_once()
    clock.advance(timedelta(hours=25))
    await report(http, factory.token(fleet.driver), fleet.stops[1].id, key="key-2")
    await dispatcher.run_once()

    # then the first verifies with either secret and carries two signatures, the second only with the new one
    during, after = receiver.received
    assert during.verified == {created["secret"]: True, rotated["secret"]: True}
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified == {created["secret"]: False, rotated["secret"]: True}
    await dispatcher.aclose()


async def test_a_failing_endpoint_warns_supervisors_and_is_disabled_only_after_days(http, hooks, clock, receiver):
    # given a receiver that always fails and a supervisor with a phone
    factory, fleet, created = await setup(http, hooks, receiver)
    async with hooks.sessionmaker() as session, session.begin():
        supervisor = await session.get(User, fleet.supervisor.id)
        supervisor.phone = "+31611112222"
        session.add(supervisor)
    receiver.answer(*([500] * 40))
    dispatcher = WebhookDispatcher(hooks)
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)

    # when the dispatcher follows the whole retry schedule (about three days), the clock stepping to each due time
    await dispatcher.run_once()
    while (pending := [d for d in await deliveries(hooks) if d.status.value == "PENDING"]):
        clock.set(pending[0].next_attempt_at)
        assert await dispatcher.run_once() == 1
    gave_up_after = clock.now() - START
    endpoints = (await gql(http, ENDPOINTS, token=factory.token(fleet.supervisor)))["data"]["webhookEndpoints"]

    # then the delivery gave up after 10 attempts, supervisors were told once, and the endpoint is still on
    [delivery] = await deliveries(hooks)
    assert (delivery.status.value, delivery.attempts) == ("FAILED", 10)
    assert timedelta(days=2.8) < gave_up_after < timedelta(days=3.6)
    assert endpoints[0]["enabled"] is True and endpoints[0]["warnedAt"] is not None
    async with hooks.sessionmaker() as session:
        texts = (await session.exec(select(Notification).where(Notification.purpose == "webhook_failing"))).all()
    assert [t.recipient for t in texts] == ["+31611112222"]
    assert receiver.url not in texts[0].body and created["secret"] not in texts[0].body

    # when a new event fails after more than five days of failures
    clock.set(START + timedelta(days=5, hours=1))
    await report(http, factory.token(fleet.driver), fleet.stops[1].id, key="key-2")
    await dispatcher.run_once()

    # then the endpoint is disabled
    endpoints = (await gql(http, ENDPOINTS, token=factory.token(fleet.supervisor)))["data"]["webhookEndpoints"]
    assert endpoints[0]["enabled"] is False and "failing since" in endpoints[0]["disabledReason"]
    await dispatcher.aclose()


async def test_wms_events_drain_through_the_webhook_outbox_and_the_pull_feed(http, hooks, receiver):
    # given a parcel.held fact written by another domain through record_once
    factory, fleet, created = await setup(http, hooks, receiver, ["parcel.held", "parcel.returned"])
    async with unit_of_work(hooks) as uow:
        await record_once(session=uow.session, tenant_id=fleet.tenant.id, kind="wms.parcel_held", idempotency_key="alt:1",
                          payload={"alternativeId": 1, "stopId": fleet.stops[0].id, "parcels": ["P1"]})
    dispatcher = WebhookDispatcher(hooks)

    # when the dispatcher runs and the warehouse pulls twice
    await dispatcher.run_once()
    token = factory.token(fleet.integrator)
    first = (await gql(http, PULL, {"after": None}, token=token))["data"]["parcelStatusChanges"]
    second = (await gql(http, PULL, {"after": first["endCursor"]}, token=token))["data"]["parcelStatusChanges"]

    # then the webhook arrived with Karrio's word, the row counts as delivered, and the cursor moves on
    body = json.loads(receiver.received[0].body)
    assert (body["type"], body["data"]["trackingStatus"], body["data"]["parcels"]) == ("parcel.held", "on_hold", ["P1"])
    async with hooks.sessionmaker() as session:
        assert (await session.exec(select(IntegrationEvent))).one().delivered_at is not None
    assert [(c["kind"], c["trackingStatus"]) for c in first["changes"]] == [("parcel.held", "on_hold")]
    assert second["changes"] == [] and second["endCursor"] == first["endCursor"]
    await dispatcher.aclose()


async def test_private_addresses_are_refused_unless_allowed(client, factory):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.supervisor)

    loopback = (await gql(client, CREATE, {"input": {"url": "http://127.0.0.1:9/x"}}, token=token))["data"]["createWebhookEndpoint"]
    private = (await gql(client, CREATE, {"input": {"url": "https://10.1.2.3/x"}}, token=token))["data"]["createWebhookEndpoint"]
    unknown = (await gql(client, CREATE, {"input": {"url": "https://wms.example/x", "eventTypes": ["nope"]}}, token=token))["data"]["createWebhookEndpoint"]
    no_scope = await gql(client, CREATE, {"input": {"url": "https://wms.example/x"}},
                         token=factory.token(fleet.integrator, scopes=frozenset({"exceptions:read"})))

    assert [r["errors"][0]["field"] for r in (loopback, private, unknown)] == ["url", "url", "eventTypes"]
    assert no_scope["errors"][0]["extensions"]["missingScope"] == "webhooks:manage"


@pytest.mark.parametrize("url", ["http://[::1", "https://[wms.example/x", "https://wms.example:99999/x", "https://wms.example:port/x"])
async def test_a_malformed_url_is_refused_not_an_internal_error(client, factory, runtime, url):
    # given a supervisor (found probing the shapes the schema fuzzer draws: urlsplit raises on an unclosed bracket, .port on a bad port)
    fleet = await factory.fleet(stops=0)
    token = factory.token(fleet.supervisor)

    # when they register a receiver whose URL cannot be parsed
    result = await gql(client, CREATE, {"input": {"url": url}}, token=token)

    # then it is a typed refusal naming the url, and no endpoint was stored
    assert result.get("errors") is None, result
    [error] = result["data"]["createWebhookEndpoint"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "url")
    async with runtime.sessionmaker() as session:
        assert (await session.exec(select(WebhookEndpoint))).all() == []
