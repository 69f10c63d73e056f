"""Kernel SHAP accuracy and speed: clarimon against shap.KernelExplainer and against the model's own predict time.

    .venv/bin/python -m benchmarks.kernel_shap [--rows 200] [--repeats 3] [--skip-shap]
                                               [--accuracy-rows 10] [--skip-accuracy] [--skip-speed]

Accuracy (issue 11): per case and budget {m, 2m, 2m + 2048, 8192} coalitions (equal model evaluations for both:
rows x budget x background), the mean absolute error of clarimon's and shap's attributions (l1_reg=False) against
a reference: brute-force Shapley values where m <= 14, else clarimon at 65,536 coalitions (its own error there is
about a third of its error at 8192, and counts against both sides alike), the error ratio shap / clarimon, and
the NDCG between the global attributions (mean |phi|) of two runs with different seeds (1.0: the ranking does not
move with the seed; drift detection compares such rankings against 0.9).

Per case (200 rows, num_samples = 2m + 2048, 20 background rows): clarimon's seconds, shap's seconds on the
same inputs (l1_reg=False: the same estimator, no feature selection), and the floor: the model's own predict
time on the same number of evaluated rows (rows x coalitions x background). Each is the best of --repeats
runs: noise only ever adds time, so the minimum is each side's own cost. Then the peak memory of explaining
100,000 rows under the default 1024 MB budget (fewer coalitions, so that it finishes in a minute or two).
Targets: >= 3x faster than shap on logistic regression, never slower (issue 4); <= 1.2x the floor where the
model is cheap (issue 11). Accuracy targets (issue 11): never worse than shap, 1.5x lower error on most cases.
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from clarimon.engine import explain
from clarimon.engine.drift import ndcg
from clarimon.engine.predictors import estimator_predictor

BACKGROUND = 20


def cases() -> list[tuple[str, object, np.ndarray]]:
    cancer_x, cancer_y = load_breast_cancer(return_X_y=True)
    synthetic_x, synthetic_y = make_classification(n_samples=2000, n_features=60, n_informative=20, random_state=0)
    return [
        ("cancer logistic (m=30)", make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
         .fit(cancer_x, cancer_y), cancer_x),
        ("cancer boosting (m=30)", GradientBoostingClassifier(random_state=0).fit(cancer_x, cancer_y), cancer_x),
        ("synthetic logistic (m=60)", LogisticRegression(max_iter=5000).fit(synthetic_x, synthetic_y), synthetic_x),
        ("synthetic forest (m=60)", RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1)
         .fit(synthetic_x, synthetic_y), synthetic_x),
    ]


def config(m: int, background: np.ndarray, num_samples: int) -> dict[str, object]:
    return {"methods": {"shap": {"baseline": background.tolist(), "num_samples": num_samples, "seed": 0}},
            "predictor": {"probability": 1}}


def floor_seconds(model: object, rows: np.ndarray, background: np.ndarray, evaluations: int) -> float:
    """The model's predict_proba time on `evaluations` rows like the synthetic ones, at its best call size
    (the faster of 2,048- and 65,536-row calls): a strict floor, not the one an explainer happens to use."""
    rng = np.random.default_rng(0)
    best = float("inf")
    for size in (2048, 65536):
        block = background[rng.integers(0, len(background), size)]
        block = np.where(rng.random(block.shape) < 0.5, block, rows[rng.integers(0, len(rows), size)][:, :])
        calls = max(1, min(evaluations // size, 4_000_000 // size))
        started = time.perf_counter()
        for _ in range(calls):
            model.predict_proba(block)  # type: ignore[attr-defined]
        best = min(best, (time.perf_counter() - started) / (calls * size))
    return best * evaluations


def best_of(repeats: int, run: Callable[..., object], *args: object, **kwargs: object) -> float:
    """The shortest of `repeats` timed runs of run(*args, **kwargs)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return min(times)


REFERENCE_SAMPLES = 65_536


def accuracy_cases() -> list[tuple[str, object, np.ndarray]]:
    """The speed cases plus two small enough for brute-force references (m = 12 and m = 10)."""
    cancer_x, cancer_y = load_breast_cancer(return_X_y=True)
    small = cancer_x[:, :12]
    moons_x, moons_y = make_classification(n_samples=1000, n_features=10, n_informative=6, random_state=1)
    return [
        ("cancer boosting (m=12)", GradientBoostingClassifier(random_state=0).fit(small, cancer_y), small),
        ("synthetic forest (m=10)", RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)
         .fit(moons_x, moons_y), moons_x),
        *cases(),
    ]


def brute_force(model: object, row: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Exact Shapley values of v(S) = mean_b f(x_S, b_~S): all 2^m coalitions, by the permutation weights."""
    m = len(row)
    codes = np.arange(2**m)
    masks = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
    values = np.empty(len(masks))
    for start in range(0, len(masks), 4096):
        block = masks[start : start + 4096]
        synthetic = np.where(block[:, None, :], row[None, None, :], background[None, :, :]).reshape(-1, m)
        values[start : start + 4096] = positive(model, synthetic).reshape(len(block), -1).mean(axis=1)
    sizes = masks.sum(axis=1)
    weight = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])
    phi = np.zeros(m)
    for j in range(m):
        without = codes[~masks[:, j]]
        phi[j] = (weight[sizes[without]] * (values[without | (1 << j)] - values[without])).sum()
    return phi


def positive(model: object, rows: np.ndarray) -> np.ndarray:
    """The model's probability of the positive class."""
    return model.predict_proba(rows)[:, 1]  # type: ignore[attr-defined, no-any-return]


def clarimon_values(model: object, rows: np.ndarray, background: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """clarimon's (n, m) attributions of the positive class."""
    settings = config(rows.shape[1], background, budget)
    settings["methods"]["shap"]["seed"] = seed  # type: ignore[index]
    explanation = explain(settings, rows, estimator_predictor(model))
    values: np.ndarray = explanation.local[:, :, 0]
    return values


def shap_values(model: object, rows: np.ndarray, background: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """shap.KernelExplainer's (n, m) attributions of the positive class (its sampling draws from numpy's
    global generator, seeded here)."""
    import shap

    np.random.seed(seed)
    explainer = shap.KernelExplainer(lambda x: positive(model, x), background)
    return np.asarray(explainer.shap_values(rows, nsamples=budget, l1_reg=False, silent=True)).reshape(rows.shape)


def seed_ndcg(first: np.ndarray, second: np.ndarray) -> float:
    """NDCG of the second run's global ranking (mean |phi|) against the first's, as the drift check computes it."""
    names = [str(j) for j in range(first.shape[1])]
    one, two = np.abs(first).mean(axis=0), np.abs(second).mean(axis=0)
    return ndcg(dict(zip(names, one.tolist(), strict=True)), dict(zip(names, two.tolist(), strict=True)))


def accuracy(rows_count: int) -> None:
    """The accuracy table: error against the reference, ratio, seed-to-seed NDCG, per case and budget."""
    print(f"{'case':<27}{'budget':>7}{'clarimon MAE':>14}{'shap MAE':>11}{'shap/ours':>11}"
          f"{'NDCG ours':>11}{'NDCG shap':>11}")
    for name, model, data in accuracy_cases():
        rng = np.random.default_rng(1)
        background = data[rng.choice(len(data), BACKGROUND, replace=False)]
        rows = data[rng.choice(len(data), rows_count, replace=False)]
        m = data.shape[1]
        if m <= 14:
            reference = np.array([brute_force(model, row, background) for row in rows])
        else:
            reference = clarimon_values(model, rows, background, REFERENCE_SAMPLES, seed=12345)
        for budget in (m, 2 * m, 2 * m + 2048, 8192):
            ours = [clarimon_values(model, rows, background, budget, seed) for seed in (0, 1)]
            theirs = [shap_values(model, rows, background, budget, seed) for seed in (0, 1)]
            our_error = float(np.mean([np.abs(run - reference).mean() for run in ours]))
            their_error = float(np.mean([np.abs(run - reference).mean() for run in theirs]))
            ratio = f"{their_error / our_error:>11.3g}" if our_error > 1e-12 else f"{'exact':>11}"
            print(f"{name:<27}{budget:>7}{our_error:>14.3g}{their_error:>11.3g}{ratio}"
                  f"{seed_ndcg(*ours):>11.4f}{seed_ndcg(*theirs):>11.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-shap", action="store_true")
    parser.add_argument("--accuracy-rows", type=int, default=10)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not args.skip_accuracy:
        accuracy(args.accuracy_rows)
        print()
    if args.skip_speed:
        return
    # The first call compiles clarimon's numba kernel unless its on-disk cache is current: a one-off cost per
    # installation, timed here apart from the cases.
    tiny = np.random.default_rng(0).normal(size=(4, 3))
    started = time.perf_counter()
    explain({"methods": {"shap": {"baseline": tiny[:2].tolist()}}}, tiny, lambda rows: rows.sum(axis=1))
    print(f"first call (numba compile unless cached): {time.perf_counter() - started:.2f} s\n")
    print(f"{'case':<28}{'clarimon s':>11}{'shap s':>9}{'floor s':>9}{'x shap':>8}{'x floor':>9}")
    for name, model, data in cases():
        rng = np.random.default_rng(1)
        background = data[rng.choice(len(data), BACKGROUND, replace=False)]
        rows = data[rng.choice(len(data), args.rows, replace=False)]
        m = data.shape[1]
        num_samples = 2 * m + 2048
        predictor = estimator_predictor(model)
        ours = best_of(args.repeats, explain, config(m, background, num_samples), rows, predictor)
        floor = min(floor_seconds(model, rows, background, args.rows * num_samples * BACKGROUND)
                    for _ in range(args.repeats))
        shap_seconds = float("nan")
        if not args.skip_shap:
            import shap

            def positive(x: np.ndarray, model: object = model) -> np.ndarray:
                return model.predict_proba(x)[:, 1]  # type: ignore[attr-defined, no-any-return]

            explainer = shap.KernelExplainer(positive, background)
            shap_seconds = best_of(args.repeats, explainer.shap_values, rows, nsamples=num_samples, l1_reg=False,
                                   silent=True)
        print(f"{name:<28}{ours:>11.2f}{shap_seconds:>9.2f}{floor:>9.2f}{shap_seconds / ours:>8.2f}"
              f"{ours / floor:>9.2f}", flush=True)

    name, model, data = cases()[0]
    rows = np.tile(data, (100_000 // len(data) + 1, 1))[:100_000]
    background = data[:BACKGROUND]
    tracemalloc.start()
    started = time.perf_counter()
    explain(config(30, background, 64), rows, estimator_predictor(model), memory_mb=1024)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n100,000 rows, m=30, 64 coalitions, 20 background rows: {time.perf_counter() - started:.1f} s, "
          f"peak traced memory {peak / 2**20:.0f} MB (budget 1024 MB for synthetic rows)")


if __name__ == "__main__":
    main()
