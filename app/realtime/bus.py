"""The wake-up call after a commit: a small notice on broadcaster channels; the event table stays the truth."""
import json
import logging
from dataclasses import dataclass
from typing import Any

from broadcaster import Broadcast

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """Something changed: `channel` names who cares, `payload` holds ids, never secrets."""

    channel: str
    payload: dict[str, Any]


def depot_channel(tenant_id: int, depot_id: int) -> str:
    return f"detour.t{tenant_id}.depot.{depot_id}"


def route_channel(tenant_id: int, route_id: int) -> str:
    return f"detour.t{tenant_id}.route.{route_id}"


class Bus:
    """Publishes notices through broadcaster; a broker failure is logged, never raised into a committed write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.broadcast = Broadcast(url)
        self.connected = False

    async def connect(self) -> None:
        await self.broadcast.connect()
        self.connected = True

    async def disconnect(self) -> None:
        if self.connected:
            self.connected = False
            await self.broadcast.disconnect()

    async def publish(self, notices: list[Notice]) -> None:
        for notice in notices:
            try:
                await self.broadcast.publish(channel=notice.channel, message=json.dumps(notice.payload))
            except Exception:  # the row is committed; subscribers catch up from the event table
                log.warning("broadcast publish failed", extra={"channel": notice.channel}, exc_info=True)
