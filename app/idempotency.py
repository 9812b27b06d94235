"""Fingerprints that tell a retry (same request) from a reused key (different request)."""
import hashlib
import json
from typing import Any

from app.errors import DomainError, ErrorCode


def fingerprint(payload: dict[str, Any]) -> str:
    """A stable hash of a request's content."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_same_request(stored: str | None, incoming: str) -> None:
    if stored != incoming:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was already used for a different request",
            field="idempotencyKey",
        )
