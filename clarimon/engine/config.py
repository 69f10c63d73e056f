"""The Clarify analysis config, as `sagemaker.clarify` and Model Monitor write it, parsed and checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DATASET_TYPES = ("text/csv", "application/jsonlines", "application/json", "application/x-parquet")
AGG_METHODS = ("mean_abs", "median", "mean_sq")

# Keys clarimon reads; any other key names something clarimon does not compute (bias, text, images, PDP) and
# is refused before work starts, rather than silently ignored.
_TOP_KEYS = {"version", "dataset_type", "dataset_uri", "headers", "label", "features", "excluded_columns",
             "probability_threshold", "methods", "predictor"}
_METHOD_KEYS = {"shap", "report"}
_SHAP_KEYS = {"baseline", "num_clusters", "num_samples", "agg_method", "use_logit", "save_local_shap_values",
              "seed", "features_to_explain"}
_PREDICTOR_KEYS = {"model_name", "endpoint_name", "endpoint_name_prefix", "instance_type", "initial_instance_count",
                   "accelerator_type", "target_model", "content_type", "accept_type", "probability", "label",
                   "label_headers", "content_template", "record_template", "custom_attributes"}


class ConfigError(ValueError):
    """An analysis config clarimon cannot run; the message names the key."""


@dataclass(frozen=True)
class ShapConfig:
    """The `methods.shap` section: the background, the sampling budget and how values are aggregated."""

    baseline: list[list[Any]] | str | None
    num_clusters: int | None
    num_samples: int | None
    agg_method: str
    use_logit: bool
    save_local_shap_values: bool
    seed: int | None
    features_to_explain: list[str | int] | None


def by_index(probability: str | int | None) -> bool:
    """Whether a predictor's `probability` picks the scores by position (an index, digits, or None for all of
    them) rather than being a JMESPath into each record of the model's answer."""
    return not (isinstance(probability, str) and not probability.isdigit())


@dataclass(frozen=True)
class PredictorConfig:
    """The `predictor` section: how the model is called and where its scores are (`raw` keeps the section as
    written)."""

    content_type: str | None
    accept_type: str | None
    probability: str | int | None
    label: str | int | None
    label_headers: list[str] | None
    content_template: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class AnalysisConfig:
    """A parsed analysis config: the dataset's layout, the SHAP settings and the predictor."""

    dataset_type: str | None
    headers: list[str] | None
    label: str | int | None
    features: str | None
    excluded_columns: list[str | int]
    shap: ShapConfig
    predictor: PredictorConfig


def parse(document: Any, source: str = "analysis config") -> AnalysisConfig:
    """An AnalysisConfig from the JSON document; ConfigError naming `source` and the key when it is wrong."""
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: must be a JSON object")
    _known(document, _TOP_KEYS, "", source)
    methods = _object(document, "methods", source, required=True)
    _known(methods, _METHOD_KEYS, "methods.", source)
    shap = _object(methods, "shap", source, "methods.", required=True)
    _known(shap, _SHAP_KEYS, "methods.shap.", source)
    predictor = _object(document, "predictor", source)
    _known(predictor, _PREDICTOR_KEYS, "predictor.", source)

    dataset_type = document.get("dataset_type")
    if dataset_type is not None and dataset_type not in DATASET_TYPES:
        raise ConfigError(f"{source}: dataset_type {dataset_type!r} is not supported; use one of {DATASET_TYPES}")
    agg = shap.get("agg_method", "mean_abs")
    if agg not in AGG_METHODS:
        raise ConfigError(f"{source}: methods.shap.agg_method must be one of {AGG_METHODS}, got {agg!r}")
    baseline = shap.get("baseline")
    if baseline is not None and shap.get("num_clusters") is not None:
        raise ConfigError(f"{source}: methods.shap.baseline and methods.shap.num_clusters exclude each other")
    if baseline is not None and not (isinstance(baseline, str) or _rows(baseline)):
        raise ConfigError(f"{source}: methods.shap.baseline must be an s3:// URI or a list of rows")
    return AnalysisConfig(
        dataset_type=dataset_type,
        headers=_strings(document, "headers", source),
        label=document.get("label"),
        features=document.get("features"),
        excluded_columns=list(document.get("excluded_columns") or []),
        shap=ShapConfig(
            baseline=baseline,
            num_clusters=_positive(shap, "num_clusters", source),
            num_samples=_positive(shap, "num_samples", source),
            agg_method=agg,
            use_logit=_bool(shap, "use_logit", False, source),
            save_local_shap_values=_bool(shap, "save_local_shap_values", True, source),
            seed=shap.get("seed"),
            features_to_explain=shap.get("features_to_explain"),
        ),
        predictor=PredictorConfig(
            content_type=predictor.get("content_type"),
            accept_type=predictor.get("accept_type"),
            # For explanations the scores are at `probability`, or at `label` where the SDK puts an integer or
            # JMESPath `model_scores` (ModelConfig with model_scores=1 writes {"label": 1}).
            probability=predictor.get("probability", predictor.get("label")),
            label=predictor.get("label"),
            label_headers=_strings(predictor, "label_headers", source, "predictor."),
            content_template=predictor.get("content_template"),
            raw=predictor,
        ),
    )


def _known(section: dict[str, Any], allowed: set[str], prefix: str, source: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(
            f"{source}: {prefix}{unknown[0]} is not supported by clarimon (it computes Kernel SHAP explanations "
            f"only); supported keys here: {', '.join(sorted(allowed))}"
        )


def _object(section: dict[str, Any], key: str, source: str, prefix: str = "", required: bool = False) -> Any:
    value = section.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{source}: {prefix}{key} is required")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {prefix}{key} must be an object")
    return value


def _rows(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(r, (list, dict)) for r in value)


def _strings(section: dict[str, Any], key: str, source: str, prefix: str = "") -> list[str] | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConfigError(f"{source}: {prefix}{key} must be a list")
    return [str(v) for v in value]


def _positive(section: dict[str, Any], key: str, source: str) -> int | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{source}: methods.shap.{key} must be a positive whole number, got {value!r}")
    return value


def _bool(section: dict[str, Any], key: str, default: bool, source: str) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: methods.shap.{key} must be true or false, got {value!r}")
    return value
