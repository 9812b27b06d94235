"""Administration: tenants, depots, users and vehicles, looked up by id or by the integrator's external ref."""
from dataclasses import dataclass, field
from typing import TypeVar

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import is_time_zone
from app.customers.models import normalize_phone
from app.errors import DomainError, ErrorCode, invalid
from app.tenants.models import Depot, Role, SubjectClaim, Tenant, User, UserDepot

Row = TypeVar("Row", bound=SQLModel)  # a tenant-owned table with external_ref (depot, user, vehicle)


def _check_timezone(name: str) -> str:
    if not is_time_zone(name):
        raise invalid("timezone must be an IANA name such as Europe/Amsterdam", "timezone")
    return name


def check_ref(ref: str | None) -> str | None:
    if ref is not None and (not ref.strip() or len(ref) > 100):
        raise invalid("externalRef is 1 to 100 characters", "externalRef")
    return ref.strip() if ref else None


async def by_ref(*, session: AsyncSession, model: type[Row], tenant_id: int, external_ref: str) -> Row | None:
    """The tenant's depot, user or vehicle with this external ref (active or not)."""
    query = select(model).where(model.tenant_id == tenant_id, model.external_ref == external_ref)
    return (await session.exec(query)).first()


async def refs_map(*, session: AsyncSession, model: type[Row], tenant_id: int, refs: set[str]) -> dict[str, Row]:
    """Rows of this tenant by external ref, in one query."""
    if not refs:
        return {}
    rows = await session.exec(select(model).where(model.tenant_id == tenant_id, col(model.external_ref).in_(sorted(refs))))
    return {row.external_ref: row for row in rows.all()}


async def ensure_ref_free(session: AsyncSession, model: type[SQLModel], tenant_id: int, ref: str | None) -> None:
    if ref and await by_ref(session=session, model=model, tenant_id=tenant_id, external_ref=ref) is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, f"externalRef {ref!r} is already used in this tenant", field="externalRef")


async def get_tenant_by_slug(*, session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.exec(select(Tenant).where(Tenant.slug == slug))).first()


async def create_tenant(
    *, session: AsyncSession, slug: str, name: str, timezone: str = "UTC", currency: str = "EUR",
) -> Tenant:
    """A new fleet; the slug is its stable handle on the command line."""
    if not slug or len(slug) > 64 or not slug.replace("-", "").isalnum() or slug != slug.lower():
        raise invalid("slug is 1 to 64 lowercase letters, digits and dashes", "slug")
    if not name.strip():
        raise invalid("name is required", "name")
    if await get_tenant_by_slug(session=session, slug=slug) is not None:
        raise invalid(f"a tenant {slug!r} already exists", "slug")
    tenant = Tenant(slug=slug, name=name.strip(), timezone=_check_timezone(timezone), currency=currency)
    session.add(tenant)
    await session.flush()
    return tenant


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str
    jwks_url: str | None = None  # None: discovered from the issuer's /.well-known/openid-configuration
    subject_claim: SubjectClaim = SubjectClaim.SUB


async def set_oidc(*, session: AsyncSession, tenant: Tenant, oidc: OidcSettings) -> Tenant:
    """Trust the fleet's own identity provider for this tenant."""
    urls = [oidc.issuer] + ([oidc.jwks_url] if oidc.jwks_url else [])
    if not oidc.audience or not all(u.startswith(("https://", "http://")) for u in urls):
        raise invalid("an OIDC issuer URL and audience are required (and the JWKS URL, when given, is http/https)", "oidcIssuer")
    tenant.oidc_issuer, tenant.oidc_audience, tenant.oidc_jwks_url = oidc.issuer, oidc.audience, oidc.jwks_url
    tenant.oidc_subject_claim = oidc.subject_claim
    session.add(tenant)
    await session.flush()
    return tenant


async def create_depot(
    *, session: AsyncSession, tenant_id: int, name: str, lat: float, lon: float, address: str = "",
    timezone: str = "UTC", external_ref: str | None = None,
) -> Depot:
    if not name.strip():
        raise invalid("name is required", "name")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise invalid("lat/lon are out of range", "lat")
    ref = check_ref(external_ref)
    await ensure_ref_free(session, Depot, tenant_id, ref)
    depot = Depot(tenant_id=tenant_id, name=name.strip(), lat=lat, lon=lon, address=address, timezone=_check_timezone(timezone), external_ref=ref)
    session.add(depot)
    await session.flush()
    return depot


MAX_COST_CENTS = 1_000_000


async def set_depot_costs(
    *, session: AsyncSession, depot: Depot, per_km_cents: int | None, per_hour_cents: int | None, per_failed_attempt_cents: int | None,
) -> Depot:
    """The depot's cost model (None: the tenant's figure, or travel time for planning); all or nothing."""
    figures = {"costPerKmCents": per_km_cents, "costPerHourCents": per_hour_cents, "costPerFailedAttemptCents": per_failed_attempt_cents}
    for field_name, value in figures.items():
        if value is not None and not 0 <= value <= MAX_COST_CENTS:
            raise invalid(f"{field_name} is 0 to {MAX_COST_CENTS:,} cents", field_name)
    depot.cost_per_km_cents, depot.cost_per_hour_cents, depot.cost_per_failed_attempt_cents = per_km_cents, per_hour_cents, per_failed_attempt_cents
    session.add(depot)
    await session.flush()
    return depot


@dataclass(frozen=True)
class UserData:
    email: str
    name: str
    role: Role
    phone: str | None = None
    external_ref: str | None = None
    depot_ids: tuple[int, ...] = field(default_factory=tuple)


async def create_user(*, session: AsyncSession, tenant_id: int, data: UserData) -> User:
    """A driver, dispatcher, supervisor, integrator or admin of the tenant."""
    if "@" not in data.email or len(data.email) > 320:
        raise invalid("email is not an address", "email")
    if not data.name.strip():
        raise invalid("name is required", "name")
    try:
        phone = normalize_phone(data.phone) if data.phone else None
    except ValueError:
        raise invalid("phone is not a valid number; use the international format, e.g. +31612345678", "phone") from None
    ref = check_ref(data.external_ref)
    await ensure_ref_free(session, User, tenant_id, ref)
    taken = await session.exec(select(User.id).where(User.tenant_id == tenant_id, User.email == data.email))
    if taken.first() is not None:
        raise invalid("a user with this email already exists in the tenant", "email")
    depots = await session.exec(select(Depot.id).where(Depot.tenant_id == tenant_id, col(Depot.id).in_(data.depot_ids or [-1])))
    if len(set(depots.all())) != len(set(data.depot_ids)):
        raise invalid("a depot does not exist in this tenant", "depotIds")
    user = User(tenant_id=tenant_id, email=data.email, name=data.name.strip(), role=data.role, phone=phone, external_ref=ref)
    session.add(user)
    await session.flush()
    session.add_all([UserDepot(user_id=user.id, depot_id=d) for d in sorted(set(data.depot_ids))])
    await session.flush()
    return user


async def set_active(*, session: AsyncSession, row: Row, active: bool) -> Row:
    """Deactivate instead of delete: history keeps pointing at the row."""
    row.active = active
    session.add(row)
    await session.flush()
    return row
