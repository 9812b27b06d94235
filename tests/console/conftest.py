"""A real `detour serve` (embedded mode, temp SQLite, the demo seeded) and Debian's Chromium driven by Playwright."""
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "console"
GRAPHQL = ROOT / "graphql"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}


def _required(reason: str) -> None:
    """With CI=true the browser tests must run: a missing piece fails them instead of skipping."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: the console's browser tests may not skip)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base: str
    env: dict[str, str]
    _used: set[str] = field(default_factory=set)

    def token(self, role: str) -> str:
        detour = Path(sys.executable).parent / "detour"
        return subprocess.run([str(detour), "token", "--role", role], env=self.env, check=True, capture_output=True, text=True).stdout.strip()

    def gql(self, path: str, variables: dict, token: str) -> dict:
        body = httpx.post(f"{self.base}/graphql", json={"query": (GRAPHQL / path).read_text(), "variables": variables},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        assert "errors" not in body, body
        payload = next(iter(body["data"].values()))
        assert not (isinstance(payload, dict) and payload.get("errors")), payload
        return payload

    def report_exception(self, driver: str, kind: str = "CUSTOMER_ABSENT", reason: str = "NO_ANSWER", decidable: bool = False) -> dict:
        """The driver app reports a failed delivery on a pending stop no other test used.

        decidable: one parcel and no signature (under the policy's value limit), so a driver's proposal is the dispatcher's to decide.
        """
        route = self.gql("driver/MyRoute.graphql", {}, driver)
        pending = [s for s in route["stops"] if s["status"] == "PENDING" and not s["openException"] and s["id"] not in self._used
                   and (not decidable or (len(s["parcels"]) == 1 and not s["parcels"][0]["signatureRequired"]))]
        stop = pending[-1] if not decidable else pending[0]
        self._used.add(stop["id"])
        payload = self.gql("driver/ReportException.graphql", {"input": {"stopId": stop["id"], "kind": kind, "reasonCode": reason,
                                                                      "idempotencyKey": f"console-test-{stop['id']}"}}, driver)
        return {"stop": stop, "exception": payload["exception"]}

    def propose_safe_place(self, driver: str, stop_id: str) -> dict:
        payload = self.gql("driver/ProposeAlternative.graphql", {"input": {"stopId": stop_id, "kind": "SECURE_DROPOFF", "instructions": "behind the blue bin"}}, driver)
        return payload["alternative"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("console-serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DETOUR_")}
    env.update({"DETOUR_MODE": "embedded", "DETOUR_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'console.db'}",
                "DETOUR_BROADCAST_URL": "memory://", "DETOUR_REALTIME_POSITION_INTERVAL_SECONDS": "0"})
    detour = Path(sys.executable).parent / "detour"
    log = (work / "serve.log").open("w")
    process = subprocess.Popen([str(detour), "serve", "--no-simulate", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:  # wait for the process to listen (a readiness poll, not a wait for time to pass)
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"detour serve did not start: {(work / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.2)
    yield Server(base=base, env=env)
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _required("playwright is not installed (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        _required("Chromium is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    viewport = PHONE if "phone" in request.node.name else DESKTOP
    context = browser.new_context(viewport=viewport, device_scale_factor=1, has_touch="phone" in request.node.name)
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors  # no script error on any page


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, server: Server) -> None:
    page.goto(f"{server.base}/console")
    page.get_by_role("button", name="Sign in to the demo as dispatcher").click()
    page.wait_for_selector("[data-exception]")
    page.wait_for_selector("[data-live=live]")
