"""The endpoint predictor through boto3's sagemaker-runtime client, against a stand-in endpoint on loopback.

The stand-in speaks the runtime's wire protocol (POST /endpoints/<name>/invocations) with a real scikit-learn
model; clarimon's own InvokeEndpoint (issue 5) will replace it in the end-to-end tests.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from clarimon.engine import explain, predictors
from clarimon.engine.config import parse
from clarimon.engine.endpoint import batches, endpoint_predictor
from clarimon.engine.predictors import ModelError

IRIS = load_iris()
MODEL = LogisticRegression(max_iter=2000).fit(IRIS.data, IRIS.target)


class Handler(BaseHTTPRequestHandler):
    requests: list[int] = []

    def do_POST(self) -> None:  # the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        kind, accept = self.headers["Content-Type"], self.headers.get("Accept", "text/csv")
        if self.path != "/endpoints/iris/invocations":
            return self._answer(400, b'{"ErrorCode": "ValidationError", "Message": "no endpoint"}', "application/json")
        if kind == "text/csv":
            rows = np.array([[float(v) for v in r] for r in csv.reader(io.StringIO(body.decode())) if r])
        else:
            rows = np.array([json.loads(line)["features"] for line in body.decode().splitlines()])
        Handler.requests.append(len(rows))
        scores = MODEL.predict_proba(rows)
        if accept == "text/csv":
            payload = "\n".join(",".join(repr(float(v)) for v in row) for row in scores).encode()
        else:
            payload = "\n".join(json.dumps({"label": int(r.argmax()), "scores": r.tolist()}) for r in scores).encode()
        self._answer(200, payload, accept)

    def _answer(self, status: int, payload: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def runtime() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                          region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    yield client
    server.shutdown()
    server.server_close()


def predictor_config(**members: Any) -> Any:
    return parse({"methods": {"shap": {}}, "predictor": {"endpoint_name": "iris", **members}}).predictor


def test_csv_answers_equal_the_model(runtime: Any) -> None:
    predict = endpoint_predictor(runtime, "iris", predictor_config(content_type="text/csv"))
    np.testing.assert_allclose(predict(IRIS.data), MODEL.predict_proba(IRIS.data))


def test_jsonlines_with_template_and_jmespath_probability(runtime: Any) -> None:
    config = predictor_config(content_type="application/jsonlines", accept_type="application/jsonlines",
                              content_template='{"features":$features}', probability="scores[2]")
    predict = endpoint_predictor(runtime, "iris", config)
    np.testing.assert_allclose(predict(IRIS.data[:20])[:, 0], MODEL.predict_proba(IRIS.data[:20])[:, 2])


def test_rows_are_packed_under_the_payload_limit(runtime: Any) -> None:
    Handler.requests.clear()
    predict = endpoint_predictor(runtime, "iris", predictor_config(), payload_limit=1000)
    np.testing.assert_allclose(predict(IRIS.data), MODEL.predict_proba(IRIS.data))
    assert sum(Handler.requests) == 150 and len(Handler.requests) > 1
    assert all(len(b) <= 1000 for b in batches(IRIS.data, "text/csv", None, 1000))


def test_endpoint_errors_are_model_errors(runtime: Any) -> None:
    predict = endpoint_predictor(runtime, "missing", predictor_config())
    with pytest.raises(ModelError, match="endpoint missing"):
        predict(IRIS.data[:2])


def test_explaining_through_the_endpoint_equals_the_local_model(runtime: Any) -> None:
    config = {"methods": {"shap": {"baseline": IRIS.data[:5].tolist(), "seed": 1}}}
    remote = explain(config, IRIS.data[::15], endpoint_predictor(runtime, "iris", predictor_config()))
    local = explain(config, IRIS.data[::15], predictors.estimator_predictor(MODEL))
    np.testing.assert_allclose(remote.local, local.local, atol=1e-12)
