"""Addresses to coordinates through a Nominatim-compatible `/search` endpoint (OSM Nominatim, Photon-style proxies)."""
from dataclasses import dataclass
from typing import Protocol

import httpx


class GeocodingUnavailable(Exception):
    """The geocoder cannot be reached or answered with an error (the message never holds the address)."""


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float


class Geocoder(Protocol):
    async def geocode(self, address: str) -> Position | None:
        """Coordinates of the best match, or None when the address is not found."""


class NominatimGeocoder:
    """`GET {base}/search?q=...&format=jsonv2&limit=1`; one shared client, a User-Agent as Nominatim's policy asks."""

    def __init__(self, base_url: str, *, user_agent: str, timeout_seconds: float = 10, country_codes: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": user_agent}
        self.timeout = timeout_seconds
        self.country_codes = country_codes

    async def geocode(self, address: str) -> Position | None:
        params = {"q": address, "format": "jsonv2", "limit": "1"}
        if self.country_codes:
            params["countrycodes"] = self.country_codes
        try:
            async with httpx.AsyncClient(timeout=self.timeout, headers=self.headers) as client:
                response = await client.get(f"{self.base_url}/search", params=params)
                response.raise_for_status()
                results = response.json()
        except (httpx.HTTPError, ValueError):
            raise GeocodingUnavailable("the geocoder did not answer") from None
        if not isinstance(results, list) or not results:
            return None
        try:
            return Position(lat=float(results[0]["lat"]), lon=float(results[0]["lon"]))
        except (KeyError, TypeError, ValueError):
            return None


def geocoder_for(url: str | None, *, user_agent: str, country_codes: str | None = None) -> Geocoder | None:
    """The configured geocoder, or None (then stops must carry lat/lon)."""
    return NominatimGeocoder(url, user_agent=user_agent, country_codes=country_codes) if url else None
