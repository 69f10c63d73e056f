"""InvokeEndpoint throughput and latency, with data capture on and off, and the memory of a model's worker.

    .venv/bin/python -m benchmarks.invoke [--requests 2000] [--concurrency 8] [--skip-throughput]

One clarimon server (SQLite, local folder) serves a scikit-learn model on two endpoints, one capturing every
request and one not; 8 client processes, each on a keep-alive connection, send single-row and 1,000-row CSV
payloads. Prints requests per second and p50/p99 per case, the CPU time per request of the server process and of
its model workers (from /proc: steadier than throughput on a machine other work loads), and what capture costs.
Target (issue 5): capture costs under 10% of throughput.

Then the memory of one worker of each runtime (scikit-learn, XGBoost, ONNX), served by that server (forked from
its runtime's warm parent), beside a worker of the same model started as a fresh interpreter in the same run (as
clarimon started them before: multiprocessing's spawn). Read from /proc/<pid>/smaps_rollup after one request:
USS (the worker's private pages: what one more worker costs, what ending it frees) is the figure that counts;
PSS (private pages plus its share of pages it shares) and RSS are printed beside it, and the warm parent's PSS,
paid once per runtime. Target (issue 15): under 120 MB beyond the model for scikit-learn.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ONNX = "123456789012.dkr.ecr.us-east-1.amazonaws.com/onnx-runtime:1"

# A worker started as clarimon started them before the warm parents: a fresh interpreter (multiprocessing's
# spawn, from a main module it does not re-import, as `python -m clarimon` is), measured after one request.
SPAWNED = """
import json, multiprocessing, sys
from pathlib import Path
from clarimon.serving.workers import ModelSpec, _serve

if __name__ == "__main__":
    image, model_dir, body, content_type = json.loads(sys.argv[1])
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs, ModelSpec(image, Path(model_dir), {}, Path(model_dir))))
    process.start()
    assert ours.recv()[0] == "ready"
    ours.send((body.encode(), content_type, None))
    assert ours.recv()[0] == "ok"
    print(process.pid, flush=True)
    sys.stdin.read()
    process.kill()
"""


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


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of process `pid` in MB, from /proc/<pid>/smaps_rollup."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"], "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def parent_of(pid: int) -> int:
    """The parent pid of process `pid`."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def deploy_runtimes(home: Path, client: Any, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[str, str, int]]:
    """An XGBoost and an ONNX endpoint beside the scikit-learn ones: runtime -> (endpoint, image, archive bytes)."""
    import xgboost
    from skl2onnx import to_onnx

    objects = LocalObjects(home / "s3")
    xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(x, y), 20).save_model(
        home / "xgboost-model.ubj")
    fitted = LogisticRegression(max_iter=2000).fit(x, y)
    (home / "model.onnx").write_bytes(to_onnx(fitted, x[:1].astype(np.float32),
                                              options={"zipmap": False}).SerializeToString())
    archives = {"xgboost": package(home / "xgboost-model.ubj", "xgboost"), "onnx": package(home / "model.onnx", "onnx")}
    for name, image in (("xgboost", XGBOOST), ("onnx", ONNX)):
        objects.write(f"s3://bucket/{name}.tar.gz", archives[name])
        client.create_model(**model(name, image=image) | {"PrimaryContainer": {
            "Image": image, "ModelDataUrl": f"s3://bucket/{name}.tar.gz"}})
        client.create_endpoint_config(**endpoint_config(name, name))
        client.create_endpoint(EndpointName=name, EndpointConfigName=name)
    for name in ("xgboost", "onnx"):
        client.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return {"scikit-learn": ("capture-off", SKLEARN, len(objects.read("s3://bucket/model.tar.gz"))),
            "xgboost": ("xgboost", XGBOOST, len(archives["xgboost"])),
            "onnx": ("onnx", ONNX, len(archives["onnx"]))}


def worker_memory(server: Server, client: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Print the memory of one worker of each runtime, forked from its warm parent and spawned afresh."""
    endpoints = deploy_runtimes(server.home, client, x, y)
    body = payload(1).decode()
    for endpoint, _, _ in endpoints.values():  # every worker has answered once
        for _ in range(4):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            conn.request("POST", f"/endpoints/{endpoint}/invocations", body=body, headers={"Content-Type": "text/csv"})
            if conn.getresponse().status != 200:
                raise RuntimeError(f"{endpoint} did not answer")
            conn.close()
    assert server.process is not None
    recorded = [int(p.name) for p in (server.home / "processes").iterdir() if p.name.isdigit()]
    parents = {pid for pid in recorded if parent_of(pid) == server.process.pid}  # the warm parents
    print("memory of one model worker, MB, after one request (USS: what one more worker costs)")
    print(f"{'runtime':<14}{'archive KB':>11}{'started':>9}{'USS':>8}{'PSS':>8}{'RSS':>8}{'parent PSS':>12}")
    for runtime, (_endpoint, image, archive) in endpoints.items():
        library = {"scikit-learn": "sklearn", "xgboost": "xgboost", "onnx": "onnxruntime"}[runtime]
        parent = next(pid for pid in parents if library in Path(f"/proc/{pid}/cmdline").read_text())
        child = next(pid for pid in recorded if pid not in parents and parent_of(pid) == parent)
        forked = memory(child)
        model_dir = unpack_for(server.home, runtime)
        spawned_process = subprocess.Popen(
            [sys.executable, "-c", SPAWNED, json.dumps([image, str(model_dir), body, "text/csv"])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert spawned_process.stdout is not None and spawned_process.stdin is not None
        spawned = memory(int(spawned_process.stdout.readline()))
        spawned_process.stdin.close()
        spawned_process.wait()
        for how, figures, parent_pss in (("spawned", spawned, ""), ("forked", forked, f"{memory(parent)['pss']:.1f}")):
            print(f"{runtime:<14}{archive / 1024:>11.1f}{how:>9}{figures['uss']:>8.1f}{figures['pss']:>8.1f}"
                  f"{figures['rss']:>8.1f}{parent_pss:>12}")


def unpack_for(home: Path, runtime: str) -> Path:
    """The folder the server unpacked `runtime`'s model into."""
    name = {"scikit-learn": "model.joblib", "xgboost": "xgboost-model", "onnx": "model.onnx"}[runtime]
    return next(folder for folder in (home / "models").iterdir() if (folder / name).is_file())


def throughput(server: Server, requests: int, concurrency: int) -> None:
    """Print requests per second, latency and CPU per request (the server process's and its model workers') with
    capture off and on, for 1-row and 1,000-row payloads."""
    print(f"\n{requests} requests per case, {concurrency} clients, loopback\n")
    print(f"{'payload':<12}{'capture':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'server CPU ms/req':>19}{'workers CPU ms/req':>20}")
    assert server.process is not None
    for rows in (1, 1000):
        results: dict[str, dict[str, float]] = {}
        for name in ("capture-off", "capture-on", "capture-off", "capture-on"):  # interleaved, best of 2
            stats = measure(server.process.pid, server.port, name, rows, requests, concurrency)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-throughput", action="store_true", help="measure the workers' memory only")
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
            worker_memory(server, client, x, y)  # first: after one request, as the spawned worker beside it
            if not args.skip_throughput:
                throughput(server, args.requests, args.concurrency)
        finally:
            server.stop()
        captured = sum(1 for _ in (Path(home) / "s3" / "bucket" / "data-capture").rglob("*.jsonl"))
        print(f"\ncapture files written: {captured}")


if __name__ == "__main__":
    main()
