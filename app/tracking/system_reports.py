"""Exceptions the live tracking opens on its own (running late, wrong location), on behalf of the route's driver."""
from app.auth.principal import Principal
from app.delivery_exceptions import service as exceptions
from app.delivery_exceptions.models import DeliveryException, ExceptionKind
from app.delivery_exceptions.notices import event_notices
from app.events import ExceptionReported
from app.idempotency import fingerprint
from app.routes.models import Route, Stop
from app.runtime import UnitOfWork
from app.tenants.models import Role


async def open_system_exception(
    uow: UnitOfWork, *, stop: Stop, route: Route, kind: ExceptionKind, reason_code: str, description: str, key: str,
    position: tuple[float, float] | None = None,
) -> DeliveryException | None:
    """Open the exception once per key; None when the stop already has an open one (it is not stacked) or no driver."""
    if route.driver_id is None:
        return None
    existing = await exceptions.find_by_idempotency_key(session=uow.session, reporter_id=route.driver_id, key=key)
    if existing is not None or await exceptions.open_exception_on_stop(session=uow.session, stop_id=stop.id) is not None:
        return None
    principal = Principal(user_id=route.driver_id, tenant_id=route.tenant_id, role=Role.DRIVER, scopes=frozenset())
    exc, event = await exceptions.create(
        session=uow.session, principal=principal, stop=stop, route=route, kind=kind, reason_code=reason_code,
        description=description, position=position, failed_attempt_number=None, idempotency_key=key,
        fingerprint=fingerprint({"stop": stop.id, "kind": kind.value, "reason": reason_code, "source": "tracking"}),
    )
    await uow.session.flush()
    await uow.emit(ExceptionReported(tenant_id=exc.tenant_id, exception_id=exc.id, stop_id=stop.id, kind=exc.kind.value, event_id=event.id))
    uow.notify(*event_notices(event))
    return exc
