"""The web console in a real browser: headless Chromium from the OS packages (/usr/bin/chromium), driven by
Playwright, against a real server with credentials over a stored monitoring history.

Every page loads without console errors (a script error, a refused resource, a Content-Security-Policy
violation all count), charts render with their points and answer hover, navigation from the overview to an
execution works, a wrong secret is refused and the right one signs in."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from clarimon.clock import set_file_time
from clarimon.config import Settings
from clarimon.control.context import Context, Services
from clarimon.objects import LocalObjects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store
from tests.conftest import BACKENDS, database_url
from tests.console.history import HOUR, START, Seeded, fill
from tests.servers import Server

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ALICE = "111111111111"
KEY, SECRET = "AKIDCONSOLE", "console-secret"
EXECUTIONS = 40


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(scope="module", params=BACKENDS)
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Server, Seeded]]:
    """A server with credentials over a history of 3 schedules x 40 executions written into its store."""
    with ExitStack() as stack:
        home = tmp_path_factory.mktemp("console")
        url = database_url(stack, str(request.param), home)
        store = Store(url)
        store.upgrade()
        objects = LocalObjects(home / "s3")
        services = Services(store, Settings(home=home, database_url=url), time.time, objects, Host(),
                            CaptureWriter(objects, home / "capture-journal"))
        history = fill(Context(ALICE, "us-east-1", services), schedules_count=3, executions_count=EXECUTIONS,
                       features=8, outputs=True)
        services.capture.close()
        store.close()
        credentials = home / "credentials.json"
        credentials.write_text(json.dumps({KEY: {"secret": SECRET, "account": ALICE},
                                           "AKIDOTHER": {"secret": "other-secret", "account": "222222222222"}}))
        # The server's time stands just after the history's last execution: no further one falls due meanwhile.
        clock = home / "clock"
        set_file_time(clock, str(START + (EXECUTIONS - 0.5) * HOUR))
        server = Server(home, url, ["--credentials", str(credentials), "--clock-file", str(clock)]).start()
        yield server, history
        server.kill()


class Watched:
    """A browser page whose console errors and uncaught exceptions are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")


@pytest.fixture
def signed_in(browser: Browser, console: tuple[Server, Seeded]) -> Iterator[Watched]:
    server, _ = console
    context = browser.new_context()
    watched = Watched(context.new_page())
    sign_in(watched.page, server, KEY, SECRET)
    yield watched
    context.close()


def sign_in(page: Page, server: Server | None, key: str, secret: str) -> None:
    """Sign in on the form (of the overview's sign-in page, unless `server` is None: the form shown)."""
    if server is not None:
        page.goto(f"{server.url}/console/")
    page.fill("input[name=key_id]", key)
    page.fill("input[name=secret]", secret)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_wrong_secret_is_refused_and_the_right_one_signs_in(browser: Browser,
                                                              console: tuple[Server, Seeded]) -> None:
    server, _ = console
    context = browser.new_context()
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(f"{server.url}/console/schedules/us-east-1/monitor-01")
    assert page.url.startswith(f"{server.url}/console/sign-in?next=")
    sign_in(page, None, KEY, "not-the-secret")
    assert "wrong" in page.inner_text(".problem")
    assert context.cookies() == []
    sign_in(page, None, KEY, SECRET)
    assert page.url == f"{server.url}/console/schedules/us-east-1/monitor-01"
    (cookie,) = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert page.evaluate("document.cookie") == ""  # no script reads the session
    # the 401 of the refused attempt is the only message the browser logs
    assert [e for e in watched.errors if "401" not in e] == []
    context.close()


def test_every_page_loads_without_console_errors(signed_in: Watched, console: tuple[Server, Seeded]) -> None:
    server, history = console
    page = signed_in.page
    last = history.executions["monitor-00"][-1]
    for path, heading in [("/console/", "Model dashboard"),
                          ("/console/schedules/us-east-1/monitor-00", "Monitoring schedule monitor-00"),
                          (f"/console/executions/us-east-1/{last}", "Execution of monitor-00"),
                          ("/console/endpoints/us-east-1/churn", "Endpoint churn")]:
        response = page.goto(server.url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert page.inner_text("h1") == heading
    assert signed_in.errors == []


def test_charts_render_their_points_and_show_value_and_time_on_hover(signed_in: Watched,
                                                                     console: tuple[Server, Seeded]) -> None:
    server, _ = console
    page = signed_in.page
    page.goto(f"{server.url}/console/schedules/us-east-1/monitor-00")
    counts = page.locator("svg.timeline path.marks").evaluate_all("paths => paths.map(p => p.dataset.count)")
    assert sum(int(n) for n in counts) == EXECUTIONS
    ndcg = page.locator("svg.chart.line").first
    dots = ndcg.locator("path.points").get_attribute("d") or ""
    assert dots.count("h0") > 30  # every execution that explained its data (Failed ones have no NDCG)
    assert ndcg.locator("path.points").bounding_box() is not None  # drawn, with a size
    assert page.locator("svg.chart.line").count() == 6  # NDCG, and the five strongest features
    assert page.locator("svg.chart.line .reference").count() == 5
    box = ndcg.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert re.fullmatch(r"2026-11-2\d \d\d:00:00 UTC\nlabel0: (1|0\.\d+)", text), text
    assert signed_in.errors == []


def test_from_the_overview_to_an_execution(signed_in: Watched, console: tuple[Server, Seeded]) -> None:
    server, history = console
    page = signed_in.page
    page.goto(f"{server.url}/console/")
    page.click("table.schedules a[href='/console/schedules/us-east-1/monitor-02']")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "Monitoring schedule monitor-02"
    # a click on the timeline opens the execution there: hour 6 of 0..39, where the ranking turned over
    timeline = page.locator("svg.timeline")
    box = timeline.bounding_box()
    assert box is not None
    left, right = 64 / 880 * box["width"], (880 - 16) / 880 * box["width"]
    page.mouse.click(box["x"] + left + (right - left) * 6 / (EXECUTIONS - 1), box["y"] + box["height"] / 2)
    page.wait_for_url(f"{server.url}/console/executions/us-east-1/{history.executions['monitor-02'][6]}")
    assert "CompletedWithViolations" in page.inner_text("dl.facts")
    assert page.locator("table.violations").count() == 1
    assert page.locator("svg.bars rect.bar.current").count() == 9  # 8 features and the legend
    # clicking a point of a chart opens that execution too
    page.goto(f"{server.url}/console/schedules/us-east-1/monitor-02")
    chart = page.locator("svg.chart.line").first
    box = chart.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 20, box["y"] + box["height"] * 0.5)
    page.wait_for_url(f"{server.url}/console/executions/us-east-1/*")
    assert page.inner_text("h1") == "Execution of monitor-02"
    assert signed_in.errors == []


def test_another_account_sees_none_of_it(browser: Browser, console: tuple[Server, Seeded]) -> None:
    server, _ = console
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, "AKIDOTHER", "other-secret")
    assert "No monitoring schedules yet." in page.inner_text("main")
    response = page.goto(f"{server.url}/console/schedules/us-east-1/monitor-00")
    assert response is not None and response.status == 404
    context.close()
