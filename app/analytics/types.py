"""GraphQL types of the analytics dashboard."""
import strawberry

from app.analytics import service
from app.analytics.areas import cell_boundary, cell_centre, cell_label
from app.analytics.punctuality import Punctuality
from app.analytics.series import Bucket, Kpi
from app.delivery_exceptions.types import ExceptionKindType, ResolutionOutcomeType

AnalyticsKpi = strawberry.enum(Kpi, name="AnalyticsKpi", description="A figure the dashboard can chart over time.")
TimeBucket = strawberry.enum(Bucket, name="TimeBucket", description="Per local day or local hour of the row's depot.")


@strawberry.type(description="How many exceptions had this kind and reason.")
class KindReasonCount:
    kind: ExceptionKindType
    reason_code: str
    exceptions: int


@strawberry.type(description="How many exceptions were closed with this outcome.")
class OutcomeCount:
    outcome: ResolutionOutcomeType
    exceptions: int


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 2)


@strawberry.type(description="The headline figures of one period.")
class KpiSet:
    first_attempts: int = strawberry.field(description="Stops with a first delivery attempt in the period.")
    first_attempts_delivered: int = strawberry.field(description="Of those, stops delivered on that first attempt.")
    first_time_success_rate: float | None = strawberry.field(description="firstAttemptsDelivered / firstAttempts; null without attempts.")
    failed_attempts: int = strawberry.field(description="Failed attempts (of any number) of those stops, re-attempts after the period included.")
    exceptions: int = strawberry.field(description="Exceptions reported in the period.")
    resolved: int = strawberry.field(description="Of those, how many are resolved (or failed) by now.")
    avg_resolution_minutes: float | None = strawberry.field(description="Mean reported → resolved of the resolved ones.")
    p90_resolution_minutes: float | None = strawberry.field(description="90th percentile (linear interpolation) of the same.")
    total_failure_cost_cents: int = strawberry.field(description="Re-attempt cost of the closed exceptions that failed an attempt.")
    cost_per_failed_attempt_cents: float | None = strawberry.field(description="totalFailureCostCents / those exceptions.")
    by_kind_and_reason: list[KindReasonCount]
    by_outcome: list[OutcomeCount]

    @classmethod
    def from_kpis(cls, k: service.Kpis) -> "KpiSet":
        return cls(
            first_attempts=k.first_attempts, first_attempts_delivered=k.first_attempts_delivered,
            first_time_success_rate=k.first_time_success_rate, failed_attempts=k.failed_attempts,
            exceptions=k.exceptions, resolved=k.resolved,
            avg_resolution_minutes=_minutes(k.avg_resolution_seconds), p90_resolution_minutes=_minutes(k.p90_resolution_seconds),
            total_failure_cost_cents=k.total_failure_cost_cents, cost_per_failed_attempt_cents=k.cost_per_failed_attempt_cents,
            by_kind_and_reason=[KindReasonCount(kind=kind, reason_code=reason, exceptions=n) for kind, reason, n in k.by_kind_reason],
            by_outcome=[OutcomeCount(outcome=outcome, exceptions=n) for outcome, n in k.by_outcome],
        )


@strawberry.type(description="This period's figures beside the previous period of the same length.")
class KpiComparison:
    current: KpiSet
    previous: KpiSet


@strawberry.type(description="Exceptions reported in one hour of one weekday, on the depot's wall clock.")
class HourOfWeekCount:
    iso_weekday: int = strawberry.field(description="1 = Monday … 7 = Sunday.")
    hour: int = strawberry.field(description="0–23.")
    exceptions: int


@strawberry.type(name="AreaStats", description="One H3 hexagon of delivery addresses.")
class AreaStatsType:
    cell: str = strawberry.field(description="The H3 cell index (hexadecimal).")
    lat: float = strawberry.field(description="Centre of the cell.")
    lon: float
    exceptions: int
    access_failures: int = strawberry.field(description="ACCESS_DENIED exceptions.")
    access_failure_share: float
    gated_addresses: int = strawberry.field(description="Stops with a gate, entry-code, key or locked-building failure.")
    has_gated_addresses: bool
    boundary: list[list[float]] = strawberry.field(description="The hexagon's corners as [lat, lon] pairs, for drawing it on a map.")

    @classmethod
    def from_stats(cls, s: service.AreaStats) -> "AreaStatsType":
        lat, lon = cell_centre(s.cell)
        return cls(
            cell=cell_label(s.cell), lat=lat, lon=lon, exceptions=s.exceptions, access_failures=s.access_failures,
            access_failure_share=s.access_failure_share, gated_addresses=s.gated_stops, has_gated_addresses=s.gated_stops > 0,
            boundary=cell_boundary(s.cell),
        )


@strawberry.type(description="Exceptions reached one way, with their outcomes and how fast they were resolved.")
class ContactChannelStats:
    channel: str = strawberry.field(description="SELF_SERVICE (the customer acted: link or SMS reply), STAFF_CONTACT (dispatcher or driver reached them), NO_CONTACT.")
    exceptions: int
    resolved: int
    avg_resolution_minutes: float | None
    by_outcome: list[OutcomeCount]


@strawberry.type(description="One bucket of a time series.")
class SeriesPoint:
    bucket: str = strawberry.field(description="Local day YYYY-MM-DD or local hour YYYY-MM-DDTHH:00 of the rows' depots.")
    value: float | None


@strawberry.type(description="One route's delay: first attempts against planned ETAs.")
class RouteDelayType:
    route_id: strawberry.ID
    stops: int
    total_delay_minutes: float = strawberry.field(description="Sum over its stops of first attempt minus planned ETA (early counts 0).")
    avg_delay_minutes: float
    max_delay_minutes: float


@strawberry.type(description="Punctuality of the period from the live ETAs: delays, exceptions caught in time, ETA accuracy.")
class PunctualityType:
    stops_measured: int = strawberry.field(description="Stops with a first attempt in the period and a planned ETA.")
    avg_delay_minutes: float | None = strawberry.field(description="Mean delay per stop (first attempt minus planned ETA, early counts 0).")
    routes: list[RouteDelayType] = strawberry.field(description="Delay per route, most delayed first (at most 100).")
    exceptions: int
    caught_before_window_closed: int = strawberry.field(description="Exceptions reported before their stop's window ended.")
    caught_before_window_closed_share: float | None = strawberry.field(description="caughtBeforeWindowClosed / exceptions.")
    eta_samples: int = strawberry.field(description="Stops with a live ETA given about 30 minutes before arrival, and an arrival.")
    eta_p50_abs_error_minutes: float | None = strawberry.field(description="Median absolute error of that ETA against the first attempt.")
    eta_p90_abs_error_minutes: float | None = strawberry.field(description="90th percentile of the same.")

    @classmethod
    def from_punctuality(cls, p: Punctuality) -> "PunctualityType":
        return cls(
            stops_measured=p.stops_measured, avg_delay_minutes=_minutes(p.avg_delay_seconds),
            routes=[
                RouteDelayType(
                    route_id=strawberry.ID(str(r.route_id)), stops=r.stops, total_delay_minutes=_minutes(r.total_delay_seconds),
                    avg_delay_minutes=_minutes(r.total_delay_seconds / r.stops), max_delay_minutes=_minutes(r.max_delay_seconds),
                )
                for r in p.routes
            ],
            exceptions=p.exceptions, caught_before_window_closed=p.caught_before_window_closed,
            caught_before_window_closed_share=round(p.caught_share, 4) if p.caught_share is not None else None,
            eta_samples=p.eta_samples, eta_p50_abs_error_minutes=_minutes(p.eta_p50_abs_error_seconds),
            eta_p90_abs_error_minutes=_minutes(p.eta_p90_abs_error_seconds),
        )
