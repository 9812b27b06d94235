"""Helpers shared by the benchmarks: percentiles, result files, a throwaway server."""
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "mean_ms": round(statistics.fmean(ms), 2)}


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, command: list[str] | None = None, timeout_s: float = 30,
                 log_path: Path | None = None) -> subprocess.Popen:
    """uvicorn in its own process, as in production (or `command`); returns once /healthz answers.

    log_path: its output goes to that file (a pipe nobody reads would block a busy server); else stderr is kept to
    explain a failed start.
    """
    log = log_path.open("wb") if log_path is not None else None
    process = subprocess.Popen(
        command or [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, **env}, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT if log else subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    output = log_path.read_text() if log_path is not None else process.stderr.read().decode()
    raise RuntimeError(f"server did not start: {output[-2000:]}")
