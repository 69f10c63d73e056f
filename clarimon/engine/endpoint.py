"""A predictor that calls a SageMaker endpoint, as Clarify's shadow endpoint is called.

Rows are serialised to the predictor config's `content_type` (CSV; JSON Lines or JSON through
`content_template` with `$features` / `$records`), packed into as few InvokeEndpoint requests as the payload
limit allows, sent several at a time, and the answers parsed by `accept_type` (default: the content type), with
`probability` (an index, or a JMESPath into each record) choosing the scores.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jmespath
import numpy as np
import orjson

from clarimon.engine.config import PredictorConfig, by_index
from clarimon.engine.predictors import ModelError, Predictor

PAYLOAD_LIMIT = 5 * 1024 * 1024  # under the runtime's 6 MB, leaving room for the template
CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json")


def endpoint_predictor(runtime: Any, endpoint_name: str, config: PredictorConfig, *,
                       payload_limit: int = PAYLOAD_LIMIT, in_flight: int = 4) -> Predictor:
    """A Predictor over a `sagemaker-runtime` client's `invoke_endpoint`."""
    content_type = config.content_type or "text/csv"
    accept = config.accept_type or content_type
    if content_type not in CONTENT_TYPES or accept not in CONTENT_TYPES:
        raise ModelError(f"predictor: content_type and accept_type must be among {CONTENT_TYPES}, "
                         f"got {content_type!r} and {accept!r}")
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="clarimon-invoke")

    def invoke(body: bytes) -> np.ndarray:
        try:
            response = runtime.invoke_endpoint(EndpointName=endpoint_name, Body=body, ContentType=content_type,
                                               Accept=accept)
        except Exception as error:  # botocore raises a class per error code; all mean the model did not answer
            raise ModelError(f"endpoint {endpoint_name}: {error}") from None
        return parse(response["Body"].read(), accept, config.probability, endpoint_name)

    def predict(rows: np.ndarray) -> np.ndarray:
        bodies = list(batches(rows, content_type, config.content_template, payload_limit))
        parts = list(pool.map(invoke, bodies))
        result = np.concatenate(parts, axis=0)
        if len(result) != len(rows):
            raise ModelError(f"endpoint {endpoint_name}: answered {len(result)} predictions for {len(rows)} rows")
        return result

    return predict


def batches(rows: np.ndarray, content_type: str, template: str | None, limit: int) -> Iterator[bytes]:
    """Request bodies of consecutive rows, each at most `limit` bytes (a single larger row goes alone)."""
    encoded = [_record(row, content_type, template) for row in rows]
    start = 0
    while start < len(encoded):
        size, stop = 0, start
        while stop < len(encoded) and (stop == start or size + len(encoded[stop]) + 1 <= limit):
            size += len(encoded[stop]) + 1
            stop += 1
        yield _body(encoded[start:stop], content_type, template)
        start = stop


def _record(row: np.ndarray, content_type: str, template: str | None) -> bytes:
    values = [v.item() if isinstance(v, np.generic) else v for v in row]
    if content_type == "text/csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(values)
        return out.getvalue().encode()
    features = orjson.dumps(values)
    if content_type == "application/jsonlines" and template:
        return template.replace("$features", features.decode()).encode()
    return features


def _body(records: list[bytes], content_type: str, template: str | None) -> bytes:
    if content_type == "application/json":
        joined = b"[" + b",".join(records) + b"]"
        if template and "$records" in template:
            return template.replace("$records", joined.decode()).encode()
        return joined
    return b"\n".join(records)


def parse(body: bytes, accept: str, probability: str | int | None, endpoint: str) -> np.ndarray:
    """An (n, K) array from a response body."""
    if accept == "text/csv":
        rows = [r for r in csv.reader(io.StringIO(body.decode())) if r]
        try:
            array = np.array([[float(v) for v in r] for r in rows], dtype=np.float64)
        except ValueError:
            raise ModelError(f"endpoint {endpoint}: the CSV answer is not numeric: {body[:200]!r}") from None
        return _pick(array.reshape(len(rows), -1), probability, endpoint)
    if accept == "application/jsonlines":
        records = [orjson.loads(line) for line in body.splitlines() if line.strip()]
    else:
        document = orjson.loads(body)
        records = document if isinstance(document, list) else next(
            (v for v in document.values() if isinstance(v, list)), [document])
    if not by_index(probability):
        records = [jmespath.search(probability, r) for r in records]
        probability = None
    try:
        array = np.array([r if isinstance(r, list) else [r] for r in records], dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"endpoint {endpoint}: predictions are not numbers; set predictor.probability to the "
                         f"JMESPath of the score: {body[:200]!r}") from None
    return _pick(array, probability, endpoint)


def _pick(array: np.ndarray, probability: str | int | None, endpoint: str) -> np.ndarray:
    if probability is None:
        return array
    index = int(probability)
    if index >= array.shape[1]:
        raise ModelError(f"endpoint {endpoint}: predictor.probability {index} but predictions have "
                         f"{array.shape[1]} values")
    return array[:, index : index + 1]
