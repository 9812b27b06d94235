"""Day planning: VROOM (exploration 5) against PyVRP at the same time budget, on the Solomon VRPTW instances; `engine` is
Detour's own PyVRP engine (DETOUR_DAY_PLAN_ENGINE=pyvrp) given the very Problem VROOM gets.

    .venv/bin/pip install pyvrp   # optional, only for this benchmark
    .venv/bin/python bench/day_plan.py [--instances 'C101,R101,RC101,C201,R201,RC201'] [--seconds 2]

Same conventions as bench/vrptw.py (distances x1000, travel time = distance). Gap is to the best-known distance.
"""
import argparse
import fnmatch
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.replanning.solver import solve  # noqa: E402
from bench.common import write_result  # noqa: E402
from bench.vrptw import SCALE, parse_solomon, to_problem, travel_matrix  # noqa: E402

DATA = Path("/work/shared/bench/vrptw")


def run_vroom(instance, matrix, seconds: float) -> tuple[float, int, float]:  # noqa: ANN001
    problem = replace(to_problem(instance, matrix, 5, 1), timeout_ms=int(seconds * 1000))
    started = time.perf_counter()
    plan = solve(problem)
    return plan.distance / SCALE, len(plan.unassigned), time.perf_counter() - started


def run_engine(instance, matrix, seconds: float) -> tuple[float, int, float]:  # noqa: ANN001
    """Detour's PyVRP engine (app/replanning/pyvrp_solver.py) on the same Problem VROOM gets: the adapter's own cost."""
    from app.replanning.engines import PYVRP, solve_with

    problem = replace(to_problem(instance, matrix, 5, 1), timeout_ms=int(seconds * 1000))
    started = time.perf_counter()
    plan = solve_with(PYVRP, problem)
    return plan.distance / SCALE, len(plan.unassigned), time.perf_counter() - started


def run_pyvrp(instance, matrix, seconds: float) -> tuple[float, int, float]:  # noqa: ANN001
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    model = Model()
    locations = [model.add_location(x=instance.x[c] * SCALE, y=instance.y[c] * SCALE) for c in range(len(instance.x))]
    depot = model.add_depot(locations[0], tw_early=instance.ready[0] * SCALE, tw_late=instance.due[0] * SCALE)
    model.add_vehicle_type(num_available=instance.vehicles, capacity=[instance.capacity], start_depot=depot, end_depot=depot,
                           tw_early=instance.ready[0] * SCALE, tw_late=instance.due[0] * SCALE)
    for c in range(1, len(instance.x)):
        model.add_client(locations[c], delivery=[instance.demand[c]], service_duration=instance.service[c] * SCALE,
                         tw_early=instance.ready[c] * SCALE, tw_late=instance.due[c] * SCALE)
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            if i != j:
                model.add_edge(a, b, distance=int(matrix[i, j]), duration=int(matrix[i, j]))
    started = time.perf_counter()
    result = model.solve(stop=MaxRuntime(seconds), display=False, seed=1)
    feasible = result.best.is_feasible()
    unassigned = 0 if feasible else -1
    return result.best.distance() / SCALE, unassigned, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", default="C101,R101,RC101,C201,R201,RC201")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    bks = json.loads((DATA / "solomon_bks.json").read_text())
    paths = sorted(p for p in (DATA / "solomon").glob("*.txt") if any(fnmatch.fnmatch(p.stem, pat) for pat in args.instances.split(",")))
    rows = []
    print(f"{'instance':<8} {'best':>9} {'vroom gap%':>10} {'unass.':>6} {'pyvrp gap%':>10} {'feasible':>8} {'engine gap%':>11} {'unass.':>6}"
          f"   (budget {args.seconds} s)")
    for path in paths:
        instance = parse_solomon(path)
        matrix = travel_matrix(instance)
        best = bks[path.stem]["best_known_cost"]
        v_cost, v_unassigned, v_s = run_vroom(instance, matrix, args.seconds)
        p_cost, p_flag, p_s = run_pyvrp(instance, matrix, args.seconds)
        e_cost, e_unassigned, e_s = run_engine(instance, matrix, args.seconds)
        row = {"instance": path.stem, "best_known": best,
               "vroom": {"cost": round(v_cost, 2), "gap_pct": round(100 * (v_cost - best) / best, 2), "unassigned": v_unassigned, "seconds": round(v_s, 2)},
               "pyvrp": {"cost": round(p_cost, 2), "gap_pct": round(100 * (p_cost - best) / best, 2), "feasible": p_flag == 0, "seconds": round(p_s, 2)},
               "engine": {"cost": round(e_cost, 2), "gap_pct": round(100 * (e_cost - best) / best, 2), "unassigned": e_unassigned, "seconds": round(e_s, 2)}}
        rows.append(row)
        print(f"{path.stem:<8} {best:>9} {row['vroom']['gap_pct']:>10} {v_unassigned:>6} {row['pyvrp']['gap_pct']:>10} {str(p_flag == 0):>8}"
              f" {row['engine']['gap_pct']:>11} {e_unassigned:>6}")
    summary = {k: {"mean_gap_pct": round(statistics.fmean(r[k]["gap_pct"] for r in rows), 2),
                   "median_gap_pct": round(statistics.median(r[k]["gap_pct"] for r in rows), 2)} for k in ("vroom", "pyvrp", "engine")}
    print("mean/median gap: vroom", summary["vroom"], " pyvrp", summary["pyvrp"], " engine (Detour's PyVRP adapter)", summary["engine"])
    print("wrote", write_result("day_plan", {"seconds": args.seconds, "rows": rows, "summary": summary}))


if __name__ == "__main__":
    main()
