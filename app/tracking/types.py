"""GraphQL type of a driver's position."""
from datetime import datetime

import strawberry

from app.tracking.models import DriverLastPosition


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
