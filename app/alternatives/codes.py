"""One-time codes: handed to a person in clear once, stored only as a keyed hash, with expiry and an attempt limit."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alternatives.models import CodePurpose, OneTimeCode
from app.config import Settings
from app.clock import current_time
from app.errors import DomainError, ErrorCode

CODE_DIGITS = 6


def _hash(settings: Settings, code: str) -> str:
    # Keyed, so a leaked table cannot be brute-forced over the million possible codes.
    key = hmac.new(settings.link_secret.encode(), b"detour one-time codes", hashlib.sha256).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


async def issue(
    *, session: AsyncSession, settings: Settings, tenant_id: int, purpose: CodePurpose, subject_id: int, ttl_seconds: int
) -> str:
    """A fresh code for the subject (earlier unused ones stop working); returns the clear code to send, never to store."""
    now = current_time()
    await session.exec(
        update(OneTimeCode)
        .where(col(OneTimeCode.tenant_id) == tenant_id, col(OneTimeCode.purpose) == purpose)
        .where(col(OneTimeCode.subject_id) == subject_id, col(OneTimeCode.used_at).is_(None))
        .values(expires_at=now)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    session.add(
        OneTimeCode(
            tenant_id=tenant_id, purpose=purpose, subject_id=subject_id, code_hash=_hash(settings, code),
            expires_at=now + timedelta(seconds=ttl_seconds), max_attempts=settings.one_time_code_max_attempts,
        )
    )
    await session.flush()
    return code


async def _latest(*, session: AsyncSession, tenant_id: int, purpose: CodePurpose, subject_id: int) -> OneTimeCode | None:
    rows = await session.exec(
        select(OneTimeCode)
        .where(OneTimeCode.tenant_id == tenant_id, OneTimeCode.purpose == purpose, OneTimeCode.subject_id == subject_id)
        .order_by(col(OneTimeCode.id).desc())
        .limit(1)
    )
    return rows.first()


async def check(
    *, session: AsyncSession, settings: Settings, tenant_id: int, purpose: CodePurpose, subject_id: int, code: str
) -> DomainError | None:
    """Use up the subject's current code when `code` matches; otherwise the typed error to report.

    A wrong guess is counted and must be committed even though the caller fails, so the error is
    returned rather than raised: the caller commits, then raises it.
    """
    row = await _latest(session=session, tenant_id=tenant_id, purpose=purpose, subject_id=subject_id)
    if row is None:
        return DomainError(ErrorCode.CODE_INVALID, "no code was issued for this; ask for a new one", field="code")
    if row.used_at is not None:
        return DomainError(ErrorCode.CODE_ALREADY_USED, "this code was already used", field="code")
    if row.expires_at <= current_time():
        return DomainError(ErrorCode.CODE_EXPIRED, "this code has expired; ask for a new one", field="code")
    if row.attempts >= row.max_attempts:
        return DomainError(ErrorCode.TOO_MANY_ATTEMPTS, "too many wrong codes; ask for a new one", field="code")
    matches = hmac.compare_digest(row.code_hash, _hash(settings, code.strip()))
    values = {"attempts": OneTimeCode.attempts + 1, "used_at": current_time() if matches else None}
    # Conditional, so two racing correct answers cannot both use the code.
    result = await session.exec(
        update(OneTimeCode)
        .where(col(OneTimeCode.id) == row.id, col(OneTimeCode.used_at).is_(None))
        .where(col(OneTimeCode.attempts) < OneTimeCode.max_attempts)
        .values(**values)
    )
    if result.rowcount == 0:
        return DomainError(ErrorCode.CODE_ALREADY_USED, "this code was already used", field="code")
    if not matches:
        left = row.max_attempts - row.attempts - 1
        return DomainError(ErrorCode.CODE_INVALID, f"the code does not match ({left} tries left)", field="code")
    return None
