"""Imports every table so SQLModel.metadata is complete (alembic, tests, create_all)."""
from sqlmodel import SQLModel

from app.access.models import AccessAuditEntry, AccessGrant, AccessProfile
from app.alternatives.models import Alternative, Neighbor, OneTimeCode, PickupPoint, SafePlace, TenantPolicy
from app.analytics.models import ExceptionArea, StopFact
from app.customers.models import Customer
from app.delivery_exceptions.models import DeliveryException, ExceptionEvent
from app.integrations.models import ApiKey, GpsDevice, IntegrationEvent
from app.integrations.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from app.outreach.models import (
    ConsentRecord, CustomerCall, CustomerResponse, InboundMessage, LinkTokenUse, Notification, OutreachSequence, OutreachSequenceRun, PushDevice,
)
from app.realtime.models import RouteEvent
from app.routes.models import DeliveryAttempt, Parcel, Route, Stop, Vehicle
from app.replanning.models import RoutePlan
from app.tenants.models import Depot, Tenant, User, UserDepot
from app.tracking.models import DriverLastPosition, DriverPosition, LateRouteProposal, RouteLiveState, StopLiveState

metadata = SQLModel.metadata

__all__ = [
    "AccessAuditEntry", "AccessGrant", "AccessProfile",
    "Alternative", "ApiKey", "GpsDevice", "IntegrationEvent", "Neighbor", "OneTimeCode", "PickupPoint", "SafePlace", "TenantPolicy",
    "Customer", "DeliveryAttempt", "LateRouteProposal", "RouteLiveState", "StopLiveState", "DeliveryException", "ExceptionArea", "Depot", "DriverLastPosition", "DriverPosition",
    "ExceptionEvent", "ConsentRecord", "CustomerCall", "CustomerResponse", "InboundMessage", "LinkTokenUse", "Notification", "OutreachSequence",
    "OutreachSequenceRun", "PushDevice", "Parcel", "Route", "RouteEvent", "RoutePlan", "Stop", "StopFact", "Tenant", "User", "UserDepot", "Vehicle",
    "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookMessage", "metadata",
]
