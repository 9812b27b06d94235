"""From a route snapshot to a proposal: windows, capacity, the stop being served, what is left out and why."""
from datetime import UTC, datetime, timedelta

from app.replanning.matrix import HaversineMatrix
from app.replanning.problem_builder import RouteSnapshot, StopSnapshot, build_problem, propose, with_matrix
from app.replanning.solver import UnassignedReason, solve

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DEPOT = (52.3889, 4.8371)
MATRIX = HaversineMatrix(speed_kmh=30)


def stop(stop_id: int, sequence: int, lat: float, lon: float, *, opens: int = 0, closes: int = 600, parcels: int = 1) -> StopSnapshot:
    """A stop whose window opens and closes the given minutes after NOW."""
    return StopSnapshot(
        id=stop_id, sequence=sequence, lat=lat, lon=lon, window_start=NOW + timedelta(minutes=opens),
        window_end=NOW + timedelta(minutes=closes), service_seconds=120, parcels=parcels,
        planned_eta=NOW + timedelta(minutes=10 * sequence), version=1, customer_id=100 + stop_id,
    )


def snapshot(remaining, *, completed=(), capacity=None, serving=None, start=DEPOT) -> RouteSnapshot:
    return RouteSnapshot(
        route_id=1, tenant_id=1, version=3, capacity=capacity, depot=DEPOT, start=start, start_source="GPS",
        departure=NOW, completed=tuple(completed), remaining=tuple(remaining), serving_stop_id=serving,
    )


def plan_for(route: RouteSnapshot):
    problem, closed = build_problem(route, exploration_level=5, timeout_ms=None)
    matrix = MATRIX.compute(route.points())
    return propose(route, solve(with_matrix(problem, matrix)), closed, matrix.durations)


def test_a_window_the_current_order_would_miss_is_kept_by_the_new_order():
    # given: the current order visits a far stop first, but the near stop closes within 15 minutes
    far = stop(1, 1, 52.45, 4.95, closes=600)
    near = stop(2, 2, 52.39, 4.84, closes=15)
    route = snapshot([far, near])

    # when
    proposal = plan_for(route)

    # then the near stop comes first, served inside its window, and both get an ETA
    assert [p.stop_id for p in proposal.planned] == [2, 1]
    served = {p.stop_id: p for p in proposal.planned}
    assert near.window_start <= served[2].eta <= near.window_end
    assert far.window_start <= served[1].eta <= far.window_end
    assert proposal.unassigned == ()


def test_completed_stops_keep_their_places_and_the_stop_being_served_goes_first():
    # given a delivered stop, the driver at a far stop (being served), and two stops near the depot
    done = stop(1, 1, 52.38, 4.83)
    near_a, near_b = stop(2, 2, 52.389, 4.838), stop(3, 3, 52.390, 4.839)
    serving = stop(4, 4, 52.50, 5.00)
    route = snapshot([near_a, near_b, serving], completed=[done], serving=4, start=(52.50, 5.00))

    # when
    proposal = plan_for(route)

    # then
    assert proposal.sequences[1] == 1
    assert proposal.planned[0].stop_id == 4 and proposal.planned[0].sequence == 2
    assert sorted(p.stop_id for p in proposal.planned[1:]) == [2, 3]


def test_capacity_limits_the_parcels_planned_and_the_stop_left_out_says_why():
    # given a van with room for 3 parcels and stops carrying 2, 1 and 5
    stops = [stop(1, 1, 52.39, 4.84, parcels=2), stop(2, 2, 52.40, 4.85, parcels=1), stop(3, 3, 52.41, 4.86, parcels=5)]
    route = snapshot(stops, capacity=3)

    # when
    proposal = plan_for(route)

    # then the 5-parcel stop is reported, last in the sequence, with a capacity reason
    assert sorted(p.stop_id for p in proposal.planned) == [1, 2]
    [left_out] = proposal.unassigned
    assert (left_out.stop_id, left_out.reason, left_out.sequence) == (3, UnassignedReason.CAPACITY_EXCEEDED, 3)


def test_a_stop_whose_window_already_closed_is_left_out_with_a_reason_not_dropped():
    # given a stop whose window closed an hour ago
    late = stop(1, 1, 52.39, 4.84, opens=-180, closes=-60)
    route = snapshot([late, stop(2, 2, 52.40, 4.85)])

    # when
    proposal = plan_for(route)

    # then
    assert [p.stop_id for p in proposal.planned] == [2]
    [left_out] = proposal.unassigned
    assert left_out.stop_id == 1 and left_out.reason is UnassignedReason.TIME_WINDOW_UNREACHABLE
    assert "closed" in left_out.detail and proposal.sequences == {2: 1, 1: 2}


def test_the_change_in_drive_time_compares_with_the_current_order_from_the_same_start():
    # given stops in a zig-zag order
    stops = [stop(1, 1, 52.40, 4.85), stop(2, 2, 52.44, 4.93), stop(3, 3, 52.41, 4.87), stop(4, 4, 52.45, 4.95)]
    route = snapshot(stops)

    # when
    proposal = plan_for(route)

    # then the solver's order drives less than the zig-zag
    assert 0 < proposal.duration_seconds < proposal.previous_duration_seconds


def test_a_route_planned_for_tomorrow_is_planned_in_its_windows_not_left_out():
    # given stops whose windows open 30 and 31 hours from now
    route = snapshot([stop(1, 1, 52.39, 4.84, opens=30 * 60, closes=32 * 60), stop(2, 2, 52.40, 4.85, opens=31 * 60, closes=33 * 60)])

    # when
    proposal = plan_for(route)

    # then both are planned, each served inside its window
    assert proposal.unassigned == ()
    served = {p.stop_id: p.eta for p in proposal.planned}
    assert served[1] >= NOW + timedelta(hours=30) and served[2] >= NOW + timedelta(hours=31)
