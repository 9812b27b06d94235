"""A customer's communications history: every SMS and push sent, every answer, every call note, newest first.

Three tables feed one list. A page is read with one statement per table for every customer a request asks about
(a window function keeps `first + 1` rows per customer), so the SQL count does not grow with the list.
Order: time, then kind, then id, all descending; the cursor carries the three so a page boundary is exact.
"""
from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import DomainError, ErrorCode
from app.outreach.models import CustomerCall, CustomerResponse, Notification, NotificationChannel


class CommunicationKind(StrEnum):
    SMS = "SMS"
    PUSH = "PUSH"
    CUSTOMER_ANSWER = "CUSTOMER_ANSWER"
    CALL_NOTE = "CALL_NOTE"


@dataclass(frozen=True)
class Communication:
    kind: CommunicationKind
    occurred_at: datetime
    rank: int  # ties on time are broken by kind, then id
    row: Any

    @property
    def key(self) -> tuple[datetime, int, int]:
        return self.occurred_at, self.rank, self.row.id


@dataclass(frozen=True)
class _Source:
    model: Any
    time_column: str
    rank: int

    def kind_of(self, row: Any) -> CommunicationKind:
        if self.model is Notification:
            return CommunicationKind.PUSH if row.channel is NotificationChannel.PUSH else CommunicationKind.SMS
        return CommunicationKind.CUSTOMER_ANSWER if self.model is CustomerResponse else CommunicationKind.CALL_NOTE


SOURCES = (_Source(Notification, "created_at", 3), _Source(CustomerResponse, "received_at", 2), _Source(CustomerCall, "called_at", 1))
CURSOR_KIND = "communication"


def encode_cursor(item: Communication) -> str:
    at, rank, row_id = item.key
    return base64.urlsafe_b64encode(f"{CURSOR_KIND}:{at.isoformat()}|{rank}|{row_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, int, int] | None:
    if cursor is None:
        return None
    try:
        prefix, _, rest = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        at, rank, row_id = rest.split("|")
        parsed = datetime.fromisoformat(at)
        if prefix == CURSOR_KIND and parsed.tzinfo is not None:
            return parsed, int(rank), int(row_id)
    except (ValueError, UnicodeDecodeError):
        pass
    raise DomainError(ErrorCode.INVALID_INPUT, "the cursor is not one this list gave out", field="after")


def _after(source: _Source, cursor: tuple[datetime, int, int]):  # noqa: ANN202 - a SQL condition
    """Rows that come after the cursor in (time, kind, id) descending order, for one source of a fixed kind rank."""
    at, rank, row_id = cursor
    when, ident = getattr(source.model, source.time_column), source.model.id
    if source.rank < rank:
        return when <= at
    if source.rank > rank:
        return when < at
    return (when < at) | ((when == at) & (ident < row_id))


async def _read_source(
    session: AsyncSession, source: _Source, *, tenant_id: int, customer_ids: list[int], limit: int,
    cursor: tuple[datetime, int, int] | None,
) -> list[Communication]:
    model = source.model
    when = getattr(model, source.time_column)
    number = sa.func.row_number().over(partition_by=model.customer_id, order_by=(col(when).desc(), col(model.id).desc()))
    inner = select(model, number.label("position")).where(model.tenant_id == tenant_id, col(model.customer_id).in_(customer_ids))
    if cursor is not None:
        inner = inner.where(_after(source, cursor))
    page = inner.subquery()
    row_alias = aliased(model, page)
    rows = (await session.exec(select(row_alias).where(page.c.position <= limit))).all()
    return [Communication(source.kind_of(row), getattr(row, source.time_column), source.rank, row) for row in rows]


async def pages(
    session: AsyncSession, *, tenant_id: int, customer_ids: list[int], first: int, after: str | None,
) -> dict[int, list[Communication]]:
    """Up to `first + 1` communications per customer after the cursor, newest first (the extra one says there is more)."""
    cursor = decode_cursor(after)
    merged: dict[int, list[Communication]] = defaultdict(list)
    for source in SOURCES:
        for item in await _read_source(session, source, tenant_id=tenant_id, customer_ids=customer_ids, limit=first + 1, cursor=cursor):
            merged[item.row.customer_id].append(item)
    return {cid: sorted(merged.get(cid, []), key=lambda item: item.key, reverse=True)[: first + 1] for cid in customer_ids}
