"""The replanning flow's solve step: travel times from an OSRM server over HTTP, and its failures as REPLANNING_FAILED."""
import pytest

from app.config import Settings
from app.errors import DomainError, ErrorCode
from app.replanning.flows import propose_for
from app.replanning.pool import SolverPool
from tests.replanning.test_matrix import osrm  # noqa: F401  (the local OSRM Table API fixture)
from tests.replanning.test_problem_builder import snapshot, stop

pytestmark = pytest.mark.usefixtures("solver_pool")


async def test_a_replan_with_an_osrm_url_takes_its_travel_times_from_the_table_api(osrm):  # noqa: F811
    # given a driver north-east of both stops, the farther one first in the current order, and OSRM configured
    route = snapshot([stop(1, 1, 52.39, 4.84), stop(2, 2, 52.40, 4.85)], start=(52.41, 4.86))
    settings = Settings(osrm_url=osrm.url)

    # when
    proposal = await propose_for(route, settings)

    # then the server was asked once for the start, the depot and both stops, and the nearer stop comes first
    assert [path.count(";") + 1 for path, _ in osrm.requests] == [4]
    assert [p.stop_id for p in proposal.planned] == [2, 1]
    assert proposal.duration_seconds > 0 and proposal.unassigned == ()


async def test_an_osrm_failure_is_a_replanning_failed_error(osrm):  # noqa: F811
    # given an OSRM server that answers with an error
    osrm.error = (400, {"code": "InvalidQuery", "message": "Query string malformed"})
    route = snapshot([stop(1, 1, 52.41, 4.86)])

    # when
    with pytest.raises(DomainError) as failed:
        await propose_for(route, Settings(osrm_url=osrm.url))

    # then
    assert failed.value.code is ErrorCode.REPLANNING_FAILED and "InvalidQuery" in failed.value.message


async def test_a_solve_past_the_time_limit_is_a_replanning_failed_error():
    # given a pool whose worker is not even started, and a time limit far below what starting one takes
    pool = SolverPool(max_workers=1)
    route = snapshot([stop(1, 1, 52.41, 4.86), stop(2, 2, 52.40, 4.85)])

    # when
    try:
        with pytest.raises(DomainError) as failed:
            await propose_for(route, Settings(replan_solver_timeout_seconds=0.001), pool)
    finally:
        pool.close()

    # then
    assert failed.value.code is ErrorCode.REPLANNING_FAILED and "did not finish" in failed.value.message
