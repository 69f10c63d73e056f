"""A job's analysis config, parsed once where the job is prepared and handed to its process in the Task.

The engine's typed parser reads it; the job input's attributes fill in what it leaves out (where the scores and
the features are), and a seed is drawn when it names none, so that every part of a split job draws the same
coalitions. A config the job cannot use becomes a `ConfigFailure`: the job's process fails with its reason, as
it would have had it read the file itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import orjson

from clarimon.engine.config import AnalysisConfig, ConfigError, parse
from clarimon.jobs.task import ConfigFailure, Source
from clarimon.objects import ObjectError, Objects


def read(objects: Objects, uri: str, source: Source) -> AnalysisConfig | ConfigFailure:
    """The config at a job definition's ConfigUri, ready for the job, or why it cannot be used."""
    document = read_document(objects, uri)
    return document if isinstance(document, ConfigFailure) else for_job(document, uri, source)


def read_document(objects: Objects, uri: str) -> Any:
    """The JSON document at a job definition's ConfigUri, or a ConfigFailure saying why it cannot be read."""
    try:
        return orjson.loads(objects.read(uri))
    except ObjectError as error:
        return ConfigFailure(f"Cannot read the analysis config (ConfigUri): {error}")
    except orjson.JSONDecodeError as error:
        return ConfigFailure(f"The analysis config {uri} (ConfigUri) is not JSON: {error}")


def for_job(document: Any, uri: str, source: Source) -> AnalysisConfig | ConfigFailure:
    """`document` parsed, with the job input's attributes and a seed filled in; or why it cannot be used."""
    try:
        config = parse(document, source=uri)
    except ConfigError as error:
        return ConfigFailure(str(error))
    probability = config.predictor.probability
    if probability is None:
        probability = source.probability_attribute or source.inference_attribute
        if isinstance(probability, str) and probability.isdigit():
            probability = int(probability)
    seed = config.shap.seed
    if seed is None:  # every part must draw the same coalitions
        seed = int(np.random.default_rng().integers(2**31))
    return dataclasses.replace(config, predictor=dataclasses.replace(config.predictor, probability=probability),
                               shap=dataclasses.replace(config.shap, seed=seed),
                               features=config.features or source.features_attribute)
