"""`clarimon demo` end to end: it serves, deploys, baselines, monitors and reports the drift it caused."""

from __future__ import annotations

import http.cookiejar
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import regex

pytestmark = pytest.mark.e2e


def demo(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clarimon", "demo", "--home", str(home)], capture_output=True,
                          text=True, timeout=300)


def test_demo_reports_the_normal_hour_and_the_drift(tmp_path: Path) -> None:
    result = demo(tmp_path / "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "endpoint cancer: InService" in out
    rows = regex.findall(r"^   \d{4}-\d\d-\d\d \d\d:00  (\S+) +(.+)$", out, flags=regex.M)
    assert [status for status, _ in rows] == ["Completed", "CompletedWithViolations"], out
    drift = regex.search(r"feature_attribution_drift_check: Feature attribution drift (\S+) exceeds threshold 0.9",
                         out)
    assert drift is not None and float(drift.group(1)) < 0.9, out
    reports = regex.findall(r"report: (\S+)", out)
    assert len(reports) == 2 and all(Path(report).is_file() for report in reports)
    assert (tmp_path / "demo" / "clarimon.db").is_file()  # left for inspection
    assert "Done in" in out


def test_demo_refuses_a_home_in_use(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "clarimon.db").write_bytes(b"")
    result = demo(tmp_path / "used")
    assert result.returncode == 2
    assert "is not empty; give a new --home" in result.stderr


def test_demo_keep_serving_leaves_the_console_up_until_stopped(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "clarimon", "demo", "--home", str(tmp_path / "demo"),
                                "--keep-serving"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(400, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "Ctrl-C stops the server" in line:
                break
        out = "".join(seen)
        found = regex.search(r"console at\n  (http://127\.0\.0\.1:\d+/console/)\nand sign in with the access key id "
                             r"(\S+) and the secret (\S+)\n", out)
        assert found is not None, out
        url, key, secret = found.groups()
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = urllib.parse.urlencode({"key_id": key, "secret": secret, "next": "/console/"}).encode()
        with browser.open(url + "sign-in", data=form, timeout=30) as answer:  # 303 to the overview, followed
            page = answer.read().decode()
        assert "cancer-hourly" in page and ">InAlert<" in page  # the drifted hour set the alert off
        with browser.open(url + "endpoints/us-east-1/cancer", timeout=30) as answer:
            endpoint = answer.read().decode()
        counted = regex.search(r'<td>AllTraffic</td><td><span class="num">(\d+)</span></td>', endpoint)
        assert counted is not None and int(counted.group(1)) > 0, endpoint  # the demo's traffic, as served
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=5)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
