"""GraphQL type of a driver's position."""
from datetime import datetime

import strawberry

from app.tracking.models import DriverLastPosition, LateRouteProposal


@strawberry.type(name="DriverPosition", description="A driver's last known GPS fix.")
class DriverPositionType:
    driver_id: strawberry.ID
    recorded_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    speed_mps: float | None
    heading_deg: float | None

    @classmethod
    def from_row(cls, row: DriverLastPosition) -> "DriverPositionType":
        return cls(
            driver_id=strawberry.ID(str(row.driver_id)), recorded_at=row.recorded_at, lat=row.lat, lon=row.lon,
            accuracy_m=row.accuracy_m, speed_mps=row.speed_mps, heading_deg=row.heading_deg,
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
