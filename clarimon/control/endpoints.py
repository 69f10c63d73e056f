"""Endpoints: Create, Describe, List, Update, Delete.

Creating -> InService (every variant's model loaded in worker processes) or Failed with a FailureReason;
Updating -> InService on the new configuration, or back on the old one with the FailureReason of the update;
Deleting -> gone. An operation only stores the endpoint's new desired state; `clarimon.control.deployments`
makes every server serve it (off the request), and moves the endpoint on when its models are loaded.
"""

from __future__ import annotations

from typing import Any

from clarimon.control import arns, buckets, deployments, endpoint_configs
from clarimon.control.context import Context, Request, Response
from clarimon.control.deployments import KIND
from clarimon.control.families import Family
from clarimon.control.states import ENDPOINT, SERVING, EndpointStatus
from clarimon.errors import ValidationException
from clarimon.serving.artifacts import Lease
from clarimon.serving.workers import ModelSpec
from clarimon.store import resources
from clarimon.store.resources import Resource

__all__ = ["KIND", "create", "delete", "describe", "list_", "model_spec", "model_spec_of", "update",
           "update_weights"]

model_spec_of = deployments.model_spec_of


def _check_config(ctx: Context, request: Request) -> None:
    endpoint_configs.FAMILY.get(ctx, request["EndpointConfigName"])  # Could not find endpoint configuration


def _summary(item: Resource) -> Response:
    return {"EndpointName": item.name, "EndpointArn": item.arn, "CreationTime": item.creation_time,
            "LastModifiedTime": item.last_modified_time, "EndpointStatus": item.status}


def _start(ctx: Context, arn: str, request: Request) -> None:
    deployments.converge_later(ctx.services, arn)


FAMILY = Family(
    kind=KIND,
    name="EndpointName",
    arn="EndpointArn",
    list_operation="ListEndpoints",
    summaries="Endpoints",
    summary=_summary,
    not_found=lambda name, arn: ValidationException(f'Could not find endpoint "{arn}".'),
    taken=lambda name, arn: ValidationException(f'Cannot create already existing endpoint "{arn}".'),
    checks=(_check_config,),
    status=EndpointStatus.CREATING,
    status_member="EndpointStatus",
    after_create=_start,
)

create, describe, list_ = FAMILY.create, FAMILY.describe, FAMILY.list_


def update(ctx: Context, request: Request) -> Response:
    """UpdateEndpoint: Updating while the new configuration deploys (its PendingDeploymentSummary names it); the
    endpoint serves the old one meanwhile, on every server."""
    resource = FAMILY.get(ctx, request["EndpointName"])
    if not ENDPOINT.allows(resource.status, EndpointStatus.UPDATING):
        raise ValidationException(
            f'Cannot update endpoint "{resource.arn}" while it is {resource.status}: wait for InService.'
        )
    config = endpoint_configs.FAMILY.get(ctx, request["EndpointConfigName"])
    with ctx.store.transaction() as conn:
        # The configuration's URIs were the caller's when it was created; bucket owners may have been configured
        # since (--bucket-owners), so they are checked again for the switch.
        buckets.check(ctx, conn, config.document)
        current = resources.get(conn, resource.arn, for_update=True)
        if current is None or current.status != resource.status:
            raise ValidationException(f'Cannot update endpoint "{resource.arn}": it changed meanwhile; '
                                      "wait for InService.")
        pending = {"EndpointConfigName": request["EndpointConfigName"], "StartTime": ctx.now()}
        document = {**current.document, deployments.PENDING: pending}
        resources.update(conn, resource.arn, ctx.now(), status=EndpointStatus.UPDATING, document=document)
    deployments.converge_later(ctx.services, resource.arn)
    return {"EndpointArn": resource.arn}


def update_weights(ctx: Context, request: Request) -> Response:
    """UpdateEndpointWeightsAndCapacities: Updating with each named variant's DesiredWeight and
    DesiredInstanceCount, then InService once the new weights route traffic (CurrentWeight = DesiredWeight).

    The weights hold until the next UpdateEndpoint, and across a restart. An instance count is recorded as
    SageMaker shows it; this host's workers per variant stay as deployed (at most MAX_WORKERS_PER_VARIANT)."""
    resource = FAMILY.get(ctx, request["EndpointName"])
    if resource.status != EndpointStatus.IN_SERVICE:
        raise ValidationException(
            f'Cannot update endpoint "{resource.arn}" while it is {resource.status}: wait for InService.')
    variants = {v["VariantName"]: v for v in resource.document.get("ProductionVariants") or []}
    desired = request["DesiredWeightsAndCapacities"]
    names = [d["VariantName"] for d in desired]
    for name in names:
        if name not in variants:
            raise ValidationException(f'The variant name(s) "{name}" is/are not present in the endpoint '
                                      f'"{resource.arn}".')
    if len(set(names)) != len(names):
        raise ValidationException("Each variant may appear once in DesiredWeightsAndCapacities.")
    for asked in desired:  # refused rather than ignored: clarimon hosts no serverless variants
        if asked.get("ServerlessUpdateConfig") is not None:
            raise ValidationException(f"Variant {asked['VariantName']} is not a serverless variant: clarimon "
                                      "cannot apply a ServerlessUpdateConfig to it.")
    summaries = []
    for name, variant in variants.items():
        change: dict[str, Any] = next((d for d in desired if d["VariantName"] == name), {})
        summary = dict(variant)
        if change.get("DesiredWeight") is not None:
            summary["DesiredWeight"] = float(change["DesiredWeight"])
        if change.get("DesiredInstanceCount") is not None:
            summary["DesiredInstanceCount"] = int(change["DesiredInstanceCount"])
        summaries.append(summary)
    if sum(float(v.get("DesiredWeight", 0.0)) for v in summaries) <= 0:
        raise ValidationException("The sum of the variants' weights must be greater than 0.")
    with ctx.store.transaction() as conn:
        current = resources.get(conn, resource.arn, for_update=True)
        if current is None or current.status != EndpointStatus.IN_SERVICE:
            raise ValidationException(f'Cannot update endpoint "{resource.arn}": it changed meanwhile; '
                                      "wait for InService.")
        document = {**current.document, "ProductionVariants": summaries}
        resources.update(conn, resource.arn, ctx.now(), status=EndpointStatus.UPDATING, document=document)
    deployments.converge_later(ctx.services, resource.arn)
    return {"EndpointArn": resource.arn}


def delete(ctx: Context, request: Request) -> Response:
    """Deleting while the workers stop, then gone (as SageMaker shows it)."""
    arn = arns.arn(ctx, KIND, request["EndpointName"])
    with ctx.store.transaction() as conn:
        if not resources.update(conn, arn, ctx.now(), status=EndpointStatus.DELETING):
            raise FAMILY.not_found(request["EndpointName"], arn)
    deployments.converge_later(ctx.services, arn)
    return {}


def model_spec(ctx: Context, endpoint_name: str, held: list[Lease]) -> ModelSpec:
    """The model an endpoint serves, ready to load elsewhere (a monitoring job's private copy): the variant with
    the most weight when there are several. Its unpacked archives' leases are added to `held`."""
    endpoint = FAMILY.get(ctx, endpoint_name)
    if endpoint.status not in SERVING:
        raise ValidationException(f'Endpoint "{endpoint.arn}" is {endpoint.status}, not InService.')
    config = endpoint_configs.FAMILY.get(ctx, endpoint.document["EndpointConfigName"]).document
    variant = max(config["ProductionVariants"], key=lambda v: float(v.get("InitialVariantWeight", 1.0)))
    return deployments.model_spec_of(ctx, variant["ModelName"], held)
