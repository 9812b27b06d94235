"""Behaviour of the solver process pool: the event loop stays free, time limits hold."""

import asyncio
import random
import time

import pytest

from app.replanning.pool import SolverPool, SolverTimeout, close_default_pool, default_pool
from app.replanning.solver import JobSpec, Problem, VehicleSpec


def busy_problem(jobs: int = 100, seed: int = 3) -> Problem:
    """A random 100-job VRPTW that takes exploration level 5 a second or two."""
    rng = random.Random(seed)
    points = [(rng.random() * 8000, rng.random() * 8000) for _ in range(jobs + 1)]
    durations = [[int(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5) for bx, by in points] for ax, ay in points]
    windows = [rng.randrange(0, 32_400) for _ in range(jobs)]
    specs = [JobSpec(i, i, service=120, time_windows=((w, w + 3600),), demand=(1,)) for i, w in enumerate(windows, 1)]
    vans = [VehicleSpec(v, 0, 0, 0, 36_000, capacity=(25,)) for v in range(6)]
    return Problem(vans, specs, durations, exploration_level=5)


class Ticker:
    """Records when an asyncio task wakes up, every 10 ms."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while True:
            self.ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    async def stop(self) -> float:
        """Stop ticking and return the longest gap between two ticks."""
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        return max(b - a for a, b in zip(self.ticks, self.ticks[1:]))


@pytest.fixture
async def pool():
    solver_pool = SolverPool(max_workers=1)
    await solver_pool.start()
    yield solver_pool
    solver_pool.close()


async def test_event_loop_keeps_ticking_while_a_solve_runs(pool):
    # given
    problem = busy_problem()
    ticker = Ticker()

    # when
    started = time.perf_counter()
    plan = await pool.solve(problem, timeout_s=60)
    elapsed = time.perf_counter() - started
    longest_gap = await ticker.stop()

    # then: the solve took a while, and the loop never stalled meanwhile (a solve on the loop would stall it for the
    # whole solve; the bounds are relative to it so a loaded machine's scheduling hiccups do not fail the test)
    assert elapsed > 0.3
    assert len(plan.routes) + len(plan.unassigned) > 0
    assert {s.job_id for r in plan.routes for s in r.steps} | {u.job_id for u in plan.unassigned} == set(range(1, 101))
    assert longest_gap < elapsed / 2
    assert len(ticker.ticks) > elapsed / 0.01 * 0.2


async def test_solve_past_its_time_limit_raises_without_blocking_and_the_pool_recovers(pool):
    # given
    ticker = Ticker()

    # when
    started = time.perf_counter()
    with pytest.raises(SolverTimeout):
        await pool.solve(busy_problem(), timeout_s=0.2)
    waited = time.perf_counter() - started
    longest_gap = await ticker.stop()

    # then: it gave up on time, the loop kept running, and the next solve works
    assert 0.2 <= waited < 2.0
    assert longest_gap < waited * 0.75  # a solve on the loop would stall it for about all of the wait
    small = busy_problem(jobs=5)
    plan = await pool.solve(small, timeout_s=30)
    assert sum(len(route.steps) for route in plan.routes) + len(plan.unassigned) == 5


def test_default_pool_is_shared_until_closed():
    # given
    first = default_pool()

    # when
    again = default_pool()
    close_default_pool()

    # then
    assert again is first
    assert default_pool() is not first
    close_default_pool()
