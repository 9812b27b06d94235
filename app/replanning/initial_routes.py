"""A feasible starting route for VROOM from an existing order, so a replan improves the route instead of rebuilding it."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import vroom

NO_WINDOW = ((0, 2**40),)


def feasible_order(
    order: Sequence[int], jobs: dict, *, start_index: int, end_index: int | None, clock: int, shift_end: int,
    capacity: list[int], skills: frozenset[int], demand_of, durations: np.ndarray,
) -> list[int]:
    """The jobs of `order` that can be served in that order; a job that would be late, overload or lack skills is skipped.

    VROOM refuses an infeasible initial route outright; skipped jobs are simply unassigned in the starting
    solution, and its local search inserts them where they fit.
    """
    kept, here, load = [], start_index, [0] * len(capacity)
    for job_id in order:
        job = jobs.get(job_id)
        if job is None or not job.skills <= skills:
            continue
        arrival = clock + int(durations[here, job.location_index])
        window = next((w for w in job.time_windows or NO_WINDOW if w[1] >= arrival), None)
        loaded = [current + amount for current, amount in zip(load, demand_of(job))]
        if window is None or any(amount > room for amount, room in zip(loaded, capacity)):
            continue
        departure = max(arrival, window[0]) + job.service
        back = 0 if end_index is None else int(durations[job.location_index, end_index])
        if departure + back > shift_end:
            continue
        kept.append(job_id)
        here, clock, load = job.location_index, departure, loaded
    return kept


def vroom_steps(job_ids: list[int], has_end: bool) -> list:
    """VROOM vehicle steps for an initial route: start, the jobs in order, end."""
    if not job_ids:
        return []
    return [vroom.VehicleStepStart(), *(vroom.VehicleStepSingle(job_id) for job_id in job_ids)] + ([vroom.VehicleStepEnd()] if has_end else [])
