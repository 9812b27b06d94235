"""The console's first load in Chromium: KB transferred and time until it can be used, over a real `detour serve`.

    .venv/bin/python bench/console_load.py [--runs 5] [--chromium /usr/bin/chromium]

Each run is a fresh browser context (empty cache). "sign-in page": from navigation until the one-click button
is usable. "queue": from the click until the demo queue is listed and the live socket is acknowledged.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, start_server, write_result  # noqa: E402


def serve(work: Path, port: int) -> subprocess.Popen:
    """`detour serve` itself: migrations and the demo seed come with it."""
    env = {"DETOUR_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}", "DETOUR_LOG_LEVEL": "WARNING"}  # stderr is a pipe
    command = [str(Path(sys.executable).parent / "detour"), "serve", "--port", str(port)]
    return start_server(env, port, command=command, timeout_s=90)


def one_run(browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    transferred = {"bytes": 0, "requests": 0}

    def finished(event: dict) -> None:
        transferred["bytes"] += event["encodedDataLength"]
        transferred["requests"] += 1

    cdp.on("Network.loadingFinished", finished)
    started = time.perf_counter()
    page.goto(f"{base}/console")
    page.get_by_role("button", name="Sign in to the demo as dispatcher").wait_for(state="visible")
    sign_in_ready = time.perf_counter() - started
    sign_in_page = dict(transferred)
    clicked = time.perf_counter()
    page.get_by_role("button", name="Sign in to the demo as dispatcher").click()
    page.wait_for_selector("[data-exception]")
    page.wait_for_selector("[data-live=live]")
    queue_ready = time.perf_counter() - clicked
    page.wait_for_load_state("networkidle")
    nav = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0]; return {domInteractive: n.domInteractive, loadEvent: n.loadEventEnd}; })()")
    context.close()
    return {"sign_in_page_kb": sign_in_page["bytes"] / 1024, "sign_in_page_requests": sign_in_page["requests"],
            "through_queue_kb": transferred["bytes"] / 1024, "through_queue_requests": transferred["requests"],
            "sign_in_interactive_ms": sign_in_ready * 1000, "queue_interactive_ms": queue_ready * 1000,
            "dom_interactive_ms": nav["domInteractive"], "load_event_ms": nav["loadEvent"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        process = serve(Path(tmp), port)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
                runs = [one_run(browser, f"http://127.0.0.1:{port}") for _ in range(args.runs)]
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    table = {key: round(statistics.median(r[key] for r in runs), 1) for key in runs[0]}
    print(f"{'console first load (median of %d runs)' % args.runs:<44}value")
    for key, value in table.items():
        print(f"{key:<44}{value}")
    print(write_result("console_load", {"runs": runs, "median": table}))


if __name__ == "__main__":
    main()
