"""Builders for alternative tests: a reported exception, principals, neighbours, pickup points."""
from dataclasses import dataclass

from sqlmodel import select

from app.alternatives.models import Neighbor, NeighborStatus, PickupPoint, PickupPointKind
from app.auth.principal import Principal
from app.delivery_exceptions.flows import ExceptionReport, report_exception
from app.delivery_exceptions.models import DeliveryException, ExceptionKind
from app.runtime import Runtime
from app.tenants.models import User
from tests.factories import Factory, Fleet

ALWAYS_OPEN = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def principal(user: User) -> Principal:
    return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=frozenset())


@dataclass
class Scene:
    fleet: Fleet
    exception: DeliveryException

    @property
    def stop(self):  # noqa: ANN201
        return self.fleet.stops[1]

    @property
    def tenant_id(self) -> int:
        return self.fleet.tenant.id


async def absent_customer(factory: Factory, *, stops: int = 4, kind: ExceptionKind = ExceptionKind.CUSTOMER_ABSENT) -> Scene:
    """A fleet whose driver found nobody home at the second stop."""
    fleet = await factory.fleet(stops=stops)
    reason = "NO_ANSWER" if kind is ExceptionKind.CUSTOMER_ABSENT else "WRONG_ADDRESS"
    exc, _ = await report_exception(
        factory.runtime, principal(fleet.driver),
        ExceptionReport(stop_id=fleet.stops[1].id, kind=kind, reason_code=reason, description="", idempotency_key=f"k-{fleet.stops[1].id}"),
    )
    return Scene(fleet, exc)


async def neighbor(runtime: Runtime, scene: Scene, *, verified: bool = True, name: str = "Ann Next") -> Neighbor:
    async with runtime.sessionmaker() as session, session.begin():
        row = Neighbor(
            tenant_id=scene.tenant_id, customer_id=scene.stop.customer_id, name=name, address="Teststraat 4",
            phone="+31612340099", status=NeighborStatus.VERIFIED if verified else NeighborStatus.PENDING_VERIFICATION,
        )
        session.add(row)
    return row


async def pickup_point(runtime: Runtime, tenant_id: int, *, capacity: int = 10, reserved: int = 0, hours: dict | None = None, active: bool = True) -> PickupPoint:
    async with runtime.sessionmaker() as session, session.begin():
        row = PickupPoint(
            tenant_id=tenant_id, kind=PickupPointKind.LOCKER, name="Locker Centraal", address="Stationsplein 1",
            lat=52.378, lon=4.900, capacity=capacity, reserved=reserved,
            opening_hours=ALWAYS_OPEN if hours is None else hours, active=active,
        )
        session.add(row)
    return row


async def rows(runtime: Runtime, model, *where):  # noqa: ANN001, ANN201
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(model).where(*where).order_by(model.id))).all())
