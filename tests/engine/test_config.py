import pytest

from clarimon.engine.config import ConfigError, parse

BASE = {"methods": {"shap": {"num_samples": 10}}}


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"methods": {"shap": {"text_config": {"granularity": "token"}}}}, "methods.shap.text_config"),
        ({"methods": {"shap": {}, "pdp": {"grid_resolution": 5}}}, "methods.pdp"),
        ({"methods": {"shap": {}, "pre_training_bias": {"methods": "all"}}}, "methods.pre_training_bias"),
        ({**BASE, "facet": [{"name_or_index": "age"}]}, "facet"),
        ({**BASE, "predictor": {"model_name": "m", "warp_speed": 9}}, "predictor.warp_speed"),
        ({"methods": {"shap": {"agg_method": "max"}}}, "methods.shap.agg_method"),
        ({"methods": {"shap": {"num_samples": 0}}}, "methods.shap.num_samples"),
        ({"methods": {"shap": {"baseline": [[1]], "num_clusters": 3}}}, "methods.shap.baseline"),
        ({"methods": {"shap": {"use_logit": "yes"}}}, "methods.shap.use_logit"),
        ({**BASE, "dataset_type": "image/png"}, "dataset_type"),
        ({"methods": {}}, "methods.shap"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_configs_name_the_key_and_file(document: object, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(document, source="cfg.json")
    assert caught.value.args[0].startswith("cfg.json: ")
    assert named in caught.value.args[0]


def test_monitor_config_as_the_sdk_writes_it() -> None:
    config = parse({
        "methods": {"shap": {"use_logit": False, "save_local_shap_values": True, "baseline": [[0.44, 0.52, 0.21]],
                             "num_samples": 100, "agg_method": "mean_abs"}},
        "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                      "content_type": "text/csv", "accept_type": "text/csv", "label_headers": ["no", "yes"]},
        "headers": ["f1", "f2", "f3"],
    })
    assert config.dataset_type is None
    assert config.shap.baseline == [[0.44, 0.52, 0.21]]
    assert config.predictor.label_headers == ["no", "yes"]


def test_the_sdks_model_scores_locate_the_explained_output() -> None:
    """ModelConfig with model_scores=1 writes predictor.label; probability, when given, wins."""
    assert parse({**BASE, "predictor": {"model_name": "m", "label": 1}}, source="c").predictor.probability == 1
    both = parse({**BASE, "predictor": {"label": 1, "probability": "score"}}, source="c").predictor
    assert (both.probability, both.label) == ("score", 1)
    assert parse(BASE, source="c").predictor.probability is None
