"""Outreach queries and state changes: outbox rows, consent records, answers. No I/O beyond the database, no commits."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.customers.models import Customer
from app.clock import current_time, is_time_zone
from app.outreach.models import (
    ConsentRecord,
    ConsentSource,
    ConsentStatus,
    CustomerResponse,
    Notification,
    NotificationChannel,
    NotificationStatus,
    PushDevice,
)
from app.outreach.redaction import redact


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name and is_time_zone(name) else ZoneInfo("UTC")


def in_quiet_hours(customer: Customer, at: datetime) -> bool:
    """True when `at`, read on the customer's wall clock, falls in their quiet hours (which may span midnight)."""
    start, end = customer.quiet_hours_start, customer.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    local: time = at.astimezone(_zone(customer.timezone)).time().replace(tzinfo=None)
    return start <= local < end if start < end else local >= start or local < end


def local_time(customer: Customer | None, at: datetime) -> datetime:
    return at.astimezone(_zone(customer.timezone if customer else None))


async def latest_consent(
    *, session: AsyncSession, tenant_id: int, phone: str, channel: NotificationChannel = NotificationChannel.SMS,
) -> ConsentRecord | None:
    """The consent record in force for this number: the latest captured, the last written among equals."""
    rows = await session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.tenant_id == tenant_id, ConsentRecord.phone == phone, ConsentRecord.channel == channel)
        .order_by(col(ConsentRecord.captured_at).desc(), col(ConsentRecord.id).desc())
        .limit(1)
    )
    return rows.first()


async def is_opted_out(*, session: AsyncSession, tenant_id: int, phone: str) -> bool:
    latest = await latest_consent(session=session, tenant_id=tenant_id, phone=phone)
    return latest is not None and latest.status is ConsentStatus.REVOKED


async def record_consent(
    *, session: AsyncSession, tenant_id: int, phone: str, status: ConsentStatus, source: ConsentSource,
    captured_at: datetime | None = None, keyword: str | None = None, channel: NotificationChannel = NotificationChannel.SMS,
) -> ConsentRecord | None:
    """Append a consent decision; None (nothing written) when the one in force already says so, or is newer."""
    now = current_time()
    captured = min(captured_at or now, now)  # a CRM clock ahead of ours must not outrank a STOP sent after it
    latest = await latest_consent(session=session, tenant_id=tenant_id, phone=phone, channel=channel)
    if latest is not None and (latest.status is status or latest.captured_at > captured):
        return None
    row = ConsentRecord(
        tenant_id=tenant_id, phone=phone, channel=channel, status=status, source=source, captured_at=captured,
        keyword=keyword[:20] if keyword else None, recorded_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def opt_out(*, session: AsyncSession, tenant_id: int, phone: str, keyword: str, source: ConsentSource = ConsentSource.SMS_KEYWORD) -> bool:
    """Record the opt-out (STOP, or the carrier saying the number is gone); False when it was already in force."""
    return await record_consent(
        session=session, tenant_id=tenant_id, phone=phone, status=ConsentStatus.REVOKED, source=source, keyword=keyword,
    ) is not None


async def opt_in(*, session: AsyncSession, tenant_id: int, phone: str, keyword: str = "START") -> bool:
    """Record consent given again (START); False when the number had not opted out."""
    if not await is_opted_out(session=session, tenant_id=tenant_id, phone=phone):
        return False
    await record_consent(
        session=session, tenant_id=tenant_id, phone=phone, status=ConsentStatus.GRANTED, source=ConsentSource.SMS_KEYWORD,
        keyword=keyword,
    )
    return True


async def active_push_token(*, session: AsyncSession, tenant_id: int, customer_id: int) -> str | None:
    rows = await session.exec(
        select(PushDevice.token)
        .where(PushDevice.tenant_id == tenant_id, PushDevice.customer_id == customer_id, PushDevice.active)
        .order_by(col(PushDevice.id).desc())
    )
    return rows.first()


async def deactivate_push_token(*, session: AsyncSession, tenant_id: int, token: str) -> None:
    await session.exec(
        update(PushDevice).where(PushDevice.tenant_id == tenant_id, PushDevice.token == token).values(active=False)
    )


async def suppression_reason(
    *, session: AsyncSession, tenant_id: int, channel: NotificationChannel, recipient: str | None,
    customer: Customer | None, at: datetime,
) -> str | None:
    """Why this message must not go out now, or None when it may."""
    opted_out = bool(channel is NotificationChannel.SMS and recipient
                     and await is_opted_out(session=session, tenant_id=tenant_id, phone=recipient))
    return suppression_for(channel=channel, recipient=recipient, customer=customer, at=at, opted_out=opted_out)


def suppression_for(
    *, channel: NotificationChannel, recipient: str | None, customer: Customer | None, at: datetime, opted_out: bool,
) -> str | None:
    """`suppression_reason` with the opt-out already looked up (the worker reads a whole batch's opt-outs at once)."""
    if not recipient:
        return "no phone number or app installation to reach the customer"
    if channel is NotificationChannel.SMS and opted_out:
        return "the customer opted out of SMS (STOP)"
    if customer is not None and in_quiet_hours(customer, at):
        local = local_time(customer, at).strftime("%H:%M %Z")
        return f"quiet hours of the customer ({customer.quiet_hours_start:%H:%M}-{customer.quiet_hours_end:%H:%M}, it is {local})"
    return None


async def opted_out_among(*, session: AsyncSession, numbers: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (tenant, phone) pairs have SMS consent revoked in force, in one query (as `is_opted_out` each)."""
    if not numbers:
        return set()
    rows = await session.exec(
        select(ConsentRecord.tenant_id, ConsentRecord.phone, ConsentRecord.status).where(
            col(ConsentRecord.tenant_id).in_({tenant for tenant, _ in numbers}),
            col(ConsentRecord.phone).in_({phone for _, phone in numbers}),
            ConsentRecord.channel == NotificationChannel.SMS,
        ).order_by(col(ConsentRecord.captured_at), col(ConsentRecord.id))
    )
    in_force = {(tenant, phone): status for tenant, phone, status in rows.all()}  # the last of each pair wins
    return {pair for pair, status in in_force.items() if status == ConsentStatus.REVOKED} & numbers


def close(row: Notification, status: NotificationStatus, reason: str | None = None) -> None:
    """Move the row on; once it is final the stored text keeps no one-time code (it was only needed to send)."""
    if status is not NotificationStatus.PENDING:
        row.body = redact(row.body)
    row.status = status
    row.failure_reason = reason[:500] if reason else row.failure_reason
    row.updated_at = current_time()


def _due(*, limit: int, now: datetime):  # noqa: ANN202 - a SELECT
    return (
        select(Notification.id)
        .where(Notification.status == NotificationStatus.PENDING, Notification.send_after <= now)
        .order_by(col(Notification.send_after), col(Notification.id))
        .limit(limit)
    )


async def claim_due(*, session: AsyncSession, limit: int, now: datetime) -> tuple[list[int], int]:
    """PENDING → SENDING for up to `limit` due rows, in the caller's transaction, right before their provider calls start.

    On PostgreSQL the rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED), so two workers take
    disjoint batches instead of queueing on the same rows; SQLite has one writer at a time anyway. (Two statements:
    PostgreSQL may re-run a locking subquery inside an UPDATE and then ignores its LIMIT.) Returns the claimed ids and
    how many due rows were seen: fewer claimed than seen means another worker took them first.
    """
    due = list((await session.exec(_due(limit=limit, now=now).with_for_update(skip_locked=True))).all())
    if not due:
        return [], 0
    result = await session.exec(
        update(Notification)
        .where(col(Notification.id).in_(due), Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.SENDING, claimed_at=now, attempts=Notification.attempts + 1, updated_at=now)
        .returning(Notification.id)
    )
    return sorted(result.scalars().all()), len(due)


async def record_sent(*, session: AsyncSession, rows: list[Notification]) -> None:
    """Write rows already closed as SENT in memory (`close`, provider fields) with one executemany UPDATE."""
    if not rows:
        return
    table = Notification.__table__
    columns = ("status", "body", "failure_reason", "updated_at", "sent_at", "provider", "provider_message_id", "provider_status")
    statement = table.update().where(table.c.id == bindparam("row_id")).values({c: bindparam(f"new_{c}") for c in columns})
    connection = await session.connection()
    await connection.execute(statement, [
        {"row_id": row.id, **{f"new_{c}": getattr(row, c) for c in columns}} for row in rows
    ])


def _ambiguous(older_than: datetime):  # noqa: ANN202 - a SQL condition
    """SENDING and held by no live worker: released after a timeout (claimed_at NULL) or its worker died (lease over)."""
    return (Notification.status == NotificationStatus.SENDING) & (
        col(Notification.claimed_at).is_(None) | (col(Notification.claimed_at) < older_than)
    )


async def ambiguous_ids(*, session: AsyncSession, limit: int, older_than: datetime) -> list[int]:
    """Rows whose send may or may not have reached the provider: they are reconciled before any resend."""
    rows = await session.exec(
        select(Notification.id).where(_ambiguous(older_than)).order_by(col(Notification.id)).limit(limit)
    )
    return list(rows.all())


async def claim_ambiguous(*, session: AsyncSession, notification_id: int, older_than: datetime, now: datetime) -> bool:
    """Take one ambiguous row for reconciliation (a fresh lease); False when another worker took it first."""
    result = await session.exec(
        update(Notification)
        .where(Notification.id == notification_id, _ambiguous(older_than))
        .values(claimed_at=now, updated_at=now)
    )
    return result.rowcount == 1


def retry_delay(*, attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base… never more than the cap."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


async def find_by_provider_id(*, session: AsyncSession, provider_message_id: str) -> Notification | None:
    rows = await session.exec(select(Notification).where(Notification.provider_message_id == provider_message_id))
    return rows.first()


async def latest_sent_to(*, session: AsyncSession, phone: str) -> Notification | None:
    """The most recent message that went out to this number: it tells which tenant and stop a reply is about."""
    rows = await session.exec(
        select(Notification)
        .where(
            Notification.recipient == phone, Notification.channel == NotificationChannel.SMS,
            col(Notification.status).in_([NotificationStatus.SENT, NotificationStatus.DELIVERED]),
        )
        .order_by(col(Notification.id).desc())
        .limit(1)
    )
    return rows.first()


async def tenants_texted_since(*, session: AsyncSession, phone: str, since: datetime) -> set[int]:
    """The tenants whose SMS reached this number since then (who a reply from it may be answering)."""
    rows = await session.exec(
        select(Notification.tenant_id).where(
            Notification.recipient == phone, Notification.channel == NotificationChannel.SMS,
            col(Notification.status).in_([NotificationStatus.SENT, NotificationStatus.DELIVERED]),
            col(Notification.sent_at) >= since,
        ).distinct()
    )
    return set(rows.all())


async def tenants_that_messaged(*, session: AsyncSession, phone: str) -> list[int]:
    rows = await session.exec(select(Notification.tenant_id).where(Notification.recipient == phone).distinct())
    return sorted(rows.all())


async def cancel_pending_for_run(*, session: AsyncSession, run_id: int, reason: str) -> int:
    result = await session.exec(
        update(Notification)
        .where(Notification.sequence_run_id == run_id, Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.CANCELLED, failure_reason=reason, updated_at=current_time())
    )
    return result.rowcount


async def responses_for_exception(*, session: AsyncSession, tenant_id: int, exception_id: int) -> list[CustomerResponse]:
    rows = await session.exec(
        select(CustomerResponse)
        .where(CustomerResponse.tenant_id == tenant_id, CustomerResponse.exception_id == exception_id)
        .order_by(col(CustomerResponse.id))
    )
    return list(rows.all())


def next_windows(*, window_start: datetime, window_end: datetime, now: datetime, count: int = 3) -> list[tuple[datetime, datetime]]:
    """The same time window on the next days that are still ahead: what a reschedule can offer without a planner."""
    windows: list[tuple[datetime, datetime]] = []
    day = 1
    while len(windows) < count:
        start, end = window_start + timedelta(days=day), window_end + timedelta(days=day)
        if start > now:
            windows.append((start, end))
        day += 1
    return windows
