"""Server settings: command-line options over `CLARIMON_*` environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import regex

ACCOUNT_ID = regex.compile(r"\d{12}")

# Default quotas per account and region, by resource kind; `--quota KIND=N` overrides one.
DEFAULT_QUOTAS: dict[str, int] = {
    "model-explainability-job-definition": 1000,
    "model": 1000,
    "endpoint-config": 1000,
    "endpoint": 100,
    "monitoring-schedule": 100,
}


@dataclass(frozen=True)
class Settings:
    """Everything a server process is configured with."""

    home: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    account: str = "000000000000"
    region: str = "us-east-1"
    access_keys: dict[str, str] = field(default_factory=dict)
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    log_level: str = "info"
    s3_endpoint_url: str | None = None
    capture_flush_seconds: float = 2.0
    job_workers: int = 2  # processing jobs run at once
    scheduler_seconds: float = 5.0  # how often due schedules are looked for
    lease_seconds: float = 60.0  # a job whose server stays silent this long ends Failed
    clock_file: Path | None = None  # the time, from a file (tests and demos drive schedules with it)
    dask_scheduler: str | None = None  # a Dask scheduler's address: InstanceCount > 1 parts run on its workers
    invoke_timeout_seconds: float = 60.0  # a model that answers no sooner gets ModelError, its worker replaced
    invocations_per_endpoint: int = 4  # requests of one endpoint in its models at once; the rest wait, threadless
    header_seconds: float = 10.0  # a request whose headers take longer is dropped
    body_seconds: float = 30.0  # a request whose body takes longer is answered RequestTimeout
    max_connections: int = 1000  # connections beyond this are closed at once


def default_home() -> Path:
    """The home folder: `$CLARIMON_HOME`, else `~/.clarimon`."""
    return Path(os.environ.get("CLARIMON_HOME") or Path.home() / ".clarimon")


def sqlite_url(home: Path) -> str:
    """The default database: SQLite in the home folder."""
    return f"sqlite:///{home / 'clarimon.db'}"


def parse_pairs(text: str, what: str) -> dict[str, str]:
    """`A=1,B=2` as a dict; raises ValueError naming `what` on a malformed pair."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{what}: expected KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def parse_access_keys(text: str) -> dict[str, str]:
    """The `KEY=ACCOUNT,...` access-key map; ValueError when an account is not 12 digits."""
    keys = parse_pairs(text, "access key map")
    for key, account in keys.items():
        if not ACCOUNT_ID.fullmatch(account):
            raise ValueError(f"access key map: account of {key!r} must be 12 digits, got {account!r}")
    return keys


def parse_quotas(text: str) -> dict[str, int]:
    """The default quotas, overridden by `KIND=COUNT,...`; ValueError for an unknown kind or a bad count."""
    quotas = dict(DEFAULT_QUOTAS)
    for kind, value in parse_pairs(text, "quota").items():
        if kind not in DEFAULT_QUOTAS:
            raise ValueError(f"quota: unknown resource kind {kind!r}; known: {', '.join(sorted(DEFAULT_QUOTAS))}")
        if not value.isdigit():
            raise ValueError(f"quota: {kind} must be a whole number, got {value!r}")
        quotas[kind] = int(value)
    return quotas
