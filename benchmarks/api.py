"""Control-plane throughput and latency: clarimon (SQLite, PostgreSQL) against moto's server, one run.

    .venv/bin/python -m benchmarks.api [--requests 2000] [--concurrency 8]

For each server it times Create, Describe and List of model explainability job definitions over loopback,
with `--concurrency` client processes each on its own keep-alive connection (so the client is not the
bottleneck), and prints requests per second, p50 and p99 latency, and clarimon's ratio to moto's rate.
`clarimon-sqlite-signed` is the same SQLite server started with `--credentials`: every request's Signature
Version 4 is verified (the clients sign each distinct request once, before they start sending, so that the
client's signing cost does not count).
Targets (issue 3): Describe at least 2x moto's rate, with p99 under 20 ms on SQLite; (issue 14) Describe with
signatures verified at least 0.9x the rate without, and at least 2x moto's.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.documents import full_definition
from tests.servers import Server, moto_server, postgres_answers, postgres_database

OPERATIONS = ("Create", "Describe", "List")
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261125/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)
KEY, SECRET = "AKIDBENCH", "bench-secret"


def request_for(operation: str, worker: int, serial: int) -> tuple[str, bytes]:
    if operation == "Create":
        return "CreateModelExplainabilityJobDefinition", json.dumps(full_definition(f"b{worker}-{serial}")).encode()
    if operation == "Describe":
        body = {"JobDefinitionName": f"b{worker}-{serial % 50}"}
        return "DescribeModelExplainabilityJobDefinition", json.dumps(body).encode()
    return "ListModelExplainabilityJobDefinitions", json.dumps({"MaxResults": 10}).encode()


def signed(port: int, target: str, body: bytes) -> dict[str, str]:
    """The headers of a request signed as boto3 signs it, with the benchmark's key, now."""
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"SageMaker.{target}",
                                  "Host": f"127.0.0.1:{port}"})
    SigV4Auth(Credentials(KEY, SECRET), "sagemaker", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def worker(args: tuple[int, str, int, int, bool]) -> list[float]:
    port, operation, index, count, sign = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    unsigned = {"Authorization": AUTH, "X-Amz-Date": "20261125T000000Z"}
    requests = []
    cache: dict[tuple[str, bytes], dict[str, str]] = {}
    for serial in range(count):
        target, body = request_for(operation, index, serial)
        if sign and (target, body) not in cache:
            cache[target, body] = signed(port, target, body)
        headers = cache[target, body] if sign else {"Content-Type": "application/x-amz-json-1.1",
                                                    "X-Amz-Target": f"SageMaker.{target}", **unsigned}
        requests.append((target, body, headers))
    for target, body, headers in requests:
        started = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{target} answered {response.status}: {payload[:300]!r}")
    conn.close()
    return latencies


def measure(port: int, operation: str, requests: int, concurrency: int, sign: bool) -> dict[str, float]:
    per_worker = requests // concurrency
    with multiprocessing.get_context("fork").Pool(concurrency) as pool:
        started = time.perf_counter()
        results = pool.map(worker, [(port, operation, i, per_worker, sign) for i in range(concurrency)])
        elapsed = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r)
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


@contextlib.contextmanager
def moto_port() -> Iterator[int]:
    with moto_server() as url:
        yield int(url.rsplit(":", 1)[1])


@contextlib.contextmanager
def clarimon_server(backend: str, sign: bool = False) -> Iterator[int]:
    with tempfile.TemporaryDirectory() as home, contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if backend == "postgresql" else f"sqlite:///{home}/c.db"
        quota = ["--quota", "model-explainability-job-definition=100000"]
        credentials = ["--credentials", json.dumps({KEY: {"secret": SECRET, "account": "000000000000"}})]
        server = Server(Path(home), url, ["--log-level", "warning", *quota, *(credentials if sign else [])]).start()
        try:
            yield server.port
        finally:
            server.stop()


def run(name: str, server: Any, requests: int, concurrency: int) -> dict[str, dict[str, float]]:
    sign = name.endswith("-signed")
    with server as port:
        measure(port, "List", concurrency * 10, concurrency, sign)  # warm up connections and caches
        return {op: measure(port, op, requests, concurrency, sign) for op in OPERATIONS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    servers: dict[str, Any] = {"moto": moto_port(), "clarimon-sqlite": clarimon_server("sqlite"),
                               "clarimon-sqlite-signed": clarimon_server("sqlite", sign=True)}
    if postgres_answers() is None:
        servers["clarimon-postgresql"] = clarimon_server("postgresql")
    else:
        print("!!! PostgreSQL does not answer on 127.0.0.1:5432: its leg is skipped", file=sys.stderr)
    results = {name: run(name, server, args.requests, args.concurrency) for name, server in servers.items()}

    print(f"\n{args.requests} requests per operation, concurrency {args.concurrency}, loopback\n")
    print(f"{'server':<24}{'operation':<11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x moto':>9}")
    for name, by_op in results.items():
        for op, stats in by_op.items():
            ratio = stats["rps"] / results["moto"][op]["rps"]
            print(f"{name:<24}{op:<11}{stats['rps']:>9.0f}{stats['p50']:>9.2f}{stats['p99']:>9.2f}{ratio:>9.2f}")
    describe = results["clarimon-sqlite"]["Describe"]
    ratio = describe["rps"] / results["moto"]["Describe"]["rps"]
    verdict = "met" if ratio >= 2 and describe["p99"] < 20 else "NOT met"
    print(f"\ntarget (Describe >= 2x moto, p99 < 20 ms on SQLite): {verdict} "
          f"({ratio:.2f}x, p99 {describe['p99']:.2f} ms)")
    verified = results["clarimon-sqlite-signed"]["Describe"]["rps"]
    cost, versus_moto = verified / describe["rps"], verified / results["moto"]["Describe"]["rps"]
    verdict = "met" if cost >= 0.9 and versus_moto >= 2 else "NOT met"
    print(f"target (Describe with signatures verified >= 0.9x without, >= 2x moto): {verdict} "
          f"({cost:.2f}x without, {versus_moto:.2f}x moto)")


if __name__ == "__main__":
    main()
