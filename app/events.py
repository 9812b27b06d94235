"""Domain events: what a flow records on its unit of work, for other domains to react to (see app/handlers.py).

Events carry ids and plain values, never secrets (codes, tokens, phone numbers): handlers load what they need.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    tenant_id: int


@dataclass(frozen=True)
class ExceptionReported(Event):
    """A driver (or the system) opened an exception on a stop; `event_id` is its REPORTED timeline entry."""

    exception_id: int
    stop_id: int
    kind: str
    event_id: int


@dataclass(frozen=True)
class ExceptionStatusChanged(Event):
    exception_id: int
    previous: str
    status: str
    actor_role: str | None


@dataclass(frozen=True)
class ExceptionClosed(Event):
    exception_id: int
    stop_id: int
    outcome: str


@dataclass(frozen=True)
class StopDelivered(Event):
    """A driver handed the parcels over; whatever was still open on the stop is settled by it."""

    stop_id: int
    attempt_id: int
    driver_id: int
    note: str | None = None


@dataclass
class ProposalReply:
    """Filled in by the handler that turned a customer's choice into an alternative (None: refused or not handled)."""

    alternative_id: int | None = None


@dataclass(frozen=True)
class CustomerAnswered(Event):
    """The customer chose an alternative (by SMS reply, on the link page or in the app).

    `refusals_raise` says whether a refused choice fails the caller (page, app) or is kept as a note (SMS).
    """

    stop_id: int
    response_id: int
    option: str
    details: dict[str, Any] = field(default_factory=dict)
    refusals_raise: bool = True
    reply: ProposalReply = field(default_factory=ProposalReply, compare=False)


@dataclass(frozen=True)
class CustomerDidNotAnswer(Event):
    """The customer was asked and said nothing in time: a fallback chosen in advance may apply."""

    stop_id: int
    reply: ProposalReply = field(default_factory=ProposalReply, compare=False)


@dataclass(frozen=True)
class AlternativeApproved(Event):
    alternative_id: int
    exception_id: int
    kind: str
    approver_role: str


@dataclass(frozen=True)
class AlternativeExecuted(Event):
    """An approved alternative was carried out; `replan` says the route's remaining order should be solved again."""

    alternative_id: int
    exception_id: int
    stop_id: int
    route_id: int
    kind: str
    replan: bool


@dataclass(frozen=True)
class RouteChanged(Event):
    """A route got a new version; `change` is its route event kind (ROUTE_REPLANNED: a solved plan, `plan_id`)."""

    route_id: int
    change: str
    stop_ids: tuple[int, ...] = ()
    version: int | None = None
    plan_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RouteEdited(Event):
    """A dispatcher added, moved or cancelled a stop; `replan` says the solver should order the route again
    (not when the dispatcher placed the stop at a position of their choosing)."""

    route_id: int
    reason: str
    replan: bool = True


@dataclass(frozen=True)
class PositionsReported(Event):
    driver_id: int
    route_id: int | None
    accepted: int
    eta_due: bool = True  # the route's live ETAs are due (read in the same transaction; the handler re-checks under lock)


@dataclass(frozen=True)
class LiveEtasUpdated(Event):
    """A route's live ETAs were recomputed from a GPS fix and written on its pending stops (`stop_ids`)."""

    route_id: int
    stop_ids: tuple[int, ...]


@dataclass(frozen=True)
class OperationalAlert(Event):
    """Something the tenant's supervisors must hear about (e.g. a webhook endpoint that keeps failing); `text` holds no secret."""

    kind: str
    text: str


@dataclass(frozen=True)
class StopsRunningLate(Event):
    """Live ETAs say several stops of one route will miss their windows: one replan proposal, not a storm."""

    route_id: int
    stop_ids: tuple[int, ...]


@dataclass(frozen=True)
class StopApproaching(Event):
    """The driver is within the proximity distance (or ETA) of a stop; `eta` is the live ETA (ISO 8601)."""

    stop_id: int
    route_id: int
    driver_id: int
    eta: str


@dataclass(frozen=True)
class AttemptRecorded(Event):
    """A delivery attempt (delivered, failed, or a handover) was written with the position the phone sent."""

    stop_id: int
    attempt_id: int
