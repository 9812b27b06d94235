"""GraphQL types of replanning: proposed orders and ETAs, stops left out, and the change in drive time."""
from datetime import datetime

import strawberry

from app.api.common import MutationError
from app.api.context import Info
from app.replanning.flows import Proposal
from app.replanning.problem_builder import ProposedStop, UnassignedStop
from app.replanning.solver import UnassignedReason
from app.routes.types import RouteType, StopType

UnassignedReasonType = strawberry.enum(UnassignedReason, name="UnassignedReason", description="Why a plan leaves a stop out.")


@strawberry.type(name="PlannedStop", description="A remaining stop's place and times in a plan.")
class PlannedStopType:
    sequence: int = strawberry.field(description="Position in the driving order of the whole route, from 1.")
    arrival: datetime = strawberry.field(description="When the driver gets there.")
    eta: datetime = strawberry.field(description="When service starts: the arrival, or the window's opening if that is later.")
    departure: datetime
    previous_eta: datetime | None = strawberry.field(
        description="The stop's planned ETA before this plan; null when it had none or came from another route.",
    )
    stop_id: strawberry.Private[int]

    @classmethod
    def from_proposed(cls, step: ProposedStop, previous_eta: datetime | None) -> "PlannedStopType":
        return cls(
            sequence=step.sequence, arrival=step.arrival, eta=step.eta, departure=step.departure, previous_eta=previous_eta,
            stop_id=step.stop_id,
        )

    @strawberry.field
    async def stop(self, info: Info) -> StopType:
        return StopType.from_row(await info.context.loaders.stop.load(self.stop_id))


@strawberry.type(name="UnassignedStop", description="A stop the plan cannot serve; it stays at the end of the route without an ETA.")
class UnassignedStopType:
    sequence: int
    reason: UnassignedReasonType
    detail: str
    stop_id: strawberry.Private[int]

    @classmethod
    def from_unassigned(cls, item: UnassignedStop) -> "UnassignedStopType":
        return cls(sequence=item.sequence, reason=item.reason, detail=item.detail, stop_id=item.stop_id)

    @strawberry.field
    async def stop(self, info: Info) -> StopType:
        return StopType.from_row(await info.context.loaders.stop.load(self.stop_id))


@strawberry.type(name="ReplanProposal", description="A new order and ETAs for a route's remaining stops.")
class ReplanProposalType:
    route_id: strawberry.ID
    based_on_version: int = strawberry.field(description="The route version the proposal was computed from.")
    departure: datetime = strawberry.field(description="The moment the plan starts from.")
    start_source: str = strawberry.field(description="GPS (the driver's last fix) or DEPOT.")
    serving_stop_id: strawberry.ID | None = strawberry.field(description="The stop pinned first because the driver is serving it.")
    stops: list[PlannedStopType] = strawberry.field(description="Remaining stops in the proposed driving order.")
    unassigned: list[UnassignedStopType]
    drive_seconds: int = strawberry.field(description="Travel time of the proposed order, back to the depot.")
    previous_drive_seconds: int = strawberry.field(description="Travel time of the current order from the same start.")
    drive_seconds_change: int = strawberry.field(description="drive_seconds minus previous_drive_seconds; negative is a saving.")
    distance_meters: int | None

    @classmethod
    def from_proposal(cls, proposal: Proposal) -> "ReplanProposalType":
        snapshot, route = proposal.snapshot, proposal.route
        previous = {stop.id: stop.planned_eta for stop in snapshot.remaining}
        return cls(
            route_id=strawberry.ID(str(snapshot.route_id)), based_on_version=snapshot.version, departure=snapshot.departure,
            start_source=snapshot.start_source,
            serving_stop_id=strawberry.ID(str(snapshot.serving_stop_id)) if snapshot.serving_stop_id else None,
            stops=[PlannedStopType.from_proposed(step, previous.get(step.stop_id)) for step in route.planned],
            unassigned=[UnassignedStopType.from_unassigned(item) for item in route.unassigned],
            drive_seconds=route.duration_seconds, previous_drive_seconds=route.previous_duration_seconds,
            drive_seconds_change=route.duration_seconds - route.previous_duration_seconds, distance_meters=route.distance_m,
        )


@strawberry.type
class ReplanRoutePayload:
    route: RouteType | None = strawberry.field(default=None, description="The route at its new version.")
    plan_id: strawberry.ID | None = None
    proposal: ReplanProposalType | None = None
    unassigned: list[UnassignedStopType] = strawberry.field(default_factory=list)
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type(description="A proposal, or why none could be computed.")
class ReplanPreviewResult:
    proposal: ReplanProposalType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class RebalanceRoutesPayload:
    routes: list[RouteType] = strawberry.field(default_factory=list, description="The routes at their new versions.")
    proposals: list[ReplanProposalType] = strawberry.field(default_factory=list, description="One per route, in input order.")
    moved_stops: int = strawberry.field(default=0, description="Stops now on another route than before.")
    unassigned: list[UnassignedStopType] = strawberry.field(default_factory=list)
    errors: list[MutationError] = strawberry.field(default_factory=list)
