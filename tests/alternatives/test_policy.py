"""The approval policy is a pure function of the tenant's rules and the proposal: one row per rule and limit."""
import pytest

from app.alternatives.models import AlternativeKind as K
from app.alternatives.models import DecisionOutcome as D
from app.alternatives.models import ProposerKind as P
from app.alternatives.policy import ParcelFacts, PolicyRules, Proposal, decide, may_approve
from app.delivery_exceptions.models import ExceptionKind as E
from app.errors import DomainError, ErrorCode

CHEAP = [ParcelFacts(2_500, False), ParcelFacts(4_000, False)]
VALUABLE = [ParcelFacts(40_000, False), ParcelFacts(30_000, False)]  # 700 € together, above the 500 € default
SIGNED = [ParcelFacts(1_000, True)]
DEFAULT = PolicyRules()

CASES = [
    # (id, rules, proposal, parcels, proposer, outcome, rule)
    ("kind disabled", PolicyRules(enabled_kinds=frozenset(K) - {K.SECURE_DROPOFF}),
     Proposal(K.SECURE_DROPOFF, E.CUSTOMER_ABSENT, 1), CHEAP, P.CUSTOMER, D.REFUSED, "kind_disabled"),
    ("neighbour without consent", DEFAULT,
     Proposal(K.NEIGHBOR_HANDOVER, E.CUSTOMER_ABSENT, 1), CHEAP, P.DRIVER, D.REFUSED, "neighbor_consent_required"),
    ("neighbour the customer names", DEFAULT,
     Proposal(K.NEIGHBOR_HANDOVER, E.CUSTOMER_ABSENT, 1), CHEAP, P.CUSTOMER, D.APPROVED_AUTOMATICALLY, "customer_choice"),
    ("consented neighbour, driver", DEFAULT,
     Proposal(K.NEIGHBOR_HANDOVER, E.CUSTOMER_ABSENT, 1, neighbor_consented=True), CHEAP, P.DRIVER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("value above the limit", DEFAULT,
     Proposal(K.NEIGHBOR_HANDOVER, E.CUSTOMER_ABSENT, 1, neighbor_consented=True), VALUABLE, P.DISPATCHER, D.NEEDS_SUPERVISOR, "value_limit"),
    ("value above the limit, customer's explicit choice", DEFAULT,
     Proposal(K.NEIGHBOR_HANDOVER, E.CUSTOMER_ABSENT, 1, neighbor_consented=True), VALUABLE, P.CUSTOMER, D.APPROVED_AUTOMATICALLY, "customer_choice"),
    ("no value limit", PolicyRules(value_limit_cents=None),
     Proposal(K.NEIGHBOR_HANDOVER, E.CUSTOMER_ABSENT, 1, neighbor_consented=True), VALUABLE, P.DRIVER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("signature required", DEFAULT,
     Proposal(K.SECURE_DROPOFF, E.CUSTOMER_ABSENT, 1), SIGNED, P.DRIVER, D.NEEDS_SUPERVISOR, "signature_required"),
    ("signature rule off", PolicyRules(signature_needs_supervisor=False),
     Proposal(K.SECURE_DROPOFF, E.CUSTOMER_ABSENT, 1), SIGNED, P.DRIVER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("limits do not apply to a reschedule", DEFAULT,
     Proposal(K.RESCHEDULE, E.CUSTOMER_ABSENT, 1), VALUABLE + SIGNED, P.DRIVER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("safe place chosen in advance", DEFAULT,
     Proposal(K.SECURE_DROPOFF, E.CUSTOMER_ABSENT, 1, safe_place_preselected=True), CHEAP, P.DRIVER, D.APPROVED_AUTOMATICALLY, "preselected_safe_place"),
    ("safe place chosen in advance, auto-approval off", PolicyRules(auto_approve_preselected_safe_place=False),
     Proposal(K.SECURE_DROPOFF, E.CUSTOMER_ABSENT, 1, safe_place_preselected=True), CHEAP, P.DRIVER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("safe place chosen in advance but a signature is needed", DEFAULT,
     Proposal(K.SECURE_DROPOFF, E.CUSTOMER_ABSENT, 1, safe_place_preselected=True), SIGNED, P.DRIVER, D.NEEDS_SUPERVISOR, "signature_required"),
    ("pickup point after the last attempt", DEFAULT,
     Proposal(K.PICKUP_POINT, E.CUSTOMER_ABSENT, 2), CHEAP, P.RULE, D.APPROVED_AUTOMATICALLY, "pickup_point_after_last_attempt"),
    ("pickup point before the last attempt", DEFAULT,
     Proposal(K.PICKUP_POINT, E.CUSTOMER_ABSENT, 1), CHEAP, P.RULE, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("pickup point after the last attempt, not an absence", DEFAULT,
     Proposal(K.PICKUP_POINT, E.ACCESS_DENIED, 3), CHEAP, P.DRIVER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("pickup point after a third attempt where three are allowed", PolicyRules(max_attempts=3),
     Proposal(K.PICKUP_POINT, E.CUSTOMER_ABSENT, 3), CHEAP, P.DRIVER, D.APPROVED_AUTOMATICALLY, "pickup_point_after_last_attempt"),
    ("customer choice outside self-service", DEFAULT,
     Proposal(K.ADDRESS_CORRECTION, E.ADDRESS_PROBLEM, 1), CHEAP, P.CUSTOMER, D.NEEDS_DISPATCHER, "dispatcher_may_approve"),
    ("supervisor-only kind", DEFAULT,
     Proposal(K.RETURN_TO_DEPOT, E.REFUSED, 1), CHEAP, P.DISPATCHER, D.NEEDS_SUPERVISOR, "supervisor_only"),
    ("kind taken from dispatchers", PolicyRules(dispatcher_may_approve=frozenset({K.RESCHEDULE})),
     Proposal(K.ADDRESS_CORRECTION, E.ADDRESS_PROBLEM, 1), CHEAP, P.DRIVER, D.NEEDS_SUPERVISOR, "supervisor_only"),
]


@pytest.mark.parametrize(("rules", "proposal", "parcels", "proposer", "outcome", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy_decides_with_the_rule_that_applies(rules, proposal, parcels, proposer, outcome, rule):
    # given the rules, the proposal and its parcels
    # when the policy decides
    decision = decide(rules, proposal, parcels, proposer)
    # then the outcome and the deciding rule are the expected ones
    assert (decision.outcome, decision.rule) == (outcome, rule)


@pytest.mark.parametrize(
    ("decision", "approver", "allowed"),
    [
        (D.NEEDS_DISPATCHER, P.DISPATCHER, True),
        (D.NEEDS_DISPATCHER, P.SUPERVISOR, True),
        (D.NEEDS_DISPATCHER, P.DRIVER, False),
        (D.NEEDS_SUPERVISOR, P.DISPATCHER, False),
        (D.NEEDS_SUPERVISOR, P.SUPERVISOR, True),
        (D.REFUSED, P.SUPERVISOR, False),
    ],
)
def test_who_may_approve_what_the_policy_asked_for(decision, approver, allowed):
    assert may_approve(decision, approver) is allowed


def test_rules_round_trip_through_their_stored_form():
    # given rules that differ from the defaults everywhere
    rules = PolicyRules(
        enabled_kinds=frozenset({K.RESCHEDULE, K.PICKUP_POINT}), dispatcher_may_approve=frozenset({K.RESCHEDULE}),
        customer_self_service=frozenset(), value_limit_cents=None, signature_needs_supervisor=False,
        auto_approve_preselected_safe_place=False, auto_approve_pickup_point_after_last_attempt=False, max_attempts=4,
    )
    # when stored and read back, then nothing is lost
    assert PolicyRules.from_data(rules.to_data()) == rules


@pytest.mark.parametrize(
    "data",
    [{"enabledKinds": ["TELEPORT"]}, {"valueLimitCents": -1}, {"maxAttempts": 0}, {"autoApprove": {"always": True}}, {"surprise": 1}],
)
def test_malformed_rules_are_refused_with_a_typed_error(data):
    with pytest.raises(DomainError) as refused:
        PolicyRules.from_data(data)
    assert refused.value.code is ErrorCode.INVALID_INPUT
