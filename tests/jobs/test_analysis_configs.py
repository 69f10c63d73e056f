"""A job's analysis config, parsed once: the job input's attributes and a seed filled in, or why it fails."""

from __future__ import annotations

from pathlib import Path

import orjson

from clarimon.engine.config import AnalysisConfig
from clarimon.jobs import analysis_configs
from clarimon.jobs.task import ConfigFailure, Source
from clarimon.objects import LocalObjects

SOURCE = Source("s3://bucket/capture/ep/", features_attribute="features", probability_attribute="1",
                inference_attribute="label")


def test_the_job_input_fills_in_what_the_config_leaves_out() -> None:
    config = analysis_configs.for_job({"methods": {"shap": {}}}, "s3://bucket/c.json", SOURCE)
    assert isinstance(config, AnalysisConfig)
    assert (config.predictor.probability, config.features) == (1, "features")  # digits: an index
    assert isinstance(config.shap.seed, int)  # drawn once, for every part of the job
    named = analysis_configs.for_job({"methods": {"shap": {"seed": 5}}, "features": "x",
                                      "predictor": {"probability": "score"}}, "s3://bucket/c.json", SOURCE)
    assert isinstance(named, AnalysisConfig)
    assert (named.predictor.probability, named.features, named.shap.seed) == ("score", "x", 5)
    inferred = analysis_configs.for_job({"methods": {"shap": {}}}, "u", Source("s", inference_attribute="label"))
    assert isinstance(inferred, AnalysisConfig) and inferred.predictor.probability == "label"


def test_a_config_the_job_cannot_use_says_why(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path)
    missing = analysis_configs.read(objects, "s3://bucket/missing.json", SOURCE)
    assert isinstance(missing, ConfigFailure)
    assert missing.reason.startswith("Cannot read the analysis config (ConfigUri): s3://bucket/missing.json")
    objects.write("s3://bucket/bad.json", b"{not json")
    bad = analysis_configs.read(objects, "s3://bucket/bad.json", SOURCE)
    assert isinstance(bad, ConfigFailure) and "s3://bucket/bad.json (ConfigUri) is not JSON" in bad.reason
    objects.write("s3://bucket/pdp.json", orjson.dumps({"methods": {"pdp": {}}}))
    pdp = analysis_configs.read(objects, "s3://bucket/pdp.json", SOURCE)
    assert isinstance(pdp, ConfigFailure) and "methods.pdp is not supported" in pdp.reason
