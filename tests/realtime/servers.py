"""Real API processes (uvicorn) on PostgreSQL and Redis, for cross-process tests and the fan-out benchmark."""
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]



@dataclass(frozen=True)
class ApiProcess:
    url: str
    pid: int

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/graphql"

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Resident memory of the process (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


@contextmanager
def api_processes(
    count: int, *, database_url: str, broadcast_url: str, prefix: str, extra_env: dict[str, str] | None = None,
    root: Path = ROOT, app: str = "app.main:create_app",
) -> Iterator[list[ApiProcess]]:
    """Start `count` uvicorn processes of the app (from `root`: another checkout's code); yields them once /healthz answers."""
    env = {
        **os.environ, "DETOUR_DATABASE_URL": database_url, "DETOUR_BROADCAST_URL": broadcast_url,
        "DETOUR_BROADCAST_CHANNEL_PREFIX": prefix, "DETOUR_RUN_WORKER_IN_PROCESS": "false", "DETOUR_LOG_LEVEL": "WARNING",
        "DETOUR_DEMO_SIMULATE": "false",  # the demo simulator would seed and drive a demo tenant in every process
        **(extra_env or {}),
    }
    # uvicorn's own options, as `detour serve` sets them from the settings (the same for every app served here)
    deflate = env.get("DETOUR_WS_PER_MESSAGE_DEFLATE", str(Settings.model_fields["ws_per_message_deflate"].default))
    processes, logs, urls = [], [], []
    try:
        for _ in range(count):
            port = free_port()
            logs_dir = os.environ.get("DETOUR_BENCH_SERVER_LOGS")  # keep each server's output there (a bench run that failed)
            log = open(f"{logs_dir}/server-{port}.log", "w+b") if logs_dir else tempfile.TemporaryFile()  # noqa: SIM115
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port), "--ws-max-queue", "64",
                 "--ws-per-message-deflate", str(deflate).lower()],
                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
            ))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process, log in zip(urls, processes, logs, strict=True):
            _wait_healthy(url, process, log)
        yield [ApiProcess(url, process.pid) for url, process in zip(urls, processes, strict=True)]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def _wait_healthy(url: str, process: subprocess.Popen, log) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 90  # a loaded CI machine starts uvicorn slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"API process exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")
