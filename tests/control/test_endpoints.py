"""Endpoints' lifecycle through the table: a deployment that fails, an update refused, a delete."""

from __future__ import annotations

import pytest

from clarimon.control import endpoint_configs, endpoints, models
from clarimon.control.context import Context
from clarimon.errors import AccessDeniedException, ValidationException
from clarimon.store import resources
from tests.control.test_schedules import handed_over
from tests.documents import endpoint_config, model
from tests.servers import eventually


def status(ctx: Context, name: str) -> str | None:
    try:
        return str(endpoints.describe(ctx, {"EndpointName": name})["EndpointStatus"])
    except ValidationException:
        return None  # gone


def test_a_failed_deployment_cannot_be_updated_and_is_deleted(ctx: Context) -> None:
    models.create(ctx, model("churn"))  # its archive is nowhere: the deployment fails
    endpoint_configs.create(ctx, endpoint_config("config", "churn"))
    endpoints.create(ctx, {"EndpointName": "ep", "EndpointConfigName": "config"})
    assert eventually(lambda: status(ctx, "ep") != "Creating", 60, lambda: "still Creating")
    described = endpoints.describe(ctx, {"EndpointName": "ep"})
    assert described["EndpointStatus"] == "Failed" and "model.tar.gz" in described["FailureReason"]
    with pytest.raises(ValidationException, match="while it is Failed: wait for InService"):
        endpoints.update(ctx, {"EndpointName": "ep", "EndpointConfigName": "config"})
    endpoints.delete(ctx, {"EndpointName": "ep"})
    eventually(lambda: status(ctx, "ep") is None, 30, lambda: f"still {status(ctx, 'ep')}")
    with pytest.raises(ValidationException, match='Could not find endpoint'):
        endpoints.delete(ctx, {"EndpointName": "ep"})


def test_an_update_onto_a_bucket_of_another_account_is_refused(ctx: Context) -> None:
    models.create(ctx, model("churn"))
    endpoint_configs.create(ctx, endpoint_config("config", "churn"))
    moved = endpoint_config("moved", "churn")
    moved["DataCaptureConfig"]["DestinationS3Uri"] = "s3://handed-over/capture"
    endpoint_configs.create(ctx, moved)  # the bucket is the caller's (claimed) at creation
    arn = endpoints.create(ctx, {"EndpointName": "ep", "EndpointConfigName": "config"})["EndpointArn"]
    assert eventually(lambda: status(ctx, "ep") != "Creating", 60, lambda: "still Creating")
    with ctx.store.transaction() as conn:  # as if it served (its archive is nowhere)
        resources.update(conn, arn, ctx.now(), status="InService")
    with pytest.raises(AccessDeniedException, match="Access Denied: DataCaptureConfig.DestinationS3Uri "
                                                    "'s3://handed-over/capture'"):
        endpoints.update(handed_over(ctx, "handed-over"), {"EndpointName": "ep", "EndpointConfigName": "moved"})
    assert status(ctx, "ep") == "InService"
