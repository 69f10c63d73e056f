"""A taken processing job prepared for its process: the `jobs.task.Task` built from the stored job (its inputs
and outputs, its analysis window, and the model it explains, unpacked where the process can load it).

A monitoring execution's job carries its private part (a `processing_jobs.MonitoringRun`: the window, the
capture or batch input); a job made by CreateProcessingJob is read from its public members, as Clarify's
container reads them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from clarimon.control import buckets, endpoints, processing_jobs
from clarimon.control.context import Context, Services
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.engine.config import AnalysisConfig
from clarimon.errors import ServiceError
from clarimon.jobs import analysis_configs
from clarimon.jobs.task import ConfigFailure, Source, Task
from clarimon.objects import ObjectError
from clarimon.serving.artifacts import Lease
from clarimon.store import resources
from clarimon.store.resources import Resource
from clarimon.timestamps import utc


def task(services: Services, arn: str, held: list[Lease]) -> Task:
    """What the job's process needs, with the endpoint's model unpacked (ServiceError or OSError if it cannot);
    the leases on the unpacked archives are added to `held` (released when the job ends)."""
    with services.store.reading() as conn:
        job = resources.get(conn, arn)
    if job is None:
        raise ServiceError(f"processing job {arn} is gone")
    ctx = Context(job.account, job.region, services)
    run = MonitoringRun.of(job.document)
    if run is None:
        return _clarify_task(ctx, job, held)
    source_input = run.input
    endpoint = run.endpoint
    source = Source(uri="", dataset_format=source_input.get("DatasetFormat") if not endpoint else None,
                    features_attribute=source_input.get("FeaturesAttribute"),
                    inference_attribute=source_input.get("InferenceAttribute"),
                    probability_attribute=source_input.get("ProbabilityAttribute"),
                    exclude_features_attribute=source_input.get("ExcludeFeaturesAttribute"))
    if endpoint:
        described = endpoints.FAMILY.get(ctx, endpoint).document
        capture = described.get("DataCaptureConfig") or {}
        if not capture.get("DestinationS3Uri"):
            raise ServiceError(f'Endpoint "{endpoint}" has no DataCaptureConfig: there is no captured data to '
                               "monitor; update it with an endpoint config that captures its input.")
        source = dataclasses.replace(source, uri=f"{capture['DestinationS3Uri'].rstrip('/')}/{endpoint}/")
        document = analysis_configs.read_document(services.objects, run.config_uri)
        if isinstance(document, ConfigFailure):
            config: AnalysisConfig | ConfigFailure = document
        else:
            _check_buckets(ctx, document, run.config_uri)
            config = analysis_configs.for_job(document, run.config_uri, source)
        spec = endpoints.model_spec(ctx, endpoint, held)
        label = f'endpoint "{endpoint}"'
    else:
        source = dataclasses.replace(source, uri=run.data_uri or "")
        document = _analysis_config(services, run.config_uri)
        _check_buckets(ctx, document, run.config_uri)
        model_name = _predictor_model(document, run.config_uri)
        spec = endpoints.model_spec_of(ctx, model_name, held)
        label = f'model "{model_name}"'
        config = analysis_configs.for_job(document, run.config_uri, source)
    settings = services.settings
    dimensions = {"MonitoringSchedule": run.schedule, **({"Endpoint": endpoint} if endpoint else {})}
    return Task(job_name=job.name, home=str(settings.home), s3_endpoint_url=settings.s3_endpoint_url,
                config=config, constraints_uri=run.constraints_uri, output_uri=run.output_uri,
                start=utc(run.start), end=utc(run.end), source=source, model=spec, model_label=label,
                instance_count=int(job.document["ProcessingResources"]["ClusterConfig"].get("InstanceCount", 1)),
                environment=dict(job.document.get("Environment") or {}), dimensions=dimensions,
                dask_scheduler=settings.dask_scheduler)


def _clarify_task(ctx: Context, job: Resource, held: list[Lease]) -> Task:
    """A Clarify processing job's task: its config and dataset inputs, its output, the model its predictor
    names (`model_name`, or `endpoint_name`: that endpoint's model), loaded privately for the job."""
    document = job.document
    inputs = {i["S3Input"].get("LocalPath"): i["S3Input"]["S3Uri"]
              for i in document.get("ProcessingInputs") or [] if i.get("S3Input")}
    config_uri = _config_file(ctx.services, inputs[processing_jobs.CONFIG_PATH])
    config = _analysis_config(ctx.services, config_uri)
    _check_buckets(ctx, config, config_uri)
    data_uri = inputs.get(processing_jobs.DATA_PATH) or config.get("dataset_uri")
    if not isinstance(data_uri, str) or not data_uri:
        raise ServiceError(f"No ProcessingInput with LocalPath {processing_jobs.DATA_PATH} and no "
                           f"dataset_uri in {config_uri}: there is no dataset to explain.")
    outputs = document["ProcessingOutputConfig"]["Outputs"]
    output = next((o for o in outputs if (o.get("S3Output") or {}).get("LocalPath") == processing_jobs.OUTPUT_PATH),
                  outputs[0])
    predictor = config.get("predictor") or {}
    if predictor.get("model_name"):
        spec = endpoints.model_spec_of(ctx, predictor["model_name"], held)
        label = f'model "{predictor["model_name"]}"'
    elif predictor.get("endpoint_name"):
        spec = endpoints.model_spec(ctx, predictor["endpoint_name"], held)
        label = f'endpoint "{predictor["endpoint_name"]}"'
    else:
        raise ServiceError(f"The analysis config {config_uri} names no predictor.model_name (or "
                           "endpoint_name): the model whose predictions are explained.")
    settings = ctx.settings
    source = Source(uri=data_uri, dataset=True)
    return Task(job_name=job.name, home=str(settings.home), s3_endpoint_url=settings.s3_endpoint_url,
                config=analysis_configs.for_job(config, config_uri, source), constraints_uri=None,
                output_uri=output["S3Output"]["S3Uri"].rstrip("/"), start=None, end=None, source=source,
                model=spec, model_label=label,
                instance_count=int(document["ProcessingResources"]["ClusterConfig"].get("InstanceCount", 1)),
                environment=dict(document.get("Environment") or {}), publish_metrics=False,
                dask_scheduler=settings.dask_scheduler)


def _check_buckets(ctx: Context, document: Any, config_uri: str) -> None:
    """AccessDenied unless every s3:// URI the analysis config names (dataset_uri, an s3:// baseline, ...) is in a
    bucket of the job's account, as the job's own members are at create time (unowned ones are claimed)."""
    try:
        with ctx.store.transaction() as conn:
            buckets.check(ctx, conn, document)
    except ServiceError as error:
        raise ServiceError(f"The analysis config {config_uri}: {error.message}") from None


def _config_file(services: Services, uri: str) -> str:
    """The analysis config of an input: the object itself, or analysis_config.json under the prefix."""
    if uri.endswith(".json"):
        return uri
    try:
        found = [u for u in services.objects.list(uri) if u.endswith("/analysis_config.json")]
    except ObjectError as error:
        raise ServiceError(f"Cannot list the config input {uri}: {error}") from None
    if not found:
        raise ServiceError(f"No analysis_config.json under the config input {uri}.")
    return found[0]


def _analysis_config(services: Services, config_uri: str) -> dict[str, Any]:
    try:
        config = orjson.loads(services.objects.read(config_uri))
    except (ObjectError, orjson.JSONDecodeError) as error:
        raise ServiceError(f"Cannot read the analysis config {config_uri}: {error}") from None
    if not isinstance(config, dict):
        raise ServiceError(f"The analysis config {config_uri} is not a JSON object.")
    return config


def _predictor_model(config: dict[str, Any], config_uri: str) -> str:
    """The model a batch transform input is explained with: the analysis config's predictor.model_name."""
    name = (config.get("predictor") or {}).get("model_name")
    if not isinstance(name, str) or not name:
        raise ServiceError(f"The analysis config {config_uri} names no predictor.model_name, which a "
                           "BatchTransformInput needs: the model to explain the transform's records with.")
    return name


def max_runtime(services: Services, arn: str) -> float:
    """The job's StoppingCondition.MaxRuntimeInSeconds (an hour when it has none)."""
    with services.store.reading() as conn:
        job = resources.get(conn, arn)
    condition = (job.document.get("StoppingCondition") if job else None) or {}
    return float(condition.get("MaxRuntimeInSeconds", processing_jobs.DEFAULT_MAX_RUNTIME))
