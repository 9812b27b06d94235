"""Who is calling: the verified token matched against an active user of the same tenant."""
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel import col, select

from app.auth.oidc import keys_for, oidc_user, tenant_for_issuer, unverified_issuer
from app.auth.tokens import Claims, TokenError, decode_token
from app.config import Settings
from app.tenants.models import Role, User, UserDepot


@dataclass(frozen=True)
class Principal:
    user_id: int
    tenant_id: int
    role: Role
    scopes: frozenset[str]
    depot_ids: frozenset[int] | None = None  # None: every depot of the tenant
    api_key_id: int | None = None  # set when the caller used an integrator API key

    @property
    def is_driver(self) -> bool:
        return self.role is Role.DRIVER

    @property
    def is_staff(self) -> bool:
        """Dispatchers and supervisors work the exception queue."""
        return self.role in (Role.DISPATCHER, Role.SUPERVISOR)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _depot_ids(session: AsyncSession, user_id: int) -> frozenset[int] | None:
    return frozenset((await session.exec(select(UserDepot.depot_id).where(UserDepot.user_id == user_id))).all()) or None


async def authenticate(session: AsyncSession, settings: Settings, token: str) -> Principal:
    """Turn a bearer token into a principal, or raise TokenError: Detour's own tokens, or a tenant's OIDC issuer's."""
    issuer = unverified_issuer(token)
    if issuer is not None and issuer != settings.jwt_issuer:
        tenant = await tenant_for_issuer(session, issuer)
        if tenant is None:
            raise TokenError("token has the wrong issuer")
        user, scopes = await oidc_user(session, tenant, token, keys_for(settings))
        return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=scopes, depot_ids=await _depot_ids(session, user.id))
    claims: Claims = decode_token(settings, token)
    # The user and the depots they work for in one statement (every request pays it).
    rows = (await session.exec(
        select(User, UserDepot.depot_id).outerjoin(UserDepot, col(UserDepot.user_id) == User.id).where(User.id == claims.user_id)
    )).all()
    user = rows[0][0] if rows else None
    if user is None or not user.active or user.tenant_id != claims.tenant_id or user.role is not claims.role:
        raise TokenError("token does not match an active user of its tenant")
    depot_ids = frozenset(depot_id for _, depot_id in rows if depot_id is not None) or None
    return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=claims.scopes, depot_ids=depot_ids)

    
def may_see_depot(principal: Principal, depot_id: int) -> bool:
    """Staff limited to some depots see only those; everyone else is limited by tenant and ownership."""
    return principal.depot_ids is None or not principal.is_staff or depot_id in principal.depot_ids
