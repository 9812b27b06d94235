"""Run the history generator from the command line, with a progress bar on stderr."""
import sys
import time
from typing import TextIO

from app.analytics.generator import generate
from app.config import Settings
from app.db import create_engine


class ProgressBar:
    """`[#####-----]  50% 500,000/1,000,000 exceptions  8,000/s  ETA 1m02s`, redrawn in place."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream, self.width, self.started = stream or sys.stderr, width, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        share = done / total if total else 1.0
        rate = done / elapsed
        eta = (total - done) / rate if rate else 0.0
        filled = int(self.width * share)
        self.stream.write(
            f"\r[{'#' * filled}{'-' * (self.width - filled)}] {share:4.0%} {done:,}/{total:,} exceptions"
            f"  {rate:,.0f}/s  ETA {int(eta // 60)}m{int(eta % 60):02d}s "
        )
        self.stream.flush()

    def finish(self) -> float:
        self.stream.write("\n")
        return time.monotonic() - self.started


async def seed_history(settings: Settings, *, exceptions: int, days: int, slug: str | None) -> str:
    """Generate the history in one transaction; returns a one-line summary."""
    engine = create_engine(settings.database_url)
    bar = ProgressBar()
    try:
        async with engine.begin() as connection:
            tenant_id = await generate(connection, exceptions=exceptions, days=days, slug=slug, progress=bar)
    finally:
        await engine.dispose()
    seconds = bar.finish()
    return f"tenant {tenant_id} ({slug or f'scale-{exceptions}'}): {exceptions:,} exceptions over {days} days in {seconds:.0f} s"
