"""The demo inside the embedded `serve` (and `detour simulate`): a clock that runs `speed` times faster, and the loop."""
import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from app.clock import SYSTEM_CLOCK, Clock
from app.demo.day import RESEEDED, ensure_demo_day
from app.demo.simulator import SimulationConfig, Simulator
from app.runtime import Runtime
from app.seed import DEPOT

log = logging.getLogger(__name__)
DEMO_TZ = ZoneInfo(DEPOT["timezone"])


@dataclass
class ScaledClock:
    """System time, `factor` times faster from the moment it was made (factor 1 is the system clock)."""

    factor: float = 1.0
    origin: datetime = field(default_factory=SYSTEM_CLOCK.now)

    def now(self) -> datetime:
        return self.origin + (SYSTEM_CLOCK.now() - self.origin) * self.factor


def quiet_http_logs() -> None:
    """The simulator's own API calls would flood the log at INFO (one line per GPS batch)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)


def demo_clock(speed: float) -> Clock:
    return SYSTEM_CLOCK if speed == 1 else ScaledClock(speed)


async def run_demo(runtime: Runtime, http: httpx.AsyncClient, stop: asyncio.Event, *, speed: float, seed: int) -> None:
    """Simulate until `stop` is set; a new demo day is seeded when the service date has passed."""
    quiet_http_logs()
    config = SimulationConfig(seed=seed)
    simulator: Simulator | None = None
    day_checked = None
    while not stop.is_set():
        try:
            today = runtime.clock.now().astimezone(DEMO_TZ).date()
            if day_checked != today:
                if await ensure_demo_day(runtime) == RESEEDED or simulator is None:
                    simulator = Simulator(runtime, http, clock=runtime.clock, config=config)
                    await simulator.start()
                day_checked = today
            await simulator.step()
        except Exception:  # the demo must never take the server down
            log.exception("demo simulator step failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=config.tick_seconds / speed)
        except TimeoutError:
            pass
