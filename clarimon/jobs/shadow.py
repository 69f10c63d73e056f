"""The endpoint's model called directly, as Clarify's shadow endpoint is: a private copy loaded in the job's
process, never the production endpoint's traffic path."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from clarimon.engine.config import PredictorConfig, by_index
from clarimon.engine.endpoint import endpoint_predictor, parse
from clarimon.engine.predictors import ModelError, Predictor, as_outputs
from clarimon.serving import runtimes
from clarimon.serving.workers import ModelSpec

# Far above the runtime's 6 MB: nothing crosses a network, fewer larger calls cost less.
LOCAL_PAYLOAD = 64 * 1024 * 1024


def load(spec: ModelSpec) -> runtimes.Served:
    """The model of `spec`, loaded in this process (LoadError or UnsupportedImage when it cannot be)."""

    def fetch(uri: str) -> bytes:
        if spec.source is None:
            raise runtimes.LoadError(f"{uri}: the source was not fetched")
        return spec.source

    return runtimes.serve(spec.image, spec.model_dir, spec.environment, fetch, spec.cache)


def predictor(served: runtimes.Served, config: PredictorConfig, label: str) -> Predictor:
    """A Predictor over the loaded model, as the endpoint would answer `config`'s content and accept types;
    `label` names the model in errors (`endpoint "churn"`, `model "churn-v2"`).

    Rows in CSV go straight to the model when the container would decode them itself (no user input_fn): the
    same numbers, without writing and parsing text. A JMESPath `probability` reads the encoded answer."""
    content_type = config.content_type or "text/csv"
    accept = config.accept_type or content_type
    rows = served.rows
    if rows is None or content_type != "text/csv" or not by_index(config.probability):
        return endpoint_predictor(_Runtime(served.handler), label, config, payload_limit=LOCAL_PAYLOAD)

    def predict(batch: np.ndarray) -> np.ndarray:
        try:
            answer = rows(np.asarray(batch, dtype=np.float64), accept)
        except runtimes.InferenceError as error:
            raise ModelError(f"model of {label}: {error}") from None
        if isinstance(answer, tuple):  # the user's output_fn encoded it
            body, kind = answer
            return parse(body, kind.split(";", 1)[0], None, label)
        return as_outputs(answer)

    return predict


class _Runtime:
    """`invoke_endpoint` of a sagemaker-runtime client, answered by the loaded model's handler."""

    def __init__(self, handler: runtimes.Handler) -> None:
        self._handler = handler

    def invoke_endpoint(self, *, EndpointName: str, Body: bytes, ContentType: str,  # boto3's names
                        Accept: str) -> dict[str, Any]:
        body, _ = self._handler(Body, ContentType, Accept)
        return {"Body": io.BytesIO(body)}
