"""route.replanned and eta.changed leave through the webhook outbox, written in the change's transaction, signed and
sequenced (per route, per stop); eta.changed only when a stop's ETA moved by the configured minutes, not on a wobble."""
import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from app.integrations.dispatcher import WebhookDispatcher
from app.integrations.webhook_models import WebhookMessage
from app.tracking.flows import on_positions_reported
from app.tracking.models import DriverLastPosition
from app.tracking.service import Fix, store_fixes
from tests.factories import gql
from tests.integrations.test_webhooks import clock, hooks, http, receiver, setup  # noqa: F401  (fixtures)

REPLAN = """
mutation Replan($input: ReplanRouteInput!) { replanRoute(input: $input) { route { id version } planId errors { code } } }
"""
NEAR_THE_STOPS = (52.369, 4.889)


def received(receiver, event_type: str) -> list[dict]:  # noqa: ANN001
    bodies = [json.loads(r.body) for r in receiver.received if r.verified and all(r.verified.values())]
    return [b["data"] for b in bodies if b["type"] == event_type]


async def deliver(runtime) -> None:  # noqa: ANN001
    dispatcher = WebhookDispatcher(runtime)
    await dispatcher.drain()
    await dispatcher.aclose()


async def messages(runtime, event_type: str) -> list[WebhookMessage]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        query = select(WebhookMessage).where(WebhookMessage.event_type == event_type).order_by(WebhookMessage.id)
        return list((await session.exec(query)).all())


async def fix_at(runtime, fleet, position: tuple[float, float]) -> list[int]:  # noqa: ANN001
    """A GPS fix now, then the live-ETA computation it triggers (what reportPositions runs after its commit)."""
    async with runtime.sessionmaker() as session, session.begin():
        await store_fixes(session=session, tenant_id=fleet.tenant.id, driver_id=fleet.driver.id,
                          fixes=[Fix(runtime.clock.now(), position[0], position[1], 5)])
    return await on_positions_reported(runtime, tenant_id=fleet.tenant.id, driver_id=fleet.driver.id, route_id=fleet.route.id)


@pytest.mark.usefixtures("solver_pool")
async def test_each_replan_sends_route_replanned_with_the_new_order_and_a_route_sequence(http, hooks, receiver):  # noqa: F811
    # given an endpoint for route.replanned and a driver among the stops
    factory, fleet, created = await setup(http, hooks, receiver, ["route.replanned"])
    async with hooks.sessionmaker() as session, session.begin():
        session.add(DriverLastPosition(driver_id=fleet.driver.id, tenant_id=fleet.tenant.id, recorded_at=hooks.clock.now(),
                                       lat=NEAR_THE_STOPS[0], lon=NEAR_THE_STOPS[1]))
    dispatcher = factory.token(fleet.dispatcher)

    # when the dispatcher replans the route twice
    first = (await gql(http, REPLAN, {"input": {"routeId": str(fleet.route.id), "expectedVersion": 1}}, token=dispatcher))["data"]["replanRoute"]
    second = (await gql(http, REPLAN, {"input": {"routeId": str(fleet.route.id), "expectedVersion": 2}}, token=dispatcher))["data"]["replanRoute"]
    await deliver(hooks)

    # then the receiver verified two route.replanned events, numbered 1 and 2 for the route, each naming its version,
    # its plan and every pending stop in the new order with its planned ETA
    assert first["errors"] == [] and second["errors"] == []
    events = sorted(received(receiver, "route.replanned"), key=lambda e: e["sequence"])  # delivered concurrently, in any order
    assert [(e["routeId"], e["sequence"], e["version"]) for e in events] == [(str(fleet.route.id), 1, 2), (str(fleet.route.id), 2, 3)]
    assert [e["planId"] for e in events] == [first["planId"], second["planId"]]
    assert events[0]["occurredAt"] and events[0]["reason"]
    assert sorted(s["stopId"] for s in events[1]["stops"]) == sorted(str(s.id) for s in fleet.stops)
    assert all(datetime.fromisoformat(s["plannedEta"]) for s in events[1]["stops"])
    assert [s["position"] for s in events[1]["stops"]] == sorted(s["position"] for s in events[1]["stops"])


async def test_eta_changed_is_sent_when_the_eta_moves_enough_and_not_on_a_wobble(http, hooks, clock, receiver):  # noqa: F811
    # given an endpoint for eta.changed, a 5-minute threshold, and a driver starting next to the first stop
    factory, fleet, created = await setup(http, hooks, receiver, ["eta.changed"])
    live = replace(hooks, settings=hooks.settings.model_copy(update={"webhook_eta_change_minutes": 5.0}))

    # when the first live ETAs are computed (each about 10 minutes ahead of the plan)
    await fix_at(live, fleet, NEAR_THE_STOPS)
    first = await messages(live, "eta.changed")
    # and 40 s later the fix wobbles by a few metres (the ETAs move by seconds)
    clock.advance(40)
    assert await fix_at(live, fleet, (NEAR_THE_STOPS[0] + 0.0002, NEAR_THE_STOPS[1])) is not None
    after_wobble = await messages(live, "eta.changed")
    # and 40 s later the driver is 10 km away (the first stop's ETA moves by far more than 5 minutes)
    clock.advance(40)
    await fix_at(live, fleet, (52.30, 4.80))
    await deliver(live)

    # then the first computation announced each stop whose ETA left the plan by 5 minutes or more, the wobble nothing,
    # and the far fix announced the first stop again: sequence 2, its previous ETA the one announced before
    assert {m.stop_id for m in first} == {s.id for s in fleet.stops}
    assert len(after_wobble) == len(first)
    events = received(receiver, "eta.changed")
    by_stop = {}
    for event in sorted(events, key=lambda e: e["sequence"]):
        by_stop.setdefault(event["stopId"], []).append(event)
    moved = by_stop[str(fleet.stops[0].id)]
    assert [e["sequence"] for e in moved] == [1, 2]
    assert moved[1]["previousEta"] == moved[0]["eta"]
    assert datetime.fromisoformat(moved[1]["eta"]) - datetime.fromisoformat(moved[0]["eta"]) >= timedelta(minutes=5)
    assert moved[0]["previousEta"] == moved[0]["plannedEta"] and moved[0]["routeId"] == str(fleet.route.id)
    assert all(abs(e["changeMinutes"]) >= 5 and e["trackingStatus"] in ("out_for_delivery", "delivery_delayed") for e in events)
    assert all(r.verified == {created["secret"]: True} for r in receiver.received)


async def test_a_larger_threshold_keeps_small_moves_quiet(http, hooks, receiver):  # noqa: F811
    # given an endpoint for eta.changed and a threshold of an hour
    factory, fleet, created = await setup(http, hooks, receiver, ["eta.changed"])
    patient = replace(hooks, settings=hooks.settings.model_copy(update={"webhook_eta_change_minutes": 60.0}))

    # when live ETAs about 10 minutes off the plan are computed
    await fix_at(patient, fleet, NEAR_THE_STOPS)

    # then nothing is written to the outbox
    assert await messages(patient, "eta.changed") == []
