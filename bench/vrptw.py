"""Benchmark the replanning solver on the Solomon VRPTW instances against best-known distances.

Conventions (see ../shared/bench/vrptw/README.md): Euclidean distances x1000 rounded to int,
travel time = distance, service times and time windows x1000, capacity as given. A nearest-
neighbour construction (time windows and capacity respected) runs on the same data as a baseline.

    .venv/bin/python bench/vrptw.py [--data DIR] [--instances C101,R1*] [--limit N] [--exploration 5]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.replanning.solver import JobSpec, Problem, VehicleSpec, solve  # noqa: E402

SCALE = 1000
CLASSES = ("C1", "C2", "R1", "R2", "RC1", "RC2")


@dataclass(frozen=True)
class Instance:
    """A Solomon instance; customer 0 is the depot."""

    name: str
    vehicles: int
    capacity: int
    x: list[float]
    y: list[float]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]


@dataclass
class Outcome:
    """One algorithm's result on one instance (cost unscaled, gap in % of the best known distance)."""

    cost: float
    gap_pct: float
    vehicles: int
    unassigned: int
    seconds: float


def parse_solomon(path: Path) -> Instance:
    """Read the classic Solomon text format."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    vehicles, capacity = (int(v) for v in lines[lines.index(["NUMBER", "CAPACITY"]) + 1])
    rows = [[float(v) for v in line] for line in lines if len(line) == 7 and line[0].isdigit()]
    _, x, y, demand, ready, due, service = (list(column) for column in zip(*rows))
    demand, ready, due, service = ([int(v) for v in column] for column in (demand, ready, due, service))
    return Instance(lines[0][0], vehicles, capacity, x, y, demand, ready, due, service)


def travel_matrix(instance: Instance) -> np.ndarray:
    """Euclidean distances scaled by SCALE and rounded; also used as travel times."""
    xy = np.column_stack([instance.x, instance.y]).astype(float)
    return np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * SCALE).astype(np.int64)


def to_problem(instance: Instance, matrix: np.ndarray, exploration: int, threads: int) -> Problem:
    """The instance as a solver Problem, times scaled like distances."""
    shift = (instance.ready[0] * SCALE, instance.due[0] * SCALE)
    vehicles = [
        VehicleSpec(v, 0, 0, shift[0], shift[1], capacity=(instance.capacity,)) for v in range(instance.vehicles)
    ]
    jobs = [
        JobSpec(
            c,
            c,
            service=instance.service[c] * SCALE,
            time_windows=((instance.ready[c] * SCALE, instance.due[c] * SCALE),),
            demand=(instance.demand[c],),
        )
        for c in range(1, len(instance.x))
    ]
    return Problem(vehicles, jobs, matrix, matrix, exploration_level=exploration, threads=threads)


def nearest_neighbour(instance: Instance, matrix: np.ndarray) -> tuple[int, int, int]:
    """Greedy routes: the nearest feasible customer next, a new vehicle when none fits (the fleet size is not
    enforced, so every reachable customer is served); returns (cost, vehicles, unassigned)."""
    left = set(range(1, len(instance.x)))
    depot_due = instance.due[0] * SCALE
    cost = used = 0
    while left:
        here, clock, load, route = 0, instance.ready[0] * SCALE, 0, 0
        while True:
            best = None
            for c in left:
                start = max(clock + matrix[here, c], instance.ready[c] * SCALE)
                fits = load + instance.demand[c] <= instance.capacity and start <= instance.due[c] * SCALE
                if fits and start + instance.service[c] * SCALE + matrix[c, 0] <= depot_due:
                    if best is None or (matrix[here, c], start) < (matrix[here, best[0]], best[1]):
                        best = (c, start)
            if best is None:
                break
            c, start = best
            route += int(matrix[here, c])
            here, clock, load = c, start + instance.service[c] * SCALE, load + instance.demand[c]
            left.remove(c)
        if here == 0:
            break  # no customer is reachable even from a fresh vehicle
        cost += route + int(matrix[here, 0])
        used += 1
    return cost, used, len(left)


def run_instance(path: Path, best_known: float, exploration: int, threads: int) -> dict:
    """Solve one instance with VROOM and with the baseline."""
    instance = parse_solomon(path)
    matrix = travel_matrix(instance)
    started = time.perf_counter()
    plan = solve(to_problem(instance, matrix, exploration, threads))
    vroom_seconds = time.perf_counter() - started
    vroom_cost = plan.distance / SCALE
    started = time.perf_counter()
    nn_cost, nn_vehicles, nn_unassigned = nearest_neighbour(instance, matrix)
    nn_seconds = time.perf_counter() - started

    def outcome(cost: float, vehicles: int, unassigned: int, seconds: float) -> dict:
        return asdict(Outcome(round(cost, 3), round(100 * (cost - best_known) / best_known, 3), vehicles, unassigned,
                              round(seconds, 3)))

    return {
        "instance": instance.name,
        "class": _class_of(instance.name),
        "best_known_distance": best_known,
        "vroom": outcome(vroom_cost, len(plan.routes), len(plan.unassigned), vroom_seconds),
        "nearest_neighbour": outcome(nn_cost / SCALE, nn_vehicles, nn_unassigned, nn_seconds),
    }


def summarise(rows: list[dict]) -> dict:
    """Mean/median/max gap, unassigned and time per algorithm."""
    summary = {"instances": len(rows)}
    for algorithm in ("vroom", "nearest_neighbour"):
        gaps = [row[algorithm]["gap_pct"] for row in rows]
        summary[algorithm] = {
            "mean_gap_pct": round(statistics.fmean(gaps), 2),
            "median_gap_pct": round(statistics.median(gaps), 2),
            "max_gap_pct": round(max(gaps), 2),
            "instances_with_unassigned": sum(row[algorithm]["unassigned"] > 0 for row in rows),
            "total_seconds": round(sum(row[algorithm]["seconds"] for row in rows), 1),
        }
    return summary


def print_report(rows: list[dict], summaries: dict[str, dict]) -> None:
    """Print the per-instance table and the per-class summaries."""
    header = f"{'instance':8} {'BKS':>9} | {'VROOM':>9} {'gap%':>6} {'veh':>3} {'unas':>4} {'s':>6} |"
    print(header + f" {'NN':>9} {'gap%':>6} {'veh':>3} {'unas':>4}")
    for row in rows:
        v, n = row["vroom"], row["nearest_neighbour"]
        print(
            f"{row['instance']:8} {row['best_known_distance']:9.2f} | {v['cost']:9.2f} {v['gap_pct']:6.2f} "
            f"{v['vehicles']:3d} {v['unassigned']:4d} {v['seconds']:6.2f} | {n['cost']:9.2f} {n['gap_pct']:6.2f} "
            f"{n['vehicles']:3d} {n['unassigned']:4d}"
        )
    print(f"\n{'group':8} {'n':>3} | {'VROOM mean/median/max gap %':>28} {'unas':>4} |", end="")
    print(f" {'NN mean/median/max gap %':>26}")
    for group, summary in summaries.items():
        v, n = summary["vroom"], summary["nearest_neighbour"]
        print(
            f"{group:8} {summary['instances']:3d} | {v['mean_gap_pct']:8.2f} {v['median_gap_pct']:9.2f} "
            f"{v['max_gap_pct']:9.2f} {v['instances_with_unassigned']:4d} | {n['mean_gap_pct']:8.2f} "
            f"{n['median_gap_pct']:8.2f} {n['max_gap_pct']:8.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the selected instances, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench" / "vrptw")
    parser.add_argument("--instances", default="*", help="comma-separated names or globs, e.g. C101,R1*")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--exploration", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "vrptw.json")
    args = parser.parse_args(argv)

    best_known = json.loads((args.data / "solomon_bks.json").read_text())
    patterns = [p.strip().upper() for p in args.instances.split(",") if p.strip()]
    paths = sorted(
        (p for p in (args.data / "solomon").glob("*.txt") if any(fnmatch.fnmatch(p.stem.upper(), g) for g in patterns)),
        key=lambda p: (CLASSES.index(_class_of(p.stem)), p.stem),
    )[: args.limit]
    if not paths:
        parser.error(f"no instance matches {args.instances!r} in {args.data / 'solomon'}")

    rows = []
    for path in paths:
        rows.append(run_instance(path, best_known[f"{path.stem}_distance"]["best_known_cost"], args.exploration,
                                 args.threads))
        print(f"  {path.stem}: VROOM gap {rows[-1]['vroom']['gap_pct']:.2f}%", file=sys.stderr, flush=True)
    by_class = {c: [row for row in rows if row["class"] == c] for c in CLASSES}
    summaries = {c: summarise(class_rows) for c, class_rows in by_class.items() if class_rows}
    summaries["overall"] = summarise(rows)
    print_report(rows, summaries)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    settings = {"exploration": args.exploration, "threads": args.threads, "scale": SCALE, "data": str(args.data)}
    args.output.write_text(json.dumps({"settings": settings, "summary": summaries, "instances": rows}, indent=2))
    print(f"\nwrote {args.output}")


def _class_of(name: str) -> str:
    """C101 -> C1, RC208 -> RC2."""
    return name.rstrip("0123456789") + name.lstrip("CR")[0]


if __name__ == "__main__":
    main()
