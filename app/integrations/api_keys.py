"""Integrator API keys: minted once, stored as a SHA-256, recognised by their prefix, scoped and revocable."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.principal import Principal
from app.auth.scopes import ALL_SCOPES
from app.clock import current_time
from app.errors import invalid, not_found
from app.integrations.models import ApiKey
from app.tenants.models import Role, User

KEY_PREFIX = "dtr_live_"
SHOWN_PREFIX = len(KEY_PREFIX) + 6
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is a hint, not an audit trail: one write a minute per key


class ApiKeyError(Exception):
    """The key cannot be trusted; the message never contains the key."""


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class MintedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown:
        raise invalid(f"unknown scope {unknown[0]}; known: {', '.join(sorted(ALL_SCOPES))}", "scopes")
    if not scopes:
        raise invalid("grant at least one scope", "scopes")
    return sorted(set(scopes))


async def create_key(
    *, session: AsyncSession, tenant_id: int, created_by: int, name: str, scopes: list[str], expires_at: datetime | None = None
) -> MintedKey:
    """A new key; the secret is returned here and nowhere else."""
    name = name.strip()
    if not name or len(name) > 120:
        raise invalid("name is 1 to 120 characters", "name")
    if expires_at is not None and expires_at <= current_time():
        raise invalid("expiresAt must be in the future", "expiresAt")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant_id=tenant_id, created_by=created_by, name=name, prefix=secret[:SHOWN_PREFIX],
        secret_hash=hash_secret(secret), scopes=check_scopes(scopes), expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return MintedKey(key=key, secret=secret)


async def revoke_key(*, session: AsyncSession, tenant_id: int, key_id: int) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or key.tenant_id != tenant_id:
        raise not_found("API key")
    if key.revoked_at is None:
        key.revoked_at = current_time()
        session.add(key)
        await session.flush()
    return key


async def list_keys(*, session: AsyncSession, tenant_id: int) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(col(ApiKey.id).desc())
    return list((await session.exec(query)).all())


async def authenticate_key(*, session: AsyncSession, secret: str) -> Principal:
    """The integrator principal of a live key (touching last_used_at), or ApiKeyError; the caller commits."""
    key = (await session.exec(select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret)))).first()
    now = current_time()
    if key is None or key.revoked_at is not None:
        raise ApiKeyError("API key is unknown or revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise ApiKeyError("API key expired")
    creator = await session.get(User, key.created_by)
    if creator is None or not creator.active:
        raise ApiKeyError("API key belongs to a deactivated user")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        key.last_used_at = now
        session.add(key)
    return Principal(user_id=key.created_by, tenant_id=key.tenant_id, role=Role.INTEGRATOR, scopes=frozenset(key.scopes), api_key_id=key.id)
