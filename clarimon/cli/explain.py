"""`clarimon explain`: one Clarify explainability analysis of a dataset and a saved model, to a folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

from clarimon.engine import datasets, outputs, predictors
from clarimon.engine.config import ConfigError, parse
from clarimon.engine.explain import explain
from clarimon.objects import LocalObjects, ObjectError, read_location

FAILURES = (ConfigError, datasets.DataError, predictors.ModelError, ObjectError)


def run(config: str, data: str, model: str, output: Path, home: Path, memory_mb: int, progress: bool) -> int:
    started = time.perf_counter()
    try:
        try:
            document = orjson.loads(read_location(config, home))
        except orjson.JSONDecodeError as error:
            raise ConfigError(f"{config}: not JSON ({error})") from None
        settings = parse(document, source=config)
        table = datasets.read(
            read_location(data, home), settings.dataset_type or "text/csv", source=data, headers=settings.headers,
            label=settings.label, features=settings.features, excluded=settings.excluded_columns,
        )
        model_path = LocalObjects(home / "s3").path(model) if model.startswith("s3://") else Path(model)
        predictor = predictors.load(model_path)
        explanation = explain(settings, table, predictor, memory_mb=memory_mb,
                              progress=_bar if progress else None, fetch=lambda uri: read_location(uri, home))
    except FAILURES as error:
        print(f"clarimon explain: {error}", file=sys.stderr)
        return 1
    if progress:
        print(file=sys.stderr)
    parameters = {
        "rows": len(table.values), "features explained": len(explanation.features),
        "coalitions": explanation.num_samples, "exact": explanation.exact,
        "background rows": explanation.background_rows, "agg_method": explanation.agg_method,
        "use_logit": settings.shap.use_logit, "seed": settings.shap.seed, "data": data, "model": model,
        "seconds": round(time.perf_counter() - started, 3),
    }
    for path in outputs.write(explanation, output, save_local=settings.shap.save_local_shap_values,
                              parameters=parameters):
        print(path)
    return 0


def _bar(done: int, total: int) -> None:
    width = 40
    filled = int(width * done / max(total, 1))
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows", end="", file=sys.stderr, flush=True)
