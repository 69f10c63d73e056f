"""report.html: the attributions of a run, and for a monitoring run the baseline beside them, the ranks, the
NDCG against its threshold and the violations."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from clarimon.engine import drift, explain, report
from clarimon.engine.explain import Explanation

HEADERS = ["sat", "gpa", "rank"]


def linear(weights: list[float]) -> Explanation:
    """An explanation of a linear model whose attributions follow `weights`."""
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(40, 3))
    coefficients = np.array(weights)

    def predict(x: np.ndarray) -> np.ndarray:
        answer: np.ndarray = (x @ coefficients)[:, None]
        return answer

    config = {"headers": HEADERS, "methods": {"shap": {"baseline": [[0.0, 0.0, 0.0]], "seed": 1}}, "predictor": {}}
    return explain(config, rows, predict)


def baseline_of(explanation: Explanation) -> dict[str, Any]:
    return explanation.to_analysis_json()


def test_without_a_baseline_the_report_shows_the_runs_attributions() -> None:
    page = report.render(linear([0.7, 0.5, 0.05]), {"job": "j"})
    assert "Expected value" in page and "sat" in page
    assert "Violations" not in page and "NDCG" not in page


def test_a_monitoring_report_shows_the_baseline_beside_the_values_and_the_verdict() -> None:
    reference = baseline_of(linear([0.7, 0.5, 0.05]))
    drifted = linear([0.1, 0.2, 0.7])  # the guide's example turned over: NDCG far under 0.9
    violations = drift.violations(reference, drifted.to_analysis_json())
    assert violations
    page = report.render(drifted, {"job": "j"}, baseline=reference, violations=violations)
    found = re.search(r"drift: NDCG (0\.\d+) is under the threshold 0\.9", page)
    assert found is not None
    assert abs(float(found.group(1)) - drift.ndcg(
        reference["explanations"]["kernel_shap"]["label0"]["global_shap_values"],
        drifted.to_analysis_json()["explanations"]["kernel_shap"]["label0"]["global_shap_values"])) < 1e-4
    assert "feature_attribution_drift_check" in page and violations[0]["description"] in page
    # rank's row: baseline rank 3, now rank 1; sat's: 1, now 3
    assert re.search(r"<td>rank</td><td class='n'>[\d.e-]+</td><td class='n'>[\d.e-]+</td>"
                     r"<td class='n'>3</td><td class='n'>1</td>", page)
    assert re.search(r"<td>sat</td><td class='n'>[\d.e-]+</td><td class='n'>[\d.e-]+</td>"
                     r"<td class='n'>1</td><td class='n'>3</td>", page)
    assert page.count('fill="#9aa5b1"') == 4  # three baseline bars and the legend's


def test_a_monitoring_report_without_drift_says_so() -> None:
    reference = baseline_of(linear([0.7, 0.5, 0.05]))
    page = report.render(linear([0.68, 0.52, 0.04]), {}, baseline=reference, violations=[])
    assert "no drift: NDCG 1.0000 is at or over the threshold 0.9" in page
    assert "None: every label's ranking holds against the baseline." in page
