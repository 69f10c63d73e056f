from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clarimon", *args], capture_output=True, text=True, timeout=120)


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    result = run("db", "upgrade", "--home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'clarimon.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0005"
    engine.dispose()


def test_bad_options_are_refused_clearly(tmp_path: Path) -> None:
    for args, text in [
        (("serve", "--account", "12"), "--account must be 12 digits"),
        (("serve", "--access-keys", "AKID"), "expected KEY=VALUE"),
        (("serve", "--quota", "widgets=3"), "unknown resource kind"),
        (("serve", "--host", "0.0.0.0"), "give --credentials"),
        (("serve", "--credentials", str(tmp_path / "absent.json")), "cannot read"),
        (("serve", "--credentials", '{"AKIDALICE": {"secret": "s", "account": "111111111111"}}',
          "--access-keys", "A=111111111111"), "--access-keys maps unverified key ids"),
        (("serve", "--regions", "eu-west-1"), "--region us-east-1 (of unsigned requests) is not among"),
        (("serve", "--notify-url", "ftp://host/x"), "is not an http:// or https:// URL"),
        (("serve", "--notify-url", "http://h/e", "--notify-secret", ""), "--notify-secret must not be empty"),
    ]:
        result = run(*args, "--home", str(tmp_path))
        assert result.returncode == 2
        assert text in result.stderr


def test_no_command_prints_help() -> None:
    result = run()
    assert result.returncode == 2
    assert "serve" in result.stdout


def test_anonymous_mode_off_loopback_needs_saying_so(tmp_path: Path) -> None:
    from clarimon.cli.main import _parser, _settings  # settings only: nothing binds the address

    settings = _settings(_parser().parse_args(["serve", "--home", str(tmp_path), "--host", "0.0.0.0",
                                               "--allow-anonymous"]))
    assert settings.allow_anonymous and not settings.credentials
    settings = _settings(_parser().parse_args(
        ["serve", "--home", str(tmp_path), "--host", "0.0.0.0", "--regions", "eu-west-1,test-*", "--region",
         "eu-west-1", "--credentials", '{"AKIDALICE": {"secret": "s", "account": "111111111111"}}']))
    assert settings.credentials["AKIDALICE"].account == "111111111111"
    assert settings.regions == ("eu-west-1", "test-*")


def test_notify_urls_from_options_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clarimon.cli.main import _parser, _settings

    def settings(*args: str) -> Any:
        return _settings(_parser().parse_args(["serve", "--home", str(tmp_path), *args]))

    assert settings().notify_urls == () and settings().notify_secret is None
    both = settings("--notify-url", "http://127.0.0.1:9/a", "--notify-url", "https://hooks.example/b",
                    "--notify-secret", "s3cret")
    assert both.notify_urls == ("http://127.0.0.1:9/a", "https://hooks.example/b")
    assert both.notify_secret is not None and both.notify_secret.value == "s3cret"
    assert "s3cret" not in repr(both)
    monkeypatch.setenv("CLARIMON_NOTIFY_URL", "http://a.example/x, http://b.example/y http://a.example/x")
    monkeypatch.setenv("CLARIMON_NOTIFY_SECRET", "from-env")
    from_env = settings()
    assert from_env.notify_urls == ("http://a.example/x", "http://b.example/y")
    assert from_env.notify_secret is not None and from_env.notify_secret.value == "from-env"
    assert settings("--notify-url", "http://c.example/z").notify_urls == ("http://c.example/z",)  # option wins
