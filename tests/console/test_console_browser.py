"""The console in Chromium against a real `detour serve`: sign in, live queue, decide, resolve, replan, KPIs, phone size."""
import pytest

from tests.console.conftest import shot, sign_in


@pytest.fixture(autouse=True)
def _clean_tables() -> None:
    """The browser tests own a server and its database; the suite's async table cleaner has nothing to clean here
    (and an async fixture cannot run while Playwright's sync API holds the thread's event loop)."""


def test_one_click_sign_in_shows_the_demo_queue(page, server):
    # given the console of a freshly seeded embedded server
    page.goto(f"{server.base}/console")

    # when the dispatcher signs in with one click
    page.get_by_role("button", name="Sign in to the demo as dispatcher").click()

    # then the demo's open exceptions are listed with a countdown, and the token is in session storage, not the URL
    page.wait_for_selector("[data-exception]")
    assert page.locator("[data-exception]").count() >= 6
    assert page.locator(".countdown").first.inner_text().endswith(("left", "late"))
    token = page.evaluate("sessionStorage.getItem('detour.console.token')")
    assert token and token not in page.url
    page.wait_for_selector("[data-live=live]")
    shot(page, "desktop-queue")


def test_a_drivers_report_appears_live_without_a_reload(page, server):
    # given a signed-in console, marked so a reload would show
    sign_in(page, server)
    page.evaluate("window.__notReloaded = true")

    # when the driver app reports a failed delivery over the API
    reported = server.report_exception(server.token("driver"), kind="ACCESS_DENIED", reason="GATE_CLOSED")

    # then it appears in the queue on its own
    page.wait_for_selector(f"[data-exception='{reported['exception']['id']}']")
    assert page.evaluate("window.__notReloaded") is True


def test_a_dropped_connection_resumes_without_missing_or_doubling_events(page, server):
    # given a live console that has seen an event, whose socket then drops and stays down
    driver = server.token("driver")
    sign_in(page, server)
    first = server.report_exception(driver)
    page.wait_for_selector(f"[data-exception='{first['exception']['id']}']")
    page.evaluate("window.detourConsole.drop(true)")
    page.wait_for_selector("[data-live=reconnecting]")

    # when a driver reports while it is down, and the connection comes back
    missed = server.report_exception(driver)
    page.evaluate("window.detourConsole.resume()")

    # then the missed report's events are replayed after the last one seen, and no event arrives twice
    page.wait_for_selector("[data-live=live]")
    page.wait_for_selector(f"[data-exception='{missed['exception']['id']}']")
    page.wait_for_function(f"window.detourConsole.received.some(e => e.exceptionId === '{missed['exception']['id']}')")
    ids = [int(e["id"]) for e in page.evaluate("window.detourConsole.received")]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)


def test_approve_an_alternative_then_resolve(page, server):
    # given a reported exception whose driver proposed a safe place the policy leaves to the dispatcher
    driver = server.token("driver")
    reported = server.report_exception(driver, decidable=True)
    alternative = server.propose_safe_place(driver, reported["stop"]["id"])
    sign_in(page, server)

    # when the dispatcher opens it and approves the alternative
    page.click(f"[data-exception='{reported['exception']['id']}'] button")
    page.wait_for_selector(f"[data-alternative='{alternative['id']}']")
    assert "dispatcher_may_approve" in page.locator(f"[data-alternative='{alternative['id']}'] .policy").inner_text()
    page.click(f"[data-alternative='{alternative['id']}'] [data-action=approve]")

    # then it is approved, and resolving (outcome suggested by the alternative) closes the exception
    page.wait_for_selector(f"[data-alternative='{alternative['id']}'][data-status=EXECUTED], [data-alternative='{alternative['id']}'][data-status=APPROVED]")
    assert page.locator("#resolve-outcome").input_value() == "SECURE_DROPOFF"
    timeline = page.locator(".timeline")
    assert timeline.locator("[data-actor=driver]").count() >= 1 and timeline.locator("[data-actor=dispatcher]").count() >= 1
    shot(page, "desktop-detail")
    page.fill("#resolve-note", "left behind the blue bin")
    page.click("[data-action=resolve]")
    page.wait_for_selector("article[data-status=RESOLVED]")
    assert "left behind the blue bin" in page.locator(".resolved").inner_text()
    # and the closed exception leaves the open queue while its detail stays on screen
    page.wait_for_selector(f"[data-exception='{reported['exception']['id']}']", state="detached")
    assert page.locator("article[data-status=RESOLVED]").is_visible()


def test_a_version_conflict_is_explained_and_the_view_reloads(page, server):
    # given an exception open in the console while its live updates are cut off
    reported = server.report_exception(server.token("driver"))
    exception_id = reported["exception"]["id"]
    sign_in(page, server)
    page.click(f"[data-exception='{exception_id}'] button")
    page.wait_for_selector("article[data-version]")
    page.evaluate("window.detourConsole.drop(true)")
    dispatcher = server.token("dispatcher")
    seen = server.gql("dispatcher/ExceptionDetail.graphql", {"id": exception_id}, dispatcher)["version"]

    # when another dispatcher moves it on first, and this one then resolves the version they saw
    changed = server.gql("dispatcher/AcknowledgeException.graphql", {"input": {"id": exception_id, "expectedVersion": seen}}, dispatcher)
    page.click("[data-action=resolve]")

    # then the conflict is explained and the view shows the other dispatcher's change, still unresolved
    page.wait_for_selector("[data-notice=conflict]")
    assert "Someone else changed this exception" in page.locator("[data-notice=conflict]").inner_text()
    page.wait_for_selector(f"article[data-version='{changed['exception']['version']}']")
    assert page.locator("article").get_attribute("data-status") != "RESOLVED"


def test_replan_preview_then_apply(page, server):
    # given an exception open in the console
    reported = server.report_exception(server.token("driver"))
    sign_in(page, server)
    page.click(f"[data-exception='{reported['exception']['id']}'] button")

    # when the dispatcher previews a replan of its route
    page.click("[data-action=preview-replan]")

    # then the proposal lists stops with ETAs and the minutes saved, and applying it writes a new route version
    proposal = page.wait_for_selector("[aria-label='Replan preview']")
    assert "min" in proposal.inner_text() and page.locator(".plan li").count() > 5
    shot(page, "desktop-replan")
    page.click("[data-action=apply-replan]")
    page.wait_for_selector("text=Applied: route version")


def test_the_kpi_view_draws_its_charts(page, server):
    # given a signed-in console
    sign_in(page, server)

    # when the KPI view is opened
    page.get_by_role("button", name="KPIs").first.click()

    # then the headline figures, kind bars, two heat maps and the hot-spot hexagons are drawn as SVG
    page.wait_for_selector(".kpi-grid[data-ready]")
    assert page.locator("figure.kpi").count() == 4
    assert page.locator(".heat rect.cell").count() == 2 * 7 * 24
    assert page.locator(".bars rect.cur").count() >= 1
    assert page.locator("polygon.hex").count() >= 1
    assert "previous period" in page.locator("figure.kpi").first.inner_text()
    shot(page, "desktop-kpis")


def test_phone_queue_to_detail_to_action_in_three_taps(page, server):
    # given a 390x844 phone and an exception with a proposal waiting
    driver = server.token("driver")
    reported = server.report_exception(driver, decidable=True)
    alternative = server.propose_safe_place(driver, reported["stop"]["id"])
    sign_in(page, server)
    shot(page, "phone-queue")

    # when the dispatcher taps the exception, approve, then resolve
    page.tap(f"[data-exception='{reported['exception']['id']}'] button")
    page.locator(f"[data-alternative='{alternative['id']}'] [data-action=approve]").tap()
    page.wait_for_selector(f"[data-alternative='{alternative['id']}']:not([data-status=PROPOSED])")
    shot(page, "phone-detail")
    page.locator("[data-action=resolve]").tap()

    # then it is resolved, nothing overflows the screen's width, and the KPI view draws there too
    page.wait_for_selector("article[data-status=RESOLVED]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("navigation", name="Panes").get_by_role("button", name="KPIs").tap()
    page.wait_for_selector(".kpi-grid[data-ready]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-kpis")
