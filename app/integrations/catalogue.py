"""The webhook event catalogue: which domain event becomes which webhook, in Karrio's tracking vocabulary.

Status words (`trackingStatus`) and reason words (`incidentReason`) are Karrio's TrackerStatus and
TrackingIncidentReason values, so a warehouse system already mapping carriers needs no extra table.
"""
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from app import events
from app.delivery_exceptions.models import DeliveryException
from app.integrations.webhook_models import WebhookMessage
from app.routes.models import Parcel, Route, Stop, StopStatus
from app.realtime.bus import Notice
from app.runtime import UnitOfWork

WEBHOOK_CHANNEL = "detour.webhooks"

EVENT_TYPES = {
    "exception.reported": "a driver could not hand the parcels over (or the system opened an exception)",
    "exception.status_changed": "the exception moved along its lifecycle",
    "exception.resolved": "the exception was closed with an outcome",
    "stop.redirected": "the stop's parcels go to another address or a pickup point",
    "stop.rescheduled": "the stop moves to another day or window",
    "parcel.held": "parcels held at the depot for a later attempt",
    "parcel.redirected": "parcels redirected (pickup point, corrected address)",
    "parcel.returned": "parcels returned to the depot / sender",
    "route.replanned": "the route was solved again: a new version with a new stop order and planned ETAs",
    "eta.changed": "a stop's live ETA moved by at least DETOUR_WEBHOOK_ETA_CHANGE_MINUTES since the last one announced",
}

INCIDENT_REASON = {
    "CUSTOMER_ABSENT": "consignee_not_home", "ACCESS_DENIED": "consignee_access_restricted",
    "ADDRESS_PROBLEM": "consignee_incorrect_address", "PACKAGE_DAMAGED": "carrier_damaged_parcel",
    "DELAYED": "carrier_not_enough_time", "ROUTING_ERROR": "carrier_sorting_error", "REFUSED": "consignee_refused", "OTHER": "unknown",
}
DELAY_REASON = {"WEATHER": "weather_delay", "VEHICLE": "carrier_vehicle_issue", "VEHICLE_BREAKDOWN": "carrier_vehicle_issue"}
OUTCOME_STATUS = {
    "DELIVERED_TO_CUSTOMER": "delivered", "DELIVERED_TO_NEIGHBOR": "delivered", "SECURE_DROPOFF": "delivered",
    "PICKUP_POINT": "ready_for_pickup", "RESCHEDULED": "delivery_delayed", "ADDRESS_CORRECTED": "out_for_delivery",
    "RETURNED_TO_DEPOT": "return_to_sender", "CANCELLED": "cancelled",
}
LIFECYCLE_STATUS = {"OPEN": "delivery_failed", "CONTACTING_CUSTOMER": "on_hold", "AWAITING_DECISION": "on_hold",
                    "ACTION_APPROVED": "on_hold", "RESOLVED": "delivered", "FAILED": "return_to_sender"}
WMS_KIND = {"wms.parcel_held": ("parcel.held", "on_hold"), "wms.parcel_redirected": ("parcel.redirected", "in_transit"),
            "wms.parcel_returned": ("parcel.returned", "return_to_sender")}
STOP_CHANGE = {"ADDRESS_CORRECTION": "stop.redirected", "PICKUP_POINT": "stop.redirected", "RESCHEDULE": "stop.rescheduled"}


def incident_reason(kind: str, reason_code: str) -> str:
    return DELAY_REASON.get(reason_code.upper(), INCIDENT_REASON["DELAYED"]) if kind == "DELAYED" else INCIDENT_REASON.get(kind, "unknown")


async def _exception_data(uow: UnitOfWork, exception_id: int) -> tuple[DeliveryException, dict[str, Any]]:
    exc = await uow.session.get(DeliveryException, exception_id)
    barcodes = (await uow.session.exec(select(Parcel.barcode).where(Parcel.stop_id == exc.stop_id).order_by(Parcel.barcode))).all()
    return exc, {
        "exceptionId": str(exc.id), "routeId": str(exc.route_id), "kind": exc.kind.value, "reasonCode": exc.reason_code,
        "incidentReason": incident_reason(exc.kind.value, exc.reason_code), "status": exc.status.value,
        "trackingStatus": LIFECYCLE_STATUS.get(exc.status.value, "unknown"), "parcels": list(barcodes), "version": exc.version,
    }


async def _enqueue(uow: UnitOfWork, **kwargs: Any) -> None:
    from app.integrations import webhooks  # the catalogue is imported by webhooks; this keeps the two modules acyclic

    message = await webhooks.enqueue(session=uow.session, occurred_at=uow.clock.now(), **kwargs)
    if message is not None:
        uow.notify(Notice(WEBHOOK_CHANNEL, {"messageId": message.id}))


async def on_exception_reported(uow: UnitOfWork, event: events.ExceptionReported) -> None:
    exc, data = await _exception_data(uow, event.exception_id)
    if exc.kind.value == "DELAYED":
        data["trackingStatus"] = "delivery_delayed"
    await _enqueue(uow, tenant_id=event.tenant_id, event_type="exception.reported", data=data,
                   source_key=f"exception:{exc.id}:reported", stop_id=exc.stop_id)


async def on_exception_status_changed(uow: UnitOfWork, event: events.ExceptionStatusChanged) -> None:
    exc, data = await _exception_data(uow, event.exception_id)
    data.update(previousStatus=event.previous, status=event.status, trackingStatus=LIFECYCLE_STATUS.get(event.status, "unknown"))
    await _enqueue(uow, tenant_id=event.tenant_id, event_type="exception.status_changed", data=data,
                   source_key=f"exception:{exc.id}:status:v{exc.version}:{event.status}", stop_id=exc.stop_id)


async def on_exception_closed(uow: UnitOfWork, event: events.ExceptionClosed) -> None:
    exc, data = await _exception_data(uow, event.exception_id)
    data.update(outcome=event.outcome, trackingStatus=OUTCOME_STATUS.get(event.outcome, "unknown"))
    await _enqueue(uow, tenant_id=event.tenant_id, event_type="exception.resolved", data=data,
                   source_key=f"exception:{exc.id}:closed:v{exc.version}", stop_id=exc.stop_id)


async def on_alternative_executed(uow: UnitOfWork, event: events.AlternativeExecuted) -> None:
    event_type = STOP_CHANGE.get(event.kind)
    if event_type is None:
        return
    status = "ready_for_pickup" if event.kind == "PICKUP_POINT" else "delivery_delayed" if event.kind == "RESCHEDULE" else "in_transit"
    await _enqueue(uow, tenant_id=event.tenant_id, event_type=event_type, source_key=f"alternative:{event.alternative_id}:stop",
                   stop_id=event.stop_id, data={"alternativeId": str(event.alternative_id), "exceptionId": str(event.exception_id),
                                                "routeId": str(event.route_id), "alternativeKind": event.kind, "trackingStatus": status})


async def on_route_changed(uow: UnitOfWork, event: events.RouteChanged) -> None:
    """route.replanned: the new version's order and planned ETAs, one message per version (sequence per route)."""
    if event.change != "ROUTE_REPLANNED":
        return
    route = await uow.session.get(Route, event.route_id)
    stops = (await uow.session.exec(
        select(Stop).where(Stop.route_id == route.id, Stop.status == StopStatus.PENDING).order_by(col(Stop.sequence))
    )).all()
    version = event.version or route.version
    await _enqueue(uow, tenant_id=event.tenant_id, event_type="route.replanned", source_key=f"route:{route.id}:replanned:v{version}",
                   route_id=route.id, data={
                       "routeExternalRef": route.external_ref, "version": version, "reason": event.reason,
                       "planId": str(event.plan_id) if event.plan_id is not None else None,
                       "changedStopIds": [str(stop_id) for stop_id in event.stop_ids],
                       "stops": [{"stopId": str(s.id), "externalRef": s.external_ref, "position": s.sequence,
                                  "plannedEta": _iso(s.planned_eta)} for s in stops],
                   })


async def _announced_etas(uow: UnitOfWork, tenant_id: int, stop_ids: list[int]) -> dict[int, str]:
    """The ETA each stop's latest eta.changed message announced (one query)."""
    latest = (
        select(func.max(WebhookMessage.id))
        .where(WebhookMessage.tenant_id == tenant_id, WebhookMessage.event_type == "eta.changed", col(WebhookMessage.stop_id).in_(stop_ids))
        .group_by(WebhookMessage.stop_id)
    )
    rows = (await uow.session.exec(select(WebhookMessage).where(col(WebhookMessage.id).in_(latest)))).all()
    return {row.stop_id: row.payload["data"]["eta"] for row in rows}


async def on_live_etas_updated(uow: UnitOfWork, event: events.LiveEtasUpdated) -> None:
    """eta.changed for each stop whose live ETA is at least the threshold away from the ETA receivers last heard.

    What they last heard is the previous eta.changed of the stop, or else its planned ETA: a wobbling ETA
    (a few minutes either way) sends nothing, a slow drift sends once it adds up.
    """
    if not event.stop_ids:
        return
    threshold = timedelta(minutes=uow.settings.webhook_eta_change_minutes)
    announced = await _announced_etas(uow, event.tenant_id, list(event.stop_ids))
    stops = (await uow.session.exec(select(Stop).where(col(Stop.id).in_(event.stop_ids)).order_by(col(Stop.sequence)))).all()
    now = uow.clock.now()
    for stop in stops:
        if stop.live_eta is None or stop.tenant_id != event.tenant_id:
            continue
        known = datetime.fromisoformat(announced[stop.id]) if stop.id in announced else stop.planned_eta
        if known is not None and abs(stop.live_eta - known) < threshold:
            continue
        late = stop.live_eta > stop.window_end
        await _enqueue(uow, tenant_id=event.tenant_id, event_type="eta.changed", source_key=f"stop:{stop.id}:eta:{now.isoformat()}",
                       stop_id=stop.id, route_id=event.route_id, data={
                           "routeId": str(event.route_id), "externalRef": stop.external_ref, "eta": _iso(stop.live_eta),
                           "previousEta": _iso(known), "plannedEta": _iso(stop.planned_eta),
                           "changeMinutes": round((stop.live_eta - known).total_seconds() / 60) if known else None,
                           "windowStart": _iso(stop.window_start), "windowEnd": _iso(stop.window_end), "source": "GPS",
                           "trackingStatus": "delivery_delayed" if late else "out_for_delivery",
                       })


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def wms_message(kind: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The webhook type and data of an integration_event row (parcel held / redirected / returned)."""
    if kind not in WMS_KIND:
        return None
    event_type, status = WMS_KIND[kind]
    return event_type, {**{k: (str(v) if k.endswith("Id") and v is not None else v) for k, v in payload.items()}, "trackingStatus": status}
