"""Where every "now" comes from: the system clock in production, a frozen one in tests and simulations."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock that moves only when told to; `advance` replaces sleeping in tests."""

    at: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a frozen clock needs a timezone-aware time")
        self.at = self.at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta | float) -> datetime:
        self.at += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)
