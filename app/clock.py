"""Where every "now" comes from: the system clock in production, a frozen one in tests and simulations."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_TIME_ZONE_NAME = 64  # the longest IANA name is 32 characters (America/Argentina/ComodRivadavia)


def is_time_zone(name: object) -> bool:
    """An IANA time zone name that zoneinfo can load; never raises (a 1 MB or path-like name is just not one)."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_TIME_ZONE_NAME or "\x00" in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for the file system
        return False
    return True


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


SYSTEM_CLOCK = SystemClock()
# The clock of the operation in progress (a unit of work, a GraphQL request, a worker pass): row timestamps
# (created_at, occurred_at, ...) and service-level stamps follow it, so work done under a frozen clock carries
# the frozen time. Flows read `uow.clock.now()` / `runtime.clock.now()` explicitly.
_writing_clock: ContextVar[Clock] = ContextVar("detour_writing_clock", default=SYSTEM_CLOCK)


def current_time() -> datetime:
    """The time on the clock of the operation in progress (the default of every timestamp column)."""
    return _writing_clock.get().now()


@contextmanager
def writing_with(clock: Clock) -> Iterator[None]:
    """Work done inside (rows created, stamps set) takes its time from `clock`."""
    token = _writing_clock.set(clock)
    try:
        yield
    finally:
        _writing_clock.reset(token)
