"""Tokens from a fleet's own OpenID Connect issuer, verified with its JWKS (keys cached, rotation followed)."""
import asyncio
from typing import Any

import httpx
import jwt
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.tokens import TokenError
from app.config import Settings
from app.tenants.models import SubjectClaim, Tenant, User

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class JwksKeys:
    """One PyJWKClient per JWKS URL: keys are cached, and an unknown `kid` (a rotated key) refetches the set."""

    def __init__(self, *, lifespan_seconds: int = 3600, cooldown_seconds: float = 30) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._discovered: dict[str, str] = {}
        self._lifespan, self._cooldown = lifespan_seconds, cooldown_seconds

    async def jwks_url(self, tenant: Tenant) -> str:
        """The tenant's configured JWKS URL, or the one its issuer's discovery document names."""
        if tenant.oidc_jwks_url:
            return tenant.oidc_jwks_url
        issuer = tenant.oidc_issuer or ""
        if issuer not in self._discovered:
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
                    response.raise_for_status()
                    self._discovered[issuer] = str(response.json()["jwks_uri"])
            except (httpx.HTTPError, KeyError, ValueError):
                raise TokenError("the tenant's identity provider cannot be reached to verify the token") from None
        return self._discovered[issuer]

    async def signing_key(self, url: str, token: str) -> Any:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = jwt.PyJWKClient(
                url, cache_keys=True, lifespan=self._lifespan, timeout=5, cooldown_duration=self._cooldown,
            )
        try:
            return (await asyncio.to_thread(client.get_signing_key_from_jwt, token)).key  # urllib: off the event loop
        except jwt.PyJWKClientConnectionError:
            raise TokenError("the tenant's identity provider cannot be reached to verify the token") from None
        except jwt.PyJWKClientError:
            raise TokenError("the token was not signed by a key of the tenant's identity provider") from None


_KEYS: dict[tuple[int, float], JwksKeys] = {}


def keys_for(settings: Settings) -> JwksKeys:
    """The process's key cache for these settings (one per API process; every process fetches for itself)."""
    key = (settings.oidc_jwks_lifespan_seconds, settings.oidc_jwks_refresh_cooldown_seconds)
    if key not in _KEYS:
        _KEYS[key] = JwksKeys(lifespan_seconds=key[0], cooldown_seconds=key[1])
    return _KEYS[key]


def unverified_issuer(token: str) -> str | None:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise TokenError("token is malformed or its signature is invalid") from None


async def tenant_for_issuer(session: AsyncSession, issuer: str) -> Tenant | None:
    return (await session.exec(select(Tenant).where(Tenant.oidc_issuer == issuer, Tenant.active))).first()


async def oidc_user(session: AsyncSession, tenant: Tenant, token: str, keys: JwksKeys) -> tuple[User, frozenset[str]]:
    """The active Detour user the provider's token names, with the token's scopes; TokenError otherwise."""
    key = await keys.signing_key(await keys.jwks_url(tenant), token)
    try:
        claims = jwt.decode(
            token, key, algorithms=ALGORITHMS, audience=tenant.oidc_audience, issuer=tenant.oidc_issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidAudienceError:
        raise TokenError("token has the wrong audience") from None
    except jwt.PyJWTError:
        raise TokenError("token is malformed or its signature is invalid") from None
    claim = tenant.oidc_subject_claim
    subject = claims.get(claim.value)
    if not isinstance(subject, str) or not subject:
        raise TokenError(f"token has no {claim.value!r} claim naming the user")
    column = User.external_ref if claim is SubjectClaim.SUB else User.email
    user = (await session.exec(select(User).where(User.tenant_id == tenant.id, column == subject))).first()
    if user is None or not user.active:
        raise TokenError(f"the identity provider's user ({claim.value}) has no active Detour account in this tenant; an admin must create it")
    return user, frozenset(str(claims.get("scope", "")).split())
