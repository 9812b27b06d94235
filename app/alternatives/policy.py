"""A tenant's approval policy as data, and the pure function that applies it to one proposal."""
from dataclasses import dataclass
from typing import Any

from app.alternatives.models import AlternativeKind, DecisionOutcome, ProposerKind
from app.delivery_exceptions.models import ExceptionKind
from app.errors import invalid

K = AlternativeKind

# The parcel leaves the carrier without the customer's own signature: value and signature limits apply.
UNATTENDED_KINDS = frozenset({K.NEIGHBOR_HANDOVER, K.SECURE_DROPOFF, K.PICKUP_POINT})


@dataclass(frozen=True)
class PolicyRules:
    """What a tenant allows; stored as JSON in tenant_policy.rules (camelCase keys)."""

    enabled_kinds: frozenset[AlternativeKind] = frozenset(K)
    dispatcher_may_approve: frozenset[AlternativeKind] = frozenset(K) - {K.RETURN_TO_DEPOT}
    customer_self_service: frozenset[AlternativeKind] = frozenset(
        {K.RESCHEDULE, K.NEIGHBOR_HANDOVER, K.SECURE_DROPOFF, K.PICKUP_POINT}
    )
    value_limit_cents: int | None = 50_000
    signature_needs_supervisor: bool = True
    auto_approve_preselected_safe_place: bool = True
    auto_approve_pickup_point_after_last_attempt: bool = True
    max_attempts: int = 2

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "PolicyRules":
        """Rules from their JSON form; missing keys take the defaults, wrong ones are INVALID_INPUT."""
        known = {
            "enabledKinds", "dispatcherMayApprove", "customerSelfService", "valueLimitCents",
            "signatureNeedsSupervisor", "autoApprove", "maxAttempts",
        }
        unknown = set(data) - known
        if unknown:
            raise invalid(f"unknown policy keys: {', '.join(sorted(unknown))}", "rules")
        defaults = cls()
        auto = data.get("autoApprove", {})
        if not isinstance(auto, dict) or set(auto) - {"preselectedSafePlace", "pickupPointAfterLastAttempt"}:
            raise invalid("autoApprove takes preselectedSafePlace and pickupPointAfterLastAttempt", "rules")
        limit = data.get("valueLimitCents", defaults.value_limit_cents)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise invalid("valueLimitCents is a non-negative integer or null", "rules")
        attempts = data.get("maxAttempts", defaults.max_attempts)
        if not isinstance(attempts, int) or attempts < 1:
            raise invalid("maxAttempts is a positive integer", "rules")
        return cls(
            enabled_kinds=_kinds(data, "enabledKinds", defaults.enabled_kinds),
            dispatcher_may_approve=_kinds(data, "dispatcherMayApprove", defaults.dispatcher_may_approve),
            customer_self_service=_kinds(data, "customerSelfService", defaults.customer_self_service),
            value_limit_cents=limit,
            signature_needs_supervisor=_flag(data, "signatureNeedsSupervisor", defaults.signature_needs_supervisor),
            auto_approve_preselected_safe_place=_flag(auto, "preselectedSafePlace", defaults.auto_approve_preselected_safe_place),
            auto_approve_pickup_point_after_last_attempt=_flag(
                auto, "pickupPointAfterLastAttempt", defaults.auto_approve_pickup_point_after_last_attempt
            ),
            max_attempts=attempts,
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "enabledKinds": sorted(k.value for k in self.enabled_kinds),
            "dispatcherMayApprove": sorted(k.value for k in self.dispatcher_may_approve),
            "customerSelfService": sorted(k.value for k in self.customer_self_service),
            "valueLimitCents": self.value_limit_cents,
            "signatureNeedsSupervisor": self.signature_needs_supervisor,
            "autoApprove": {
                "preselectedSafePlace": self.auto_approve_preselected_safe_place,
                "pickupPointAfterLastAttempt": self.auto_approve_pickup_point_after_last_attempt,
            },
            "maxAttempts": self.max_attempts,
        }


def _kinds(data: dict[str, Any], key: str, default: frozenset[AlternativeKind]) -> frozenset[AlternativeKind]:
    if key not in data:
        return default
    values = data[key]
    if not isinstance(values, list) or any(v not in K.__members__ for v in values):
        raise invalid(f"{key} is a list of: {', '.join(K)}", "rules")
    return frozenset(K(v) for v in values)


def _flag(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise invalid(f"{key} is true or false", "rules")
    return value


@dataclass(frozen=True)
class Proposal:
    """What the policy needs to know about a proposed alternative."""

    kind: AlternativeKind
    exception_kind: ExceptionKind
    attempts_made: int
    neighbor_consented: bool = False
    safe_place_preselected: bool = False


@dataclass(frozen=True)
class ParcelFacts:
    declared_value_cents: int
    signature_required: bool


@dataclass(frozen=True)
class Decision:
    outcome: DecisionOutcome
    rule: str


def decide(rules: PolicyRules, proposal: Proposal, parcels: list[ParcelFacts], proposer: ProposerKind) -> Decision:
    """Who must approve this proposal (or whether it is approved or refused outright), and the rule that said so."""
    kind = proposal.kind
    if kind not in rules.enabled_kinds:
        return Decision(DecisionOutcome.REFUSED, "kind_disabled")
    explicit_choice = proposer is ProposerKind.CUSTOMER
    if kind is K.NEIGHBOR_HANDOVER and not proposal.neighbor_consented and not explicit_choice:
        return Decision(DecisionOutcome.REFUSED, "neighbor_consent_required")
    if kind in UNATTENDED_KINDS and not explicit_choice:
        # The customer's own choice lifts these limits; anyone else needs a supervisor.
        limit = rules.value_limit_cents
        if limit is not None and sum(p.declared_value_cents for p in parcels) > limit:
            return Decision(DecisionOutcome.NEEDS_SUPERVISOR, "value_limit")
        if rules.signature_needs_supervisor and any(p.signature_required for p in parcels):
            return Decision(DecisionOutcome.NEEDS_SUPERVISOR, "signature_required")
    if kind is K.SECURE_DROPOFF and proposal.safe_place_preselected and rules.auto_approve_preselected_safe_place:
        return Decision(DecisionOutcome.APPROVED_AUTOMATICALLY, "preselected_safe_place")
    if (
        kind is K.PICKUP_POINT
        and rules.auto_approve_pickup_point_after_last_attempt
        and proposal.exception_kind is ExceptionKind.CUSTOMER_ABSENT
        and proposal.attempts_made >= rules.max_attempts
    ):
        return Decision(DecisionOutcome.APPROVED_AUTOMATICALLY, "pickup_point_after_last_attempt")
    if explicit_choice and kind in rules.customer_self_service:
        return Decision(DecisionOutcome.APPROVED_AUTOMATICALLY, "customer_choice")
    if kind in rules.dispatcher_may_approve:
        return Decision(DecisionOutcome.NEEDS_DISPATCHER, "dispatcher_may_approve")
    return Decision(DecisionOutcome.NEEDS_SUPERVISOR, "supervisor_only")


def may_approve(decision: DecisionOutcome, approver: ProposerKind) -> bool:
    """Whether a person in this role may approve what the policy asked for."""
    if decision is DecisionOutcome.NEEDS_DISPATCHER:
        return approver in (ProposerKind.DISPATCHER, ProposerKind.SUPERVISOR)
    if decision is DecisionOutcome.NEEDS_SUPERVISOR:
        return approver is ProposerKind.SUPERVISOR
    return False
