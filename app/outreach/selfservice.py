"""The self-service link: what the customer may choose for their stop, and applying the choice once."""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alternatives import pickup_points
from app.alternatives.models import PickupPoint
from app.customers.models import Customer, normalize_phone
from app.clock import current_time
from app.errors import DomainError, ErrorCode, invalid
from app.outreach import links, service
from app.outreach.answers import Answer, record_answer
from app.outreach.models import (
    CustomerResponse,
    LinkTokenUse,
    PushDevice,
    ResponseOption,
    ResponseSource,
)
from app.routes.models import Stop, StopStatus
from app.runtime import Runtime, unit_of_work
from app.tenants.models import Tenant

WINDOWS_OFFERED = 3
CHOOSABLE_STATUSES = frozenset({StopStatus.PENDING, StopStatus.FAILED})


@dataclass
class LinkView:
    """Everything the page (or the customer app) shows for one link."""

    claims: links.LinkClaims
    stop: Stop
    customer: Customer
    company: str
    windows: list[tuple[datetime, datetime]]
    pickup_points: list[PickupPoint] = field(default_factory=list)
    used: bool = False


@dataclass(frozen=True)
class Choice:
    option: ResponseOption
    window_start: datetime | None = None
    neighbor_name: str = ""
    neighbor_address: str = ""
    neighbor_phone: str = ""
    instructions: str = ""
    pickup_point_id: int | None = None


async def _load(session: AsyncSession, claims: links.LinkClaims) -> LinkView:
    stop = await session.get(Stop, claims.stop_id)
    if stop is None or stop.tenant_id != claims.tenant_id:
        raise DomainError(ErrorCode.LINK_INVALID, "this link is not valid", field="token")
    customer = await session.get(Customer, stop.customer_id)
    tenant = await session.get(Tenant, stop.tenant_id)
    points = await pickup_points.list_all(session=session, tenant_id=stop.tenant_id, depot_id=None, active_only=True)
    return LinkView(
        claims=claims, stop=stop, customer=customer, company=tenant.name,
        windows=service.next_windows(window_start=stop.window_start, window_end=stop.window_end, now=current_time(), count=WINDOWS_OFFERED),
        pickup_points=points, used=await session.get(LinkTokenUse, claims.jti) is not None,
    )


async def view_link(runtime: Runtime, token: str) -> LinkView:
    """The link's stop and options; LINK_EXPIRED / LINK_INVALID when the token cannot be trusted."""
    claims = links.read_link_token(runtime.settings, token)
    async with runtime.sessionmaker() as session:
        return await _load(session, claims)


def _details(view: LinkView, choice: Choice) -> dict[str, Any]:
    """The option's details, checked against what the link offered."""
    if choice.option is ResponseOption.RESCHEDULE:
        for start, end in view.windows:
            if choice.window_start is not None and start == choice.window_start:
                return {"windowStart": start.isoformat(), "windowEnd": end.isoformat()}
        raise invalid("choose one of the offered windows", "windowStart")
    if choice.option is ResponseOption.NEIGHBOR_HANDOVER:
        name, address = choice.neighbor_name.strip(), choice.neighbor_address.strip()
        if not 1 <= len(name) <= 200 or not 1 <= len(address) <= 500:
            raise invalid("give the neighbour's name and address", "neighbor")
        region = phonenumbers.region_code_for_number(phonenumbers.parse(view.customer.phone)) if view.customer.phone else None
        try:
            phone = normalize_phone(choice.neighbor_phone.strip(), region)
        except ValueError:
            raise invalid("the neighbour's phone number is not valid", "neighborPhone") from None
        return {"name": name, "address": address, "phone": phone}
    if choice.option in (ResponseOption.SECURE_DROPOFF, ResponseOption.ACCESS_INSTRUCTIONS):
        text = choice.instructions.strip()
        if not 1 <= len(text) <= 500:
            raise invalid("write 1 to 500 characters of instructions", "instructions")
        return {"instructions": text}
    if choice.option is ResponseOption.PICKUP_POINT:
        if choice.pickup_point_id not in {p.id for p in view.pickup_points}:
            raise invalid("choose one of the offered pickup points", "pickupPointId")
        return {"pickupPointId": choice.pickup_point_id}
    raise invalid("this option cannot be chosen on the link", "option")


async def choose(runtime: Runtime, token: str, choice: Choice, *, source: ResponseSource) -> CustomerResponse:
    """Apply the customer's choice once: the token is spent in the same transaction; a reuse changes nothing."""
    claims = links.read_link_token(runtime.settings, token)
    async with unit_of_work(runtime) as uow:
        view = await _load(uow.session, claims)
        if view.used:
            raise DomainError(ErrorCode.LINK_USED, "this link has already been used; the choice you made stands", field="token")
        if view.stop.status not in CHOOSABLE_STATUSES:
            raise DomainError(ErrorCode.STOP_ALREADY_COMPLETED, f"the delivery is already {view.stop.status.value.lower()}", field="token")
        details = _details(view, choice)
        await links.consume(session=uow.session, claims=claims)
        return await record_answer(uow, stop=view.stop, answer=Answer(choice.option, details, source))


async def register_push_device(runtime: Runtime, token: str, device_token: str) -> PushDevice:
    """The customer app registers for push with its link token (which stays usable for a choice)."""
    device_token = device_token.strip()
    if not 1 <= len(device_token) <= 255:
        raise invalid("a device token is 1 to 255 characters", "deviceToken")
    claims = links.read_link_token(runtime.settings, token)
    async with unit_of_work(runtime) as uow:
        view = await _load(uow.session, claims)
        query = select(PushDevice).where(PushDevice.tenant_id == claims.tenant_id, PushDevice.token == device_token)
        device = (await uow.session.exec(query)).first()
        device = device or PushDevice(tenant_id=claims.tenant_id, customer_id=view.customer.id, token=device_token)
        device.customer_id, device.active = view.customer.id, True
        uow.session.add(device)
        if "PUSH" not in view.customer.preferred_channels:  # installing the app and allowing push says they prefer it
            view.customer.preferred_channels = ["PUSH", *view.customer.preferred_channels]
            uow.session.add(view.customer)
        await uow.session.flush()
        return device
