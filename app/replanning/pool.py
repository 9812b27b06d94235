"""Run the CPU-bound solver in worker processes so the event loop never waits on it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from app.replanning.engines import VROOM, solve_with
from app.replanning.solver import Plan, Problem, solve


class SolverTimeout(TimeoutError):
    """The solve did not finish within its time limit."""


class SolverUnavailable(RuntimeError):
    """The worker process died (or was stopped) before returning a plan."""


def _warm_up() -> int:
    """Import the solver in a fresh worker and return its pid."""
    import app.replanning.solver  # noqa: F401  (imports vroom/numpy once per worker)

    return os.getpid()


class SolverPool:
    """A lazily started, spawn-based process pool dedicated to solve()."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or max(1, min(2, (os.cpu_count() or 2) - 1))
        self._executor: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Spawn the workers now (optional) so the first solve does not pay the start-up time."""
        executor = self._ensure_executor()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(executor, _warm_up) for _ in range(self.max_workers)))

    async def solve(self, problem: Problem, *, timeout_s: float, engine: str = VROOM) -> Plan:
        """Solve in a worker; raise SolverTimeout after timeout_s (queueing included) without blocking the loop.

        On timeout a queued solve is cancelled; a running one has its worker processes
        stopped (the pool restarts on next use), since a solve cannot be interrupted.
        Set problem.timeout_ms below timeout_s to get VROOM's best plan so far instead.
        `engine` names a day-planning engine of app/replanning/engines.py (VROOM by default).
        """
        executor = self._ensure_executor()
        try:
            submitted = self._submit(executor, problem, engine)
        except BrokenProcessPool:
            self._discard(executor)
            executor = self._ensure_executor()
            submitted = self._submit(executor, problem, engine)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(submitted), timeout_s)
        except TimeoutError:
            if not (submitted.cancelled() or submitted.done()):
                self._discard(executor)
            raise SolverTimeout(f"solve did not finish within {timeout_s:g} s") from None
        except BrokenProcessPool as error:
            self._discard(executor)
            raise SolverUnavailable(f"solver worker stopped before returning a plan: {error}") from None

    @staticmethod
    def _submit(executor: ProcessPoolExecutor, problem: Problem, engine: str):  # noqa: ANN205
        return executor.submit(solve, problem) if engine == VROOM else executor.submit(solve_with, engine, problem)

    def close(self) -> None:
        """Stop the workers, cancelling queued solves; the pool can be reused afterwards."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    shutdown = close

    def _ensure_executor(self) -> ProcessPoolExecutor:
        """Create the executor on first use (spawn: no forked event loop or sockets)."""
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(max_workers=self.max_workers, mp_context=context)
        return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        """Terminate an executor's workers and forget it, so a stuck solve stops using a CPU."""
        if self._executor is executor:
            self._executor = None
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)


_default_pool: SolverPool | None = None


def default_pool() -> SolverPool:
    """Return the process-wide pool (created lazily; workers start on first solve or start())."""
    global _default_pool
    if _default_pool is None:
        _default_pool = SolverPool()
    return _default_pool


def close_default_pool() -> None:
    """Stop the process-wide pool's workers, e.g. at the end of an app lifespan."""
    global _default_pool
    if _default_pool is not None:
        _default_pool.close()
        _default_pool = None

