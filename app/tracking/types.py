"""GraphQL type of a driver's position."""
from datetime import datetime

import strawberry

from app.tracking.models import DriverLastPosition, LateRouteProposal
from app.tracking.service import NextStop


@strawberry.type(name="DriverNextStop", description="The next pending stop of the route the driver is driving, with its ETAs.")
class DriverNextStopType:
    route_id: strawberry.ID
    stop_id: strawberry.ID
    sequence: int = strawberry.field(description="The stop's place in the route's current order.")
    planned_eta: datetime | None = strawberry.field(description="When service starts according to the route's plan.")
    live_eta: datetime | None = strawberry.field(description="When service starts according to the driver's last GPS fix; null before the first update.")
    live_eta_at: datetime | None = strawberry.field(description="When liveEta was computed.")
    window_end: datetime = strawberry.field(description="The end of the stop's time window.")

    @classmethod
    def from_next(cls, stop: NextStop) -> "DriverNextStopType":
        return cls(
            route_id=strawberry.ID(str(stop.route_id)), stop_id=strawberry.ID(str(stop.stop_id)), sequence=stop.sequence,
            planned_eta=stop.planned_eta, live_eta=stop.live_eta, live_eta_at=stop.live_eta_at, window_end=stop.window_end,
        )


@strawberry.type(name="DriverPosition", description="A driver's last known GPS fix, and where the driver goes next.")
class DriverPositionType:
    driver_id: strawberry.ID
    recorded_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    speed_mps: float | None
    heading_deg: float | None
    next_stop: DriverNextStopType | None = strawberry.field(
        default=None, description="The next stop of the depot's route the driver drives today; null when none is pending.",
    )

    @classmethod
    def from_row(cls, row: DriverLastPosition, next_stop: NextStop | None = None) -> "DriverPositionType":
        return cls(
            driver_id=strawberry.ID(str(row.driver_id)), recorded_at=row.recorded_at, lat=row.lat, lon=row.lon,
            accuracy_m=row.accuracy_m, speed_mps=row.speed_mps, heading_deg=row.heading_deg,
            next_stop=DriverNextStopType.from_next(next_stop) if next_stop else None,
        )


@strawberry.type(
    name="LateRouteProposal",
    description="A replan offered because several stops of a route would miss their windows; approve it with replanRoute.",
)
class LateRouteProposalType:
    id: strawberry.ID
    route_id: strawberry.ID
    based_on_version: int = strawberry.field(description="The route version the preview was computed from.")
    created_at: datetime
    late_stop_ids: list[strawberry.ID] = strawberry.field(description="Stops whose live ETA passed their window end.")
    still_late_stop_ids: list[strawberry.ID] = strawberry.field(
        description="Stops that miss their window even with the replan; each got a DELAYED / RUNNING_LATE exception."
    )
    minutes_saved: int = strawberry.field(description="Driving minutes the replanned order saves over the current one.")
    windows_kept_now: int = strawberry.field(description="Remaining stops reached inside their window in the current order.")
    windows_kept_replanned: int = strawberry.field(description="Remaining stops reached inside their window with the replan.")

    @classmethod
    def from_row(cls, row: LateRouteProposal) -> "LateRouteProposalType":
        ids = lambda values: [strawberry.ID(str(v)) for v in values]  # noqa: E731
        return cls(
            id=strawberry.ID(str(row.id)), route_id=strawberry.ID(str(row.route_id)), based_on_version=row.based_on_version,
            created_at=row.created_at, late_stop_ids=ids(row.late_stop_ids), still_late_stop_ids=ids(row.still_late_stop_ids),
            minutes_saved=row.minutes_saved, windows_kept_now=row.windows_kept_now, windows_kept_replanned=row.windows_kept_replanned,
        )
