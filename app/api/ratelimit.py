"""Leaky-bucket budgets per API key and per user: in process in the embedded mode, in Redis when scaled."""
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.config import Settings


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # seconds until the cost fits (0 when allowed)
    reset: int  # seconds until the bucket is empty again


class Bucket(Protocol):
    async def take(self, key: str, cost: int, now: datetime) -> Decision: ...


def _decide(level: float, cost: int, capacity: int) -> tuple[bool, float]:
    """(allowed, the level after): a cost that does not fit leaves the bucket as it was."""
    return (True, level + cost) if level + cost <= capacity else (False, level)


def _decision(allowed: bool, level: float, cost: int, capacity: int, rate: float) -> Decision:
    retry = 0 if allowed else math.ceil((level + cost - capacity) / rate)
    return Decision(allowed, max(0, int(capacity - level)), retry, math.ceil(level / rate))


class MemoryBucket:
    """The embedded mode's buckets: one process serves every request."""

    def __init__(self, capacity: int, rate: float) -> None:
        self.capacity, self.rate = capacity, rate
        self.levels: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, cost: int, now: datetime) -> Decision:
        stamp = now.timestamp()
        level, since = self.levels.get(key, (0.0, stamp))
        level = max(0.0, level - max(0.0, stamp - since) * self.rate)
        allowed, level = _decide(level, cost, self.capacity)
        self.levels[key] = (level, stamp)
        return _decision(allowed, level, cost, self.capacity, self.rate)


LEAK = """
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
local since = tonumber(redis.call('HGET', KEYS[1], 'ts') or ARGV[1])
local now, rate, capacity, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
level = math.max(0, level - math.max(0, now - since) * rate)
local allowed = 0
if level + cost <= capacity then level = level + cost; allowed = 1 end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(level)}
"""


class RedisBucket:
    """The scaled mode's buckets: every API process leaks the same bucket, atomically (one Lua script)."""

    def __init__(self, url: str, capacity: int, rate: float, prefix: str = "detour:budget:") -> None:
        import redis.asyncio as redis

        self.client = redis.from_url(url)
        self.script = self.client.register_script(LEAK)
        self.capacity, self.rate, self.prefix = capacity, rate, prefix

    async def take(self, key: str, cost: int, now: datetime) -> Decision:
        allowed, level = await self.script(keys=[self.prefix + key], args=[now.timestamp(), self.rate, self.capacity, cost])
        return _decision(bool(allowed), float(level), cost, self.capacity, self.rate)


_buckets: dict[int, tuple[Settings, Bucket]] = {}


def bucket_for(settings: Settings) -> Bucket:
    """One bucket store per settings object (a test's replaced settings get their own)."""
    held = _buckets.get(id(settings))
    if held is None or held[0] is not settings:
        url = settings.budget_redis_url or (settings.broadcast_url if settings.broadcast_url.startswith("redis") else None)
        store: Bucket = (
            RedisBucket(url, settings.budget_capacity, settings.budget_leak_per_second) if url
            else MemoryBucket(settings.budget_capacity, settings.budget_leak_per_second)
        )
        held = _buckets[id(settings)] = (settings, store)
    return held[1]
