"""Creating and updating customers from CRM data, with every field checked before anything is written."""
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import is_time_zone
from app.customers.models import Channel, Customer, normalize_phone
from app.errors import invalid

LANGUAGES = frozenset({"en", "nl", "de", "fr", "es", "it", "pl", "pt"})


@dataclass(frozen=True)
class CustomerData:
    external_ref: str
    name: str
    phone: str | None = None
    email: str | None = None
    language: str = "en"
    timezone: str = "UTC"
    preferred_channels: tuple[str, ...] = ("SMS",)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    delivery_instructions: str = ""


def validate(data: CustomerData) -> CustomerData:
    """The data normalised (phone in E.164), or INVALID_INPUT naming the field."""
    if not data.external_ref.strip() or len(data.external_ref) > 100:
        raise invalid("externalRef is 1 to 100 characters", "externalRef")
    if not data.name.strip() or len(data.name) > 200:
        raise invalid("name is 1 to 200 characters", "name")
    phone = None
    if data.phone:
        try:
            phone = normalize_phone(data.phone)
        except ValueError as error:
            raise invalid(f"phone: {error}; use the international format, e.g. +31612345678", "phone") from None
    if data.email and ("@" not in data.email or len(data.email) > 320):
        raise invalid("email is not an address", "email")
    if data.language not in LANGUAGES:
        raise invalid(f"language must be one of {', '.join(sorted(LANGUAGES))}", "language")
    if not is_time_zone(data.timezone):
        raise invalid("timezone must be an IANA name such as Europe/Amsterdam", "timezone")
    channels = tuple(dict.fromkeys(data.preferred_channels))
    if not channels or any(c not in Channel.__members__ for c in channels):
        raise invalid(f"preferredChannels takes {', '.join(Channel.__members__)}", "preferredChannels")
    if (data.quiet_hours_start is None) != (data.quiet_hours_end is None):
        raise invalid("give both ends of the quiet hours, or neither", "quietHoursStart")
    if len(data.delivery_instructions) > 2000:
        raise invalid("deliveryInstructions is at most 2000 characters", "deliveryInstructions")
    return CustomerData(**{**data.__dict__, "phone": phone, "preferred_channels": channels, "name": data.name.strip()})


async def upsert(*, session: AsyncSession, tenant_id: int, data: CustomerData) -> tuple[Customer, bool]:
    """Create the customer or update the one with the same external reference; returns (customer, created)."""
    clean = validate(data)
    existing = (
        await session.exec(select(Customer).where(Customer.tenant_id == tenant_id, Customer.external_ref == clean.external_ref))
    ).first()
    customer = existing or Customer(tenant_id=tenant_id, external_ref=clean.external_ref, name=clean.name)
    for field, value in clean.__dict__.items():
        setattr(customer, field, list(value) if field == "preferred_channels" else value)
    session.add(customer)
    await session.flush()
    return customer, existing is None


_KEEP = object()


def update_preferences(
    customer: Customer, *, refreshed_at: datetime, language: str | None = None, timezone: str | None = None,
    preferred_channels: tuple[str, ...] | None = None, quiet_hours: tuple[time, time] | None | object = _KEEP,
) -> list[str]:
    """Apply the preferences a CRM gave, all checked first; returns the fields that changed.

    None keeps our language, time zone and channels; quiet_hours left out keeps ours, None clears them.
    INVALID_INPUT naming the field, and nothing changed, when one of them is not acceptable.
    """
    start, end = (customer.quiet_hours_start, customer.quiet_hours_end) if quiet_hours is _KEEP else (quiet_hours or (None, None))
    current = CustomerData(
        external_ref=customer.external_ref or "-", name=customer.name, language=language or customer.language,
        timezone=timezone or customer.timezone,
        preferred_channels=preferred_channels if preferred_channels is not None else tuple(customer.preferred_channels),
        quiet_hours_start=start, quiet_hours_end=end,
    )
    clean = validate(current)
    changes = {
        "language": clean.language, "timezone": clean.timezone, "preferred_channels": list(clean.preferred_channels),
        "quiet_hours_start": clean.quiet_hours_start, "quiet_hours_end": clean.quiet_hours_end,
    }
    changed = [field for field, value in changes.items() if getattr(customer, field) != value]
    for field in changed:
        setattr(customer, field, changes[field])
    customer.crm_refreshed_at = refreshed_at
    return changed
