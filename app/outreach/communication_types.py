"""GraphQL types of a customer's communications history and of dispatchers' call notes."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from app.api.common import PageInfo
from app.errors import DomainError
from app.outreach import communications
from app.outreach.channels import mask_recipient
from app.outreach.communications import Communication, CommunicationKind
from app.outreach.links import LINK_MARKER
from app.outreach.models import CallOutcome, ConsentRecord, ConsentSource, ConsentStatus, CustomerCall, CustomerResponse, Notification
from app.outreach.redaction import redact
from app.outreach.types import CustomerResponseType, NotificationType

CommunicationKindType = strawberry.enum(
    CommunicationKind, name="CommunicationKind",
    description="SMS and PUSH: a message Detour sent; CUSTOMER_ANSWER: what the customer replied or chose; CALL_NOTE: a dispatcher's call.",
)
CallOutcomeType = strawberry.enum(CallOutcome, name="CallOutcome", description="How a dispatcher's call to the customer went.")
ConsentStatusType = strawberry.enum(ConsentStatus, name="ConsentStatus")
ConsentSourceType = strawberry.enum(ConsentSource, name="ConsentSource", description="Who said it: the CRM, a STOP/START reply, the carrier, a dispatcher.")


@strawberry.type(name="SmsConsent", description="The SMS consent record in force for the customer's number.")
class SmsConsentType:
    status: ConsentStatusType
    source: ConsentSourceType
    captured_at: datetime

    @classmethod
    def from_row(cls, row: ConsentRecord) -> SmsConsentType:
        return cls(status=row.status, source=row.source, captured_at=row.captured_at)


@strawberry.enum(name="CommunicationDirection")
class CommunicationDirection(Enum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


@strawberry.type(name="CustomerCallNote", description="A dispatcher's note of a phone call with the customer.")
class CustomerCallNoteType:
    id: strawberry.ID
    outcome: CallOutcomeType
    note: str
    called_at: datetime
    exception_id: strawberry.ID | None
    author_id: strawberry.ID | None = strawberry.field(description="The dispatcher who wrote the note.")

    @classmethod
    def from_row(cls, row: CustomerCall) -> CustomerCallNoteType:
        return cls(
            id=strawberry.ID(str(row.id)), outcome=row.outcome, note=row.note, called_at=row.called_at,
            exception_id=strawberry.ID(str(row.exception_id)) if row.exception_id else None,
            author_id=strawberry.ID(str(row.author_id)) if row.author_id else None,
        )


def _masked_details(details: dict[str, Any]) -> dict[str, Any]:
    """An answer's details with any phone number (a neighbour's, say) masked as everywhere else."""
    return {k: mask_recipient(v) if k == "phone" and isinstance(v, str) else v for k, v in details.items()}


@strawberry.type(name="Communication", description="One entry of a customer's communications history.")
class CommunicationType:
    id: strawberry.ID = strawberry.field(description="Unique within the history, e.g. SMS:12 or CALL_NOTE:3.")
    kind: CommunicationKindType
    direction: CommunicationDirection
    occurred_at: datetime = strawberry.field(description="When it was written (messages: queued; answers: received; calls: noted).")
    text: str | None = strawberry.field(description="Messages with <link> and <code> placeholders; the customer's words; the call note.")
    recipient: str | None = strawberry.field(description="Masked, e.g. +316…78 (messages only).")
    stop_id: strawberry.ID | None
    exception_id: strawberry.ID | None
    notification: NotificationType | None = strawberry.field(description="SMS and PUSH: the outbox row, with its delivery status.")
    answer: CustomerResponseType | None = strawberry.field(description="CUSTOMER_ANSWER: the option chosen (phone numbers masked).")
    call: CustomerCallNoteType | None = strawberry.field(description="CALL_NOTE: the note.")

    @classmethod
    def from_item(cls, item: Communication) -> CommunicationType:
        row = item.row
        common = {
            "id": strawberry.ID(f"{item.kind.value}:{row.id}"), "kind": item.kind, "occurred_at": item.occurred_at,
            "exception_id": strawberry.ID(str(row.exception_id)) if row.exception_id else None,
            "notification": None, "answer": None, "call": None, "recipient": None,
        }
        if isinstance(row, Notification):
            return cls(**{**common, "direction": CommunicationDirection.OUTBOUND, "text": redact(row.body.replace(LINK_MARKER, "<link>")),
                          "recipient": mask_recipient(row.recipient), "stop_id": _id(row.stop_id),
                          "notification": NotificationType.from_row(row)})
        if isinstance(row, CustomerResponse):
            answer = CustomerResponseType.from_row(row)
            answer.details = _masked_details(row.details or {})
            return cls(**{**common, "direction": CommunicationDirection.INBOUND, "text": row.text or row.option.value,
                          "stop_id": _id(row.stop_id), "answer": answer})
        return cls(**{**common, "direction": CommunicationDirection.OUTBOUND, "text": row.note, "stop_id": None,
                      "call": CustomerCallNoteType.from_row(row)})


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value else None


@strawberry.type(name="CommunicationEdge")
class CommunicationEdge:
    cursor: str
    node: CommunicationType


@strawberry.type(name="CommunicationConnection", description="A customer's communications, newest first.")
class CommunicationConnection:
    edges: list[CommunicationEdge]
    page_info: PageInfo


def connection(items: list[Communication], *, first: int, after: str | None) -> CommunicationConnection:
    edges = [CommunicationEdge(cursor=communications.encode_cursor(i), node=CommunicationType.from_item(i)) for i in items[:first]]
    return CommunicationConnection(edges=edges, page_info=PageInfo(
        has_next_page=len(items) > first, has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None,
    ))


def communications_connection_loader(session: AsyncSession, tenant_id: int) -> DataLoader:
    """Connections keyed by (customer id, first, after); a cursor that is not ours fails only the fields that sent it."""

    async def load(keys: Sequence[tuple[int, int, str | None]]) -> list[CommunicationConnection | BaseException]:
        by_arguments: dict[tuple[int, str | None], list[int]] = {}
        for customer_id, first, after in keys:
            by_arguments.setdefault((first, after), []).append(customer_id)
        found: dict[tuple[int, int, str | None], CommunicationConnection | BaseException] = {}
        for (first, after), customer_ids in by_arguments.items():
            try:
                pages = await communications.pages(session, tenant_id=tenant_id, customer_ids=sorted(set(customer_ids)), first=first, after=after)
            except DomainError as error:
                found.update({(cid, first, after): error for cid in customer_ids})
                continue
            found.update({(cid, first, after): connection(pages[cid], first=first, after=after) for cid in customer_ids})
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)
