"""The simulator drives the demo through the public API; the app runs in-process on the same frozen clock."""
import math

from sqlmodel import func, select

from app.alternatives.models import Alternative, DecisionOutcome
from app.delivery_exceptions.models import DeliveryException
from app.demo.day import ensure_demo_day
from app.demo.simulator import FAILURES, SimulationConfig, Simulator
from app.outreach.models import CustomerResponse
from app.outreach.worker import OutboxWorker
from app.replanning.models import RoutePlan
from app.routes.models import AttemptOutcome, DeliveryAttempt, Stop, StopStatus
from app.seed import DEMO_SLUG
from app.tenants.models import Tenant


def within(observed: int, trials: int, rate: float, sigmas: float = 3.5) -> bool:
    """`observed` successes out of `trials` is a plausible draw at `rate` (normal approximation, generous)."""
    spread = sigmas * math.sqrt(max(trials * rate * (1 - rate), 1.0))
    return abs(observed - trials * rate) <= spread


def simulator(demo_runtime, demo_client, frozen, **config) -> Simulator:  # noqa: ANN001
    worker = OutboxWorker(demo_runtime)

    async def advance(seconds: float) -> None:
        frozen.advance(seconds)
        await worker.run_once()  # the in-process worker of the embedded serve

    return Simulator(demo_runtime, demo_client, clock=frozen, config=SimulationConfig(**config), advance=advance)


async def _count(runtime, model, *where) -> int:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_within_five_minutes_exceptions_arrive_a_customer_answers_policy_approves_and_a_route_is_replanned(
    demo_runtime, demo_client, frozen, factory, solver_pool
) -> None:
    # given today's demo (10:05 in Amsterdam) and a user's tenant next to it
    await ensure_demo_day(demo_runtime)
    other = await factory.fleet(stops=3, slug="acme")
    demo = await _count(demo_runtime, Tenant, Tenant.slug == DEMO_SLUG)
    exceptions_before = await _count(demo_runtime, DeliveryException)
    # when the simulator runs five simulated minutes
    sim = simulator(demo_runtime, demo_client, frozen, answer_delay_seconds=(20, 60))
    tally = await sim.run(5 * 60)
    # then new exceptions arrived, a customer answered, the policy approved a choice and a route was replanned with ETAs
    assert demo == 1 and tally.errors == []
    assert await _count(demo_runtime, DeliveryException) > exceptions_before
    assert await _count(demo_runtime, CustomerResponse) >= 1
    assert await _count(demo_runtime, Alternative, Alternative.decision == DecisionOutcome.APPROVED_AUTOMATICALLY) >= 1
    async with demo_runtime.sessionmaker() as session:
        plans = (await session.exec(select(RoutePlan).where(RoutePlan.tenant_id == sim.tenant_id))).all()
    assert plans, "no route was replanned"
    async with demo_runtime.sessionmaker() as session:
        pending = (await session.exec(select(Stop).where(Stop.route_id == plans[0].route_id, Stop.status == StopStatus.PENDING))).all()
    assert pending and all(s.planned_eta is not None and s.planned_eta >= plans[0].created_at for s in pending)
    # and the user's tenant saw nothing of it
    assert await _count(demo_runtime, DeliveryAttempt, DeliveryAttempt.tenant_id == other.tenant.id) == 0


async def test_an_hour_at_high_speed_produces_figures_within_the_configured_rates(demo_runtime, demo_client, frozen, solver_pool) -> None:
    # given today's demo in the evening, when failures are at their evening rate
    frozen.set(frozen.now().replace(hour=16, minute=0))  # 18:00 in Amsterdam (summer time)
    await ensure_demo_day(demo_runtime)
    config = {"tick_seconds": 20.0, "open_with_failure": False, "failure_rate_evening": 0.3, "reply_digit_share": 0.4,
              "self_service_share": 0.3}
    sim = simulator(demo_runtime, demo_client, frozen, **config)
    # when it runs one simulated hour
    tally = await sim.run(60 * 60)
    # then every API call was taken and the figures match the configured rates
    assert tally.errors == []
    failures = sum(tally.failures.values())
    assert tally.attempts >= 30
    assert within(failures, tally.attempts, 0.3)
    weights = {kind: weight for kind, _, weight in FAILURES}
    for kind, weight in weights.items():
        assert within(tally.failures[kind], failures, weight), (kind, tally.failures)
    answered = sum(tally.answers.values())
    assert answered >= 5
    assert within(tally.answers["digit"], answered, 0.4) and within(tally.answers["link"], answered, 0.3)
    assert within(tally.answers["silence"], answered, 0.3)
    # and the database agrees with the simulator's own count
    delivered = await _count(demo_runtime, DeliveryAttempt, DeliveryAttempt.tenant_id == sim.tenant_id,
                             DeliveryAttempt.outcome == AttemptOutcome.DELIVERED, DeliveryAttempt.attempted_at >= frozen.now().replace(hour=16))
    assert delivered == tally.deliveries
    assert tally.fixes > 100


async def test_the_same_seed_gives_the_same_day(demo_runtime, demo_client, frozen, runtime) -> None:
    # given the demo and a seed
    await ensure_demo_day(demo_runtime)
    start = frozen.now()
    # when the first simulator's choices are replayed by a second one with the same seed (no calls made)
    first = Simulator(demo_runtime, demo_client, clock=frozen, config=SimulationConfig(seed=11))
    second = Simulator(demo_runtime, demo_client, clock=frozen, config=SimulationConfig(seed=11))
    other = Simulator(demo_runtime, demo_client, clock=frozen, config=SimulationConfig(seed=12))
    # then their random draws agree, and differ for another seed
    draws = [[s.rng.random() for _ in range(20)] for s in (first, second, other)]
    assert draws[0] == draws[1] != draws[2]
    assert frozen.now() == start
