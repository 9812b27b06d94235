"""The VROOM-backed RouteReplanner that alternatives call after approving a redirect or a reschedule."""
import logging

from app.alternatives.replanning_port import ResequencingReplanner, RouteReplanner
from app.config import Settings, get_settings
from app.errors import DomainError, ErrorCode
from app.replanning.flows import replan_in_transaction
from app.replanning.pool import SolverPool
from app.runtime import UnitOfWork

log = logging.getLogger(__name__)

ALTERNATIVE_REASON = "ALTERNATIVE_APPROVED"
# No remaining stops, or a closed route: the approval stands and there is no order to change.
NOTHING_TO_PLAN = frozenset({ErrorCode.INVALID_INPUT, ErrorCode.INVALID_TRANSITION})


class VroomRouteReplanner:
    """Solves the route's remaining stops with time windows and capacity; writes a new route version in the caller's transaction."""

    def __init__(self, settings: Settings | None = None, pool: SolverPool | None = None) -> None:
        self.settings = settings or get_settings()
        self.pool = pool
        self.fallback: RouteReplanner = ResequencingReplanner()

    async def replan(self, uow: UnitOfWork, route_id: int) -> None:
        """Replan now; when the solver cannot, keep the approval and fall back to re-sequencing the redirected stop."""
        try:
            # announce=False: the caller records the ROUTE_REPLANNED change itself (alternatives' execution does, after this).
            await replan_in_transaction(uow, self.settings, route_id=route_id, reason=ALTERNATIVE_REASON, announce=False, pool=self.pool)
        except DomainError as error:
            if error.code in NOTHING_TO_PLAN:
                return
            if error.code is not ErrorCode.REPLANNING_FAILED:
                raise
            log.warning("solver replanning failed, re-sequencing instead", extra={"routeId": route_id, "error": error.message})
            await self.fallback.replan(uow, route_id)
