"""Every transition, legal and illegal, checked in the one place that decides them."""
import pytest

from app.delivery_exceptions.lifecycle import ALLOWED_TRANSITIONS, ensure_transition, status_after
from app.delivery_exceptions.models import ExceptionStatus, ResolutionOutcome
from app.errors import DomainError, ErrorCode

S = ExceptionStatus
LEGAL = {
    (S.OPEN, S.CONTACTING_CUSTOMER), (S.OPEN, S.AWAITING_DECISION), (S.OPEN, S.ACTION_APPROVED), (S.OPEN, S.RESOLVED), (S.OPEN, S.FAILED),
    (S.CONTACTING_CUSTOMER, S.AWAITING_DECISION), (S.CONTACTING_CUSTOMER, S.ACTION_APPROVED), (S.CONTACTING_CUSTOMER, S.RESOLVED),
    (S.CONTACTING_CUSTOMER, S.FAILED),
    (S.AWAITING_DECISION, S.CONTACTING_CUSTOMER), (S.AWAITING_DECISION, S.ACTION_APPROVED), (S.AWAITING_DECISION, S.RESOLVED),
    (S.AWAITING_DECISION, S.FAILED),
    (S.ACTION_APPROVED, S.AWAITING_DECISION), (S.ACTION_APPROVED, S.RESOLVED), (S.ACTION_APPROVED, S.FAILED),
}
ALL_PAIRS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transition_is_allowed(current, target):
    ensure_transition(current, target)  # then: no error


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_is_a_typed_error(current, target):
    with pytest.raises(DomainError) as caught:
        ensure_transition(current, target)
    assert caught.value.code is ErrorCode.INVALID_TRANSITION


def test_table_and_legal_set_agree():
    assert {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(o, S.FAILED if o in (ResolutionOutcome.RETURNED_TO_DEPOT, ResolutionOutcome.CANCELLED) else S.RESOLVED) for o in ResolutionOutcome],
)
def test_outcome_decides_the_terminal_status(outcome, status):
    assert status_after(outcome) is status
