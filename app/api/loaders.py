"""Per-request DataLoaders: one SQL statement per relation per request, whatever the list length."""
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from app.alternatives.models import Neighbor, PickupPoint
from app.customers.models import Customer
from app.delivery_exceptions.models import TERMINAL_STATUSES, DeliveryException, ExceptionEvent
from app.outreach.models import CustomerResponse, Notification
from app.routes.models import DeliveryAttempt, Parcel, Route, Stop, Vehicle
from app.tenants.models import Depot, Tenant, User


def _by_id(session: AsyncSession, model: type[SQLModel], tenant_id: int) -> DataLoader[int, Any]:
    async def load(ids: Sequence[int]) -> list[Any]:
        tenant_column = model.id if model is Tenant else model.tenant_id
        rows = await session.exec(select(model).where(col(model.id).in_(list(ids)), tenant_column == tenant_id))
        found = {row.id: row for row in rows.all()}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped(
    session: AsyncSession, model: type[SQLModel], key: str, tenant_id: int, order_by: Any, where: Callable[[Any], Any] | None = None
) -> DataLoader[int, list[Any]]:
    async def load(keys: Sequence[int]) -> list[list[Any]]:
        key_column = getattr(model, key)
        query = select(model).where(col(key_column).in_(list(keys)), model.tenant_id == tenant_id)
        if where is not None:
            query = where(query)
        groups: dict[int, list[Any]] = defaultdict(list)
        for row in (await session.exec(query.order_by(order_by))).all():
            groups[getattr(row, key)].append(row)
        return [groups.get(k, []) for k in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """Every relation the schema follows, scoped to the caller's tenant."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.tenant = _by_id(session, Tenant, tenant_id)
        self.depot = _by_id(session, Depot, tenant_id)
        self.user = _by_id(session, User, tenant_id)
        self.vehicle = _by_id(session, Vehicle, tenant_id)
        self.route = _by_id(session, Route, tenant_id)
        self.stop = _by_id(session, Stop, tenant_id)
        self.customer = _by_id(session, Customer, tenant_id)
        self.exception = _by_id(session, DeliveryException, tenant_id)
        self.stops_by_route = _grouped(session, Stop, "route_id", tenant_id, col(Stop.sequence))
        self.parcels_by_stop = _grouped(session, Parcel, "stop_id", tenant_id, col(Parcel.id))
        self.attempts_by_stop = _grouped(session, DeliveryAttempt, "stop_id", tenant_id, col(DeliveryAttempt.attempt_number))
        self.open_exceptions_by_stop = _grouped(
            session, DeliveryException, "stop_id", tenant_id, col(DeliveryException.id),
            where=lambda q: q.where(col(DeliveryException.status).not_in(list(TERMINAL_STATUSES))),
        )
        self.events_by_exception = _grouped(session, ExceptionEvent, "exception_id", tenant_id, col(ExceptionEvent.id))
        self.neighbor = _by_id(session, Neighbor, tenant_id)
        self.pickup_point = _by_id(session, PickupPoint, tenant_id)
        self.notifications_by_exception = _grouped(session, Notification, "exception_id", tenant_id, col(Notification.id))
        self.customer_responses_by_exception = _grouped(
            session, CustomerResponse, "exception_id", tenant_id, col(CustomerResponse.id)
        )
