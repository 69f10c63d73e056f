"""InvokeEndpoint's refusals, each with the runtime's code and status (the served path runs end to end)."""

from __future__ import annotations

import pytest

from clarimon.control import invocations
from clarimon.control.context import Context
from clarimon.errors import EndpointUnavailable, InvocationValidationError
from clarimon.store import resources


def test_an_oversized_payload_is_refused_before_anything_is_read(ctx: Context) -> None:
    body = b"x" * (invocations.PAYLOAD_LIMIT + 1)
    with pytest.raises(InvocationValidationError, match="maximum is 6291456 bytes") as caught:
        invocations.invoke(ctx, "anything", body, {})
    assert (caught.value.code, caught.value.status) == ("ValidationError", 400)


def test_a_missing_endpoint_is_a_validation_error(ctx: Context) -> None:
    with pytest.raises(InvocationValidationError, match="Endpoint nowhere of account 000000000000 not found"):
        invocations.invoke(ctx, "nowhere", b"1,2", {})


@pytest.mark.parametrize("status", ["Creating", "Failed", "InService"])
def test_an_endpoint_that_serves_nothing_here_is_unavailable(ctx: Context, status: str) -> None:
    arn = "arn:aws:sagemaker:us-east-1:000000000000:endpoint/starting"
    with ctx.store.transaction() as conn:
        resources.insert(conn, kind="endpoint", account=ctx.account, region=ctx.region, name="starting", arn=arn,
                         now=1.0, document={}, tags=[], status=status)
    with pytest.raises(EndpointUnavailable, match=f"Endpoint starting is {status}") as caught:
        invocations.invoke(ctx, "starting", b"1,2", {})  # InService in the store, but no model on this host
    assert (caught.value.code, caught.value.status) == ("ServiceUnavailable", 503)
