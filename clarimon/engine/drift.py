"""Feature attribution drift: NDCG of the live ranking against the baseline's, as Model Monitor reports it.

Features are ranked by live global attribution; each position i contributes the *baseline* attribution of the
feature there, a(F'_i) / log2(i + 1); NDCG divides by the same sum in baseline order. Drift when NDCG < 0.9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

THRESHOLD = 0.9


def ndcg(baseline: dict[str, float], live: dict[str, float]) -> float:
    """NDCG of `live`'s ranking of the baseline's features, with baseline attributions as relevance.

    Attributions count by magnitude (a `median` aggregate can be negative; relevance cannot). A feature the
    live analysis lacks counts as attribution 0; ties keep the baseline's order."""
    features = list(baseline)
    relevance = {f: abs(float(baseline[f])) for f in features}
    ideal = sorted(features, key=lambda f: -relevance[f])
    observed = sorted(features, key=lambda f: -abs(float(live.get(f, 0.0))))
    best = sum(relevance[f] / math.log2(i + 2) for i, f in enumerate(ideal))
    if best == 0:
        return 1.0  # nothing in the baseline carries weight: no ranking can drift from it
    return sum(relevance[f] / math.log2(i + 2) for i, f in enumerate(observed)) / best


def violations(baseline_analysis: dict[str, Any], live_analysis: dict[str, Any],
               threshold: float = THRESHOLD) -> list[dict[str, str]]:
    """One violation per label whose NDCG is below `threshold`, in constraint_violations.json's form."""
    baseline = baseline_analysis["explanations"]["kernel_shap"]
    live = live_analysis["explanations"]["kernel_shap"]
    found = []
    for label, expected in baseline.items():
        if label not in live:
            continue
        score = ndcg(expected["global_shap_values"], live[label]["global_shap_values"])
        if score < threshold:
            found.append({
                "label": label,
                "metric_name": "shap",
                "constraint_check_type": "feature_attribution_drift_check",
                # AWS's wording, kept as is although the value is below the threshold.
                "description": f"Feature attribution drift {score} exceeds threshold {threshold}",
            })
    return found


def constraint_violations(baseline_analysis: dict[str, Any], live_analysis: dict[str, Any],
                          threshold: float = THRESHOLD) -> dict[str, Any]:
    """The constraint_violations.json document (written only when it holds a violation)."""
    return {"version": "1.0", "violations": violations(baseline_analysis, live_analysis, threshold)}


@dataclass(frozen=True)
class Attribution:
    """One feature's global attribution in an execution (`value`) and in the baseline (`baseline`); None where
    that side has no value for the feature."""

    feature: str
    value: float | None
    baseline: float | None


@dataclass(frozen=True)
class LabelResult:
    """One model output's result: its attributions beside the baseline's, the expected values, and the NDCG of
    the ranking against the baseline (None without a baseline for the label) with the threshold it is held to."""

    label: str
    expected_value: float | None
    baseline_expected_value: float | None
    ndcg: float | None
    threshold: float
    attributions: tuple[Attribution, ...]


def compare(live_analysis: dict[str, Any], baseline_analysis: dict[str, Any] | None,
            threshold: float = THRESHOLD) -> list[LabelResult]:
    """Each label of `live_analysis` beside `baseline_analysis` (both analysis.json documents): features in the
    live order, then the baseline's features the live analysis lacks."""
    baseline = (baseline_analysis or {}).get("explanations", {}).get("kernel_shap") or {}
    found = []
    for label, values in live_analysis["explanations"]["kernel_shap"].items():
        live = values.get("global_shap_values") or {}
        expected = baseline.get(label) or {}
        reference = expected.get("global_shap_values")
        features = list(live) + [f for f in reference or {} if f not in live]
        found.append(LabelResult(
            label=label,
            expected_value=_number(values.get("expected_value")),
            baseline_expected_value=_number(expected.get("expected_value")),
            ndcg=ndcg(reference, live) if reference is not None else None,
            threshold=threshold,
            attributions=tuple(Attribution(f, _number(live.get(f)), _number((reference or {}).get(f)))
                               for f in features),
        ))
    return found


def _number(value: Any) -> float | None:
    """A JSON value as a float; None when absent or not a number (a vector-valued expected value)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
