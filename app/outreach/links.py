"""Signed self-service links: a short-lived token for one stop, usable once for an action."""
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.clock import current_time
from app.errors import DomainError, ErrorCode
from app.outreach.models import LinkTokenUse

LINK_AUDIENCE = "customer-link"
LINK_PATH = "/c/"
# Messages are stored with this marker; the worker puts a fresh token in at send time, so the
# token's lifetime starts when the customer gets it and the outbox never stores a live token.
LINK_MARKER = "[[link]]"


@dataclass(frozen=True)
class LinkClaims:
    tenant_id: int
    stop_id: int
    exception_id: int | None
    jti: str


def issue_link_token(settings: Settings, *, tenant_id: int, stop_id: int, exception_id: int | None = None,
                     ttl_seconds: int | None = None) -> str:
    now = current_time()
    payload = {
        "iss": settings.jwt_issuer, "aud": LINK_AUDIENCE, "sub": str(stop_id), "tid": tenant_id,
        "exc": exception_id, "jti": uuid.uuid4().hex, "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds or settings.link_ttl_seconds),
    }
    return jwt.encode(payload, settings.link_secret, algorithm="HS256")


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}{LINK_PATH}{token}"


def issue_link(settings: Settings, *, tenant_id: int, stop_id: int, exception_id: int | None = None) -> str:
    """The URL of the self-service page for this stop."""
    return link_url(settings, issue_link_token(settings, tenant_id=tenant_id, stop_id=stop_id, exception_id=exception_id))


def with_link(settings: Settings, body: str, *, tenant_id: int, stop_id: int | None, exception_id: int | None) -> str:
    """The message text as sent: the link marker replaced by a freshly signed link."""
    if LINK_MARKER not in body or stop_id is None:
        return body.replace(LINK_MARKER, "")
    return body.replace(LINK_MARKER, issue_link(settings, tenant_id=tenant_id, stop_id=stop_id, exception_id=exception_id))


def read_link_token(settings: Settings, token: str) -> LinkClaims:
    """The verified claims, or LINK_EXPIRED / LINK_INVALID (the message never echoes the token)."""
    try:
        # Expiry is checked against the operation's clock (the one that signed it), not pyjwt's wall clock.
        payload = jwt.decode(
            token, settings.link_secret, algorithms=["HS256"], audience=LINK_AUDIENCE, issuer=settings.jwt_issuer,
            options={"require": ["exp", "aud", "sub", "jti", "tid"], "verify_exp": False, "verify_iat": False},
        )
        if current_time().timestamp() >= float(payload["exp"]):
            raise jwt.ExpiredSignatureError
        return LinkClaims(
            tenant_id=int(payload["tid"]), stop_id=int(payload["sub"]),
            exception_id=int(payload["exc"]) if payload.get("exc") is not None else None, jti=str(payload["jti"]),
        )
    except jwt.ExpiredSignatureError:
        raise DomainError(
            ErrorCode.LINK_EXPIRED, "this link has expired; reply to our message or contact us for a new one", field="token"
        ) from None
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise DomainError(ErrorCode.LINK_INVALID, "this link is not valid", field="token") from None


async def consume(*, session: AsyncSession, claims: LinkClaims) -> None:
    """Mark the token used inside the caller's transaction; a second use is LINK_USED and changes nothing."""
    try:
        async with session.begin_nested():
            session.add(LinkTokenUse(jti=claims.jti, tenant_id=claims.tenant_id, stop_id=claims.stop_id))
            await session.flush()
    except IntegrityError:
        raise DomainError(ErrorCode.LINK_USED, "this link has already been used; the choice you made stands", field="token") from None
