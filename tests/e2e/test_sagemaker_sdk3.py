"""The sagemaker SDK 3.x (sagemaker.serve.ModelBuilder, sagemaker.core.model_monitor, sagemaker.core.clarify)
against clarimon and moto's S3: deploy with capture, baseline (its log tailed through CloudWatch Logs), schedule,
execution, violations, update, stop, delete.

3.x cannot share an environment with the 2.x SDK the rest of the suite uses, so the flow (`sdk3_flow.py`) runs in
an environment of its own, built on first use and kept outside the repository (`sdk3_python`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import boto3
import joblib
import numpy as np
import pytest
from packaging.requirements import Requirement
from sklearn.linear_model import LogisticRegression

from clarimon.serving.packaging import package
from tests.documents import PROBABILITY_ENTRY_POINT
from tests.e2e.test_monitoring import serve
from tests.servers import moto_server

pytestmark = pytest.mark.e2e

SDK3 = "sagemaker==3.27.0"  # the 3.x release this test is pinned to
SDK3_INSTALL_SECONDS = 1500  # a cold install on a loaded 2-core machine took 586 s
ROOT = Path(__file__).parents[2]


def sdk3_python() -> Path:
    """The Python of an environment with `SDK3` installed: `$CLARIMON_SDK3_ENV`, else
    `~/.cache/clarimon/<SDK3>-py<major.minor>`, made (python -m venv, pip install) when it lacks the marker a
    finished install leaves, so that a clean clone builds it once per machine."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    folder = Path(os.environ.get("CLARIMON_SDK3_ENV")
                  or Path.home() / ".cache" / "clarimon" / f"{SDK3.replace('==', '-')}-py{version}")
    python, marker = folder / "bin" / "python", folder / ".clarimon-installed"
    if marker.exists() and marker.read_text() == SDK3:
        return python
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", SDK3], check=True, timeout=SDK3_INSTALL_SECONDS)
    marker.write_text(SDK3)
    print(f"built {folder} with {SDK3} in {time.monotonic() - started:.0f} s")
    return python


def dependencies() -> list[Requirement]:
    return [Requirement(text) for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"]]


def test_clarimon_installs_beside_sdk3() -> None:
    """Every package clarimon depends on that the SDK 3.x environment has (pip resolved it for the SDK: mlflow's
    pyarrow<26, the SDK's boto3, numpy, pandas...) is at a version clarimon accepts; and constraints.txt, the
    README's reproducible install, pins versions inside clarimon's ranges."""
    listed = subprocess.run([str(sdk3_python()), "-c", "import importlib.metadata as m, json; print(json.dumps("
                             "{d.metadata['Name'].lower().replace('_', '-'): d.version for d in m.distributions()}))"],
                            capture_output=True, text=True, check=True)
    installed = json.loads(listed.stdout)
    shared = {r.name.lower(): r for r in dependencies() if r.name.lower() in installed}
    assert {"pyarrow", "numpy", "boto3", "botocore"} <= set(shared)
    refused = {name: (installed[name], str(r.specifier)) for name, r in shared.items()
               if not r.specifier.contains(installed[name], prereleases=True)}
    assert refused == {}
    pins = dict(line.strip().lower().split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line)
    outside = {r.name: (pins.get(r.name.lower()), str(r.specifier)) for r in dependencies()
               if pins.get(r.name.lower()) is None or not r.specifier.contains(pins[r.name.lower()])}
    assert outside == {}


# One backend: the client's flow is what this test is about; the 2.x SDK test covers both databases.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_sdk3_model_monitor_flow(make_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = sdk3_python()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)  # the server reads moto's S3 with them
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 3))
    model = LogisticRegression().fit(features, (features @ [1.0, -2.0, 0.5] > 0).astype(int))
    joblib.dump(model, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(PROBABILITY_ENTRY_POINT)
    secrets = tmp_path / "credentials.ini"
    secrets.write_text("[testing]\nsecret = testing\naccount = 000000000000\n")
    with moto_server() as s3_url:
        server, clock = serve(make_server, tmp_path, "--s3-endpoint-url", s3_url, "--credentials", str(secrets))
        clock.set("")  # the system clock: the NOW schedule analyses the hour before it was created
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLARIMON_", "SAGEMAKER_"))},
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL_SAGEMAKER": server.url, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url,
               "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": server.url, "AWS_ENDPOINT_URL_S3": s3_url,
               "SAGEMAKER_VALIDATE_ROLE": "false"}
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="bucket")
        s3.put_object(Bucket="bucket", Key="models/churn/model.tar.gz",
                      Body=package(tmp_path / "model.joblib", "sklearn", tmp_path / "inference.py"))
        rows = np.round(features[:40], 4)
        drifted = rows.copy()  # the strongest feature stuck, the weakest grown: the attributions' order changes
        drifted[:, 1], drifted[:, 2] = 0.0, drifted[:, 2] * 8
        flow = Path(__file__).with_name("sdk3_flow.py")
        done = subprocess.run([str(python), str(flow), "s3://bucket/models/churn/model.tar.gz",
                               json.dumps(rows.tolist()), json.dumps(drifted.tolist())],
                              env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # The SDK draws its progress panel on stdout too, sometimes on the line a step is printed on.
    steps = {s["step"]: s for s in (json.loads(line[line.index('{"step"'):]) for line in done.stdout.splitlines()
                                    if '{"step"' in line)}
    assert steps["deployed"]["status"] == "InService", output
    assert steps["baselined"]["features"] == ["f0", "f1", "f2"]
    assert "Completed: Job completed successfully" in done.stdout  # the baselining job's log, tailed (logs=True)
    assert steps["executed"]["statuses"] == ["CompletedWithViolations"], output
    [violation] = steps["executed"]["violations"]
    assert violation["constraint_check_type"] == "feature_attribution_drift_check", violation
    assert steps["schedule"]["status"] == "Scheduled"
    assert steps["updated"]["expression"] == "cron(0 3 ? * * *)"
    assert steps["stopped"]["status"] == "Stopped"
    assert steps["deleted"]["schedules"] == []
