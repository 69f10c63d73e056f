"""The `clarimon` command: demo, serve, explain, models package, db upgrade, db revision. Options also read `CLARIMON_*`
variables."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from clarimon.api.identity import Regions
from clarimon.config import (
    ACCOUNT_ID,
    Secret,
    Settings,
    default_home,
    is_loopback,
    parse_access_keys,
    parse_bucket_owners,
    parse_notify_urls,
    parse_quotas,
    parse_regions,
    read_credentials,
    sqlite_url,
)
from clarimon.serving.boxes import Box, readable_by_others
from clarimon.store import Store


class OptionError(ValueError):
    """A command-line option (or its CLARIMON_* variable) that cannot be used."""


def main(argv: Sequence[str] | None = None) -> int:
    """The `clarimon` command: parse `argv` (default: the process's arguments) and run the subcommand; returns the
    exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    command = getattr(args, "command", None)
    if command is None:
        parser.print_help()
        return 2
    try:
        result: int = command(args)
    except OptionError as error:
        parser.error(str(error))
    return result


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        stream=sys.stderr)


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home).expanduser() if args.home else default_home()


def _explain(args: argparse.Namespace) -> int:
    from clarimon.cli.explain import run

    _logging(args.log_level)
    return run(args.config, args.data, args.model, args.output, _home(args), args.memory_mb, args.progress,
               args.s3_endpoint_url)


def _demo(args: argparse.Namespace) -> int:
    from clarimon.cli.demo import run

    return run(Path(args.home).expanduser() if args.home else None, keep_serving=args.keep_serving)


def _package(args: argparse.Namespace) -> int:
    from clarimon.objects import ObjectError, open_objects
    from clarimon.serving.packaging import package

    try:
        archive = package(args.model, args.framework, args.entry_point)
        if args.output.startswith("s3://"):
            open_objects(_home(args), args.s3_endpoint_url).write(args.output, archive)
        else:
            Path(args.output).write_bytes(archive)
    except (ValueError, ObjectError, OSError) as error:
        print(f"clarimon models package: {error}", file=sys.stderr)
        return 1
    print(args.output)
    return 0


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CLARIMON_{name}", default)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clarimon", description="SageMaker model explainability, self-hosted.")
    commands = parser.add_subparsers(title="commands")
    for add in (_add_serve, _add_demo, _add_explain, _add_models, _add_db):
        add(commands)
    return parser


def _common(sub: argparse.ArgumentParser) -> None:
    """The options every command that opens the database takes."""
    sub.add_argument("--home", default=_env("HOME"), help="data folder (CLARIMON_HOME; default ~/.clarimon)")
    sub.add_argument("--database-url", default=_env("DATABASE_URL"),
                     help="SQLAlchemy URL (CLARIMON_DATABASE_URL; default sqlite:///<home>/clarimon.db)")
    sub.add_argument("--log-level", default=_env("LOG_LEVEL", "info"),
                     choices=["debug", "info", "warning", "error"], help="(CLARIMON_LOG_LEVEL)")


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`clarimon serve` and its options."""
    serve = commands.add_parser("serve", help="serve the SageMaker API")
    _common(serve)
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="(CLARIMON_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=int(_env("PORT", "8080") or 8080),
                       help="(CLARIMON_PORT; default 8080)")
    serve.add_argument("--account", default=_env("ACCOUNT", "000000000000"),
                       help="account of unmapped access keys (CLARIMON_ACCOUNT; default 000000000000)")
    serve.add_argument("--region", default=_env("REGION", "us-east-1"),
                       help="region of unsigned requests (CLARIMON_REGION; default us-east-1)")
    serve.add_argument("--access-keys", default=_env("ACCESS_KEYS", ""),
                       help="anonymous mode only: access key to account map KEY=ACCOUNT,..., not verified "
                            "(CLARIMON_ACCESS_KEYS)")
    serve.add_argument("--credentials", default=_env("CREDENTIALS"),
                       help="a JSON or INI file of access key id -> secret and account: every request's signature is "
                            "verified (CLARIMON_CREDENTIALS: the file, or the JSON itself)")
    serve.add_argument("--allow-anonymous", action="store_true",
                       default=(_env("ALLOW_ANONYMOUS", "") or "").lower() in ("1", "true", "yes"),
                       help="serve unsigned callers on a non-loopback address without --credentials "
                            "(CLARIMON_ALLOW_ANONYMOUS=1)")
    serve.add_argument("--regions", default=_env("REGIONS"),
                       help="regions served, comma-separated, `*` patterns allowed (CLARIMON_REGIONS; default: the "
                            "commercial AWS regions botocore lists for SageMaker)")
    serve.add_argument("--s3-endpoint-url", default=_env("S3_ENDPOINT_URL"),
                       help="an S3-compatible server for s3:// URIs instead of <home>/s3 (CLARIMON_S3_ENDPOINT_URL)")
    serve.add_argument("--bucket-owners", default=_env("BUCKET_OWNERS", ""),
                       help="buckets and the accounts they belong to BUCKET=ACCOUNT,...; other buckets belong to the "
                            "first account that uses them (CLARIMON_BUCKET_OWNERS)")
    serve.add_argument("--capture-flush-seconds", type=float,
                       default=float(_env("CAPTURE_FLUSH_SECONDS", "2") or 2),
                       help="how often captured traffic is written out (CLARIMON_CAPTURE_FLUSH_SECONDS; default 2)")
    serve.add_argument("--quota", default=_env("QUOTAS", ""),
                       help="quotas per account and region KIND=N,... (CLARIMON_QUOTAS)")
    serve.add_argument("--job-workers", type=int, default=int(_env("JOB_WORKERS", "2") or 2),
                       help="processing jobs run at once by this server (CLARIMON_JOB_WORKERS; default 2)")
    serve.add_argument("--scheduler-seconds", type=float, default=float(_env("SCHEDULER_SECONDS", "5") or 5),
                       help="how often due schedules are looked for (CLARIMON_SCHEDULER_SECONDS; default 5)")
    serve.add_argument("--database-timeout-seconds", type=float,
                       default=float(_env("DATABASE_TIMEOUT_SECONDS", "30") or 30),
                       help="PostgreSQL: a statement running longer is ended by the server, and a connection that "
                            "has not answered 5 s after that is closed by clarimon, the request answered "
                            "ServiceUnavailable (CLARIMON_DATABASE_TIMEOUT_SECONDS; default 30)")
    serve.add_argument("--reconcile-seconds", type=float, default=float(_env("RECONCILE_SECONDS", "1") or 1),
                       help="how often the stored endpoints are compared with what this server serves, so that "
                            "changes made through other replicas are served here (CLARIMON_RECONCILE_SECONDS; "
                            "default 1)")
    serve.add_argument("--lease-seconds", type=float, default=float(_env("LEASE_SECONDS", "60") or 60),
                       help="a job whose server was silent this long ends Failed (CLARIMON_LEASE_SECONDS; default 60)")
    serve.add_argument("--clock-file", type=Path, default=_env("CLOCK_FILE"),
                       help="read the time from this file (ISO-8601 or epoch seconds) instead of the system clock, "
                            "to drive schedules in tests and demos (CLARIMON_CLOCK_FILE)")
    serve.add_argument("--dask-scheduler", default=_env("DASK_SCHEDULER"),
                       help="a Dask scheduler (tcp://host:port): jobs with InstanceCount > 1 run their parts on its "
                            "workers, which need clarimon installed and the same object store "
                            "(CLARIMON_DASK_SCHEDULER; default: local processes)")
    serve.add_argument("--invoke-timeout-seconds", type=float,
                       default=float(_env("INVOKE_TIMEOUT_SECONDS", "60") or 60),
                       help="a model that does not answer InvokeEndpoint within this gets ModelError and its worker "
                            "is replaced, as SageMaker (CLARIMON_INVOKE_TIMEOUT_SECONDS; default 60)")
    serve.add_argument("--invocations-per-endpoint", type=int,
                       default=int(_env("INVOCATIONS_PER_ENDPOINT", "4") or 4),
                       help="requests of one endpoint in its models at once; more wait without holding a thread "
                            "(CLARIMON_INVOCATIONS_PER_ENDPOINT; default 4)")
    serve.add_argument("--header-seconds", type=float, default=float(_env("HEADER_SECONDS", "10") or 10),
                       help="a connection whose request headers take longer is closed (CLARIMON_HEADER_SECONDS; "
                            "default 10)")
    serve.add_argument("--body-seconds", type=float, default=float(_env("BODY_SECONDS", "30") or 30),
                       help="a request whose body takes longer is answered RequestTimeout (CLARIMON_BODY_SECONDS; "
                            "default 30)")
    serve.add_argument("--max-connections", type=int, default=int(_env("MAX_CONNECTIONS", "1000") or 1000),
                       help="open connections beyond this are closed at once (CLARIMON_MAX_CONNECTIONS; "
                            "default 1000)")
    serve.add_argument("--notify-url", action="append", default=[],
                       help="POST an EventBridge-shaped JSON event to this URL on every status change of endpoints, "
                            "processing jobs, monitoring executions and alerts; repeat for several receivers "
                            "(CLARIMON_NOTIFY_URL: URLs separated by commas or spaces)")
    serve.add_argument("--notify-secret", default=_env("NOTIFY_SECRET"),
                       help="sign each event's body with HMAC-SHA256 under this secret (X-Clarimon-Signature) "
                            "(CLARIMON_NOTIFY_SECRET)")
    serve.add_argument("--metrics-token", default=_env("METRICS_TOKEN"),
                       help="a bearer token that GET /metrics requires (CLARIMON_METRICS_TOKEN); without it /metrics "
                            "is open in anonymous mode and closed when --credentials are given")
    serve.add_argument("--archive-max-mb", type=int, default=int(_env("ARCHIVE_MAX_MB", "512") or 512),
                       help="the most a model archive (ModelDataUrl, SAGEMAKER_SUBMIT_DIRECTORY) may weigh compressed "
                            "(CLARIMON_ARCHIVE_MAX_MB; default 512)")
    serve.add_argument("--archive-max-unpacked-mb", type=int,
                       default=int(_env("ARCHIVE_MAX_UNPACKED_MB", "2048") or 2048),
                       help="the most a model archive's files may weigh unpacked (CLARIMON_ARCHIVE_MAX_UNPACKED_MB; "
                            "default 2048)")
    serve.add_argument("--archive-max-members", type=int, default=int(_env("ARCHIVE_MAX_MEMBERS", "10000") or 10000),
                       help="the most files, folders and links a model archive may hold "
                            "(CLARIMON_ARCHIVE_MAX_MEMBERS; default 10000)")
    serve.add_argument("--worker-memory-mb", type=int, default=int(_env("WORKER_MEMORY_MB", "4096") or 4096),
                       help="address space a model's worker may map beyond its runtime's libraries; a model over it "
                            "gets ModelError and a new worker, one that cannot load fails the endpoint "
                            "(CLARIMON_WORKER_MEMORY_MB; default 4096; 0: no limit)")
    serve.add_argument("--worker-user", default=_env("WORKER_USER"),
                       help="as root: run model workers as this unprivileged user (e.g. nobody), which cannot open "
                            "the database, the object folder or the credentials file (CLARIMON_WORKER_USER)")
    serve.set_defaults(command=_serve)


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`clarimon demo`."""
    demo = commands.add_parser("demo", help="the whole product in a minute: serve, deploy, baseline, monitor, drift")
    demo.add_argument("--home", help="a new folder for the demo server's data (default ./clarimon-demo-<time>)")
    demo.add_argument("--keep-serving", action="store_true",
                      help="leave the demo's server up afterwards and print its web console's URL and how to sign in "
                           "(Ctrl-C stops it)")
    demo.set_defaults(command=_demo)


def _add_explain(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`clarimon explain` and its options."""
    explain = commands.add_parser("explain", help="explain a dataset with a saved model (Clarify's analysis)")
    explain.add_argument("--config", required=True, help="analysis_config.json: a path or s3:// URI")
    explain.add_argument("--data", required=True, help="the dataset: a path or s3:// URI")
    explain.add_argument("--model", required=True,
                         help="a saved model: scikit-learn joblib/pickle, XGBoost, LightGBM or ONNX file")
    explain.add_argument("--output", required=True, type=Path, help="folder for analysis.json, out.csv, report")
    explain.add_argument("--memory-mb", type=int, default=1024, help="budget for synthetic rows (default 1024)")
    explain.add_argument("--progress", action="store_true", help="a progress bar on stderr")
    explain.add_argument("--home", default=_env("HOME"), help="data folder whose s3/ holds s3:// objects")
    explain.add_argument("--s3-endpoint-url", default=_env("S3_ENDPOINT_URL"),
                         help="an S3-compatible server for s3:// URIs instead of <home>/s3 (CLARIMON_S3_ENDPOINT_URL)")
    explain.add_argument("--log-level", default=_env("LOG_LEVEL", "warning"),
                         choices=["debug", "info", "warning", "error"])
    explain.set_defaults(command=_explain)


def _add_models(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`clarimon models package`."""
    models = commands.add_parser("models", help="model artifacts")
    model_commands = models.add_subparsers(title="models commands")
    package = model_commands.add_parser("package", help="a fitted model as the model.tar.gz its container loads")
    package.add_argument("--model", required=True, type=Path,
                         help="the fitted model file: joblib (sklearn), an XGBoost model (xgboost), .onnx (onnx)")
    package.add_argument("--framework", required=True, choices=["sklearn", "xgboost", "onnx"])
    package.add_argument("--entry-point", type=Path, help="inference.py with model_fn (sklearn), into code/")
    package.add_argument("--output", required=True, help="where to write model.tar.gz: a path or s3:// URI")
    package.add_argument("--home", default=_env("HOME"), help="data folder whose s3/ holds s3:// objects")
    package.add_argument("--s3-endpoint-url", default=_env("S3_ENDPOINT_URL"),
                         help="an S3-compatible server for s3:// URIs (CLARIMON_S3_ENDPOINT_URL)")
    package.set_defaults(command=_package)


def _add_db(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`clarimon db upgrade` and `clarimon db revision`."""
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="apply schema migrations")
    _common(upgrade)
    upgrade.set_defaults(command=_upgrade)
    revision = db_commands.add_parser(
        "revision", help="write the next migration, generated from clarimon/store/tables.py (in a source checkout)")
    revision.add_argument("--message", "-m", required=True, help="what the revision changes")
    revision.set_defaults(command=_revision)


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return _read_settings(args)
    except ValueError as error:
        raise OptionError(str(error)) from None


def _read_settings(args: argparse.Namespace) -> Settings:
    home = _home(args)
    settings = Settings(home=home, database_url=args.database_url or sqlite_url(home), log_level=args.log_level)
    if not hasattr(args, "host"):
        return settings
    if not ACCOUNT_ID.fullmatch(args.account):
        raise ValueError(f"--account must be 12 digits, got {args.account!r}")
    credentials = read_credentials(args.credentials) if args.credentials else {}
    if credentials and args.access_keys:
        raise ValueError("--access-keys maps unverified key ids to accounts: with --credentials, the accounts come "
                         "from the credentials file")
    if not credentials and not args.allow_anonymous and not is_loopback(args.host):
        raise ValueError(f"--host {args.host} is reachable from other machines: give --credentials (signatures "
                         "verified), or --allow-anonymous to serve unsigned callers there on purpose")
    regions = parse_regions(args.regions) if args.regions else settings.regions
    if args.region not in Regions(regions):
        raise ValueError(f"--region {args.region} (of unsigned requests) is not among the regions served (--regions)")
    box = Box(_at_least(args.worker_memory_mb, 0, "--worker-memory-mb"), args.worker_user or None)
    if box.account() is not None and args.credentials and not args.credentials.lstrip().startswith("{") \
            and readable_by_others(Path(args.credentials)):
        raise ValueError(f"--credentials {args.credentials} is readable by other users, the --worker-user "
                         f"{args.worker_user} among them: chmod 600 it")
    return dataclasses.replace(
        settings,
        host=args.host,
        port=args.port,
        account=args.account,
        region=args.region,
        access_keys=parse_access_keys(args.access_keys),
        credentials=credentials,
        allow_anonymous=args.allow_anonymous,
        regions=regions,
        quotas=parse_quotas(args.quota),
        bucket_owners=parse_bucket_owners(args.bucket_owners),
        s3_endpoint_url=args.s3_endpoint_url,
        capture_flush_seconds=args.capture_flush_seconds,
        job_workers=_at_least(args.job_workers, 1, "--job-workers"),
        scheduler_seconds=_above_zero(args.scheduler_seconds, "--scheduler-seconds"),
        database_timeout_seconds=_above_zero(args.database_timeout_seconds, "--database-timeout-seconds"),
        reconcile_seconds=_above_zero(args.reconcile_seconds, "--reconcile-seconds"),
        lease_seconds=_above_zero(args.lease_seconds, "--lease-seconds"),
        clock_file=Path(args.clock_file) if args.clock_file else None,
        dask_scheduler=args.dask_scheduler or None,
        invoke_timeout_seconds=_above_zero(args.invoke_timeout_seconds, "--invoke-timeout-seconds"),
        invocations_per_endpoint=_at_least(args.invocations_per_endpoint, 1, "--invocations-per-endpoint"),
        header_seconds=_above_zero(args.header_seconds, "--header-seconds"),
        body_seconds=_above_zero(args.body_seconds, "--body-seconds"),
        max_connections=_at_least(args.max_connections, 1, "--max-connections"),
        notify_urls=parse_notify_urls(args.notify_url or [_env("NOTIFY_URL", "") or ""]),
        notify_secret=_notify_secret(args.notify_secret),
        metrics_token=args.metrics_token or None,
        archive_max_mb=_at_least(args.archive_max_mb, 1, "--archive-max-mb"),
        archive_max_unpacked_mb=_at_least(args.archive_max_unpacked_mb, 1, "--archive-max-unpacked-mb"),
        archive_max_members=_at_least(args.archive_max_members, 1, "--archive-max-members"),
        worker_memory_mb=box.memory_mb,
        worker_user=box.user,
    )


def _notify_secret(value: str | None) -> Secret | None:
    if value is None:
        return None
    if not value:
        raise ValueError("--notify-secret must not be empty")
    return Secret(value)


def _at_least(value: int, minimum: int, option: str) -> int:
    if value < minimum:
        raise ValueError(f"{option} must be at least {minimum}, got {value}")
    return value


def _above_zero(value: float, option: str) -> float:
    if not value > 0:
        raise ValueError(f"{option} must be above 0, got {value}")
    return value


def _open_store(settings: Settings) -> Store:
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.database_url, statement_seconds=settings.database_timeout_seconds)
    store.upgrade()
    return store


def _upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging(settings.log_level)
    _open_store(settings).close()
    return 0


def _revision(args: argparse.Namespace) -> int:
    from clarimon.store.revisions import generate

    print(generate(args.message))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from clarimon.cli.serve import serve  # uvicorn and the API load only when serving

    settings = _settings(args)
    _logging(settings.log_level)
    serve(settings, _open_store(settings))
    return 0
