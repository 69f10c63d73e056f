"""Worker processes: a model loads and answers in its own process; its failures stay there."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from clarimon.serving.artifacts import unpack
from clarimon.serving.boxes import Box, lock_down
from clarimon.serving.packaging import package
from clarimon.serving.workers import BadRequest, ModelFailed, ModelSpec, Worker, WorkerFailed
from clarimon.serving.zygotes import Zygotes
from tests.documents import PROBE_ENTRY_POINT
from tests.servers import eventually

SKLEARN = "sagemaker-scikit-learn:1.2-1"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    iris = load_iris()
    joblib.dump(LogisticRegression(max_iter=2000).fit(iris.data, iris.target), folder / "model.joblib")
    return unpack(package(folder / "model.joblib", "sklearn"), folder / "cache", "model.tar.gz")


@pytest.fixture
def zygotes() -> Iterator[Zygotes]:
    """Warm parents of the test's own, unboxed but for the environment."""
    started = Zygotes()
    yield started
    started.stop()


def test_worker_answers_like_the_model(model_dir: Path, tmp_path: Path, zygotes: Zygotes) -> None:
    with Worker(ModelSpec(SKLEARN, model_dir, {}, tmp_path), zygotes) as worker:
        body, kind = worker.invoke(b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", "text/csv", "application/json")
        assert (json.loads(body), kind) == ([0, 2], "application/json")
        with pytest.raises(BadRequest, match="image/png"):
            worker.invoke(b"", "image/png", None)
        with pytest.raises(ModelFailed, match="ValueError"):
            worker.invoke(b"1,2\n", "text/csv", None)
        # the model's errors did not take the worker down
        assert json.loads(worker.invoke(b"5.1,3.5,1.4,0.2\n", "text/csv", "application/json")[0]) == [0]


def test_load_failures_say_why(model_dir: Path, tmp_path: Path, zygotes: Zygotes) -> None:
    with pytest.raises(WorkerFailed, match="not supported"):
        Worker(ModelSpec("my-own-image:1", model_dir, {}, tmp_path), zygotes)
    with pytest.raises(WorkerFailed, match="entry point nothing.py not found"):
        Worker(ModelSpec(SKLEARN, model_dir, {"SAGEMAKER_PROGRAM": "nothing.py"}, tmp_path), zygotes)


def test_a_dead_worker_is_reported(model_dir: Path, tmp_path: Path, zygotes: Zygotes) -> None:
    worker = Worker(ModelSpec(SKLEARN, model_dir, {}, tmp_path), zygotes)
    pid = worker.pid  # the test plays the crash
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    worker._child.join()
    with pytest.raises(WorkerFailed, match="died"):
        worker.invoke(b"5.1,3.5,1.4,0.2\n", "text/csv", None)
    worker.stop()


def probe_spec(folder: Path, environment: dict[str, str] | None = None) -> ModelSpec:
    """The PROBE model, unpacked in `folder` (which other users may pass through)."""
    (folder / "model.joblib").write_bytes(b"")
    (folder / "probe.py").write_text(PROBE_ENTRY_POINT)
    model_dir = unpack(package(folder / "model.joblib", "sklearn", folder / "probe.py"), folder / "models", "probe")
    return ModelSpec(SKLEARN, model_dir, {"SAGEMAKER_PROGRAM": "probe.py", **(environment or {})}, folder)


def ask(worker: Worker, request: dict[str, Any]) -> Any:
    return json.loads(worker.invoke(json.dumps(request).encode(), "application/json", "application/json")[0])


def test_a_model_sees_its_environment_and_none_of_the_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              zygotes: Zygotes) -> None:
    monkeypatch.setenv("CLARIMON_CREDENTIALS", '{"AKIDALICE": {"secret": "s3cret", "account": "111111111111"}}')
    monkeypatch.setenv("CLARIMON_DATABASE_URL", "postgresql://clarimon:hunter2@db/clarimon")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-s3-secret")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    with Worker(probe_spec(tmp_path, {"MY_SETTING": "42"}), zygotes) as worker:
        seen = ask(worker, {})
    for text in (json.dumps(seen["environ"]), seen["initial"]):
        assert "s3cret" not in text and "hunter2" not in text and "server-s3-secret" not in text
        assert "CLARIMON_" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert seen["environ"]["MY_SETTING"] == "42"  # the model's Environment, as SageMaker sets it
    assert seen["environ"]["SAGEMAKER_PROGRAM"] == "probe.py"
    assert seen["environ"]["LC_ALL"] == "C.UTF-8"
    assert seen["environ"]["HOME"] == seen["environ"]["TMPDIR"] != os.environ.get("HOME")


def test_a_model_over_its_memory_limit_gets_a_model_error_and_a_new_worker(tmp_path: Path) -> None:
    zygotes = Zygotes(Box(memory_mb=300))
    try:
        with Worker(probe_spec(tmp_path), zygotes) as worker:
            assert ask(worker, {"allocate": 100}) == 100 * 1024 * 1024
            first = worker.pid
            with pytest.raises(ModelFailed, match=r"MemoryError: the model ran out of memory: its worker may use 300"):
                ask(worker, {"allocate": 400})
            eventually(lambda: worker.alive and worker.pid != first, 30, lambda: "the worker was not replaced")
            assert ask(worker, {"allocate": 100}) == 100 * 1024 * 1024
    finally:
        zygotes.stop()


def test_a_dead_worker_is_replaced_without_waiting_for_a_request(model_dir: Path, tmp_path: Path,
                                                                zygotes: Zygotes) -> None:
    with Worker(ModelSpec(SKLEARN, model_dir, {}, tmp_path), zygotes) as worker:
        first = worker.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        replaced = eventually(lambda: worker.alive and worker.pid != first and worker.pid, 30,
                              lambda: "the dead worker was not replaced before any request came")
        assert replaced != first
        assert json.loads(worker.invoke(b"5.1,3.5,1.4,0.2\n", "text/csv", "application/json")[0]) == [0]


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_a_worker_user_cannot_open_the_servers_files(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="clarimon-test-"))  # a folder `nobody` may pass through (tmp_path: not)
    try:
        folder.chmod(0o711)
        database = folder / "clarimon.db"
        database.write_bytes(b"SQLite format 3\x00")
        credentials = folder / "credentials.json"
        credentials.write_text('{"AKIDALICE": {"secret": "s3cret", "account": "111111111111"}}')
        credentials.chmod(0o600)
        lock_down(folder, f"sqlite:///{database}")
        zygotes = Zygotes(Box(user="nobody"))
        try:
            with Worker(probe_spec(folder), zygotes) as worker:
                seen = ask(worker, {"open": [str(database), str(credentials)]})
        finally:
            zygotes.stop()
        assert seen["uid"] == pwd.getpwnam("nobody").pw_uid
        assert seen["opened"] == {str(database): "PermissionError", str(credentials): "PermissionError"}
    finally:
        shutil.rmtree(folder)
