"""Kernel SHAP against brute-force Shapley values, and its mathematical properties."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPRegressor

from clarimon.engine import kernel_shap


def shapley_by_brute_force(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, background: np.ndarray,
                           weights: np.ndarray) -> np.ndarray:
    """Exact Shapley values of v(S) = sum_b w_b f(x_S, b_~S), written independently: all 2^m coalitions."""
    m = x.shape[0]

    def value(subset: tuple[int, ...]) -> np.ndarray:
        rows = background.copy()
        rows[:, list(subset)] = x[list(subset)]
        return np.asarray(weights @ np.asarray(predict(rows)).reshape(len(rows), -1))

    values = {s: value(s) for r in range(m + 1) for s in itertools.combinations(range(m), r)}
    phi = np.zeros((m, next(iter(values.values())).shape[0]))
    for j in range(m):
        others = [i for i in range(m) if i != j]
        for r in range(m):
            for subset in itertools.combinations(others, r):
                weight = math.factorial(r) * math.factorial(m - r - 1) / math.factorial(m)
                phi[j] += weight * (values[tuple(sorted(subset + (j,)))] - values[subset])
    return phi


def explain(predict: Callable[[np.ndarray], np.ndarray], rows: np.ndarray, background: np.ndarray,
            weights: np.ndarray, num_samples: int, seed: int = 0) -> tuple[np.ndarray, Any]:
    m = rows.shape[1]
    coalitions = kernel_shap.coalitions(m, num_samples, np.random.default_rng(seed))
    fx = np.asarray(predict(rows)).reshape(len(rows), -1)
    phi0 = weights @ np.asarray(predict(background)).reshape(len(background), -1)
    values = np.concatenate([v for _, v in kernel_shap.coalition_values(
        rows, background, weights, coalitions.masks, predict, np.arange(m), 1 << 26)])
    return kernel_shap.solve(coalitions, values, fx, phi0), coalitions


def model(name: str):  # type: ignore[no-untyped-def]
    """(predict, data) of a real model trained on a dataset scikit-learn ships."""
    if name == "iris-logistic":
        iris = load_iris()
        return LogisticRegression(max_iter=2000).fit(iris.data, iris.target).predict_proba, iris.data
    if name == "wine-forest":
        x = load_wine().data[:, :8]
        return RandomForestClassifier(n_estimators=20, random_state=0).fit(x, load_wine().target).predict_proba, x
    if name == "cancer-logistic":
        x = load_breast_cancer().data[:, :9]
        return LogisticRegression(max_iter=5000).fit(x, load_breast_cancer().target).predict_proba, x
    diabetes = load_diabetes()
    if name == "diabetes-boosting":
        return GradientBoostingRegressor(random_state=0).fit(diabetes.data, diabetes.target).predict, diabetes.data
    net = MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    return net.fit(diabetes.data, diabetes.target).predict, diabetes.data


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "name", ["iris-logistic", "wine-forest", "cancer-logistic", "diabetes-boosting", "diabetes-mlp"]
)
def test_exact_mode_equals_brute_force_shapley(name: str) -> None:
    predict, data = model(name)
    rng = np.random.default_rng(1)
    background = data[rng.choice(len(data), 7, replace=False)]
    weights = rng.random(7)
    weights /= weights.sum()
    rows = data[rng.choice(len(data), 4, replace=False)]
    m = data.shape[1]
    phi, coalitions = explain(predict, rows, background, weights, num_samples=2**m - 2)
    assert coalitions.exact
    for row, row_phi in zip(rows, phi, strict=True):
        expected = shapley_by_brute_force(predict, row, background, weights)
        np.testing.assert_allclose(row_phi, expected, rtol=0, atol=1e-8 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("num_samples", [100, 2 * 30 + 2048])
def test_linear_model_is_exact_for_any_m(num_samples: int) -> None:
    cancer = load_breast_cancer()
    model = LinearRegression().fit(cancer.data, cancer.target)
    rng = np.random.default_rng(2)
    background = cancer.data[rng.choice(len(cancer.data), 20, replace=False)]
    weights = np.full(20, 1 / 20)
    rows = cancer.data[:10]
    phi, coalitions = explain(model.predict, rows, background, weights, num_samples)
    assert not coalitions.exact
    expected = model.coef_[None, :] * (rows - weights @ background)
    np.testing.assert_allclose(phi[:, :, 0], expected, rtol=0, atol=1e-8)


def test_additivity_null_feature_and_same_seed() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(size=(200, 12))

    def predict(x: np.ndarray) -> np.ndarray:  # feature 5 is never used
        return np.stack([np.tanh(x[:, 0] * x[:, 1]) + x[:, 2] ** 2, np.sin(x[:, 3]) * x[:, 11]], axis=1)

    background, weights = data[:10], np.full(10, 0.1)
    rows = data[10:20]
    phi, coalitions = explain(predict, rows, background, weights, num_samples=300, seed=7)
    assert not coalitions.exact
    fx, phi0 = predict(rows), weights @ predict(background)
    np.testing.assert_allclose(phi.sum(axis=1), fx - phi0, rtol=0, atol=1e-10)
    again, _ = explain(predict, rows, background, weights, num_samples=300, seed=7)
    np.testing.assert_array_equal(phi, again)
    # A feature the model ignores gets exactly zero where the maths is exact (all 2^12 - 2 coalitions).
    exact, coalitions = explain(predict, rows, background, weights, num_samples=2**12)
    assert coalitions.exact
    np.testing.assert_allclose(exact[:, 5, :], 0, atol=1e-10)


def test_single_feature_gets_the_whole_difference() -> None:
    rows = np.array([[2.0], [3.0]])
    phi = kernel_shap.solve(kernel_shap.coalitions(1, 10, np.random.default_rng()), np.zeros((2, 0, 1)),
                            rows ** 2, np.array([1.0]))
    np.testing.assert_allclose(phi[:, 0, 0], [3.0, 8.0])


def test_chunking_does_not_change_values() -> None:
    rng = np.random.default_rng(4)
    data = rng.normal(size=(50, 6))

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.exp(x[:, :2]).sum(axis=1) * x[:, 5])

    coalitions = kernel_shap.coalitions(6, 1000, rng)
    weights = np.full(5, 0.2)
    args = (data[:8], data[10:15], weights, coalitions.masks, predict, np.arange(6))
    big = np.concatenate([v for _, v in kernel_shap.coalition_values(*args, 1 << 30)])
    tiny = np.concatenate([v for _, v in kernel_shap.coalition_values(*args, 500)])
    np.testing.assert_allclose(big, tiny, rtol=0, atol=1e-12)


def test_rows_stream_when_a_row_needs_several_blocks() -> None:
    """With a budget too small for one row's coalitions, each row is finished before the next is evaluated,
    so held results do not grow with the number of rows."""
    rng = np.random.default_rng(6)
    data = rng.normal(size=(30, 5))
    seen: list[int] = []

    def predict(x: np.ndarray) -> np.ndarray:
        seen.append(len(x))
        return np.asarray(x.sum(axis=1))

    coalitions = kernel_shap.coalitions(5, 30, rng)
    values = kernel_shap.coalition_values(data[:20], data[20:24], np.full(4, 0.25), coalitions.masks, predict,
                                          np.arange(5), 4 * 5 * 8 * 2 * 3)  # three coalitions per block
    first, block = next(values)
    assert first == slice(0, 1) and block.shape == (1, 30, 1)
    blocks_per_row = -(-30 // 3)
    assert len(seen) <= blocks_per_row + 2  # the first row's blocks and at most two more in flight
    assert sum(1 for _ in values) == 19


@pytest.mark.parametrize(("m", "budget"), [(2, 5), (10, 100), (30, 2108), (60, 2168)])
def test_coalition_weights(m: int, budget: int) -> None:
    coalitions = kernel_shap.coalitions(m, budget, np.random.default_rng(5))
    assert coalitions.masks.shape[1] == m
    assert len(coalitions.masks) <= max(budget, 2**m - 2)
    assert abs(coalitions.weights.sum() - 1) < 1e-12
    sizes = coalitions.masks.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= m - 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="m:"):
        kernel_shap.coalitions(0, 10, np.random.default_rng())
    with pytest.raises(ValueError, match="num_samples"):
        kernel_shap.coalitions(3, 0, np.random.default_rng())
