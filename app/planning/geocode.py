"""Fill in coordinates of stops sent with an address only, before the plan is checked."""
import asyncio

from app.geocoding.nominatim import Geocoder, GeocodingUnavailable
from app.planning.plan import RowError, RowErrorCode, RoutePlan

CONCURRENCY = 4


async def geocode_plan(plan: RoutePlan, geocoder: Geocoder | None) -> None:
    """Stops without lat/lon get the geocoder's answer; unknown addresses become the plan's row errors."""
    missing = [s for s in plan.all_stops() if (s.lat is None or s.lon is None) and s.address.strip()]
    if geocoder is None or not missing:
        return  # the check names each stop without coordinates
    gate = asyncio.Semaphore(CONCURRENCY)
    addresses = sorted({s.address.strip() for s in missing})

    async def one(address: str) -> object:
        async with gate:
            try:
                return await geocoder.geocode(address)
            except GeocodingUnavailable as error:
                return error

    answers = dict(zip(addresses, await asyncio.gather(*(one(a) for a in addresses)), strict=True))
    for stop in missing:
        answer = answers[stop.address.strip()]
        if isinstance(answer, GeocodingUnavailable):
            plan.errors.append(RowError(stop.path, "address", RowErrorCode.NO_COORDINATES, "the geocoder did not answer; retry or send lat and lon"))
        elif answer is None:
            plan.errors.append(RowError(stop.path, "address", RowErrorCode.NO_COORDINATES, "the geocoder does not know this address; send lat and lon"))
        else:
            stop.lat, stop.lon = answer.lat, answer.lon
