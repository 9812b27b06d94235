"""The webhook event catalogue: which domain event becomes which webhook, in Karrio's tracking vocabulary.

Status words (`trackingStatus`) and reason words (`incidentReason`) are Karrio's TrackerStatus and
TrackingIncidentReason values, so a warehouse system already mapping carriers needs no extra table.
"""
from typing import Any

from sqlmodel import select

from app import events
from app.delivery_exceptions.models import DeliveryException
from app.routes.models import Parcel
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


def wms_message(kind: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The webhook type and data of an integration_event row (parcel held / redirected / returned)."""
    if kind not in WMS_KIND:
        return None
    event_type, status = WMS_KIND[kind]
    return event_type, {**{k: (str(v) if k.endswith("Id") and v is not None else v) for k, v in payload.items()}, "trackingStatus": status}
