"""An approved alternative commits first; the solve runs after, so the tenant's other writers never wait for it."""
import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from app.alternatives.flows import AlternativeKind, ProposerKind, propose_alternative
from app.delivery_exceptions.flows import ExceptionReport, add_exception_note, report_exception
from app.delivery_exceptions.models import ExceptionKind
from app.replanning.models import RoutePlan
from tests.alternatives.helpers import absent_customer, principal, rows

pytestmark = pytest.mark.usefixtures("solver_pool")
SLOW_SOLVE_SECONDS = 1.5


class SlowPool:
    """The real pool behind a solve that takes 1.5 s; `started` is set once a solve is under way."""

    def __init__(self, pool) -> None:  # noqa: ANN001
        self.pool, self.started = pool, asyncio.Event()

    async def solve(self, problem, *, timeout_s):  # noqa: ANN001, ANN201
        self.started.set()
        await asyncio.sleep(SLOW_SOLVE_SECONDS)  # stands for VROOM's CPU time in the process pool
        return await self.pool.solve(problem, timeout_s=timeout_s)


async def test_a_note_commits_while_an_approved_alternative_is_still_being_solved(runtime, factory):
    # given two open exceptions of one tenant, and a solver that takes 1.5 s
    scene = await absent_customer(factory)
    other, _ = await report_exception(
        runtime, principal(scene.fleet.driver),
        ExceptionReport(stop_id=scene.fleet.stops[2].id, kind=ExceptionKind.DELAYED, reason_code="TRAFFIC", description="", idempotency_key="other"),
    )
    slow = SlowPool(runtime.solver_pool)
    slowed = replace(runtime, solver_pool=slow)
    start = slowed.clock.now() + timedelta(days=1)

    # when the customer's reschedule is approved by policy (which replans the route) ...
    approving = asyncio.create_task(propose_alternative(
        slowed, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=AlternativeKind.RESCHEDULE,
        proposed_by=ProposerKind.CUSTOMER, actor=None,
        details={"windowStart": start.isoformat(), "windowEnd": (start + timedelta(hours=2)).isoformat()},
    ))
    await asyncio.wait_for(slow.started.wait(), timeout=10)
    # ... and a dispatcher adds a note on the other exception while the solve runs
    began = time.perf_counter()
    await asyncio.wait_for(
        add_exception_note(runtime, principal(scene.fleet.dispatcher), exception_id=other.id, note="called the customer"),
        timeout=SLOW_SOLVE_SECONDS,
    )
    took = time.perf_counter() - began

    # then the note committed before the solve was done (no lock held over it) ...
    assert not approving.done()
    print(f"note committed in {took * 1000:.1f} ms while the solve ran")
    # ... and the solve still wrote its new route version once it finished
    alternative = await approving
    assert alternative.status.value == "EXECUTED"
    plans = await rows(runtime, RoutePlan, RoutePlan.route_id == scene.fleet.route.id)
    assert [p.reason for p in plans] == ["ALTERNATIVE_APPROVED"]
