"""`clarimon explain`: one Clarify explainability analysis of a dataset and a saved model, to a folder."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import orjson

from clarimon.engine import datasets, outputs, predictors
from clarimon.engine.config import ConfigError, parse
from clarimon.engine.explain import explain
from clarimon.objects import LocalObjects, ObjectError, Objects, open_objects, read_location, split

FAILURES = (ConfigError, datasets.DataError, predictors.ModelError, ObjectError)


def run(config: str, data: str, model: str, output: Path, home: Path, memory_mb: int, progress: bool,
        s3_endpoint_url: str | None = None) -> int:
    """`clarimon explain`: explain `data` with `model` as `config` says and write Clarify's outputs to `output`;
    returns the exit status."""
    started = time.perf_counter()
    objects = open_objects(home, s3_endpoint_url)
    with tempfile.TemporaryDirectory(prefix="clarimon-model-") as scratch:
        return _run(config, data, model, output, objects, memory_mb, progress, Path(scratch), started)


def _model_file(model: str, objects: Objects, scratch: Path) -> Path:
    """A local file of the model: itself, its place in the local store, or a download keeping its name
    (the loader recognises formats by name, e.g. SageMaker's `xgboost-model`)."""
    if not model.startswith("s3://"):
        return Path(model)
    if isinstance(objects, LocalObjects):
        return objects.path(model)
    local = scratch / split(model)[1].rsplit("/", 1)[-1]
    local.write_bytes(objects.read(model))
    return local


def _run(config: str, data: str, model: str, output: Path, objects: Objects, memory_mb: int, progress: bool,
         scratch: Path, started: float) -> int:
    try:
        try:
            document = orjson.loads(read_location(config, objects))
        except orjson.JSONDecodeError as error:
            raise ConfigError(f"{config}: not JSON ({error})") from None
        settings = parse(document, source=config)
        table = datasets.read(
            read_location(data, objects), settings.dataset_type or "text/csv", source=data, headers=settings.headers,
            label=settings.label, features=settings.features, excluded=settings.excluded_columns,
        )
        predictor = predictors.load(_model_file(model, objects, scratch))
        explanation = explain(settings, table, predictor, memory_mb=memory_mb,
                              progress=_bar if progress else None, fetch=objects.read)
    except FAILURES as error:
        print(f"clarimon explain: {error}", file=sys.stderr)
        return 1
    if progress:
        print(file=sys.stderr)
    for warning in explanation.warnings:
        print(f"clarimon explain: warning: {warning}", file=sys.stderr)
    parameters = {
        "rows": len(table.values), "features explained": len(explanation.features),
        "num_samples": explanation.num_samples, "coalitions": explanation.coalitions, "exact": explanation.exact,
        "background rows": explanation.background_rows, "agg_method": explanation.agg_method,
        "use_logit": settings.shap.use_logit, "seed": settings.shap.seed, "data": data, "model": model,
        "seconds": round(time.perf_counter() - started, 3), **({"warnings": "; ".join(explanation.warnings)}
                                                               if explanation.warnings else {}),
    }
    for path in outputs.write(explanation, output, save_local=settings.shap.save_local_shap_values,
                              parameters=parameters):
        print(path)
    return 0


def _bar(done: int, total: int) -> None:
    width = 40
    filled = int(width * done / max(total, 1))
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows", end="", file=sys.stderr, flush=True)
