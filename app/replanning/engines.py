"""Day-planning engines behind one small interface: a pure `solve(Problem) -> Plan`, run in the solver pool.

VROOM (solver.py) is always there and stays the fast replanner; PyVRP (pyvrp_solver.py) is optional
(`pip install detour[pyvrp]`) and chosen for whole-day plans by DETOUR_DAY_PLAN_ENGINE=pyvrp.
"""
from importlib.util import find_spec

from app.replanning.solver import Plan, Problem

VROOM, PYVRP = "vroom", "pyvrp"
ENGINES = (VROOM, PYVRP)


def available(engine: str) -> bool:
    """Whether the engine's package is installed (VROOM always is)."""
    return engine == VROOM or (engine == PYVRP and find_spec("pyvrp") is not None)


def solve_with(engine: str, problem: Problem) -> Plan:
    """Solve with the named engine; a top-level function so the process pool can pickle it."""
    if engine == PYVRP:
        from app.replanning.pyvrp_solver import solve
    elif engine == VROOM:
        from app.replanning.solver import solve
    else:
        raise ValueError(f"unknown day-planning engine {engine!r}: one of {', '.join(ENGINES)}")
    return solve(problem)
