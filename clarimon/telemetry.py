"""This server process's own measurements, as Prometheus instruments in one registry (`REGISTRY`): the
endpoints' invocations as SageMaker's CloudWatch metrics name them (per endpoint and variant), the records
captured, and the API's requests by operation and error code with their latency.

Each server process counts what it served: with several replicas, each scrape shows that replica's traffic.
The monitoring metrics (attributions, NDCG, alerts) come from the database instead, the same on every replica
(`clarimon.control.monitoring_metrics`). A leaf module: any layer may count here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# CloudWatch's AWS/SageMaker endpoint dimensions (EndpointName, VariantName), with the account and region that
# CloudWatch keeps apart by itself.
_ENDPOINT = ("account", "region", "EndpointName", "VariantName")
# Latency buckets from 100 µs to 60 s (a model's answer may take up to the invocation timeout).
_LATENCY = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0, 60.0)

INVOCATIONS = Counter("clarimon_endpoint_invocations", "InvokeEndpoint requests that reached a variant's model "
                      "(CloudWatch: Invocations).", _ENDPOINT, registry=REGISTRY)
INVOCATION_4XX = Counter("clarimon_endpoint_invocation_4xx_errors", "Invocations whose model answered a 4xx "
                         "status (CloudWatch: Invocation4XXErrors).", _ENDPOINT, registry=REGISTRY)
INVOCATION_5XX = Counter("clarimon_endpoint_invocation_5xx_errors", "Invocations whose model failed, timed out or "
                         "answered a 5xx status (CloudWatch: Invocation5XXErrors).", _ENDPOINT, registry=REGISTRY)
MODEL_LATENCY = Histogram("clarimon_endpoint_model_latency_seconds", "Time the model took to answer, seen from "
                          "clarimon (CloudWatch: ModelLatency, there in microseconds).", _ENDPOINT, buckets=_LATENCY,
                          registry=REGISTRY)
OVERHEAD_LATENCY = Histogram("clarimon_endpoint_overhead_latency_seconds", "Time clarimon added to an invocation "
                             "beyond the model's (CloudWatch: OverheadLatency, there in microseconds).", _ENDPOINT,
                             buckets=_LATENCY, registry=REGISTRY)
CAPTURED = Counter("clarimon_endpoint_captured_records", "Invocations journalled for data capture (after "
                   "sampling).", _ENDPOINT, registry=REGISTRY)

API_REQUESTS = Counter("clarimon_api_requests", "Requests by operation and error code ('' when answered 200).",
                       ("operation", "code"), registry=REGISTRY)
API_LATENCY = Histogram("clarimon_api_request_duration_seconds", "Time from a request's arrival to its answer, by "
                        "operation.", ("operation",), buckets=_LATENCY, registry=REGISTRY)
