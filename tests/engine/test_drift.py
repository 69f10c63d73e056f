import numpy as np
from sklearn.metrics import ndcg_score

from clarimon.engine.drift import constraint_violations, ndcg


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
