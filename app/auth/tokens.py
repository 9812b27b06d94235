"""JWT bearer tokens: HS256 by default, RS256 when a public key is configured."""
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt

from app.config import Settings
from app.clock import SYSTEM_CLOCK
from app.tenants.models import Role


class TokenError(Exception):
    """The token cannot be trusted; the message is safe to show (it never contains the token)."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    tenant_id: int
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)


def issue_token(settings: Settings, claims: Claims, *, ttl_seconds: int | None = None, audience: str | None = None) -> str:
    """Sign a token for these claims."""
    now = SYSTEM_CLOCK.now()  # pyjwt checks exp/iat against the real time, so tokens are signed with it too
    payload = {
        "sub": str(claims.user_id),
        "tid": claims.tenant_id,
        "role": claims.role.value,
        "scope": " ".join(sorted(claims.scopes)),
        "iss": settings.jwt_issuer,
        "aud": audience or settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds or settings.jwt_ttl_seconds),
    }
    if settings.jwt_public_key:
        if not settings.jwt_private_key:
            raise TokenError("RS256 is configured but DETOUR_JWT_PRIVATE_KEY is not set: tokens come from your identity provider")
        return jwt.encode(payload, settings.jwt_private_key, algorithm="RS256")
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


def verified(token: str, key: Any, *, algorithms: list[str], audience: str | None, issuer: str | None, require: list[str]) -> dict[str, Any]:
    """The token's claims once signature, expiry, issuer and audience check out; TokenError saying which did not."""
    try:
        return jwt.decode(token, key, algorithms=algorithms, audience=audience, issuer=issuer, options={"require": require})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidAudienceError:
        raise TokenError("token has the wrong audience") from None
    except jwt.InvalidIssuerError:
        raise TokenError("token has the wrong issuer") from None
    except jwt.PyJWTError:
        raise TokenError("token is malformed or its signature is invalid") from None


def decode_token(settings: Settings, token: str, *, audience: str | None = None) -> Claims:
    """Verify signature, expiry, issuer and audience, and return the claims."""
    key = settings.jwt_public_key or settings.jwt_secret
    payload = verified(
        token, key, algorithms=[settings.jwt_algorithm], audience=audience or settings.jwt_audience, issuer=settings.jwt_issuer,
        require=["exp", "iss", "aud", "sub"],
    )
    try:
        return Claims(
            user_id=int(payload["sub"]),
            tenant_id=int(payload["tid"]),
            role=Role(payload["role"]),
            scopes=frozenset(str(payload.get("scope", "")).split()),
        )
    except (KeyError, ValueError):
        raise TokenError("token is missing tenant or role claims") from None
