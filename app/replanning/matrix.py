"""Travel matrices between (lat, lon) points: haversine estimate, OSRM Table API, and an LRU cache."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, Sequence

import httpx
import numpy as np

EARTH_RADIUS_M = 6_371_008.8
UNREACHABLE = 1_000_000_000  # seconds / metres standing in for OSRM's null (no route); fits VROOM's uint32
CACHE_PRECISION_DIGITS = 6

Point = tuple[float, float]


class MatrixError(RuntimeError):
    """The travel matrix could not be obtained."""


@dataclass(frozen=True)
class TravelMatrix:
    """Square matrices over the requested points: durations in seconds, distances in metres."""

    durations: list[list[int]]
    distances: list[list[int]]


class MatrixProvider(Protocol):
    """Anything that turns (lat, lon) points into a TravelMatrix."""

    async def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """Return the travel matrix between every pair of points, in the given order."""
        ...


class HaversineMatrix:
    """Great-circle distance times a detour factor, driven at a constant speed."""

    def __init__(self, speed_kmh: float = 30.0, detour_factor: float = 1.3) -> None:
        if speed_kmh <= 0 or detour_factor <= 0:
            raise ValueError("speed_kmh and detour_factor must be positive")
        self.speed_kmh = speed_kmh
        self.detour_factor = detour_factor

    async def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """Return the estimated travel matrix between the points."""
        return self.compute(points)

    def compute(self, points: Sequence[Point]) -> TravelMatrix:
        """Compute the estimate synchronously (vectorised, O(n^2) memory)."""
        coordinates = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
        lat, lon = coordinates[:, 0:1], coordinates[:, 1:2]
        half_chord = np.sin((lat.T - lat) / 2) ** 2 + np.cos(lat) * np.cos(lat.T) * np.sin((lon.T - lon) / 2) ** 2
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(half_chord, 0.0, 1.0))) * self.detour_factor
        seconds = metres / (self.speed_kmh / 3.6)
        return TravelMatrix(np.rint(seconds).astype(np.int64).tolist(), np.rint(metres).astype(np.int64).tolist())


class OsrmMatrix:
    """Road travel matrix from an OSRM server's Table API, split into blocks above max_table_size."""

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        client: httpx.AsyncClient | None = None,
        timeout: float = 10,
        max_table_size: int = 100,
    ) -> None:
        if max_table_size < 2:
            raise ValueError("max_table_size must be at least 2")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout
        self.max_table_size = max_table_size
        self._client = client
        self._owns_client = client is None

    async def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """Return the road travel matrix between the points, in as few table requests as allowed."""
        count = len(points)
        durations = np.zeros((count, count), dtype=np.int64)
        distances = np.zeros((count, count), dtype=np.int64)
        if count < 2:
            return TravelMatrix(durations.tolist(), distances.tolist())
        block = count if count <= self.max_table_size else self.max_table_size // 2
        blocks = [list(range(first, min(first + block, count))) for first in range(0, count, block)]
        for sources in blocks:
            for destinations in blocks:
                await self._fill_block(points, sources, destinations, durations, distances)
        return TravelMatrix(durations.tolist(), distances.tolist())

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def _fill_block(
        self,
        points: Sequence[Point],
        sources: list[int],
        destinations: list[int],
        durations: np.ndarray,
        distances: np.ndarray,
    ) -> None:
        """Request one sources x destinations block and write it into the matrices."""
        indexes = sources if sources == destinations else sources + destinations
        params = {"annotations": "duration,distance"}
        if sources != destinations:
            params["sources"] = ";".join(str(i) for i in range(len(sources)))
            params["destinations"] = ";".join(str(i) for i in range(len(sources), len(indexes)))
        body = await self._table([points[i] for i in indexes], params)
        shape = (len(sources), len(destinations))
        durations[np.ix_(sources, destinations)] = _integer_table(body, "durations", shape)
        distances[np.ix_(sources, destinations)] = _integer_table(body, "distances", shape)

    async def _table(self, points: list[Point], params: dict[str, str]) -> dict:
        """Call the Table API once and return its JSON body, or raise MatrixError."""
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.get(url, params=params, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise MatrixError(f"OSRM table request to {self.base_url} failed: {error!r}") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MatrixError(f"OSRM table returned HTTP {response.status_code} with a non-JSON-object body")
        if response.status_code != 200 or body.get("code") != "Ok":
            message = body.get("message", "")
            raise MatrixError(f"OSRM table failed: HTTP {response.status_code}, code {body.get('code')!r} {message}")
        return body


def _integer_table(body: dict, key: str, shape: tuple[int, int]) -> np.ndarray:
    """Read one annotation table from an OSRM body as rounded ints, null becoming UNREACHABLE."""
    rows = body.get(key)
    if not isinstance(rows, list) or len(rows) != shape[0] or any(len(row) != shape[1] for row in rows):
        raise MatrixError(f"OSRM table response has no {shape[0]}x{shape[1]} {key!r} table")
    values = np.array([[UNREACHABLE if v is None else v for v in row] for row in rows], dtype=float)
    return np.minimum(np.rint(values), UNREACHABLE).astype(np.int64)


@dataclass(frozen=True)
class _CacheEntry:
    """A cached matrix over sorted unique points, with each point's row index."""

    position: dict[Point, int]
    durations: np.ndarray
    distances: np.ndarray


class CachedMatrix:
    """LRU cache in front of a provider, keyed by the set of (rounded) points; serves any order or subset.

    Size it above the number of routes driving at once (DETOUR_MATRIX_CACHE_ENTRIES): live ETAs ask for every
    driving route's stops on each update, and a cache smaller than the fleet misses on every one of them.
    """

    def __init__(self, inner: MatrixProvider, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.inner = inner
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Point, ...], _CacheEntry] = OrderedDict()
        self._by_point: dict[Point, set[tuple[Point, ...]]] = {}  # point -> cached keys holding it (subset lookups)

    async def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """Return the matrix for the points, asking the inner provider only when no cached set covers them."""
        rounded = [_rounded(point) for point in points]
        entry = await self._entry(rounded)
        order = [entry.position[point] for point in rounded]
        rows_columns = np.ix_(order, order)
        return TravelMatrix(entry.durations[rows_columns].tolist(), entry.distances[rows_columns].tolist())

    async def legs(self, points: Sequence[Point]) -> list[int]:
        """Seconds from each point to the next one, read from the cached matrix without copying it."""
        rounded = [_rounded(point) for point in points]
        entry = await self._entry(rounded)
        order = [entry.position[point] for point in rounded]
        return entry.durations[order[:-1], order[1:]].tolist()

    async def _entry(self, rounded: list[Point]) -> _CacheEntry:
        wanted = set(rounded)
        key = tuple(sorted(wanted))
        if key not in self._entries:
            holding = self._by_point.get(key[0], ()) if key else ()
            key = next((k for k in holding if self._entries[k].position.keys() >= wanted), key)
        entry = self._entries.get(key)
        if entry is None:
            fetched = await self.inner.matrix(key)
            entry = _CacheEntry(
                {point: index for index, point in enumerate(key)},
                np.asarray(fetched.durations, dtype=np.int64).reshape(len(key), len(key)),
                np.asarray(fetched.distances, dtype=np.int64).reshape(len(key), len(key)),
            )
            self._entries[key] = entry
            for point in key:
                self._by_point.setdefault(point, set()).add(key)
            while len(self._entries) > self.max_entries:
                self._forget(*self._entries.popitem(last=False))
        self._entries.move_to_end(key)
        return entry

    def _forget(self, key: tuple[Point, ...], _entry: _CacheEntry) -> None:
        for point in key:
            holding = self._by_point.get(point)
            if holding is not None:
                holding.discard(key)
                if not holding:
                    del self._by_point[point]


def _rounded(point: Point) -> Point:
    """Round a (lat, lon) point to about 0.1 m so that equal locations share a cache key."""
    lat, lon = point
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise MatrixError(f"point {point} is not a finite (lat, lon)")
    return (round(float(lat), CACHE_PRECISION_DIGITS), round(float(lon), CACHE_PRECISION_DIGITS))


def matrix_provider_from_settings(osrm_url: str | None, speed_kmh: float, cache_entries: int = 1024) -> MatrixProvider:
    """Cached OSRM when a URL is configured, cached haversine otherwise."""
    if osrm_url:
        return CachedMatrix(OsrmMatrix(osrm_url), max_entries=cache_entries)
    return CachedMatrix(HaversineMatrix(speed_kmh=speed_kmh), max_entries=cache_entries)
