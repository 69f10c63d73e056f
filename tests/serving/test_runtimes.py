"""Serving runtimes: models packaged as their containers expect, answering as their containers answer."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from clarimon.serving import codecs
from clarimon.serving.artifacts import ArtifactError, unpack
from clarimon.serving.packaging import package
from clarimon.serving.runtimes import InferenceError, LoadError, UnsupportedImage, load, repository
from tests.documents import PROBABILITY_ENTRY_POINT, SKLEARN_IMAGE, XGBOOST_IMAGE

X, Y = load_breast_cancer(return_X_y=True)
X = X[:, :5]
SKLEARN, XGBOOST = SKLEARN_IMAGE, XGBOOST_IMAGE
ENTRY_POINT = "import json\n" + PROBABILITY_ENTRY_POINT + textwrap.dedent('''

    def output_fn(prediction, accept):
        return json.dumps({"scores": prediction[:, 1].tolist()}), "application/json"
''')


def no_fetch(uri: str) -> bytes:
    raise AssertionError(f"unexpected fetch of {uri}")


@pytest.fixture(scope="module")
def fitted() -> LogisticRegression:
    return LogisticRegression(max_iter=5000).fit(X, Y)


def unpacked(tmp_path: Path, archive: bytes) -> Path:
    return unpack(archive, tmp_path / "cache", "model.tar.gz")


def csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def test_repository_names() -> None:
    assert repository(SKLEARN) == "sagemaker-scikit-learn"
    assert repository("sagemaker-xgboost") == "sagemaker-xgboost"
    assert repository("localhost:5000/team/onnx-runtime@sha256:abc") == "onnx-runtime"


def test_sklearn_without_entry_point_predicts(tmp_path: Path, fitted: LogisticRegression) -> None:
    joblib.dump(fitted, tmp_path / "model.joblib")
    handler = load(SKLEARN, unpacked(tmp_path, package(tmp_path / "model.joblib", "sklearn")), {}, no_fetch,
                   tmp_path)
    body, kind = handler(csv(X[:10]), "text/csv", "application/json")
    assert kind == "application/json"
    assert json.loads(body) == fitted.predict(X[:10]).tolist()
    body, kind = handler(json.dumps(X[:3].tolist()).encode(), "application/json", "text/csv")
    assert kind == "text/csv"
    assert [float(line) for line in body.decode().split()] == fitted.predict(X[:3]).tolist()


def test_sklearn_entry_point_in_code_folder(tmp_path: Path, fitted: LogisticRegression) -> None:
    joblib.dump(fitted, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(ENTRY_POINT)
    archive = package(tmp_path / "model.joblib", "sklearn", tmp_path / "inference.py")
    handler = load(SKLEARN, unpacked(tmp_path, archive),
                   {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
                   no_fetch, tmp_path)
    body, kind = handler(csv(X[:10]), "text/csv", "application/json")
    assert kind == "application/json"
    np.testing.assert_allclose(json.loads(body)["scores"], fitted.predict_proba(X[:10])[:, 1])


def test_sklearn_entry_point_from_s3_source_tarball(tmp_path: Path, fitted: LogisticRegression) -> None:
    joblib.dump(fitted, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(ENTRY_POINT)
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as archive:
        archive.add(tmp_path / "inference.py", arcname="inference.py")
    handler = load(SKLEARN, unpacked(tmp_path, package(tmp_path / "model.joblib", "sklearn")),
                   {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "s3://b/src/sourcedir.tar.gz"},
                   lambda uri: source.getvalue(), tmp_path)
    body, _ = handler(csv(X[:2]), "text/csv", None)
    np.testing.assert_allclose(json.loads(body)["scores"], fitted.predict_proba(X[:2])[:, 1])


def test_xgboost_container_takes_headerless_csv(tmp_path: Path) -> None:
    import xgboost

    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, Y), 10)
    booster.save_model(tmp_path / "model.ubj")
    handler = load(XGBOOST, unpacked(tmp_path, package(tmp_path / "model.ubj", "xgboost")), {}, no_fetch, tmp_path)
    body, kind = handler(csv(X[:10]), "text/csv", None)
    assert kind == "text/csv"
    np.testing.assert_allclose([float(v) for v in body.decode().split()],
                               booster.predict(xgboost.DMatrix(X[:10])), rtol=1e-6)
    with pytest.raises(codecs.UnsupportedFormat):
        handler(b"[[1]]", "application/json", None)


BUILT_IN_XGBOOST = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"  # image_uris.retrieve("xgboost", r, "1")


@pytest.mark.parametrize("image", [XGBOOST, BUILT_IN_XGBOOST])
def test_xgboost_loads_a_pickled_booster_as_the_container_does(tmp_path: Path, image: str) -> None:
    import pickle

    import xgboost

    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, Y), 10)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(booster))
    handler = load(image, unpacked(tmp_path, package(tmp_path / "model.pkl", "xgboost")), {}, no_fetch, tmp_path)
    body, _ = handler(csv(X[:10]), "text/csv", None)
    np.testing.assert_allclose([float(v) for v in body.decode().split()],
                               booster.predict(xgboost.DMatrix(X[:10])), rtol=1e-6)


def test_xgboost_averages_an_ensemble_of_model_files(tmp_path: Path) -> None:
    import xgboost

    first = xgboost.train({"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(X, Y), 5)
    second = xgboost.train({"objective": "binary:logistic", "max_depth": 4}, xgboost.DMatrix(X, Y), 8)
    folder = tmp_path / "model"
    folder.mkdir()
    first.save_model(folder / "xgboost-model.ubj")
    second.save_model(folder / "xgboost-model-2.json")
    body, _ = load(XGBOOST, folder, {}, no_fetch, tmp_path)(csv(X[:5]), "text/csv", None)
    expected = (first.predict(xgboost.DMatrix(X[:5])) + second.predict(xgboost.DMatrix(X[:5]))) / 2
    np.testing.assert_allclose([float(v) for v in body.decode().split()], expected, rtol=1e-6)


def test_a_legacy_binary_xgboost_model_says_how_to_resave_it(tmp_path: Path) -> None:
    # XGBoost 1.x's binary format opens with "binf" and the learner's parameters, not with a JSON object.
    (tmp_path / "legacy.bin").write_bytes(b"binf" + bytes(range(256)) * 4)
    folder = unpacked(tmp_path, package(tmp_path / "legacy.bin", "xgboost"))
    with pytest.raises(LoadError) as caught:
        load(BUILT_IN_XGBOOST, folder, {}, no_fetch, tmp_path)
    message = str(caught.value)
    assert "legacy binary model format" in message and "save_model('xgboost-model.json')" in message
    assert "Stack trace" not in message and "[bt]" not in message
    (tmp_path / "text.json").write_bytes(b"{not json")
    with pytest.raises(LoadError, match="is not an XGBoost model") as caught:
        load(XGBOOST, unpacked(tmp_path, package(tmp_path / "text.json", "xgboost")), {}, no_fetch, tmp_path)
    assert "Stack trace" not in str(caught.value)


def test_onnx_runtime(tmp_path: Path, fitted: LogisticRegression) -> None:
    from skl2onnx import to_onnx

    (tmp_path / "m.onnx").write_bytes(to_onnx(fitted, X[:1].astype(np.float32),
                                              options={"zipmap": False}).SerializeToString())
    handler = load("my-registry/onnx-runtime:1", unpacked(tmp_path, package(tmp_path / "m.onnx", "onnx")), {},
                   no_fetch, tmp_path)
    body, _ = handler(json.dumps(X[:4].tolist()).encode(), "application/json", "application/json")
    np.testing.assert_allclose(json.loads(body), fitted.predict_proba(X[:4]), atol=1e-5)


def test_errors(tmp_path: Path, fitted: LogisticRegression) -> None:
    joblib.dump(fitted, tmp_path / "model.joblib")
    folder = unpacked(tmp_path, package(tmp_path / "model.joblib", "sklearn"))
    with pytest.raises(UnsupportedImage, match="sagemaker-scikit-learn, sagemaker-xgboost"):
        load("123.dkr.ecr.us-east-1.amazonaws.com/my-custom-image:latest", folder, {}, no_fetch, tmp_path)
    with pytest.raises(LoadError, match="entry point missing.py not found"):
        load(SKLEARN, folder, {"SAGEMAKER_PROGRAM": "missing.py"}, no_fetch, tmp_path)
    handler = load(SKLEARN, folder, {}, no_fetch, tmp_path)
    with pytest.raises(InferenceError, match="ValueError"):
        handler(b"1,2\n", "text/csv", None)  # 2 features where the model takes 5
    with pytest.raises(codecs.UnsupportedFormat, match="image/png"):
        handler(b"...", "image/png", None)


def test_unsafe_archives_are_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ArtifactError, match="evil.tar.gz"):
        unpack(out.getvalue(), tmp_path / "cache", "evil.tar.gz")
    assert not (tmp_path / "escape.txt").exists()
    with pytest.raises(ArtifactError):
        unpack(b"not a tarball", tmp_path / "cache", "junk")


def test_models_package_command(tmp_path: Path, fitted: LogisticRegression) -> None:
    joblib.dump(fitted, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(ENTRY_POINT)
    result = subprocess.run(
        [sys.executable, "-m", "clarimon", "models", "package", "--model", str(tmp_path / "model.joblib"),
         "--framework", "sklearn", "--entry-point", str(tmp_path / "inference.py"),
         "--output", "s3://models/churn/model.tar.gz", "--home", str(tmp_path / "home")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with tarfile.open(tmp_path / "home" / "s3" / "models" / "churn" / "model.tar.gz") as archive:
        assert sorted(archive.getnames()) == ["code/inference.py", "model.joblib"]


@pytest.mark.parametrize(("environment", "wording"), [
    ({"SAGEMAKER_PROGRAM": "../../outside.py"}, "SAGEMAKER_PROGRAM '../../outside.py' must name a file inside"),
    ({"SAGEMAKER_PROGRAM": "/tmp/outside.py"}, "SAGEMAKER_PROGRAM '/tmp/outside.py' must name a file inside"),
    ({"SAGEMAKER_PROGRAM": "code/../../outside.py"}, "relative path without '..'"),
    ({"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/tmp"},
     "SAGEMAKER_SUBMIT_DIRECTORY '/tmp' must be an s3:// source archive or a folder under /opt/ml/model"),
    ({"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/../../../tmp"},
     "SAGEMAKER_SUBMIT_DIRECTORY '/opt/ml/model/../../../tmp' must be"),
    ({"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/modelx"}, "must be an s3://"),
])
def test_entry_points_outside_the_model_are_refused(tmp_path: Path, fitted: LogisticRegression,
                                                    environment: dict[str, str], wording: str) -> None:
    (tmp_path / "outside.py").write_text("raise SystemExit('ran code from outside the model')\n")
    joblib.dump(fitted, tmp_path / "model.joblib")
    folder = unpacked(tmp_path, package(tmp_path / "model.joblib", "sklearn"))
    with pytest.raises(LoadError) as refused:
        load(SKLEARN, folder, environment, no_fetch, tmp_path / "cache")
    assert wording in str(refused.value), refused.value


def test_an_entry_point_linked_out_of_the_model_is_not_run(tmp_path: Path, fitted: LogisticRegression) -> None:
    (tmp_path / "outside.py").write_text("raise SystemExit('ran code from outside the model')\n")
    joblib.dump(fitted, tmp_path / "model.joblib")
    folder = unpacked(tmp_path, package(tmp_path / "model.joblib", "sklearn"))
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").symlink_to(tmp_path / "outside.py")  # as a process on the host could
    with pytest.raises(LoadError, match="entry point inference.py not found"):
        load(SKLEARN, folder, {"SAGEMAKER_PROGRAM": "inference.py"}, no_fetch, tmp_path / "cache")


def test_load_errors_name_the_container_folder_not_the_server_one(tmp_path: Path) -> None:
    (tmp_path / "inference.py").write_text("import os\n\ndef model_fn(model_dir):\n"
                                           "    return open(os.path.join(model_dir, 'absent.joblib'))\n")
    (tmp_path / "model.joblib").write_bytes(b"")
    folder = unpacked(tmp_path, package(tmp_path / "model.joblib", "sklearn", tmp_path / "inference.py"))
    with pytest.raises(LoadError) as failed:
        load(SKLEARN, folder, {"SAGEMAKER_PROGRAM": "inference.py"}, no_fetch, tmp_path / "cache")
    message = str(failed.value)
    assert "/opt/ml/model/absent.joblib" in message and str(tmp_path) not in message, message
