"""Imports every table so SQLModel.metadata is complete (alembic, tests, create_all)."""
from sqlmodel import SQLModel

from app.customers.models import Customer
from app.delivery_exceptions.models import DeliveryException, ExceptionEvent
from app.routes.models import DeliveryAttempt, Parcel, Route, Stop, Vehicle
from app.tenants.models import Depot, Tenant, User, UserDepot
from app.tracking.models import DriverLastPosition, DriverPosition

metadata = SQLModel.metadata

__all__ = [
    "Customer", "DeliveryAttempt", "DeliveryException", "Depot", "DriverLastPosition", "DriverPosition",
    "ExceptionEvent", "Parcel", "Route", "Stop", "Tenant", "User", "UserDepot", "Vehicle", "metadata",
]
