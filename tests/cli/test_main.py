from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clarimon", *args], capture_output=True, text=True, timeout=120)


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    result = run("db", "upgrade", "--home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'clarimon.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    engine.dispose()


def test_bad_options_are_refused_clearly(tmp_path: Path) -> None:
    for args, text in [
        (("serve", "--account", "12"), "--account must be 12 digits"),
        (("serve", "--access-keys", "AKID"), "expected KEY=VALUE"),
        (("serve", "--quota", "widgets=3"), "unknown resource kind"),
    ]:
        result = run(*args, "--home", str(tmp_path))
        assert result.returncode == 2
        assert text in result.stderr


def test_no_command_prints_help() -> None:
    result = run()
    assert result.returncode == 2
    assert "serve" in result.stdout
