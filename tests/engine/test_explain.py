"""explain(): Clarify's config keys, formats, categorical data, model files, and accuracy against shap."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from clarimon.engine import explain, predictors
from clarimon.engine.config import ConfigError
from clarimon.engine.datasets import Table
from tests.engine.test_kernel_shap import shapley_by_brute_force

ANALYSIS_SCHEMA = {
    "type": "object",
    "required": ["version", "explanations"],
    "properties": {
        "version": {"const": "1.0"},
        "explanations": {
            "type": "object",
            "required": ["kernel_shap"],
            "properties": {"kernel_shap": {"type": "object", "minProperties": 1, "additionalProperties": {
                "type": "object",
                "required": ["global_shap_values", "expected_value"],
                "additionalProperties": False,
                "properties": {
                    "global_shap_values": {"type": "object", "additionalProperties": {"type": "number"}},
                    "expected_value": {"type": "number"},
                },
            }}},
        },
    },
}


@pytest.fixture(scope="module")
def iris() -> tuple[Any, np.ndarray, list[str]]:
    data = load_iris()
    model = LogisticRegression(max_iter=2000).fit(data.data, data.target)
    return model, data.data, ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run(model: Any, rows: np.ndarray, headers: list[str], **shap: Any) -> Any:
    config = {"headers": headers, "methods": {"shap": {"baseline": rows[:5].tolist(), "seed": 3, **shap}}}
    predictor = config.pop("predictor", None) or {}
    return explain({**config, "predictor": predictor}, rows, predictors.estimator_predictor(model))


def test_analysis_json_has_clarifys_shape(iris: Any) -> None:
    model, rows, headers = iris
    result = run(model, rows[::10], headers)
    document = result.to_analysis_json()
    jsonschema.validate(document, ANALYSIS_SCHEMA)
    assert list(document["explanations"]["kernel_shap"]) == ["label0", "label1", "label2"]
    assert list(document["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == headers


def test_label_headers_and_probability(iris: Any) -> None:
    model, rows, headers = iris
    config = {"headers": headers, "methods": {"shap": {"baseline": rows[:5].tolist()}},
              "predictor": {"label_headers": ["setosa", "versicolor", "virginica"]}}
    named = explain(config, rows[::10], predictors.estimator_predictor(model))
    assert named.labels == ["setosa", "versicolor", "virginica"]
    config["predictor"]["probability"] = 2
    one = explain(config, rows[::10], predictors.estimator_predictor(model))
    assert one.labels == ["virginica"]
    np.testing.assert_allclose(one.local[:, :, 0], named.local[:, :, 2], atol=1e-12)


def test_agg_methods_aggregate_the_local_values(iris: Any) -> None:
    model, rows, headers = iris
    results = {agg: run(model, rows[::7], headers, agg_method=agg) for agg in ("mean_abs", "mean_sq", "median")}
    local = results["mean_abs"].local
    np.testing.assert_allclose(results["mean_abs"].global_values, np.abs(local).mean(axis=0))
    np.testing.assert_allclose(results["mean_sq"].global_values, (local ** 2).mean(axis=0))
    np.testing.assert_allclose(results["median"].global_values, np.median(local, axis=0))


def test_use_logit_explains_log_odds(iris: Any) -> None:
    model, rows, headers = iris
    plain = run(model, rows[::10], headers)
    logit = run(model, rows[::10], headers, use_logit=True)
    probabilities = model.predict_proba(rows[::10][:5]).mean(axis=0)  # run() takes the first 5 rows as baseline
    np.testing.assert_allclose(logit.expected, np.log(probabilities / (1 - probabilities)))
    np.testing.assert_allclose(plain.expected, probabilities)
    p = model.predict_proba(rows[::10])
    np.testing.assert_allclose(logit.local.sum(axis=1), np.log(p / (1 - p)) - logit.expected, atol=1e-9)


def test_features_to_explain_holds_the_others_at_the_row(iris: Any) -> None:
    model, rows, headers = iris
    result = run(model, rows[::10], headers, features_to_explain=["petal_length", 3])
    assert result.features == ["petal_length", "petal_width"]
    assert result.local.shape[1] == 2
    with pytest.raises(ConfigError, match="features_to_explain"):
        run(model, rows, headers, features_to_explain=["nope"])


def test_num_clusters_summarises_the_dataset_when_no_baseline(iris: Any) -> None:
    model, rows, headers = iris
    config = {"headers": headers, "methods": {"shap": {"num_clusters": 3, "seed": 0}}}
    clustered = explain(config, rows[::5], predictors.estimator_predictor(model))
    assert clustered.background_rows == 3
    given = run(model, rows[::5], headers)
    assert not np.allclose(clustered.expected, given.expected)
    # With a background of cluster centres weighted by size, the expected value is their weighted mean output.
    assert abs(clustered.expected.sum() - 1) < 1e-9


def test_save_local_csv_columns(iris: Any) -> None:
    model, rows, headers = iris
    result = run(model, rows[:3], headers)
    lines = result.local_csv().decode().splitlines()
    assert lines[0].split(",")[:2] == ["sepal_length_label0", "sepal_width_label0"]
    assert len(lines) == 4
    assert len(lines[1].split(",")) == 12
    written = np.array([[float(cell) for cell in line.split(",")] for line in lines[1:]])
    expected = result.local.transpose(0, 2, 1).reshape(3, -1)
    assert written.tobytes() == expected.tobytes()  # every value reads back to the very same float


def test_categorical_pipeline_is_exact() -> None:
    rng = np.random.default_rng(0)
    n = 300
    colors = rng.choice(["red", "green", "blue"], n)
    sizes = rng.choice(["S", "M", "L", "XL"], n)
    numbers = rng.normal(size=(n, 3))
    target = ((colors == "red") ^ (numbers[:, 0] > 0.3) | (sizes == "XL")).astype(int)
    rows = np.empty((n, 5), dtype=object)
    rows[:, 0], rows[:, 1], rows[:, 2:] = colors, sizes, numbers
    pipeline = make_pipeline(
        ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), [0, 1])], remainder="passthrough"),
        LogisticRegression(max_iter=2000),
    ).fit(rows, target)
    table = Table(["color", "size", "x0", "x1", "x2"], rows)
    config = {"methods": {"shap": {"num_clusters": 4, "seed": 1, "num_samples": 30}}}
    result = explain(config, Table(table.columns, rows[:6]), predictors.estimator_predictor(pipeline))
    assert result.exact
    from clarimon.engine.baseline import summarise

    background, weights = summarise(rows[:6], 4, np.random.default_rng(1))
    assert all(isinstance(v, str) for v in background[:, 0])  # the mode, not a mean, for categories
    for i, row in enumerate(rows[:6]):
        expected = shapley_by_brute_force(pipeline.predict_proba, row, background, weights)
        np.testing.assert_allclose(result.local[i], expected, atol=1e-8)


def test_model_files(tmp_path: Path) -> None:
    import joblib
    import lightgbm
    import xgboost
    from skl2onnx import to_onnx

    x, y = load_breast_cancer(return_X_y=True)
    x = x[:, :6].astype(np.float32)
    rows = x[:20]
    sk = LogisticRegression(max_iter=5000).fit(x, y)
    joblib.dump(sk, tmp_path / "model.joblib")
    np.testing.assert_allclose(predictors.load(tmp_path / "model.joblib")(rows), sk.predict_proba(rows))

    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(x, y), 10)
    booster.save_model(tmp_path / "model.ubj")
    (tmp_path / "model.ubj").rename(tmp_path / "xgboost-model")  # the name SageMaker's XGBoost container uses
    np.testing.assert_allclose(predictors.load(tmp_path / "xgboost-model")(rows)[:, 0],
                               booster.predict(xgboost.DMatrix(rows)), rtol=1e-6)

    light = lightgbm.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lightgbm.Dataset(x, y), 10)
    light.save_model(tmp_path / "model.txt")
    np.testing.assert_allclose(predictors.load(tmp_path / "model.txt")(rows)[:, 0], light.predict(rows), rtol=1e-9)

    onnx = to_onnx(sk, x[:1], options={"zipmap": False})
    (tmp_path / "model.onnx").write_bytes(onnx.SerializeToString())
    np.testing.assert_allclose(predictors.load(tmp_path / "model.onnx")(rows), sk.predict_proba(rows), atol=1e-5)

    (tmp_path / "junk.bin").write_bytes(b"not a model")
    with pytest.raises(predictors.ModelError, match="junk.bin"):
        predictors.load(tmp_path / "junk.bin")


def test_regressor_answers_with_predict() -> None:
    x, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(x, y)
    config = {"methods": {"shap": {"baseline": x[:10].tolist(), "num_samples": 50}}}
    expected = model.coef_ * (x[:5] - x[:10].mean(axis=0))
    for predictor in (predictors.estimator_predictor(model), model.predict):  # (n, 1) and a bare (n,)
        result = explain(config, x[:5], predictor)
        assert result.labels == ["label0"]
        np.testing.assert_allclose(result.local[:, :, 0], expected, atol=1e-8)


def test_sampled_accuracy_no_worse_than_shap() -> None:
    """m = 30: mean absolute error against a 100,000-coalition reference, over fixed seeds, at 2m + 2048."""
    import shap

    x, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x, y)
    rng = np.random.default_rng(0)
    background, rows = x[rng.choice(len(x), 20, replace=False)], x[rng.choice(len(x), 8, replace=False)]
    config = {"methods": {"shap": {"baseline": background.tolist()}}, "predictor": {"probability": 1}}
    predictor = predictors.estimator_predictor(model)

    def ours(num_samples: int, seed: int) -> np.ndarray:
        shap_config = {**config["methods"]["shap"], "num_samples": num_samples, "seed": seed}  # type: ignore[index]
        return explain({**config, "methods": {"shap": shap_config}}, rows, predictor).local[:, :, 0]

    reference = ours(100_000, 99)
    budget = 2 * 30 + 2048
    our_errors, shap_errors = [], []
    for seed in range(6):
        our_errors.append(np.abs(ours(budget, seed) - reference).mean())
        np.random.seed(seed)  # shap draws from numpy's global generator
        explainer = shap.KernelExplainer(lambda a: model.predict_proba(a)[:, 1], background)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = explainer.shap_values(rows, nsamples=budget, l1_reg=False, silent=True)
        shap_errors.append(np.abs(theirs - reference).mean())
    assert np.mean(our_errors) <= np.mean(shap_errors), (our_errors, shap_errors)


def test_solving_beside_the_evaluation_gives_the_same_values_and_leaves_blas_as_found() -> None:
    # Batches are solved on a thread of their own while the next is evaluated; with a small memory budget there
    # are many batches in flight one after another. The values must not depend on it, and the process-wide BLAS
    # thread limits the threads set and restore must be the caller's again afterwards.
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(21)
    data = rng.normal(size=(60, 9))
    weights = rng.normal(size=9)

    def predict(rows: np.ndarray) -> np.ndarray:
        return np.asarray(np.tanh(rows @ weights))

    config = {"methods": {"shap": {"baseline": data[:4].tolist(), "num_samples": 300, "seed": 3}}}
    whole = explain(config, data, predict)
    with threadpool_limits(limits=1, user_api="blas"):
        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        streamed = explain(config, data, predict, memory_mb=1)
        assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == blas
    np.testing.assert_allclose(streamed.local, whole.local, rtol=0, atol=1e-12)
