"""Two servers on one database are replicas: each serves every InService endpoint, and creates, weight shifts,
updates and deletes made through either converge on both, so a load balancer may send any request anywhere."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sklearn.linear_model import LogisticRegression

from tests.documents import endpoint_config
from tests.e2e.test_endpoints import X, Y, csv, deploy_sklearn, runtime, wait_for
from tests.servers import Server, eventually

pytestmark = pytest.mark.e2e

RECONCILE_SECONDS = 0.5
# How long a replica may lag the database after a change it did not make: one reconcile interval to notice,
# then the models' load (a spawned worker imports its framework: seconds on this loaded machine).
CONVERGED_WITHIN = 30.0


def _variants(server: Server, region: str, name: str, times: int = 8) -> set[str] | None:
    """The variants that answered `times` requests on `server` (None while one answer was not a 200)."""
    invoke = runtime(server, region).invoke_endpoint
    answered = set()
    for _ in range(times):
        try:
            answered.add(invoke(EndpointName=name, Body=csv(X[:1]), ContentType="text/csv")["InvokedProductionVariant"])
        except ClientError:
            return None
    return answered


def _refused(server: Server, region: str, name: str) -> str | None:
    """The error code InvokeEndpoint answers on `server`, or None while it still answers 200."""
    try:
        runtime(server, region).invoke_endpoint(EndpointName=name, Body=csv(X[:1]), ContentType="text/csv")
        return None
    except ClientError as error:
        return str(error.response["Error"]["Code"])


def test_every_replica_serves_every_endpoint_and_follows_its_changes(make_server: Any, region: str,
                                                                    tmp_path: Path) -> None:
    first = make_server("--reconcile-seconds", str(RECONCILE_SECONDS))
    second = make_server("--reconcile-seconds", str(RECONCILE_SECONDS), share=first)
    client, other = first.client(region), second.client(region)
    deploy_sklearn(first, client, tmp_path, LogisticRegression(max_iter=5000).fit(X, Y), "linear")
    assert wait_for(client, "linear")["EndpointStatus"] == "InService"
    ab = endpoint_config("ab-config", "linear")
    ab["ProductionVariants"] = [
        {**ab["ProductionVariants"][0], "VariantName": "A", "InitialVariantWeight": 1.0},
        {**ab["ProductionVariants"][0], "VariantName": "B", "InitialVariantWeight": 0.0},
    ]
    client.create_endpoint_config(**ab)
    client.create_endpoint(EndpointName="ab", EndpointConfigName="ab-config")
    assert wait_for(client, "ab")["EndpointStatus"] == "InService"

    # InService through the first is InService on the second, and served there at once: a request that comes
    # before the second has loaded the model is held until it answers, never refused.
    assert other.describe_endpoint(EndpointName="ab")["EndpointStatus"] == "InService"
    assert _variants(second, region, "ab") == {"A"}
    assert _variants(second, region, "linear", 1) == {"AllTraffic"}

    # A weight shift through the first reaches the second.
    client.update_endpoint_weights_and_capacities(EndpointName="ab", DesiredWeightsAndCapacities=[
        {"VariantName": "A", "DesiredWeight": 0.0}, {"VariantName": "B", "DesiredWeight": 1.0}])
    assert wait_for(client, "ab")["EndpointStatus"] == "InService"
    began = time.monotonic()
    for server in (first, second):
        eventually(lambda s=server: _variants(s, region, "ab") == {"B"}, CONVERGED_WITHIN,  # type: ignore[misc]
                   lambda s=server: f"{s.url} still routes to {_variants(s, region, 'ab')}")  # type: ignore[misc]
    weights_seconds = time.monotonic() - began

    # An update through the second reaches the first; while it deploys, both report Updating and serve the old
    # configuration (SageMaker's PendingDeploymentSummary names the new one).
    single = endpoint_config("single-config", "linear")
    single["ProductionVariants"][0]["VariantName"] = "C"
    client.create_endpoint_config(**single)
    other.update_endpoint(EndpointName="ab", EndpointConfigName="single-config")
    updating = client.describe_endpoint(EndpointName="ab")
    if updating["EndpointStatus"] == "Updating":
        assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "single-config"
        assert updating["EndpointConfigName"] == "ab-config"
    described = wait_for(client, "ab")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "single-config")
    assert "PendingDeploymentSummary" not in described
    began = time.monotonic()
    for server in (first, second):
        eventually(lambda s=server: _variants(s, region, "ab") == {"C"}, CONVERGED_WITHIN,  # type: ignore[misc]
                   lambda s=server: f"{s.url} still routes to {_variants(s, region, 'ab')}")  # type: ignore[misc]
    update_seconds = time.monotonic() - began

    # A delete through the first ends serving on both.
    client.delete_endpoint(EndpointName="ab")
    began = time.monotonic()
    for server in (first, second):
        eventually(lambda s=server: _refused(s, region, "ab") == "ValidationError",  # type: ignore[misc]
                   CONVERGED_WITHIN, lambda s=server: f"{s.url} still answers {_refused(s, region, 'ab')}")  # type: ignore[misc]
    delete_seconds = time.monotonic() - began
    assert _variants(first, region, "linear", 1) == _variants(second, region, "linear", 1) == {"AllTraffic"}
    print(f"converged on both replicas after: weights {weights_seconds:.2f} s, update {update_seconds:.2f} s, "
          f"delete {delete_seconds:.2f} s (reconcile interval {RECONCILE_SECONDS} s)")


def test_a_replica_started_later_serves_what_the_others_deployed(make_server: Any, region: str,
                                                                  tmp_path: Path) -> None:
    first = make_server("--reconcile-seconds", str(RECONCILE_SECONDS))
    client = first.client(region)
    deploy_sklearn(first, client, tmp_path, LogisticRegression(max_iter=5000).fit(X, Y), "linear")
    assert wait_for(client, "linear")["EndpointStatus"] == "InService"
    second = make_server("--reconcile-seconds", str(RECONCILE_SECONDS), share=first)
    assert _variants(second, region, "linear", 2) == {"AllTraffic"}
    assert second.client(region).describe_endpoint(EndpointName="linear")["EndpointStatus"] == "InService"
