"""Kernel SHAP against brute-force Shapley values, and its mathematical properties."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine, make_classification
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPRegressor

from clarimon.engine import explain as engine_explain
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
    # Two blocks of coalitions per row, in buffers that take turns.
    ranged = np.concatenate([v for _, v in kernel_shap.coalition_values(*args, 2 * 62 * 5 * 6 * 8 // 2 + 100)])
    np.testing.assert_array_equal(big, ranged)


def test_block_sizes_do_not_change_values_with_several_designs() -> None:
    rng = np.random.default_rng(9)
    data = rng.normal(size=(40, 7))

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.tanh(x[:, :3]).sum(axis=1) * x[:, 6])

    coalitions = kernel_shap.coalitions(7, 60, rng, designs=3)
    weights = np.full(6, 1 / 6)
    args = (data[:9], data[10:16], weights, coalitions.masks, predict, np.arange(7))
    values = {memory: np.concatenate([v for _, v in kernel_shap.coalition_values(*args, memory)])
              for memory in (1 << 30, 60 * 6 * 7 * 8 + 64, 400)}
    reference = values[1 << 30]
    for got in values.values():
        np.testing.assert_array_equal(got, reference)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int16, np.uint8])
def test_synthetic_rows_are_the_row_where_the_coalition_says_and_the_background_elsewhere(dtype: type) -> None:
    # The fill selects bits: every width of value must come through unchanged, NaN and negative zero included.
    rng = np.random.default_rng(11)
    m, k = 5, 3
    data: np.ndarray = (rng.normal(size=(10, m)) * 50).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        data[0, 1], data[4, 2] = np.nan, -0.0
    seen: list[np.ndarray] = []

    def predict(x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        return np.zeros(len(x))

    coalitions = kernel_shap.coalitions(m, 12, rng, designs=k)
    list(kernel_shap.coalition_values(data[:4], data[4:4 + k], np.full(k, 1 / k), coalitions.masks, predict,
                                      np.arange(m), 1 << 20))
    synthetic = np.concatenate(seen).reshape(4, 12, k, m)
    cells = coalitions.masks[np.arange(k) % k]  # (k, s, m): background row b uses design b % G
    expected = np.where(cells.transpose(1, 0, 2)[None], data[:4, None, None, :], data[None, None, 4:4 + k, :])
    assert synthetic.dtype == dtype
    np.testing.assert_array_equal(synthetic.view(f"u{data.itemsize}"), expected.view(f"u{data.itemsize}"))


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
    values = kernel_shap.coalition_values(data[:20], data[20:24], np.full(4, 0.25), coalitions.masks[0], predict,
                                          np.arange(5), 4 * 5 * 8 * 2 * 3)  # three coalitions per block
    first, block = next(values)
    assert first == slice(0, 1) and block.shape == (1, 30, 1)
    blocks_per_row = -(-30 // 3)
    assert len(seen) <= blocks_per_row + 2  # the first row's blocks and at most two more in flight
    assert sum(1 for _ in values) == 19


@pytest.mark.parametrize(("m", "budget"), [(2, 5), (10, 100), (30, 2108), (60, 2168)])
def test_coalition_weights(m: int, budget: int) -> None:
    coalitions = kernel_shap.coalitions(m, budget, np.random.default_rng(5))
    assert coalitions.masks.shape[2] == m
    assert coalitions.masks.shape[1] <= max(budget, 2**m - 2)
    assert abs(coalitions.weights.sum() - 1) < 1e-12
    sizes = coalitions.masks.sum(axis=2)
    assert sizes.min() >= 1 and sizes.max() <= m - 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="m:"):
        kernel_shap.coalitions(0, 10, np.random.default_rng())
    with pytest.raises(ValueError, match="num_samples"):
        kernel_shap.coalitions(3, 0, np.random.default_rng())


def _game(m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A row, 5 background rows and their weights for a nonlinear two-output model."""
    data = np.random.default_rng(seed).normal(size=(6, m))
    weights = np.random.default_rng(seed + 1).random(5) + 0.1
    return data[0], data[1:], weights / weights.sum()


def _nonlinear(x: np.ndarray) -> np.ndarray:
    second = x[:, 1 % x.shape[1]]
    return np.stack([np.tanh(x[:, 0] * x[:, -1]) + 0.5 * second**2, np.sin(x[:, -2 % x.shape[1]] + x[:, 0])], axis=1)


def _solved(m: int, budget: int, designs: int, seed: int, row: np.ndarray, background: np.ndarray,
            weights: np.ndarray) -> tuple[np.ndarray, kernel_shap.Coalitions]:
    """phi (m, K) for one row, as `explain` computes it: one design per background group."""
    coalitions = kernel_shap.coalitions(m, budget, np.random.default_rng(seed), designs)
    averaging, shares = kernel_shap.groups(weights, coalitions.groups)
    fx, phi0 = _nonlinear(row[None]), averaging.T @ _nonlinear(background)
    if m == 1:
        return fx - weights @ _nonlinear(background), coalitions
    values = np.concatenate([v for _, v in kernel_shap.coalition_values(
        row[None], background, weights, coalitions.masks, _nonlinear, np.arange(m), 1 << 24)])
    return kernel_shap.solve(coalitions, values, fx, phi0, shares)[0], coalitions


@settings(max_examples=150, deadline=None, derandomize=True)
@given(m=st.integers(1, 6), budget_fraction=st.floats(0, 1), designs=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_every_budget_gives_sound_values(m: int, budget_fraction: float, designs: int, seed: int) -> None:
    """Budgets 1..2^m: finite, efficiency exact, brute-force Shapley values once every coalition is in, and an
    error that shrinks with the budget (at most 3x the game's scale times sqrt(1 - s / (2^m - 2)))."""
    budget = 1 + round(budget_fraction * (2**m - 1))
    row, background, weights = _game(m, seed)
    phi, coalitions = _solved(m, budget, designs, seed, row, background, weights)
    assert np.isfinite(phi).all()
    delta = _nonlinear(row[None])[0] - weights @ _nonlinear(background)
    np.testing.assert_allclose(phi.sum(axis=0), delta, rtol=0, atol=1e-10)
    exact = shapley_by_brute_force(_nonlinear, row, background, weights)
    scale = np.abs(_nonlinear(np.vstack([row[None], background]))).max()
    if budget >= 2**m - 2:
        assert coalitions.exact
        np.testing.assert_allclose(phi, exact, rtol=0, atol=1e-9 * max(1.0, scale))
    else:
        bound = 3 * scale * math.sqrt(1 - budget / (2**m - 2))
        assert np.abs(phi - exact).max() <= bound


@pytest.mark.parametrize("budget", range(1, 12))
def test_small_budgets_spend_every_coalition(budget: int) -> None:
    coalitions = kernel_shap.coalitions(7, budget, np.random.default_rng(budget), designs=2)
    assert coalitions.masks.shape == (2, budget, 7)
    assert np.allclose(coalitions.weights.sum(axis=1), 1)
    for design in coalitions.masks:
        assert len({mask.tobytes() for mask in design}) == budget  # drawn without repetition


def test_linear_model_of_20_features_at_tiny_budgets() -> None:
    """Issue 11's minimal case: at 10 coalitions the solve raised, at 24 it gave 0.37 where the exact values are
    below 0.05. Now: bounded, efficiency exact, never worse than shap's KernelExplainer on the same budget, and
    exact once the budget determines the solve (2 x 19 coalitions)."""
    import shap

    rng = np.random.default_rng(0)
    data = rng.normal(size=(21, 20))
    coefficients = rng.normal(size=20) * 0.05
    row, background = data[:1], data[1:]

    def predict(x: np.ndarray) -> np.ndarray:
        return x @ coefficients

    exact = coefficients * (row[0] - background.mean(axis=0))
    for budget in (1, 5, 10, 24, 38):
        np.random.seed(budget)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = np.asarray(shap.KernelExplainer(predict, background).shap_values(
                row, nsamples=budget, l1_reg=False, silent=True)).reshape(-1)
        ours = engine_explain({"methods": {"shap": {"baseline": background.tolist(), "num_samples": budget,
                                                    "seed": 0}}}, row, predict)
        phi = ours.local[0, :, 0]
        assert np.abs(phi).max() <= np.abs(exact).max() + 1e-12
        np.testing.assert_allclose(phi.sum(), exact.sum(), rtol=0, atol=1e-12)
        assert np.abs(phi - exact).mean() <= np.abs(theirs - exact).mean() + 1e-12
        assert bool(ours.warnings) == (budget < 38)
    np.testing.assert_allclose(phi, exact, rtol=0, atol=1e-12)


def test_a_probability_model_of_69_features_at_100_coalitions() -> None:
    """The shape of AWS's explainability notebook (69 features, num_samples=100) that gave attributions of 1e14
    and a false drift: probabilities' attributions stay within [-1, 1], closer to the truth than shap's."""
    import shap

    rows, labels = make_classification(n_samples=600, n_features=69, n_informative=12, random_state=2)
    model = LogisticRegression(max_iter=2000).fit(rows, labels)
    background, explained = rows[:10], rows[100:104]

    def positive(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_proba(x)[:, 1])

    def config(budget: int) -> dict[str, object]:
        return {"methods": {"shap": {"baseline": background.tolist(), "num_samples": budget, "seed": 1}}}

    reference = engine_explain(config(20000), explained, positive).local[:, :, 0]
    ours = engine_explain(config(100), explained, positive)
    assert ours.warnings and np.abs(ours.local).max() <= 1
    np.random.seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(shap.KernelExplainer(positive, background).shap_values(
            explained, nsamples=100, l1_reg=False, silent=True))
    assert np.abs(ours.local[:, :, 0] - reference).mean() < np.abs(theirs - reference).mean()


def test_independent_designs_agree_with_one_shared_design_when_exact() -> None:
    rng = np.random.default_rng(8)
    data = rng.normal(size=(30, 5))
    weights = np.full(6, 1 / 6)
    one, coalitions = _solved(5, 30, 1, 0, data[0], data[1:7], weights)
    many, _ = _solved(5, 30, 4, 0, data[0], data[1:7], weights)
    assert coalitions.exact
    np.testing.assert_allclose(one, many, rtol=0, atol=1e-12)
