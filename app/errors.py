"""Expected failures: a stable code an API client can branch on, and a message a person can read."""
from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    FORBIDDEN = "FORBIDDEN"
    STOP_HAS_OPEN_EXCEPTION = "STOP_HAS_OPEN_EXCEPTION"
    STOP_ALREADY_COMPLETED = "STOP_ALREADY_COMPLETED"
    LINK_EXPIRED = "LINK_EXPIRED"
    LINK_INVALID = "LINK_INVALID"
    LINK_USED = "LINK_USED"
    CUSTOMER_UNREACHABLE = "CUSTOMER_UNREACHABLE"
    ACCESS_REFUSED = "ACCESS_REFUSED"
    DIGITAL_KEY_FAILED = "DIGITAL_KEY_FAILED"
    NO_OPEN_EXCEPTION = "NO_OPEN_EXCEPTION"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    CODE_INVALID = "CODE_INVALID"
    CODE_EXPIRED = "CODE_EXPIRED"
    CODE_ALREADY_USED = "CODE_ALREADY_USED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    PICKUP_POINT_FULL = "PICKUP_POINT_FULL"
    PICKUP_POINT_CLOSED = "PICKUP_POINT_CLOSED"
    POLICY_REFUSED = "POLICY_REFUSED"
    POLICY_REQUIRES_SUPERVISOR = "POLICY_REQUIRES_SUPERVISOR"
    ALTERNATIVE_ALREADY_DECIDED = "ALTERNATIVE_ALREADY_DECIDED"
    REPLANNING_FAILED = "REPLANNING_FAILED"


class DomainError(Exception):
    """An expected failure; nothing was changed."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str, field: str | None = "id") -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found", field=field)


def invalid(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, message, field=field)


def ensure_version(*, current: int, expected: int, what: str) -> None:
    """Refuse a write based on a stale read (optimistic concurrency)."""
    if current != expected:
        raise DomainError(
            ErrorCode.VERSION_CONFLICT,
            f"{what} changed since you loaded it (version {current}, you sent {expected}); reload and retry",
            field="expectedVersion",
        )
