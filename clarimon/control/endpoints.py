"""Endpoints: Create, Describe, List, Update, Delete, and their lifecycle.

Creating -> InService (every variant's model loaded in worker processes) or Failed with a FailureReason;
Updating -> InService on the new configuration, or back on the old one with the FailureReason of the update;
a server restart deploys its endpoints again. Deployment runs on a background thread, off the request.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from clarimon.control import arns, endpoint_configs, models
from clarimon.control.context import Context, Request, Response, Services
from clarimon.control.families import Family
from clarimon.control.states import DEPLOYED, ENDPOINT, SERVING, EndpointStatus
from clarimon.errors import ServiceError, ValidationException
from clarimon.serving import log_files
from clarimon.serving.artifacts import ArtifactError, unpack
from clarimon.serving.host import Deployment, Variant
from clarimon.serving.workers import ModelSpec, Worker, WorkerFailed
from clarimon.store import resources
from clarimon.store.resources import Resource

log = logging.getLogger("clarimon.endpoints")

KIND = "endpoint"
MAX_WORKERS_PER_VARIANT = 2  # instances beyond this share workers: one machine serves them all


def _check_config(ctx: Context, request: Request) -> None:
    endpoint_configs.FAMILY.get(ctx, request["EndpointConfigName"])  # Could not find endpoint configuration


def _summary(item: Resource) -> Response:
    return {"EndpointName": item.name, "EndpointArn": item.arn, "CreationTime": item.creation_time,
            "LastModifiedTime": item.last_modified_time, "EndpointStatus": item.status}


def _start(ctx: Context, arn: str, request: Request) -> None:
    _deploy_later(ctx.services, ctx.account, ctx.region, arn, request["EndpointConfigName"], keep_serving=False)


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
    """UpdateEndpoint: Updating while the new configuration deploys; the endpoint serves the old one meanwhile."""
    resource = FAMILY.get(ctx, request["EndpointName"])
    if not ENDPOINT.allows(resource.status, EndpointStatus.UPDATING):
        raise ValidationException(
            f'Cannot update endpoint "{resource.arn}" while it is {resource.status}: wait for InService.'
        )
    _check_config(ctx, request)
    with ctx.store.transaction() as conn:
        resources.update(conn, resource.arn, ctx.now(), status=EndpointStatus.UPDATING)
    _deploy_later(ctx.services, ctx.account, ctx.region, resource.arn, request["EndpointConfigName"],
                  keep_serving=True)
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
    threading.Thread(target=_apply_weights, args=(ctx.services, resource.arn), daemon=True,
                     name="clarimon-weights").start()
    return {"EndpointArn": resource.arn}


def _apply_weights(services: Services, arn: str) -> None:
    """The desired weights route this host's traffic; then the endpoint is InService with them current."""
    with services.store.transaction() as conn:
        current = resources.get(conn, arn, for_update=True)
        if current is None or current.status != EndpointStatus.UPDATING:
            return  # deleted, or an UpdateEndpoint took over
        summaries = [{**v, "CurrentWeight": v["DesiredWeight"], "CurrentInstanceCount": v["DesiredInstanceCount"]}
                     for v in current.document.get("ProductionVariants") or []]
        deployment = services.host.get(arn)
        if deployment is not None:
            weights = {v["VariantName"]: float(v["DesiredWeight"]) for v in summaries}
            for variant in deployment.variants:
                variant.weight = weights.get(variant.name, variant.weight)
        resources.update(conn, arn, services.now(), status=EndpointStatus.IN_SERVICE,
                         document={**current.document, "ProductionVariants": summaries})
    log.info("endpoint weights applied arn=%s", arn)


def delete(ctx: Context, request: Request) -> Response:
    """Deleting while the workers stop, then gone (as SageMaker shows it)."""
    arn = arns.arn(ctx, KIND, request["EndpointName"])
    with ctx.store.transaction() as conn:
        if not resources.update(conn, arn, ctx.now(), status=EndpointStatus.DELETING):
            raise FAMILY.not_found(request["EndpointName"], arn)
    threading.Thread(target=_finish_delete, args=(ctx.services, arn), daemon=True).start()
    return {}


def _finish_delete(services: Services, arn: str) -> None:
    services.host.remove(arn)
    with services.store.transaction() as conn:
        resources.delete(conn, arn)
    log.info("endpoint deleted arn=%s", arn)


def recover(services: Services) -> None:
    """After a start: finish deletions, deploy every endpoint that was Creating, Updating or InService again."""
    with services.store.reading() as conn:
        live = resources.with_status(conn, KIND, DEPLOYED)
        deleting = resources.with_status(conn, KIND, (EndpointStatus.DELETING,))
    for endpoint in deleting:
        try:
            _finish_delete(services, endpoint.arn)
        except Exception:  # one endpoint's row must not keep the others from being served; logged
            log.exception("endpoint deletion not finished arn=%s", endpoint.arn)
    for endpoint in live:
        log.info("endpoint recovering arn=%s status=%s", endpoint.arn, endpoint.status)
        if endpoint.status in SERVING:  # InService already: its requests wait for its workers (bounded)
            services.host.expect(endpoint.arn)
        # the weights it served (or was moving to) by UpdateEndpointWeightsAndCapacities hold across a restart
        weights = {v["VariantName"]: float(v["DesiredWeight"])
                   for v in endpoint.document.get("ProductionVariants") or [] if "DesiredWeight" in v}
        _deploy_later(services, endpoint.account, endpoint.region, endpoint.arn,
                      endpoint.document.get("EndpointConfigName", ""),
                      keep_serving=endpoint.status == EndpointStatus.IN_SERVICE, weights=weights)


def _deploy_later(services: Services, account: str, region: str, arn: str, config_name: str,
                  keep_serving: bool, weights: dict[str, float] | None = None) -> None:
    """Deploy `config_name` on a thread; `keep_serving`: a failure leaves the endpoint InService (an update
    rolls back to what it served; a restart keeps the status it had), else it goes Failed. `weights`: variant
    weights that replace the configuration's InitialVariantWeight."""
    thread = threading.Thread(target=_deploy,
                              args=(services, account, region, arn, config_name, keep_serving, weights or {}),
                              daemon=True, name="clarimon-deploy")
    thread.start()


def _deploy(services: Services, account: str, region: str, arn: str, config_name: str,
            keep_serving: bool, weights: dict[str, float]) -> None:
    try:
        _deploy_config(services, account, region, arn, config_name, keep_serving, weights)
    finally:  # served, failed or deleted: no request waits for this deployment any longer
        services.host.abandon(arn)


def _deploy_config(services: Services, account: str, region: str, arn: str, config_name: str,
                   keep_serving: bool, weights: dict[str, float]) -> None:
    ctx = Context(account, region, services)
    try:
        config = endpoint_configs.FAMILY.get(ctx, config_name)
        with services.store.reading() as conn:
            endpoint = resources.get(conn, arn)
        if endpoint is None:  # deleted before its deployment began
            return
        deployment, summaries = _load(ctx, endpoint.name, config.document, weights)
        deployment.capture = config.document.get("DataCaptureConfig")
    except Exception as error:  # whatever stops one deployment is that endpoint's FailureReason, never silence
        if isinstance(error, ServiceError):
            reason = error.message
        elif isinstance(error, (WorkerFailed, ArtifactError, OSError, ValueError)):
            reason = str(error)
        else:
            log.exception("endpoint deployment crashed arn=%s", arn)
            reason = f"InternalFailure: {type(error).__name__}: {error}"
        _failed(ctx, arn, reason, keep_serving)
        return
    with services.store.transaction() as conn:
        current = resources.get(conn, arn, for_update=True)
        if current is None:  # deleted meanwhile
            deployment.stop()
            return
        document = {k: v for k, v in current.document.items() if k != "FailureReason"}
        document.update(EndpointConfigName=config_name, ProductionVariants=summaries)
        capture = _capture_summary(config.document.get("DataCaptureConfig"))
        if capture is not None:
            document["DataCaptureConfig"] = capture
        else:
            document.pop("DataCaptureConfig", None)
        resources.update(conn, arn, ctx.now(), status=EndpointStatus.IN_SERVICE, document=document)
    services.host.put(arn, deployment)
    log.info("endpoint InService arn=%s variants=%d", arn, len(summaries))


def _failed(ctx: Context, arn: str, reason: str, keep_serving: bool) -> None:
    log.warning("endpoint deployment failed arn=%s reason=%s", arn, reason)
    with ctx.store.transaction() as conn:
        current = resources.get(conn, arn, for_update=True)
        if current is None:
            return
        # A failed update leaves the endpoint serving its previous configuration, as SageMaker rolls back.
        status = EndpointStatus.IN_SERVICE if keep_serving else EndpointStatus.FAILED
        document = {**current.document, "FailureReason": reason[:1024]}
        resources.update(conn, arn, ctx.now(), status=status, document=document)


def _logged(ctx: Context, spec: ModelSpec, endpoint: str, variant: str, index: int) -> ModelSpec:
    """`spec` for the worker `index` of an endpoint's variant: it logs to the stream `<variant>/<instance id>` of
    the endpoint's log group."""
    home = ctx.settings.home
    instance = log_files.instance_id(arns.arn(ctx, "endpoint", endpoint), variant, index)
    return dataclasses.replace(spec, log_file=log_files.endpoint_stream(home, ctx.account, ctx.region, endpoint,
                                                                        variant, instance),
                               clock_file=ctx.settings.clock_file)


def _load(ctx: Context, endpoint: str, config: dict[str, Any], weights: dict[str, float]
          ) -> tuple[Deployment, list[dict[str, Any]]]:
    variants, summaries = [], []
    try:
        for variant in config["ProductionVariants"]:
            spec = model_spec_of(ctx, variant["ModelName"])
            image = spec.image
            count = max(1, min(int(variant.get("InitialInstanceCount", 1)), MAX_WORKERS_PER_VARIANT))
            workers = [Worker(_logged(ctx, spec, endpoint, variant["VariantName"], i)) for i in range(count)]
            weight = weights.get(variant["VariantName"], float(variant.get("InitialVariantWeight", 1.0)))
            variants.append(Variant(variant["VariantName"], weight, workers))
            summaries.append({
                "VariantName": variant["VariantName"],
                "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image,
                                    "ResolutionTime": ctx.now()}],
                "CurrentWeight": weight,
                "DesiredWeight": weight,
                "CurrentInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                "DesiredInstanceCount": int(variant.get("InitialInstanceCount", 1)),
            })
    except BaseException:
        Deployment(variants).stop()
        raise
    return Deployment(variants), summaries


def model_spec(ctx: Context, endpoint_name: str) -> ModelSpec:
    """The model an endpoint serves, ready to load elsewhere (a monitoring job's private copy): the variant with
    the most weight when there are several."""
    endpoint = FAMILY.get(ctx, endpoint_name)
    if endpoint.status not in SERVING:
        raise ValidationException(f'Endpoint "{endpoint.arn}" is {endpoint.status}, not InService.')
    config = endpoint_configs.FAMILY.get(ctx, endpoint.document["EndpointConfigName"]).document
    variant = max(config["ProductionVariants"], key=lambda v: float(v.get("InitialVariantWeight", 1.0)))
    return model_spec_of(ctx, variant["ModelName"])


def model_spec_of(ctx: Context, model_name: str) -> ModelSpec:
    """A model's image, unpacked artifact and environment (ValidationException when there is no such model)."""
    model = models.FAMILY.get(ctx, model_name).document
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return _spec(ctx, container.get("Image", ""), container)


def _spec(ctx: Context, image: str, container: dict[str, Any]) -> ModelSpec:
    cache = ctx.settings.home / "models"
    environment = dict(container.get("Environment") or {})
    url = container.get("ModelDataUrl")
    if url:
        model_dir = unpack(ctx.services.objects.read(url), cache, url)
    else:
        model_dir = cache / "empty"
        model_dir.mkdir(parents=True, exist_ok=True)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    source = ctx.services.objects.read(submit) if submit.startswith("s3://") else None
    return ModelSpec(image, model_dir, environment, cache, source, url or None)


def _capture_summary(capture: dict[str, Any] | None) -> dict[str, Any] | None:
    if capture is None:
        return None
    summary = {
        "EnableCapture": bool(capture.get("EnableCapture", False)),
        "CaptureStatus": "Started" if capture.get("EnableCapture") else "Stopped",
        "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
        "DestinationS3Uri": capture["DestinationS3Uri"],
    }
    if capture.get("KmsKeyId"):
        summary["KmsKeyId"] = capture["KmsKeyId"]
    return summary
