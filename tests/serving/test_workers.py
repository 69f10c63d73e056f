"""Worker processes: a model loads and answers in its own process; its failures stay there."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import joblib
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from clarimon.serving.artifacts import unpack
from clarimon.serving.packaging import package
from clarimon.serving.workers import BadRequest, ModelFailed, ModelSpec, Worker, WorkerFailed

SKLEARN = "sagemaker-scikit-learn:1.2-1"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    iris = load_iris()
    joblib.dump(LogisticRegression(max_iter=2000).fit(iris.data, iris.target), folder / "model.joblib")
    return unpack(package(folder / "model.joblib", "sklearn"), folder / "cache", "model.tar.gz")


def test_worker_answers_like_the_model(model_dir: Path, tmp_path: Path) -> None:
    with Worker(ModelSpec(SKLEARN, model_dir, {}, tmp_path)) as worker:
        body, kind = worker.invoke(b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", "text/csv", "application/json")
        assert (json.loads(body), kind) == ([0, 2], "application/json")
        with pytest.raises(BadRequest, match="image/png"):
            worker.invoke(b"", "image/png", None)
        with pytest.raises(ModelFailed, match="ValueError"):
            worker.invoke(b"1,2\n", "text/csv", None)
        # the model's errors did not take the worker down
        assert json.loads(worker.invoke(b"5.1,3.5,1.4,0.2\n", "text/csv", "application/json")[0]) == [0]


def test_load_failures_say_why(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkerFailed, match="not supported"):
        Worker(ModelSpec("my-own-image:1", model_dir, {}, tmp_path))
    with pytest.raises(WorkerFailed, match="entry point nothing.py not found"):
        Worker(ModelSpec(SKLEARN, model_dir, {"SAGEMAKER_PROGRAM": "nothing.py"}, tmp_path))


def test_a_dead_worker_is_reported(model_dir: Path, tmp_path: Path) -> None:
    worker = Worker(ModelSpec(SKLEARN, model_dir, {}, tmp_path))
    pid = worker._process.pid  # the test plays the crash
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    worker._process.join()
    with pytest.raises(WorkerFailed, match="died"):
        worker.invoke(b"5.1,3.5,1.4,0.2\n", "text/csv", None)
    worker.stop()
