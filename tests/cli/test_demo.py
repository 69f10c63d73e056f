"""`clarimon demo` end to end: it serves, deploys, baselines, monitors and reports the drift it caused."""

from __future__ import annotations

import subprocess
import sys
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
