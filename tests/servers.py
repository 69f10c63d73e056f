"""Real clarimon servers for end-to-end tests: subprocesses on free loopback ports, one database each."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.config
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from clarimon.config import default_regions

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The regions a test server serves: AWS's, and the `test-<hex>` regions tests keep apart in on a shared server.
TEST_REGIONS = ",".join((*default_regions(), "test-*"))

T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float, failure: Callable[[], str], interval: float = 0.2) -> T:
    """`check()`'s first truthy answer, asked every `interval` seconds (it may assert what must hold meanwhile);
    AssertionError saying `failure()` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(failure())
        time.sleep(interval)


def scrape(server: Server, token: str | None = None) -> dict[str, list[Sample]]:
    """GET /metrics of `server`, parsed with prometheus_client's parser: the samples by metric family."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(f"{server.url}/metrics", headers=headers), timeout=30) as page:
        assert page.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = page.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_answers() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as error:  # any failure means: no PostgreSQL leg
        return f"{type(error).__name__}: {error}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one server; dropped afterwards."""
    import psycopg

    name = f"clarimon_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Server:
    """`clarimon serve` in a subprocess; `restart()` and `kill()` keep its home and database."""

    def __init__(self, home: Path, database_url: str, extra_args: list[str] | None = None) -> None:
        self.home = home
        self.database_url = database_url
        self.extra_args = extra_args or []
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLARIMON_")}
        regions = [] if "--regions" in self.extra_args else ["--regions", TEST_REGIONS]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clarimon", "serve", "--home", str(self.home), "--port", str(self.port),
             "--database-url", self.database_url, *regions, *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clarimon serve exited {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"clarimon serve did not answer within 60 s:\n{self.log()}")

    def stop(self) -> int | None:
        """SIGTERM, and the exit code (a clean stop is 0)."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def restart(self) -> Server:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def post(self, operation: str, body: bytes, region: str = "us-east-1", timeout: float = 30
             ) -> tuple[int, dict[str, Any]]:
        """A raw JSON 1.1 request (what boto3 would never send), in `region`; the status and the decoded answer."""
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"SageMaker.{operation}",
                   "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDTEST/20261201/{region}/sagemaker/aws4_request, "
                                    "SignedHeaders=host, Signature=0"}
        request = urllib.request.Request(self.url + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def client(self, region: str = "us-east-1", access_key: str = "AKIDTEST", validate: bool = True,
               retries: int = 0, secret: str = "secret", service: str = "sagemaker") -> Any:
        """A boto3 SageMaker client for this server; `validate=False` sends what botocore would refuse."""
        config = botocore.config.Config(
            parameter_validation=validate, retries={"max_attempts": retries, "mode": "standard"},
            connect_timeout=5, read_timeout=30,
        )
        return boto3.client(
            service, endpoint_url=self.url, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret, config=config,
        )


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server (an S3-compatible peer, and moto's SageMaker) on a free loopback port; yields its URL."""
    port = free_port()
    binary = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.kill()
        process.wait()


@contextmanager
def dask_cluster(workers: int = 2) -> Iterator[str]:
    """A Dask scheduler and `workers` worker processes on loopback (the `dask` command); yields its address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    binary = str(Path(sys.executable).parent / "dask")
    scheduler = subprocess.Popen([binary, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([binary, "worker", address, "--host", "127.0.0.1", "--nworkers", str(workers),
                               "--nthreads", "1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
