"""sagemaker-runtime InvokeEndpoint: one request run on the endpoint's model, and its exchange captured.

Errors carry the runtime's codes and status codes: ValidationError 400, ModelError 424, ServiceUnavailable 503
(`clarimon.errors.InvocationError` and its subclasses).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from clarimon.control import deployments
from clarimon.control.arns import arn as make_arn
from clarimon.control.context import Context
from clarimon.control.deployments import KIND
from clarimon.control.states import SERVING
from clarimon.errors import EndpointUnavailable, InvocationValidationError, ModelError, ServiceUnavailable
from clarimon.serving.capture import Exchange
from clarimon.serving.host import Deployment
from clarimon.serving.workers import AnswerTooLarge, BadRequest, ModelFailed, WorkerFailed, WorkerTimedOut
from clarimon.store import resources
from clarimon.telemetry import CAPTURED, INVOCATION_4XX, INVOCATION_5XX, INVOCATIONS, MODEL_LATENCY, OVERHEAD_LATENCY

PAYLOAD_LIMIT = 6 * 1024 * 1024


@dataclass(frozen=True)
class Invocation:
    """The model's answer, the variant that gave it and the custom attributes to echo."""

    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None


def invoke(ctx: Context, name: str, body: bytes, headers: dict[str, str]) -> Invocation:
    """Run one request on the endpoint's model (blocking: call it off the event loop)."""
    started = time.perf_counter()
    if len(body) > PAYLOAD_LIMIT:
        raise InvocationValidationError(
            f"Received payload of {len(body)} bytes; the maximum is {PAYLOAD_LIMIT} bytes (6 MB).")
    arn = make_arn(ctx, KIND, name)
    # A deployed endpoint is served from memory, so that it keeps answering while the database is away.
    deployment = ctx.services.host.get(arn)
    if deployment is None:  # an InService endpoint loading here (a restart, a change made elsewhere): held
        deployment = ctx.services.host.wait(arn, ctx.settings.invoke_timeout_seconds)
    if deployment is None:
        deployment = _loaded_here(ctx, arn, name)
    target = headers.get("x-amzn-sagemaker-target-variant")
    variant = deployment.choose(target, ctx.services.host.rng)
    if variant is None:
        raise InvocationValidationError(f"Variant {target} not found for endpoint {name}.")
    content_type = headers.get("content-type", "application/octet-stream")
    labels = (ctx.account, ctx.region, name, variant.name)
    INVOCATIONS.labels(*labels).inc()
    model_started = time.perf_counter()
    try:
        answer, answer_type = _answer(name, variant.worker().invoke, body, content_type, headers.get("accept"),
                                      ctx.settings.invoke_timeout_seconds)
    except ModelError as error:
        # CloudWatch counts by the model's own status: a refused content type is the caller's 4xx
        original = int(str(error.fields.get("OriginalStatusCode", 500)))
        (INVOCATION_4XX if 400 <= original < 500 else INVOCATION_5XX).labels(*labels).inc()
        raise
    except EndpointUnavailable:
        INVOCATION_5XX.labels(*labels).inc()
        raise
    model_seconds = time.perf_counter() - model_started
    exchange = Exchange(name, variant.name, body, content_type, answer, answer_type,
                        headers.get("x-amzn-sagemaker-inference-id"), ctx.services.clock())
    if ctx.services.capture.offer(deployment.capture, exchange):
        CAPTURED.labels(*labels).inc()
    MODEL_LATENCY.labels(*labels).observe(model_seconds)
    OVERHEAD_LATENCY.labels(*labels).observe(max(0.0, time.perf_counter() - started - model_seconds))
    return Invocation(answer, answer_type, variant.name, headers.get("x-amzn-sagemaker-custom-attributes"))


def _answer(name: str, invoke: Callable[[bytes, str, str | None, float], tuple[bytes, str]], body: bytes,
            content_type: str, accept: str | None, timeout: float) -> tuple[bytes, str]:
    """The model of endpoint `name` answers; its failures are the runtime's errors."""
    try:
        return invoke(body, content_type, accept, timeout)
    except WorkerTimedOut:  # sagemaker-runtime's words for a container that did not answer in time
        message = ("Your invocation timed out while waiting for a response from container primary. Review the "
                   "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.")
        raise ModelError(f'Received server error (0) from primary with message "{message}".',
                         {"OriginalStatusCode": 0, "OriginalMessage": message}) from None
    except AnswerTooLarge as error:
        raise ModelError(f'Received server error (0) from primary with message "{error}".',
                         {"OriginalStatusCode": 0, "OriginalMessage": str(error)}) from None
    except BadRequest as error:
        raise ModelError(f'Received client error (415) from primary with message "{error}".',
                         {"OriginalStatusCode": 415, "OriginalMessage": str(error)}) from None
    except ModelFailed as error:
        raise ModelError(f'Received server error (500) from primary with message "{error}".',
                         {"OriginalStatusCode": 500, "OriginalMessage": str(error)}) from None
    except WorkerFailed as error:
        raise EndpointUnavailable(f"Endpoint {name}: {error}.") from None


def _loaded_here(ctx: Context, arn: str, name: str) -> Deployment:
    """The deployment of an endpoint the database says serves but this server does not serve yet (another
    server created it, and the reconciler has not come round): loaded now, its request held (bounded) meanwhile;
    else the runtime's error saying why not."""
    try:
        with ctx.store.reading() as conn:
            endpoint = resources.get(conn, arn)
    except ServiceUnavailable as error:
        raise EndpointUnavailable(error.message) from None
    if endpoint is None:
        raise InvocationValidationError(f"Endpoint {name} of account {ctx.account} not found.")
    host = ctx.services.host
    if endpoint.status in SERVING:
        failure = host.failure(arn)
        if failure is None or failure[0] != endpoint.id:
            host.expect(arn)
            deployments.converge_later(ctx.services, arn)
            deployment = host.wait(arn, ctx.settings.invoke_timeout_seconds)
            if deployment is not None:
                return deployment
            failure = host.failure(arn)
        if failure is not None and failure[0] == endpoint.id:
            raise EndpointUnavailable(f"Endpoint {name} is {endpoint.status}, but this server cannot serve it: "
                                      f"{failure[3]}")
    raise EndpointUnavailable(f"Endpoint {name} is {endpoint.status} and cannot serve requests yet.")
