"""Caps on live sockets: per process, per principal (tenant and user); subscriptions per socket are strawberry's."""
from collections import Counter
from dataclasses import dataclass, field

PROCESS_FULL_CLOSE_CODE = 1013  # "try again later": this process holds as many sockets as it may
PRINCIPAL_FULL_CODE = "TOO_MANY_SOCKETS"


@dataclass
class SocketSlot:
    """One socket's hold on the limiter: entered on connect, bound to its principal once authenticated."""

    principal: tuple[int, int] | None = None


@dataclass
class SocketLimiter:
    per_process: int
    per_principal: int
    live: int = 0
    by_principal: Counter = field(default_factory=Counter)

    def enter(self) -> SocketSlot | None:
        """A slot for a new socket, or None when the process is full."""
        if self.live >= self.per_process:
            return None
        self.live += 1
        return SocketSlot()

    def bind(self, slot: SocketSlot, principal: tuple[int, int]) -> bool:
        """Count the socket against its principal; False (not counted) when that principal has too many."""
        if self.by_principal[principal] >= self.per_principal:
            return False
        self.by_principal[principal] += 1
        slot.principal = principal
        return True

    def leave(self, slot: SocketSlot) -> None:
        self.live -= 1
        if slot.principal is not None:
            self.by_principal[slot.principal] -= 1
            if self.by_principal[slot.principal] <= 0:
                del self.by_principal[slot.principal]
            slot.principal = None
