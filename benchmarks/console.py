"""The console and /metrics over a long history: 20 schedules x 1,000 executions x 30 features written into the
store (through the store API, as the server records them), then the p50 and p99 of each console page and of a
/metrics scrape from a real server with credentials, against `GET /ping` of the same server in the same run
(the anchor: what any request costs on this machine).

Targets (issue 16): each console page's p99 under 100 ms, a /metrics scrape's under 50 ms, on SQLite.

    python -m benchmarks.console [--schedules 20] [--executions 1000] [--features 30] [--requests 100]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

from clarimon.clock import set_file_time
from clarimon.config import Settings
from clarimon.control.context import Context, Services
from clarimon.objects import LocalObjects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store
from tests.console.history import HOUR, START, fill
from tests.servers import Server

ACCOUNT, KEY, SECRET, TOKEN = "111111111111", "AKIDBENCH", "bench-secret", "bench-token"
TARGETS_MS = {"metrics": 50.0}
PAGE_TARGET_MS = 100.0


def seed(home: Path, url: str, schedules: int, executions: int, features: int) -> dict[str, list[int]]:
    """The history, written into a new store at `url`; each schedule's execution ids."""
    store = Store(url)
    store.upgrade()
    objects = LocalObjects(home / "s3")
    services = Services(store, Settings(home=home, database_url=url), time.time, objects, Host(),
                        CaptureWriter(objects, home / "capture-journal"))
    try:
        seeded = fill(Context(ACCOUNT, "us-east-1", services), schedules_count=schedules,
                      executions_count=executions, features=features, outputs=True)
    finally:
        services.capture.close()
        store.close()
    return seeded.executions


def session(server: Server) -> str:
    """A console session cookie for the benchmark's key."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = urllib.parse.urlencode({"key_id": KEY, "secret": SECRET, "next": "/console/"})
    connection.request("POST", "/console/sign-in", body, {"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    cookie = answer.getheader("set-cookie")
    if answer.status != 303 or cookie is None:
        raise SystemExit(f"sign-in failed: {answer.status}")
    return cookie.split(";")[0]


def timed(server: Server, path: str, headers: dict[str, str], requests: int) -> list[float]:
    """Milliseconds of `requests` sequential GETs of `path` on one kept-alive connection (each answered 200)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    spent = []
    for _ in range(requests + 3):  # the first three warm caches and are not counted
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        spent.append((time.perf_counter() - started) * 1000)
        if answer.status != 200:
            raise SystemExit(f"GET {path}: {answer.status} {body[:200]!r}")
    return spent[3:]


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=20)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clarimon-console-bench-") as folder:
        home = Path(folder)
        url = f"sqlite:///{home / 'clarimon.db'}"
        started = time.perf_counter()
        ids = seed(home, url, args.schedules, args.executions, args.features)
        print(f"seeded {args.schedules} schedules x {args.executions} executions x {args.features} features "
              f"in {time.perf_counter() - started:.1f} s (SQLite)")
        credentials = home / "credentials.json"
        credentials.write_text(json.dumps({KEY: {"secret": SECRET, "account": ACCOUNT}}))
        clock = home / "clock"
        set_file_time(clock, str(START + (args.executions - 0.5) * HOUR))  # no execution falls due meanwhile
        server = Server(home, url, ["--credentials", str(credentials), "--clock-file", str(clock),
                                    "--metrics-token", TOKEN]).start()
        try:
            cookie = {"Cookie": session(server)}
            last = ids["monitor-00"][-1]
            paths = {
                "ping (anchor)": ("/ping", {}),
                "overview": ("/console/", cookie),
                f"schedule ({args.executions} executions)": ("/console/schedules/us-east-1/monitor-00", cookie),
                "execution": (f"/console/executions/us-east-1/{last}", cookie),
                "endpoint": ("/console/endpoints/us-east-1/churn", cookie),
                "metrics": ("/metrics", {"Authorization": f"Bearer {TOKEN}"}),
            }
            results = {name: timed(server, path, headers, args.requests) for name, (path, headers) in paths.items()}
        finally:
            server.stop()
    anchor = statistics.median(results["ping (anchor)"])
    print(f"{'request':<32}{'p50 ms':>9}{'p99 ms':>9}{'p50 / ping':>12}  target (p99)")
    for name, spent in results.items():
        target = TARGETS_MS.get(name, None if name.startswith("ping") else PAGE_TARGET_MS)
        verdict = "" if target is None else f"< {target:g} ms: {'met' if p99(spent) < target else 'MISSED'}"
        print(f"{name:<32}{statistics.median(spent):>9.1f}{p99(spent):>9.1f}"
              f"{statistics.median(spent) / anchor:>12.1f}  {verdict}")
    print(f"({args.requests} sequential requests each on one connection, after 3 uncounted; machine: see `uptime`)")


if __name__ == "__main__":
    main()
