"""Converging a server on the stored endpoints, without model workers: weights, deletions and failures follow
the database, and each transition is made once."""

from __future__ import annotations

from typing import Any

from clarimon.control import deployments
from clarimon.control.context import Context
from clarimon.control.deployments import Reconciler
from clarimon.control.states import EndpointStatus
from clarimon.serving.host import Deployment, Variant
from clarimon.store import resources
from tests.servers import eventually

ARN = "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ab"


def _store(ctx: Context, status: str, document: dict[str, Any]) -> int:
    with ctx.store.transaction() as conn:
        resources.insert(conn, kind="endpoint", account=ctx.account, region=ctx.region, name="ab", arn=ARN,
                         now=1.0, document=document, tags=[], status=status)
        row = resources.get(conn, ARN)
    assert row is not None
    return row.id


def _variants(a: float, b: float) -> list[dict[str, Any]]:
    return [{"VariantName": "A", "CurrentWeight": a, "DesiredWeight": a},
            {"VariantName": "B", "CurrentWeight": b, "DesiredWeight": b}]


def test_a_served_endpoint_follows_its_stored_weights_and_goes_when_its_row_goes(ctx: Context) -> None:
    row = _store(ctx, EndpointStatus.IN_SERVICE, {"EndpointConfigName": "ab-config",
                                                  "ProductionVariants": _variants(1.0, 0.0)})
    served = Deployment([Variant("A", 1.0, []), Variant("B", 0.0, [])], row=row, config="ab-config")
    ctx.services.host.put(ARN, served)
    reconciler = Reconciler(ctx.services, interval=3600)
    assert reconciler.round() == 0  # it serves what is stored: nothing to do
    with ctx.store.transaction() as conn:
        resources.update(conn, ARN, 2.0, document={"EndpointConfigName": "ab-config",
                                                   "ProductionVariants": _variants(0.0, 1.0)})
    assert reconciler.round() == 1
    eventually(lambda: [v.weight for v in served.variants] == [0.0, 1.0], 10, lambda: "weights not applied")
    assert ctx.services.host.get(ARN) is served
    with ctx.store.transaction() as conn:
        resources.delete(conn, ARN)
    assert reconciler.round() == 1
    eventually(lambda: ctx.services.host.get(ARN) is None, 10, lambda: "still served after its row went")


def test_a_deleting_endpoint_is_stopped_and_its_row_removed_by_any_server(ctx: Context) -> None:
    row = _store(ctx, EndpointStatus.DELETING, {"EndpointConfigName": "ab-config"})
    ctx.services.host.put(ARN, Deployment([], row=row, config="ab-config"))
    assert deployments.converge(ctx.services, ARN) is False
    assert ctx.services.host.get(ARN) is None
    with ctx.store.reading() as conn:
        assert resources.get(conn, ARN) is None


def test_a_creating_endpoint_that_cannot_load_fails_once_with_its_reason(ctx: Context) -> None:
    _store(ctx, EndpointStatus.CREATING, {"EndpointConfigName": "missing-config"})
    assert deployments.converge(ctx.services, ARN) is False
    with ctx.store.reading() as conn:
        failed = resources.get(conn, ARN)
    assert failed is not None and failed.status == EndpointStatus.FAILED
    assert "Could not find endpoint configuration" in failed.document["FailureReason"]
    # A second server converging on the same row finds it settled: nothing moves again.
    assert deployments.converge(ctx.services, ARN) is False
    with ctx.store.reading() as conn:
        again = resources.get(conn, ARN)
    assert again is not None and (again.status, again.last_modified_time) == (failed.status, failed.last_modified_time)
