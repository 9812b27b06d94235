"""The one place that decides which status may follow which."""
from app.delivery_exceptions.models import (
    TERMINAL_STATUSES,
    ExceptionStatus,
    ResolutionOutcome,
    ResolutionStep,
)
from app.errors import DomainError, ErrorCode

S = ExceptionStatus

ALLOWED_TRANSITIONS: dict[ExceptionStatus, frozenset[ExceptionStatus]] = {
    S.OPEN: frozenset({S.CONTACTING_CUSTOMER, S.AWAITING_DECISION, S.ACTION_APPROVED, S.RESOLVED, S.FAILED}),
    S.CONTACTING_CUSTOMER: frozenset({S.AWAITING_DECISION, S.ACTION_APPROVED, S.RESOLVED, S.FAILED}),
    S.AWAITING_DECISION: frozenset({S.CONTACTING_CUSTOMER, S.ACTION_APPROVED, S.RESOLVED, S.FAILED}),
    S.ACTION_APPROVED: frozenset({S.AWAITING_DECISION, S.RESOLVED, S.FAILED}),
    S.RESOLVED: frozenset(),
    S.FAILED: frozenset(),
}

STEP_FOR_STATUS: dict[ExceptionStatus, ResolutionStep] = {
    S.OPEN: ResolutionStep.IDENTIFIED,
    S.CONTACTING_CUSTOMER: ResolutionStep.CUSTOMER_CONTACTED,
    S.AWAITING_DECISION: ResolutionStep.CUSTOMER_CONTACTED,
    S.ACTION_APPROVED: ResolutionStep.CORRECTIVE_ACTION,
    S.RESOLVED: ResolutionStep.OUTCOME,
    S.FAILED: ResolutionStep.OUTCOME,
}

# Outcomes where the parcel did not reach anyone: the exception ends FAILED (returned to depot).
FAILING_OUTCOMES = frozenset({ResolutionOutcome.RETURNED_TO_DEPOT, ResolutionOutcome.CANCELLED})


def ensure_transition(current: ExceptionStatus, target: ExceptionStatus) -> None:
    """Raise INVALID_TRANSITION unless `target` may follow `current`."""
    if current in TERMINAL_STATUSES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"the exception is already {current.value}", field="status")
    if target not in ALLOWED_TRANSITIONS[current]:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"an exception cannot go from {current.value} to {target.value}",
            field="status",
        )


def status_after(outcome: ResolutionOutcome) -> ExceptionStatus:
    """The terminal status a resolution outcome leads to."""
    return S.FAILED if outcome in FAILING_OUTCOMES else S.RESOLVED
