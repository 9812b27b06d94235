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
