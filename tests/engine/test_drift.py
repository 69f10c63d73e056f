import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from clarimon.engine.drift import compare, constraint_violations, ndcg


def analysis(values: dict[str, float], label: str = "label0") -> dict:  # type: ignore[type-arg]
    return {"version": "1.0", "explanations": {"kernel_shap": {label: {"global_shap_values": values,
                                                                         "expected_value": 0.5}}}}


def test_aws_documented_example() -> None:
    baseline = {"SAT": 0.70, "GPA": 0.50, "rank": 0.05}
    live = {"SAT": 0.10, "GPA": 0.20, "rank": 0.70}
    assert round(ndcg(baseline, live), 2) == 0.69
    assert ndcg(baseline, baseline) == 1.0


def test_agrees_with_sklearn_ndcg_score() -> None:
    rng = np.random.default_rng(0)
    for m in (3, 10, 30):
        for _ in range(20):
            baseline, live = rng.random(m), rng.random(m)
            names = [f"f{i}" for i in range(m)]
            ours = ndcg(dict(zip(names, baseline, strict=True)), dict(zip(names, live, strict=True)))
            assert abs(ours - ndcg_score([baseline], [live])) < 1e-12


def test_violations_per_label_in_aws_form() -> None:
    baseline = {**analysis({"a": 0.7, "b": 0.5, "c": 0.05})}
    baseline["explanations"]["kernel_shap"]["label1"] = {"global_shap_values": {"a": 0.7, "b": 0.5, "c": 0.05},
                                                         "expected_value": 0.1}
    live = analysis({"a": 0.1, "b": 0.2, "c": 0.7})
    live["explanations"]["kernel_shap"]["label1"] = {"global_shap_values": {"a": 0.6, "b": 0.4, "c": 0.1},
                                                     "expected_value": 0.1}
    document = constraint_violations(baseline, live)
    assert document["version"] == "1.0"
    assert len(document["violations"]) == 1
    violation = document["violations"][0]
    assert violation["label"] == "label0"
    assert violation["metric_name"] == "shap"
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert violation["description"].startswith("Feature attribution drift 0.68")
    assert violation["description"].endswith(" exceeds threshold 0.9")


# Properties of NDCG over any attributions (median aggregates may be negative; they count by magnitude).
_attributions = st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=12)


@given(baseline=_attributions, live=_attributions, scale=st.floats(0.01, 100))
def test_ndcg_is_a_normalised_ranking_score(baseline: list[float], live: list[float], scale: float) -> None:
    names = [f"f{i}" for i in range(len(baseline))]
    base = dict(zip(names, baseline, strict=True))
    current = dict(zip(names, live, strict=False))  # features the live analysis lacks count as 0
    score = ndcg(base, current)
    assert 0.0 <= score <= 1.0 + 1e-12
    assert ndcg(base, base) == 1.0
    assert ndcg(base, {k: -v for k, v in base.items()}) == 1.0  # magnitude, not sign
    # The same ranking gives the same score, whatever its scale.
    assert math.isclose(ndcg(base, {k: v * scale for k, v in current.items()}), score, rel_tol=1e-9, abs_tol=1e-12)


def test_compare_puts_each_label_beside_the_baseline() -> None:
    baseline = analysis({"a": 0.7, "b": 0.5, "c": 0.05})
    live = analysis({"c": 0.7, "a": 0.1, "d": 0.2})  # d is new; b is gone
    live["explanations"]["kernel_shap"]["label1"] = {"global_shap_values": {"a": 1.0}, "expected_value": [0.1, 0.2]}
    first, second = compare(live, baseline)
    assert (first.label, first.threshold) == ("label0", 0.9)
    assert [(x.feature, x.value, x.baseline) for x in first.attributions] == [
        ("c", 0.7, 0.05), ("a", 0.1, 0.7), ("d", 0.2, None), ("b", None, 0.5)]
    assert first.ndcg == ndcg({"a": 0.7, "b": 0.5, "c": 0.05}, {"c": 0.7, "a": 0.1, "d": 0.2})
    assert first.expected_value == first.baseline_expected_value
    # a label the baseline lacks has no NDCG; a vector expected value is not a number
    assert (second.label, second.ndcg, second.expected_value, second.baseline_expected_value) == (
        "label1", None, None, None)
    assert [x.baseline for x in compare(live, None)[0].attributions] == [None, None, None]
