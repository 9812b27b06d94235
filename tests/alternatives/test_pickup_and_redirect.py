"""Pickup points refuse when full or closed; an approved redirect changes the route, tells the driver and the WMS once."""
import asyncio

import pytest

from app.alternatives.flows import AlternativeKind, ProposerKind, approve_alternative, propose_alternative
from app.alternatives.models import Alternative, AlternativeStatus, OneTimeCode, PickupPoint
from app.delivery_exceptions.models import DeliveryException, ExceptionKind, ExceptionStatus
from app.errors import DomainError, ErrorCode
from app.integrations.models import IntegrationEvent
from app.outreach.models import Notification
from app.routes.models import Parcel, ParcelStatus, Route, Stop, StopStatus
from tests.alternatives.helpers import absent_customer, pickup_point, principal, rows
from tests.realtime.asgi_socket import AsgiSocket

ROUTE_UPDATES = """
subscription Route($routeId: ID!, $after: String) {
  routeUpdates(routeId: $routeId, after: $after) { kind routeVersion stops { id status version } exceptionEvent { id type } }
}
"""


async def propose_pickup(runtime, scene, point_id: int, proposer=ProposerKind.CUSTOMER):  # noqa: ANN001, ANN201
    return await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.PICKUP_POINT,
        proposed_by=proposer, actor=None, details={"pickupPointId": point_id},
    )


async def test_customer_picks_a_pickup_point_and_gets_a_pickup_code(runtime, factory):
    # given an open locker with room
    scene = await absent_customer(factory)
    locker = await pickup_point(runtime, scene.tenant_id, capacity=5, reserved=1)

    # when the customer picks it
    alt = await propose_pickup(runtime, scene, locker.id)

    # then the parcels are held for the locker, its room is taken and the customer is texted a code
    assert alt.status is AlternativeStatus.EXECUTED
    [point] = await rows(runtime, PickupPoint, PickupPoint.id == locker.id)
    assert point.reserved == 3
    [stop] = await rows(runtime, Stop, Stop.id == scene.stop.id)
    assert stop.status is StopStatus.SKIPPED
    [sms] = await rows(runtime, Notification, Notification.purpose == "pickup_code")
    [code] = await rows(runtime, OneTimeCode, OneTimeCode.subject_id == alt.id)
    assert "Locker Centraal" in sms.body and code.code_hash not in sms.body
    [wms] = await rows(runtime, IntegrationEvent, IntegrationEvent.tenant_id == scene.tenant_id)
    assert wms.kind == "wms.parcel_redirected" and wms.payload["pickupPointId"] == locker.id


@pytest.mark.parametrize(
    ("capacity", "reserved", "hours", "active", "code"),
    [
        (2, 1, None, True, ErrorCode.PICKUP_POINT_FULL),  # two parcels, one slot left
        (10, 0, {}, True, ErrorCode.PICKUP_POINT_CLOSED),  # no opening hours at all
        (10, 0, None, False, ErrorCode.PICKUP_POINT_CLOSED),  # taken out of service
    ],
    ids=["full", "never-open", "inactive"],
)
async def test_full_or_closed_pickup_point_is_refused(runtime, factory, capacity, reserved, hours, active, code):
    # given a pickup point that cannot take the stop's two parcels
    scene = await absent_customer(factory)
    point = await pickup_point(runtime, scene.tenant_id, capacity=capacity, reserved=reserved, hours=hours, active=active)

    # when the customer picks it
    with pytest.raises(DomainError) as refused:
        await propose_pickup(runtime, scene, point.id)

    # then it is refused with the reason, and nothing changed
    assert refused.value.code is code
    assert await rows(runtime, Alternative, Alternative.exception_id == scene.exception.id) == []
    [row] = await rows(runtime, PickupPoint, PickupPoint.id == point.id)
    assert row.reserved == reserved


async def test_approved_address_correction_redirects_the_stop_and_the_driver_hears_it(runtime, factory, asgi_app):
    # given a wrong address on the second of four stops, corrected by the driver
    scene = await absent_customer(factory, kind=ExceptionKind.ADDRESS_PROBLEM)
    route_before = (await rows(runtime, Route, Route.id == scene.fleet.route.id))[0]
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.ADDRESS_CORRECTION,
        proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver),
        details={"address": "Teststraat 40, Amsterdam", "lat": 52.3735, "lon": 4.8935},  # just past the last stop
    )
    assert alt.status is AlternativeStatus.PROPOSED
    # and the driver's app subscribed to its route
    socket = AsgiSocket(asgi_app)
    try:
        await socket.init({"token": factory.token(scene.fleet.driver)})
        await socket.subscribe("r", ROUTE_UPDATES, {"routeId": str(scene.fleet.route.id)})
        await asyncio.sleep(0.05)  # let the subscription start listening before the change

        # when the dispatcher approves the correction
        await approve_alternative(runtime, principal(scene.fleet.dispatcher), alternative_id=alt.id, expected_version=alt.version)
        heard = []

        def seen() -> tuple[bool, bool]:
            kinds = [u["kind"] for u in heard]
            approved = [u["exceptionEvent"]["type"] for u in heard if u["exceptionEvent"]]
            return "ROUTE_REPLANNED" in kinds, "ALTERNATIVE_APPROVED" in approved

        # the route log and the exception log interleave as they arrive: wait for both
        while not all(seen()):
            heard.append((await socket.next_payload("r"))["payload"]["data"]["routeUpdates"])
    finally:
        await socket.close()

    # then the stop moved to its new place, is due again and now comes last; the route has a new version
    [stop] = await rows(runtime, Stop, Stop.id == scene.stop.id)
    assert (stop.address, stop.lat, stop.lon, stop.status) == ("Teststraat 40, Amsterdam", 52.3735, 4.8935, StopStatus.PENDING)
    by_sequence = sorted(await rows(runtime, Stop, Stop.route_id == scene.fleet.route.id), key=lambda s: s.sequence)
    assert [s.id for s in by_sequence] == [scene.fleet.stops[i].id for i in (0, 2, 3, 1)]
    [route] = await rows(runtime, Route, Route.id == scene.fleet.route.id)
    assert route.version > route_before.version
    # and the driver's subscription delivered the approval on the timeline and the replanned route
    [replanned] = [u for u in heard if u["kind"] == "ROUTE_REPLANNED"]
    assert replanned["routeVersion"] == route.version
    # (the solver's order, written after the approval committed, touches every remaining stop)
    assert {"id": str(stop.id), "status": "PENDING", "version": stop.version} in replanned["stops"]
    [exc] = await rows(runtime, DeliveryException, DeliveryException.id == scene.exception.id)
    assert exc.status is ExceptionStatus.ACTION_APPROVED  # closed by the delivery at the new address


async def test_wms_event_is_written_exactly_once(runtime, factory):
    # given a return to depot a supervisor approves
    scene = await absent_customer(factory)
    alt = await propose_alternative(
        runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.RETURN_TO_DEPOT,
        proposed_by=ProposerKind.DRIVER, actor=principal(scene.fleet.driver), details={"reason": "customer moved away"},
    )
    supervisor = principal(scene.fleet.supervisor)

    # when two approvals race (a double click)
    results = await asyncio.gather(
        approve_alternative(runtime, supervisor, alternative_id=alt.id, expected_version=alt.version),
        approve_alternative(runtime, supervisor, alternative_id=alt.id, expected_version=alt.version),
        return_exceptions=True,
    )

    # then one wins, the other is told it was already decided, and the WMS hears of the return once
    errors = [r for r in results if isinstance(r, DomainError)]
    assert len(errors) == 1 and errors[0].code is ErrorCode.ALTERNATIVE_ALREADY_DECIDED
    events = await rows(runtime, IntegrationEvent, IntegrationEvent.tenant_id == scene.tenant_id)
    assert [(e.kind, e.idempotency_key) for e in events] == [("wms.parcel_returned", f"alternative:{alt.id}:executed")]
    parcels = await rows(runtime, Parcel, Parcel.stop_id == scene.stop.id)
    assert {p.status for p in parcels} == {ParcelStatus.RETURNED}

