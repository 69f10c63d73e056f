"""The console's routes over a store with a monitoring history: who sees what, every page, output files."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from clarimon.config import Credential
from clarimon.console.pages import RECENT
from clarimon.console.routes import Answer, Console
from clarimon.console.sessions import Sessions
from clarimon.control.context import Context, Services
from tests.console.history import Seeded, fill

ALICE, BOB = "111111111111", "222222222222"
KEYS = {"AKIDALICE": Credential("alice-secret", ALICE), "AKIDBOB": Credential("bob-secret", BOB)}
HOST = {"host": "127.0.0.1:8080"}


@pytest.fixture
def seeded(services: Services) -> tuple[Console, Seeded]:
    history = fill(Context(ALICE, "us-east-1", services), schedules_count=2, executions_count=12, features=6,
                   outputs=True)
    return Console(services, Sessions(KEYS, services.store.secret, "000000000000")), history


def get(console: Console, path: str, cookie: str | None = None) -> Answer:
    path, _, query = path.partition("?")
    return console.answer("GET", path, query, {**HOST, **({"cookie": cookie} if cookie else {})}, b"")


def sign_in(console: Console, key: str, secret: str, next_path: str = "/console/",
            headers: dict[str, str] | None = None) -> Answer:
    body = f"key_id={key}&secret={quote(secret)}&next={quote(next_path)}".encode()
    return console.answer("POST", "/console/sign-in", "", {**HOST, **(headers or {})}, body)


def cookie_of(answer: Answer) -> str:
    (value,) = [v for k, v in answer.headers if k == "set-cookie"]
    return value.split(";")[0]


def test_pages_need_a_session_and_send_to_the_sign_in_form(seeded: tuple[Console, Seeded]) -> None:
    console, _ = seeded
    answer = get(console, "/console/schedules/us-east-1/monitor-00?last=5")
    assert answer.status == 303
    assert dict(answer.headers)["location"] == (
        "/console/sign-in?next=" + quote("/console/schedules/us-east-1/monitor-00?last=5", safe=""))
    form = get(console, dict(answer.headers)["location"])
    assert form.status == 200 and b'name="secret"' in form.body
    assert b'value="/console/schedules/us-east-1/monitor-00?last=5"' in form.body


def test_a_wrong_secret_is_refused_and_the_right_one_signs_in(seeded: tuple[Console, Seeded]) -> None:
    console, _ = seeded
    refused = sign_in(console, "AKIDALICE", "bob-secret")
    assert refused.status == 401 and b"wrong" in refused.body
    assert not [k for k, _ in refused.headers if k == "set-cookie"]
    answer = sign_in(console, "AKIDALICE", "alice-secret", "/console/endpoints/us-east-1/churn")
    assert answer.status == 303 and dict(answer.headers)["location"] == "/console/endpoints/us-east-1/churn"
    assert "HttpOnly" in dict(answer.headers)["set-cookie"]


def test_sign_in_goes_only_to_console_pages_and_refuses_other_sites(seeded: tuple[Console, Seeded]) -> None:
    console, _ = seeded
    for target in ("https://evil.example/", "//evil.example/console/", "/other"):
        answer = sign_in(console, "AKIDALICE", "alice-secret", target)
        assert dict(answer.headers)["location"] == "/console/"
    cross = sign_in(console, "AKIDALICE", "alice-secret", headers={"origin": "https://evil.example"})
    assert cross.status == 403


def test_the_overview_shows_the_accounts_schedules_and_alerts_and_nothing_of_others(
        seeded: tuple[Console, Seeded]) -> None:
    console, history = seeded
    alice = cookie_of(sign_in(console, "AKIDALICE", "alice-secret"))
    page = get(console, "/console/", alice)
    assert page.status == 200
    text = page.body.decode()
    for name in history.schedules:
        assert f"/console/schedules/us-east-1/{name}" in text
    assert "/console/endpoints/us-east-1/churn" in text
    assert text.count(">InAlert<") == 1  # monitor-00: 1 of its last 3 failed (hour 10); monitor-01 ended OK
    assert dict(page.headers)["content-security-policy"].startswith("default-src 'none'")
    bob = cookie_of(sign_in(console, "AKIDBOB", "bob-secret"))
    other = get(console, "/console/", bob).body.decode()
    assert "monitor-00" not in other and "No monitoring schedules yet." in other
    assert get(console, "/console/schedules/us-east-1/monitor-00", bob).status == 404
    assert get(console, f"/console/executions/us-east-1/{history.executions['monitor-00'][-1]}", bob).status == 404


def marks(page: str) -> int:
    """How many executions a page's timeline draws."""
    return sum(int(n) for n in re.findall(r'<path class="marks [^"]*"[^>]* data-count="(\d+)"', page))


def test_a_schedule_page_charts_its_history(seeded: tuple[Console, Seeded]) -> None:
    console, history = seeded
    alice = cookie_of(sign_in(console, "AKIDALICE", "alice-secret"))
    text = get(console, "/console/schedules/us-east-1/monitor-00", alice).body.decode()
    assert marks(text) == 12  # the timeline: every execution
    assert "NDCG against the baseline" in text and 'class="threshold"' in text
    assert "Top 5 features" in text and text.count('class="reference"') == 5
    assert "Alert history" in text
    assert 'data-href="/console/executions/us-east-1/"' in text
    for execution_id in history.executions["monitor-00"][-RECENT:]:
        assert f"/console/executions/us-east-1/{execution_id}" in text  # the table of the latest
    limited = get(console, "/console/schedules/us-east-1/monitor-00?last=4", alice).body.decode()
    assert "the latest 4 of 12" in limited and marks(limited) == 4


def test_an_execution_page_compares_with_the_baseline_and_links_its_files(seeded: tuple[Console, Seeded]) -> None:
    console, history = seeded
    alice = cookie_of(sign_in(console, "AKIDALICE", "alice-secret"))
    drifted = history.executions["monitor-00"][6]  # hour 6: the ranking turned over
    text = get(console, f"/console/executions/us-east-1/{drifted}", alice).body.decode()
    assert "CompletedWithViolations" in text and "feature_attribution_drift_check" in text
    assert re.search(r"NDCG <b>0\.\d+</b> against threshold 0\.9", text)
    assert "▼" in text and "▲" in text  # rank changes both ways
    last = history.executions["monitor-00"][-1]
    page = get(console, f"/console/executions/us-east-1/{last}", alice).body.decode()
    assert f"/console/executions/us-east-1/{last}/files/analysis.json" in page
    assert "rows=120" in page  # the execution log
    served = get(console, f"/console/executions/us-east-1/{last}/files/analysis.json", alice)
    assert served.status == 200 and served.body.startswith(b"{") and ("content-security-policy", "sandbox") in \
        served.headers
    for name in ("../../baseline/analysis.json", "missing.json"):
        assert get(console, f"/console/executions/us-east-1/{last}/files/{name}", alice).status == 404


def test_the_endpoint_page_shows_capture_settings(seeded: tuple[Console, Seeded]) -> None:
    console, _ = seeded
    alice = cookie_of(sign_in(console, "AKIDALICE", "alice-secret"))
    text = get(console, "/console/endpoints/us-east-1/churn", alice).body.decode()
    assert "s3://bucket/capture" in text and "100%" in text and "AllTraffic" in text
    assert "monitor-01" in text and "No invocations since this server started." in text


def test_the_console_is_read_only_and_serves_its_own_static_files(seeded: tuple[Console, Seeded]) -> None:
    console, _ = seeded
    assert console.answer("POST", "/console/", "", HOST, b"").status == 405
    script = get(console, "/console/static/console.js")
    assert script.status == 200 and script.content_type.startswith("text/javascript")
    assert get(console, "/console/static/../routes.py").status == 404
    assert get(console, "/console").status == 303


def test_in_anonymous_mode_the_console_needs_no_sign_in(services: Services) -> None:
    fill(Context("000000000000", "us-east-1", services), schedules_count=1, executions_count=3, features=4)
    console = Console(services, Sessions({}, services.store.secret, "000000000000"))
    page = get(console, "/console/")
    assert page.status == 200 and "monitor-00" in page.body.decode() and b"Sign out" not in page.body
    assert dict(get(console, "/console/sign-in").headers)["location"] == "/console/"
