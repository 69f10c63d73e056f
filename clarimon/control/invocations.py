"""sagemaker-runtime InvokeEndpoint: one request run on the endpoint's model, and its exchange captured.

Errors carry the runtime's codes and status codes: ValidationError 400, ModelError 424, ServiceUnavailable 503
(`clarimon.errors.InvocationError` and its subclasses).
"""

from __future__ import annotations

from dataclasses import dataclass

from clarimon.control.arns import arn as make_arn
from clarimon.control.context import Context
from clarimon.control.endpoints import KIND
from clarimon.control.states import SERVING
from clarimon.errors import EndpointUnavailable, InvocationValidationError, ModelError
from clarimon.serving.capture import Exchange
from clarimon.serving.workers import BadRequest, ModelFailed, WorkerFailed
from clarimon.store import resources

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
    if len(body) > PAYLOAD_LIMIT:
        raise InvocationValidationError(
            f"Received payload of {len(body)} bytes; the maximum is {PAYLOAD_LIMIT} bytes (6 MB).")
    arn = make_arn(ctx, KIND, name)
    with ctx.store.reading() as conn:
        endpoint = resources.get(conn, arn)
    if endpoint is None:
        raise InvocationValidationError(f"Endpoint {name} of account {ctx.account} not found.")
    deployment = ctx.services.host.get(arn)
    if endpoint.status not in SERVING or deployment is None:
        raise EndpointUnavailable(f"Endpoint {name} is {endpoint.status} and cannot serve requests yet.")
    target = headers.get("x-amzn-sagemaker-target-variant")
    variant = deployment.choose(target, ctx.services.host.rng)
    if variant is None:
        raise InvocationValidationError(f"Variant {target} not found for endpoint {name}.")
    content_type = headers.get("content-type", "application/octet-stream")
    try:
        answer, answer_type = variant.worker().invoke(body, content_type, headers.get("accept"))
    except BadRequest as error:
        raise ModelError(f'Received client error (415) from primary with message "{error}".',
                         {"OriginalStatusCode": 415, "OriginalMessage": str(error)}) from None
    except ModelFailed as error:
        raise ModelError(f'Received server error (500) from primary with message "{error}".',
                         {"OriginalStatusCode": 500, "OriginalMessage": str(error)}) from None
    except WorkerFailed as error:
        raise EndpointUnavailable(f"Endpoint {name}: {error}.") from None
    exchange = Exchange(name, variant.name, body, content_type, answer, answer_type,
                        headers.get("x-amzn-sagemaker-inference-id"), ctx.services.clock())
    ctx.services.capture.offer(deployment.capture, exchange)
    return Invocation(answer, answer_type, variant.name, headers.get("x-amzn-sagemaker-custom-attributes"))
