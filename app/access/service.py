"""Access profiles, their link to stops, grants and the audit trail: queries and changes, no commit, no I/O."""
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.access.crypto import AccessSecrets, Vault, open_secrets, seal_secrets
from app.access.models import (
    NOT_COUNTED_REFUSALS,
    AccessAuditEntry,
    AccessGrant,
    AccessOutcome,
    AccessProfile,
    ProvidedBy,
)
from app.customers.models import Customer
from app.clock import current_time
from app.errors import ensure_version, invalid, not_found
from app.geo import haversine_km
from app.routes.models import Route, Stop
from app.tenants.models import Depot
from app.tracking.models import DriverLastPosition

MAX_CODE_LENGTH = 64
MAX_INSTRUCTIONS_LENGTH = 1000
METRES_PER_DEGREE = 111_320.0


def address_key(address: str) -> str:
    """Case, punctuation and spacing do not make two addresses different."""
    return re.sub(r"[\s,.;]+", " ", address).strip().casefold()


@dataclass(frozen=True)
class ProfileFields:
    """The non-secret part of a profile, as sent by staff or by the customer's self-service page."""

    label: str
    address: str
    provided_by: ProvidedBy
    customer_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    digital_key_provider: str | None = None


def validate_fields(fields: ProfileFields) -> None:
    if not 1 <= len(fields.label.strip()) <= 200:
        raise invalid("a label of 1 to 200 characters is required", "label")
    if not 1 <= len(fields.address.strip()) <= 500:
        raise invalid("an address of 1 to 500 characters is required", "address")
    if (fields.lat is None) != (fields.lon is None):
        raise invalid("send both latitude and longitude, or neither", "lat")
    if fields.lat is not None and not (-90 <= fields.lat <= 90 and -180 <= fields.lon <= 180):
        raise invalid("latitude or longitude out of range", "lat")
    if fields.valid_from and fields.valid_until and fields.valid_until <= fields.valid_from:
        raise invalid("validUntil must come after validFrom", "validUntil")
    if fields.digital_key_provider is not None and not 1 <= len(fields.digital_key_provider) <= 64:
        raise invalid("a digital key provider name is 1 to 64 characters", "digitalKeyProvider")


def validate_secrets(secrets: AccessSecrets, fields: ProfileFields) -> None:
    """Checks lengths without ever quoting a value back."""
    for name, field in (("gate_code", "gateCode"), ("entry_code", "entryCode"), ("digital_key_id", "digitalKeyId")):
        value = getattr(secrets, name)
        if value is not None and len(value.get_secret_value()) > MAX_CODE_LENGTH:
            raise invalid(f"{field} is at most {MAX_CODE_LENGTH} characters", field)
    if secrets.instructions is not None and len(secrets.instructions.get_secret_value()) > MAX_INSTRUCTIONS_LENGTH:
        raise invalid(f"instructions are at most {MAX_INSTRUCTIONS_LENGTH} characters", "instructions")
    if (fields.digital_key_provider is None) != (secrets.digital_key_id is None):
        raise invalid("a digital key needs both its provider and its key id", "digitalKeyId")


def _apply(profile: AccessProfile, fields: ProfileFields, secrets: AccessSecrets, vault: Vault) -> None:
    profile.label, profile.address = fields.label.strip(), fields.address.strip()
    profile.address_key = address_key(fields.address)
    profile.customer_id, profile.provided_by = fields.customer_id, fields.provided_by
    profile.lat, profile.lon = fields.lat, fields.lon
    profile.valid_from, profile.valid_until = fields.valid_from, fields.valid_until
    profile.digital_key_provider = fields.digital_key_provider
    profile.has_gate_code = secrets.gate_code is not None
    profile.has_entry_code = secrets.entry_code is not None
    profile.has_instructions = secrets.instructions is not None
    profile.secrets_sealed = seal_secrets(vault, secrets, tenant_id=profile.tenant_id)


async def _check_customer(session: AsyncSession, tenant_id: int, customer_id: int | None) -> None:
    if customer_id is None:
        return
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.tenant_id != tenant_id:
        raise not_found("customer", "customerId")


async def create_profile(
    *, session: AsyncSession, vault: Vault, tenant_id: int, actor_id: int | None, fields: ProfileFields, secrets: AccessSecrets
) -> AccessProfile:
    """A new profile with its secrets sealed."""
    validate_fields(fields)
    validate_secrets(secrets, fields)
    await _check_customer(session, tenant_id, fields.customer_id)
    profile = AccessProfile(tenant_id=tenant_id, updated_by_id=actor_id, label="", address="", address_key="",
                            provided_by=fields.provided_by, secrets_sealed=b"")
    _apply(profile, fields, secrets, vault)
    session.add(profile)
    await session.flush()
    return profile


async def update_profile(
    *, session: AsyncSession, vault: Vault, profile: AccessProfile, actor_id: int | None, expected_version: int,
    fields: ProfileFields, secret_changes: dict[str, str | None],
) -> AccessProfile:
    """Change a profile; secrets not named in `secret_changes` keep their value."""
    ensure_version(current=profile.version, expected=expected_version, what="the access profile")
    validate_fields(fields)
    secrets = open_secrets(vault, profile.secrets_sealed, tenant_id=profile.tenant_id).replace(**secret_changes)
    validate_secrets(secrets, fields)
    await _check_customer(session, profile.tenant_id, fields.customer_id)
    _apply(profile, fields, secrets, vault)
    profile.version += 1
    profile.updated_by_id, profile.updated_at = actor_id, current_time()
    session.add(profile)
    await session.flush()
    return profile


def fields_of(profile: AccessProfile) -> dict[str, Any]:
    """The current non-secret fields, as keyword arguments of ProfileFields."""
    return {
        "label": profile.label, "address": profile.address, "provided_by": profile.provided_by,
        "customer_id": profile.customer_id, "lat": profile.lat, "lon": profile.lon, "valid_from": profile.valid_from,
        "valid_until": profile.valid_until, "digital_key_provider": profile.digital_key_provider,
    }


async def personal_profile(*, session: AsyncSession, tenant_id: int, customer_id: int) -> AccessProfile | None:
    """The customer's own profile, newest first when there are several."""
    query = select(AccessProfile).where(AccessProfile.tenant_id == tenant_id, AccessProfile.customer_id == customer_id)
    return (await session.exec(query.order_by(col(AccessProfile.id).desc()))).first()


async def get_profile(*, session: AsyncSession, tenant_id: int, profile_id: int) -> AccessProfile | None:
    profile = await session.get(AccessProfile, profile_id)
    return profile if profile is not None and profile.tenant_id == tenant_id else None


async def list_profiles(
    *, session: AsyncSession, tenant_id: int, customer_id: int | None, first: int, before_id: int | None
) -> list[AccessProfile]:
    """Up to `first` + 1 profiles, newest first."""
    query = select(AccessProfile).where(AccessProfile.tenant_id == tenant_id)
    if customer_id is not None:
        query = query.where(AccessProfile.customer_id == customer_id)
    if before_id is not None:
        query = query.where(col(AccessProfile.id) < before_id)
    return list((await session.exec(query.order_by(col(AccessProfile.id).desc()).limit(first + 1))).all())


async def profile_for_stop(*, session: AsyncSession, stop: Stop, now: datetime, building_radius_m: float) -> AccessProfile | None:
    """The profile that applies to a stop, valid now: the customer's own, else the same address, else the nearest building."""
    lat_span = building_radius_m / METRES_PER_DEGREE
    lon_span = building_radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(stop.lat)), 0.01))
    nearby = (
        col(AccessProfile.customer_id).is_(None)
        & col(AccessProfile.lat).between(stop.lat - lat_span, stop.lat + lat_span)
        & col(AccessProfile.lon).between(stop.lon - lon_span, stop.lon + lon_span)
    )
    same_address = col(AccessProfile.customer_id).is_(None) & (AccessProfile.address_key == address_key(stop.address))
    rows = await session.exec(
        select(AccessProfile).where(
            AccessProfile.tenant_id == stop.tenant_id,
            or_(AccessProfile.customer_id == stop.customer_id, same_address, nearby),
        )
    )

    def rank(profile: AccessProfile) -> tuple[int, float, int]:
        if profile.customer_id == stop.customer_id:
            return (0, 0.0, -profile.id)
        if profile.address_key == address_key(stop.address):
            return (1, 0.0, -profile.id)
        return (2, haversine_km(profile.lat, profile.lon, stop.lat, stop.lon) * 1000, -profile.id)

    candidates = [p for p in rows.all() if p.is_valid_at(now) and rank(p)[1] <= building_radius_m]
    return min(candidates, key=rank, default=None)


async def stop_with_route(*, session: AsyncSession, tenant_id: int, stop_id: int) -> tuple[Stop, Route, Depot] | None:
    """A stop of the tenant with its route and depot; another tenant's stop does not exist."""
    row = (
        await session.exec(
            select(Stop, Route, Depot)
            .join(Route, Route.id == Stop.route_id)
            .join(Depot, Depot.id == Route.depot_id)
            .where(Stop.id == stop_id, Stop.tenant_id == tenant_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def last_fix(*, session: AsyncSession, tenant_id: int, driver_id: int) -> DriverLastPosition | None:
    """The driver's newest GPS fix, read fresh (the same transaction may just have stored one)."""
    query = select(DriverLastPosition).where(DriverLastPosition.driver_id == driver_id, DriverLastPosition.tenant_id == tenant_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def count_recent_refusals(*, session: AsyncSession, actor_id: int, address: str, since: datetime) -> int:
    """Refusals of this driver at this address since `since` (refusals that are not the driver's doing excluded)."""
    rows = await session.exec(
        select(func.count()).select_from(AccessAuditEntry).where(
            AccessAuditEntry.actor_id == actor_id,
            AccessAuditEntry.address_key == address_key(address),
            AccessAuditEntry.outcome == AccessOutcome.REFUSED,
            col(AccessAuditEntry.refusal_reason).not_in(list(NOT_COUNTED_REFUSALS)),
            AccessAuditEntry.occurred_at >= since,
        )
    )
    return rows.one()


def record(*, session: AsyncSession, **fields: Any) -> AccessAuditEntry:
    """Append an audit entry (it gets its id on flush)."""
    entry = AccessAuditEntry(**fields)
    session.add(entry)
    return entry


async def audit_page(*, session: AsyncSession, tenant_id: int, stop_id: int, first: int, before_id: int | None) -> list[AccessAuditEntry]:
    """Up to `first` + 1 audit entries of a stop, newest first."""
    query = select(AccessAuditEntry).where(AccessAuditEntry.tenant_id == tenant_id, AccessAuditEntry.stop_id == stop_id)
    if before_id is not None:
        query = query.where(col(AccessAuditEntry.id) < before_id)
    return list((await session.exec(query.order_by(col(AccessAuditEntry.id).desc()).limit(first + 1))).all())


async def active_grant(*, session: AsyncSession, stop_id: int, driver_id: int, now: datetime) -> AccessGrant | None:
    rows = await session.exec(
        select(AccessGrant)
        .where(AccessGrant.stop_id == stop_id, AccessGrant.driver_id == driver_id)
        .where(col(AccessGrant.used_at).is_(None), AccessGrant.expires_at > now)
        .order_by(col(AccessGrant.id).desc())
    )
    return rows.first()


async def spend_grant(*, session: AsyncSession, grant: AccessGrant, now: datetime) -> bool:
    """Mark the grant used; False when a concurrent request spent it first."""
    result = await session.exec(
        update(AccessGrant).where(col(AccessGrant.id) == grant.id, col(AccessGrant.used_at).is_(None)).values(used_at=now)
    )
    return result.rowcount == 1


def create_grant(
    *, session: AsyncSession, vault: Vault, stop: Stop, driver_id: int, granted_by_id: int, code: str | None,
    note: str, expires_at: datetime,
) -> AccessGrant:
    if code is not None and not 1 <= len(code) <= MAX_CODE_LENGTH:
        raise invalid(f"a one-time code is 1 to {MAX_CODE_LENGTH} characters", "code")
    if len(note) > 500:
        raise invalid("a note is at most 500 characters", "note")
    sealed = seal_secrets(vault, AccessSecrets().replace(gate_code=code), tenant_id=stop.tenant_id) if code else None
    grant = AccessGrant(
        tenant_id=stop.tenant_id, stop_id=stop.id, driver_id=driver_id, granted_by_id=granted_by_id, code_sealed=sealed,
        note=note.strip(), expires_at=expires_at,
    )
    session.add(grant)
    return grant


def summary(profile: AccessProfile | None) -> dict[str, Any]:
    """What a dispatcher may know about a profile: never a code, only whether there is one."""
    if profile is None:
        return {"profileId": None}
    return {
        "profileId": profile.id, "label": profile.label, "providedBy": profile.provided_by.value,
        "personal": profile.customer_id is not None, "hasGateCode": profile.has_gate_code,
        "hasEntryCode": profile.has_entry_code, "hasInstructions": profile.has_instructions,
        "digitalKeyProvider": profile.digital_key_provider,
        "validUntil": profile.valid_until.isoformat() if profile.valid_until else None,
    }


async def denied_report_summary(*, session: AsyncSession, stop: Stop, now: datetime, building_radius_m: float) -> dict[str, Any]:
    """The non-secret access summary an ACCESS_DENIED report carries to the dispatchers."""
    profile = await profile_for_stop(session=session, stop=stop, now=now, building_radius_m=building_radius_m)
    return summary(profile)
