"""Engine set-up per dialect, the one transaction helper, and schema upgrades."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources as package_files
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from clarimon.errors import ResourceInUse, ServiceError, ServiceUnavailable
from clarimon.store import tables

log = logging.getLogger("clarimon.store")

CONNECT_SECONDS = 5
STATEMENT_SECONDS = 30
POOL_SECONDS = 10
# The client's own deadline for any answer of PostgreSQL exceeds the server's statement timeout by this, so that
# a slow statement ends with the server's error and only a silent peer meets the client's deadline.
ANSWER_MARGIN_SECONDS = 5

# The key of a write connection's `info` saying whether status changes go to the outbox (store.outbox reads it).
NOTIFYING = "clarimon.notifying"

# Any constant works; it only has to be the same for every replica migrating one PostgreSQL database.
_MIGRATION_LOCK = 0x636C6172


class Store:
    """A database: `transaction()` for writes, `reading()` for reads, `upgrade()` for the schema."""

    def __init__(self, url: str, *, pool_size: int = 16, statement_seconds: float = STATEMENT_SECONDS) -> None:
        self.url = url
        self.engine = _create_engine(url, pool_size, statement_seconds)
        self.dialect = self.engine.dialect.name
        self._secret: bytes | None = None
        # Whether status changes write notification events to the outbox (a server with receivers says so).
        self.notifying = False
        # SQLite admits one writer at a time and makes the others poll with growing sleeps (its busy handler);
        # queueing this process's writers on a lock instead keeps the latency tail short.
        self._writer = threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()

    @contextmanager
    def transaction(self, conflict: ServiceError | None = None) -> Iterator[Connection]:
        """A write transaction: commits on success, rolls back on any error, and turns a uniqueness violation
        into `conflict` (default ResourceInUse; SageMaker answers a taken model name with ValidationException)."""
        with _unavailable_mapped(), self._writer, self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            conn.info[NOTIFYING] = self.notifying
            try:
                with conn.begin():
                    yield conn
            except sa.exc.IntegrityError as error:
                raise conflict or ResourceInUse("Resource already exists.") from error

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on both dialects)."""
        with _unavailable_mapped(), self.engine.connect() as conn, conn.begin():
            yield conn

    def lock(self, conn: Connection, *scope: str) -> None:
        """Serialise writers of one scope until the transaction ends (quota checks need it).

        SQLite writers are already serialised by BEGIN IMMEDIATE; PostgreSQL takes an advisory lock."""
        if self.dialect == "postgresql":
            digest = hashlib.blake2b("\x1f".join(scope).encode(), digest_size=8).digest()
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)})

    def upgrade(self, revision: str = "head") -> None:
        """Apply every Alembic migration not yet applied, up to `revision` (safe with several replicas on
        PostgreSQL)."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
            try:
                config = Config()
                config.set_main_option("script_location", str(package_files.files("clarimon.store") / "migrations"))
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
            finally:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                    conn.commit()
        log.info("schema upgraded url=%s", self.engine.url.render_as_string(hide_password=True))

    def secret(self) -> bytes:
        """This database's secret for signing pagination tokens (made once, shared by replicas)."""
        if self._secret is None:
            with self.transaction() as conn:
                row = conn.execute(sa.select(tables.settings.c.value).where(tables.settings.c.key == "token_secret"))
                value = row.scalar()
                if value is None:
                    value = secrets.token_hex(32)
                    conn.execute(tables.settings.insert().values(key="token_secret", value=value))
            self._secret = bytes.fromhex(value)
        return self._secret

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()


@contextmanager
def _unavailable_mapped() -> Iterator[None]:
    """A database that cannot be reached, answers too slowly or has no free connection is a retryable
    ServiceUnavailable (HTTP 503, as AWS answers when a dependency is down), not an InternalFailure."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as error:
        log.warning("database unavailable error=%s", str(error).splitlines()[0] if str(error) else type(error).__name__)
        raise ServiceUnavailable("The service is unavailable: its database cannot be reached. Try again.") from error


def _create_engine(url: str, pool_size: int, statement_seconds: float) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Every wait on PostgreSQL is bounded: connecting, a statement (on the server), a free pooled connection, a
    # connection whose peer went silent (TCP keepalives; tcp_user_timeout for data the peer never acknowledges),
    # and, for a peer that acknowledges but never answers (a frozen connection, a hung proxy), the client's own
    # deadline on every answer (`_Deadline`).
    milliseconds = int(statement_seconds * 1000)
    connect_args = {"connect_timeout": CONNECT_SECONDS, "options": f"-c statement_timeout={milliseconds}",
                    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
                    "tcp_user_timeout": milliseconds}
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=4, pool_pre_ping=True,
                              pool_timeout=POOL_SECONDS, connect_args=connect_args)
    answer_seconds = statement_seconds + ANSWER_MARGIN_SECONDS

    @sa.event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        connection = _Deadline.connect(*cargs, **cparams)
        connection.answer_seconds = answer_seconds
        return connection

    return engine


class _Deadline(psycopg.Connection[Any]):
    """A psycopg connection that waits for each answer of the server (a statement's result, a commit, the pool's
    ping) no longer than `answer_seconds`; then it closes itself and raises OperationalError, which the pool
    takes for a disconnect and the store for ServiceUnavailable."""

    answer_seconds: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """psycopg's wait for one operation's answer, bounded by `answer_seconds` unless given a timeout."""
        try:
            return super().wait(gen, interval, timeout if timeout is not None else self.answer_seconds)
        except _WAIT_TIMEOUT:
            self.close()  # mid-operation: the protocol's state is lost, the connection cannot be used again
            raise psycopg.OperationalError(
                f"the database did not answer within {self.answer_seconds:g} s; connection closed") from None


# psycopg raises this private error when `wait` times out (psycopg 3.2+, pinned in constraints.txt).
_WAIT_TIMEOUT: type[Exception] = psycopg.errors._WaitTimeout


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event (pysqlite's own BEGIN is deferred and late).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the client hears of it, so an acknowledged write survives power loss too.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers begin IMMEDIATE: they take the write lock up front instead of failing to upgrade a read lock.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")
