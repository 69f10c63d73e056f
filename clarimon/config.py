"""Server settings: command-line options over `CLARIMON_*` environment variables over defaults."""

from __future__ import annotations

import configparser
import functools
import ipaddress
import json
import os
import urllib.parse
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


@functools.cache
def default_regions() -> tuple[str, ...]:
    """The regions served by default: those botocore's endpoint data lists for SageMaker in the commercial `aws`
    partition (not China, GovCloud or the isolated partitions), sorted."""
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_available_regions("sagemaker", "aws")))


@dataclass(frozen=True)
class Credential:
    """What an access key id stands for: its secret and its account."""

    secret: str
    account: str

    def __repr__(self) -> str:  # a Settings in a log line or a traceback never shows a secret
        return f"Credential(account={self.account!r})"


@dataclass(frozen=True)
class Secret:
    """A shared secret that never shows in a log line or a traceback."""

    value: str

    def __repr__(self) -> str:
        return "Secret(***)"


@dataclass(frozen=True)
class Settings:
    """Everything a server process is configured with."""

    home: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    account: str = "000000000000"
    region: str = "us-east-1"
    access_keys: dict[str, str] = field(default_factory=dict)  # anonymous mode: key id -> account, not verified
    credentials: dict[str, Credential] = field(default_factory=dict)  # key id -> secret, account: signatures verified
    regions: tuple[str, ...] = field(default_factory=default_regions)
    bucket_owners: dict[str, str] = field(default_factory=dict)  # bucket -> account; others: the first to use one
    allow_anonymous: bool = False  # serve unsigned callers on a non-loopback address without credentials
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    log_level: str = "info"
    s3_endpoint_url: str | None = None
    capture_flush_seconds: float = 2.0
    job_workers: int = 2  # processing jobs run at once
    scheduler_seconds: float = 5.0  # how often due schedules are looked for
    database_timeout_seconds: float = 30.0  # PostgreSQL: a statement's limit; no answer 5 s after it: 503
    reconcile_seconds: float = 1.0  # how often stored endpoints are compared with what this server serves
    lease_seconds: float = 60.0  # a job whose server stays silent this long ends Failed
    clock_file: Path | None = None  # the time, from a file (tests and demos drive schedules with it)
    dask_scheduler: str | None = None  # a Dask scheduler's address: InstanceCount > 1 parts run on its workers
    invoke_timeout_seconds: float = 60.0  # a model that answers no sooner gets ModelError, its worker replaced
    invocations_per_endpoint: int = 4  # requests of one endpoint in its models at once; the rest wait, threadless
    header_seconds: float = 10.0  # a request whose headers take longer is dropped
    body_seconds: float = 30.0  # a request whose body takes longer is answered RequestTimeout
    max_connections: int = 1000  # connections beyond this are closed at once
    worker_memory_mb: int = 4096  # address space a model's worker may map beyond its runtime's (0: no limit)
    worker_user: str | None = None  # as root: the user model workers run as
    archive_max_mb: int = 512  # a model archive (ModelDataUrl, SAGEMAKER_SUBMIT_DIRECTORY) compressed
    archive_max_unpacked_mb: int = 2048  # the bytes of its files once unpacked
    archive_max_members: int = 10_000  # its files, folders and links
    notify_urls: tuple[str, ...] = ()  # receivers of the EventBridge-shaped events (clarimon.jobs.notifications)
    notify_secret: Secret | None = None  # signs each event's body (HMAC-SHA256), when given
    metrics_token: str | None = None  # the bearer token a /metrics scrape must carry; None: see api.metrics

    def __repr__(self) -> str:  # a Settings in a log line or a traceback never shows the metrics token
        shown = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "metrics_token"}
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())}, metrics_token=...)"


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
    return _accounts(text, "access key map")


def parse_bucket_owners(text: str) -> dict[str, str]:
    """The `BUCKET=ACCOUNT,...` bucket owners; ValueError when an account is not 12 digits."""
    return _accounts(text, "bucket owners")


def _accounts(text: str, what: str) -> dict[str, str]:
    """`NAME=ACCOUNT,...` pairs whose accounts are 12 digits; ValueError naming `what` otherwise."""
    pairs = parse_pairs(text, what)
    for name, account in pairs.items():
        if not ACCOUNT_ID.fullmatch(account):
            raise ValueError(f"{what}: account of {name!r} must be 12 digits, got {account!r}")
    return pairs


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


def parse_regions(text: str) -> tuple[str, ...]:
    """`--regions`: comma-separated region names, or patterns with `*` (`test-*`); ValueError when empty or
    malformed."""
    names = tuple(filter(None, (part.strip() for part in text.split(","))))
    if not names:
        raise ValueError("--regions: at least one region is needed")
    for name in names:
        if not REGION.fullmatch(name):
            raise ValueError(f"--regions: {name!r} is not a region name (lower-case letters, digits, '-', '*')")
    return names


REGION = regex.compile(r"[a-z0-9*][a-z0-9*-]{0,62}")


def read_credentials(value: str) -> dict[str, Credential]:
    """`--credentials`: a file, or (from `CLARIMON_CREDENTIALS`) the JSON itself when it starts with `{`.

    JSON: `{"<key id>": {"secret": "...", "account": "111111111111"}, ...}`. INI (any other file):
    a section per key id with `secret` and `account`. ValueError naming what is wrong (never a secret).
    """
    if value.lstrip().startswith("{"):
        return parse_credentials(value, "CLARIMON_CREDENTIALS")
    path = Path(value)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"--credentials: cannot read {path}: {error.strerror}") from None
    return parse_credentials(text, str(path))


def parse_credentials(text: str, source: str) -> dict[str, Credential]:
    """The credentials in `text` (JSON when it starts with `{`, else INI); ValueError naming `source`."""
    entries: dict[str, dict[str, object]] = {}
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"credentials in {source}: not valid JSON ({error.msg}, line {error.lineno})") from None
        if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
            raise ValueError(f'credentials in {source}: expected {{"<key id>": {{"secret": ..., "account": ...}}}}')
        entries = loaded
    else:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source)
        except configparser.Error as error:
            raise ValueError(f"credentials in {source}: not an INI file ({type(error).__name__})") from None
        entries = {section: dict(parser[section]) for section in parser.sections()}
    credentials: dict[str, Credential] = {}
    for key, entry in entries.items():
        secret, account = entry.get("secret"), entry.get("account")
        if not ACCESS_KEY.fullmatch(key):
            raise ValueError(f"credentials in {source}: {key!r} is not an access key id (4-128 letters and digits)")
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"credentials in {source}: {key} has no secret")
        if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
            raise ValueError(f"credentials in {source}: account of {key} must be 12 digits")
        credentials[key] = Credential(secret, account)
    if not credentials:
        raise ValueError(f"credentials in {source}: no access key")
    return credentials


# IAM's AccessKeyId: 16 to 128 word characters (the test keys AKIDALICE... are shorter: clarimon takes 4 up).
ACCESS_KEY = regex.compile(r"\w{4,128}")


def parse_notify_urls(values: list[str]) -> tuple[str, ...]:
    """`--notify-url` values (each may hold several URLs, separated by commas or spaces, as the environment
    variable does): http(s) URLs with a host, duplicates dropped; ValueError naming the first bad one."""
    urls: list[str] = []
    for value in values:
        for url in filter(None, regex.split(r"[,\s]+", value.strip())):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"--notify-url: {url!r} is not an http:// or https:// URL with a host")
            if url not in urls:
                urls.append(url)
    return tuple(urls)


def is_loopback(host: str) -> bool:
    """True for a loopback address (127.0.0.0/8, ::1) or `localhost`: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
