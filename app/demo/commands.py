"""`detour simulate`: the demo driven in this process, on a clock that runs `speed` times faster."""
import asyncio
import httpx

from app.config import Settings


def run_simulation(settings: Settings, *, minutes: float, speed: float, seed: int) -> str:
    """Run the demo for `minutes` of simulated time in this process (its own app and worker), `speed` times real time."""
    from app.bootstrap import bootstrap
    from app.demo.day import ensure_demo_day
    from app.demo.running import ScaledClock, quiet_http_logs
    from app.demo.simulator import SimulationConfig, Simulator
    from app.main import create_app
    from app.outreach.worker import OutboxWorker

    quiet_http_logs()

    async def run() -> str:
        runtime = bootstrap(settings, clock=ScaledClock(speed))
        await runtime.start()
        worker = OutboxWorker(runtime)
        config = SimulationConfig(seed=seed)

        async def advance(seconds: float) -> None:
            await asyncio.sleep(seconds / speed)
            await worker.run_once()

        try:
            print(await ensure_demo_day(runtime))
            app = create_app(runtime=runtime)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_base_url) as http:
                simulator = Simulator(runtime, http, clock=runtime.clock, config=config, advance=advance)
                tally = await simulator.run(minutes * 60)
        finally:
            runtime.solver_pool.close()
            await runtime.stop()
        failures = ", ".join(f"{k} {v}" for k, v in sorted(tally.failures.items())) or "none"
        answers = ", ".join(f"{k} {v}" for k, v in sorted(tally.answers.items())) or "none"
        return (f"simulated {minutes:g} min at {speed:g}x: {tally.deliveries} delivered, failures: {failures}; "
                f"customers: {answers}; {tally.fixes} GPS fixes; {len(tally.errors)} refused calls")

    return asyncio.run(run())
