"""`clarimon explain` from a shell: s3:// inputs in the home folder, outputs in Clarify's layout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def test_explain_writes_clarify_outputs(tmp_path: Path) -> None:
    iris = load_iris()
    model = LogisticRegression(max_iter=2000).fit(iris.data, iris.target)
    joblib.dump(model, tmp_path / "model.joblib")
    bucket = tmp_path / "home" / "s3" / "bucket"
    bucket.mkdir(parents=True)
    headers = ["species", "sepal_length", "sepal_width", "petal_length", "petal_width"]
    records = zip(iris.data[::5], iris.target[::5], strict=True)
    lines = [",".join(headers)] + [",".join([str(t), *map(str, x)]) for x, t in records]
    (bucket / "data.csv").write_text("\n".join(lines) + "\n")
    config = {"dataset_type": "text/csv", "headers": headers, "label": "species",
              "methods": {"shap": {"num_clusters": 3, "seed": 0, "save_local_shap_values": True}},
              "predictor": {"label_headers": ["setosa", "versicolor", "virginica"]}}
    (bucket / "analysis_config.json").write_text(json.dumps(config))

    result = subprocess.run(
        [sys.executable, "-m", "clarimon", "explain", "--config", "s3://bucket/analysis_config.json",
         "--data", "s3://bucket/data.csv", "--model", str(tmp_path / "model.joblib"), "--output",
         str(tmp_path / "out"), "--home", str(tmp_path / "home"), "--progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "30/30 rows" in result.stderr
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    labels = analysis["explanations"]["kernel_shap"]
    assert list(labels) == ["setosa", "versicolor", "virginica"]
    assert list(labels["setosa"]["global_shap_values"]) == headers[1:]
    local = np.loadtxt(tmp_path / "out" / "explanations_shap" / "out.csv", delimiter=",", skiprows=1)
    assert local.shape == (30, 12)
    report = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in report and "virginica" in report and "petal_length" in report


def test_explain_refuses_unsupported_config_before_work(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"methods": {"shap": {}, "pdp": {"grid_resolution": 3}}}))
    (tmp_path / "data.csv").write_text("a\n1\n")
    result = subprocess.run(
        [sys.executable, "-m", "clarimon", "explain", "--config", str(tmp_path / "config.json"), "--data",
         str(tmp_path / "data.csv"), "--model", str(tmp_path / "missing.joblib"), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "methods.pdp is not supported" in result.stderr
    assert "config.json" in result.stderr
    assert not (tmp_path / "out").exists()
