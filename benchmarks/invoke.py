"""InvokeEndpoint throughput and latency, with data capture on and off.

    .venv/bin/python -m benchmarks.invoke [--requests 2000] [--concurrency 8]

One clarimon server (SQLite, local folder) serves a scikit-learn model on two endpoints, one capturing every
request and one not; 8 client processes, each on a keep-alive connection, send single-row and 1,000-row CSV
payloads. Prints requests per second and p50/p99 per case, the CPU time per request of the server process and of
its model workers (from /proc: steadier than throughput on a machine other work loads), and what capture costs.
Target (issue 5): capture costs under 10% of throughput.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

import boto3
import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from clarimon.objects import LocalObjects
from clarimon.serving.packaging import package
from tests.documents import endpoint_config, model
from tests.servers import Server

SETTLE_SECONDS = 3.0  # longer than the server's capture flush interval (2 s)
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def payload(rows: int) -> bytes:
    data = np.random.default_rng(0).normal(size=(rows, 20))
    return "\n".join(",".join(f"{v:.6f}" for v in row) for row in data).encode()


def worker(args: tuple[int, str, int, int]) -> list[float]:
    port, endpoint, rows, count = args
    body = payload(rows)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("POST", f"/endpoints/{endpoint}/invocations", body=body,
                     headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{endpoint} answered {response.status}")
    conn.close()
    return latencies


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process `pid` has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The child processes of `pid` (the server's model workers and helpers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the process `pid` and of its children together."""
    own = cpu_seconds(pid)
    others = 0.0
    for child in children(pid):
        try:
            others += cpu_seconds(child)
        except FileNotFoundError:  # ended meanwhile
            pass
    return own, others


def measure(server_pid: int, port: int, endpoint: str, rows: int, requests: int,
            concurrency: int) -> dict[str, float]:
    with multiprocessing.get_context("fork").Pool(concurrency) as pool:
        before = cpu(server_pid)
        started = time.perf_counter()
        results = pool.map(worker, [(port, endpoint, rows, requests // concurrency)] * concurrency)
        elapsed = time.perf_counter() - started
        time.sleep(SETTLE_SECONDS)  # the capture writer's flush of these requests counts here, not in the next case
        after = cpu(server_pid)
    latencies = sorted(x for r in results for x in r)
    return {"rps": len(latencies) / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "server_ms": (after[0] - before[0]) * 1000 / len(latencies),
            "workers_ms": (after[1] - before[1]) * 1000 / len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        x, y = make_classification(n_samples=2000, n_features=20, random_state=0)
        joblib.dump(LogisticRegression(max_iter=2000).fit(x, y), Path(home) / "model.joblib")
        LocalObjects(Path(home) / "s3").write("s3://bucket/model.tar.gz", package(Path(home) / "model.joblib",
                                                                                   "sklearn"))
        server = Server(Path(home), f"sqlite:///{home}/c.db", ["--log-level", "warning"]).start()
        try:
            client = boto3.client("sagemaker", endpoint_url=server.url, region_name="us-east-1",
                                  aws_access_key_id="k", aws_secret_access_key="s")
            client.create_model(**model("bench", image=SKLEARN) | {"PrimaryContainer": {
                "Image": SKLEARN, "ModelDataUrl": "s3://bucket/model.tar.gz"}})
            for name, capture in (("capture-on", True), ("capture-off", False)):
                config = endpoint_config(name, "bench")
                config["ProductionVariants"][0]["InitialInstanceCount"] = 2
                config["DataCaptureConfig"]["EnableCapture"] = capture
                client.create_endpoint_config(**config)
                client.create_endpoint(EndpointName=name, EndpointConfigName=name)
                client.get_waiter("endpoint_in_service").wait(EndpointName=name,
                                                              WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            print(f"{args.requests} requests per case, {args.concurrency} clients, loopback\n")
            print(f"{'payload':<12}{'capture':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
                  f"{'server CPU ms/req':>19}{'workers CPU ms/req':>20}")
            assert server.process is not None
            for rows in (1, 1000):
                results: dict[str, dict[str, float]] = {}
                for name in ("capture-off", "capture-on", "capture-off", "capture-on"):  # interleaved, best of 2
                    stats = measure(server.process.pid, server.port, name, rows, args.requests, args.concurrency)
                    if name not in results or stats["rps"] > results[name]["rps"]:
                        results[name] = stats
                for name, stats in results.items():
                    print(f"{rows:>5} rows  {name[8:]:<9}{stats['rps']:>9.0f}{stats['p50']:>9.2f}{stats['p99']:>9.2f}"
                          f"{stats['server_ms']:>19.3f}{stats['workers_ms']:>20.3f}")
                on, off = results["capture-on"], results["capture-off"]
                cost = 1 - on["rps"] / off["rps"]
                cpu_cost = (on["server_ms"] + on["workers_ms"]) / (off["server_ms"] + off["workers_ms"]) - 1
                print(f"{'':<12}capture costs {cost:.1%} of throughput (target < 10%), {cpu_cost:.1%} more CPU per "
                      f"request ({on['server_ms'] - off['server_ms']:+.3f} ms in the server process)")
        finally:
            server.stop()
        captured = sum(1 for _ in (Path(home) / "s3" / "bucket" / "data-capture").rglob("*.jsonl"))
        print(f"\ncapture files written: {captured}")


if __name__ == "__main__":
    main()
