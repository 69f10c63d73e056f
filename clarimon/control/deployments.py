"""Endpoint deployments: every server makes what it serves match the endpoints stored in the database.

The database holds each endpoint's desired state: its status, its EndpointConfigName, during an update the
configuration its PendingDeploymentSummary names, and its variants' weights. Every server (replica) converges on
it, for every account and region:

- Creating: load the configuration; the first server to load it (or to fail to) makes the endpoint InService
  (or Failed, with the reason), and every server then serves what it loaded.
- Updating to a PendingDeploymentSummary's configuration: keep serving the current one and load the new one
  aside; the first server done makes the endpoint InService on it (or, failing, InService on the old one with
  the update's FailureReason); every server then serves what the endpoint now is.
- Updating without one (UpdateEndpointWeightsAndCapacities): the first server to converge makes the desired
  weights current; every server then routes by the current weights.
- InService: serve its configuration with its current weights. A server that serves nothing or another
  configuration for it holds the endpoint's requests (bounded by the invocation timeout) while it loads it; one
  that cannot load it answers ServiceUnavailable with the reason and tries again after RETRY_SECONDS.
- Deleting, Failed or gone: serve nothing; a Deleting row goes once a server stopped serving it.

A transition is a compare-and-set on the row as it was read, so with several servers each transition happens
once. Converging one endpoint runs on a thread of its own (one at a time per endpoint and server), started by the
operation that changed it on the server that took the operation, by a request for an endpoint this server does
not serve yet, and by the `Reconciler`, which reads every endpoint every `interval` seconds: a change made
through another server is served here within one interval plus the models' load time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from clarimon.config import Settings
from clarimon.control import arns, endpoint_configs, models
from clarimon.control.context import Context, Services
from clarimon.control.states import EndpointStatus
from clarimon.errors import ServiceError, ServiceUnavailable, without_folders
from clarimon.serving import log_files
from clarimon.serving.artifacts import ArtifactError, Lease, Limits, lease, too_large
from clarimon.serving.host import Deployment, Variant
from clarimon.serving.workers import ModelSpec, Worker, WorkerFailed
from clarimon.store import resources
from clarimon.store.resources import Resource

log = logging.getLogger("clarimon.endpoints")

KIND = "endpoint"
MAX_WORKERS_PER_VARIANT = 2  # instances beyond this share workers: one machine serves them all
RETRY_SECONDS = 30.0  # a configuration this server could not load for an InService endpoint is tried again after
PENDING = "PendingDeploymentSummary"


class DeploymentFailed(Exception):
    """A configuration could not be deployed; `reason` is the endpoint's FailureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:1024]


def converge_later(services: Services, arn: str) -> None:
    """Converge the endpoint `arn` on a thread, unless one converges it already (that one then runs again)."""
    if services.host.begin(arn):
        threading.Thread(target=_converging, args=(services, arn), daemon=True, name="clarimon-deploy").start()


def _converging(services: Services, arn: str) -> None:
    while True:
        try:
            again = converge(services, arn)
        except ServiceUnavailable:  # the database is away: the reconciler tries again
            log.warning("endpoint not converged: database unavailable arn=%s", arn)
            again = False
        except Exception:  # one endpoint's failure must not stop the others; logged, tried again later
            log.exception("endpoint convergence crashed arn=%s", arn)
            again = False
        if not again and services.host.get(arn) is None:
            services.host.abandon(arn)  # nothing to wait for: requests held for it fail now
        if not again and not services.host.end(arn):
            return


def converge(services: Services, arn: str) -> bool:
    """One step that makes this server serve what the stored endpoint `arn` is; True when the endpoint changed
    meanwhile and another step is needed."""
    with services.store.reading() as conn:
        row = resources.get(conn, arn)
    host = services.host
    if row is None or row.status == EndpointStatus.FAILED:
        host.remove(arn)
        return False
    if row.status == EndpointStatus.DELETING:
        host.remove(arn)
        with services.store.transaction() as conn:
            current = resources.get(conn, arn, for_update=True)
            if current is not None and (current.id, current.status) == (row.id, EndpointStatus.DELETING):
                resources.delete(conn, arn)
                log.info("endpoint deleted arn=%s", arn)
        return False
    ctx = Context(row.account, row.region, services)
    if row.status == EndpointStatus.CREATING:
        return _create(ctx, row)
    if row.status == EndpointStatus.UPDATING:
        return _update(ctx, row)
    if row.status == EndpointStatus.IN_SERVICE:
        return _serve(ctx, row)
    return False


def _create(ctx: Context, row: Resource) -> bool:
    config = row.document.get("EndpointConfigName", "")
    try:
        deployment = _ready(ctx, row, config, {})
    except DeploymentFailed as error:
        reason = error.reason
        log.warning("endpoint deployment failed arn=%s reason=%s", row.arn, reason)
        moved, _ = _settle(ctx.services, row, EndpointStatus.FAILED, lambda d: {**d, "FailureReason": reason})
        return not moved
    moved, _ = _settle(ctx.services, row, EndpointStatus.IN_SERVICE, lambda d: _deployed(d, deployment))
    if not moved:
        return True
    _serve_staged(ctx.services, row.arn)
    log.info("endpoint InService arn=%s variants=%d", row.arn, len(deployment.variants))
    return False


def _update(ctx: Context, row: Resource) -> bool:
    host = ctx.services.host
    if _serve(ctx, row):  # this server serves what the endpoint serves during its update (after a restart too)
        return True
    pending = (row.document.get(PENDING) or {}).get("EndpointConfigName")
    if pending is None:  # UpdateEndpointWeightsAndCapacities: the desired weights become current
        moved, now = _settle(ctx.services, row, EndpointStatus.IN_SERVICE, _weights_applied)
        if moved and now is not None and (serving := host.get(row.arn)) is not None:
            serving.weigh(_weights(now.document))
            log.info("endpoint weights applied arn=%s", row.arn)
        return not moved
    try:
        deployment = _ready(ctx, row, pending, {})
    except DeploymentFailed as error:
        # A failed update leaves the endpoint serving its previous configuration, as SageMaker rolls back.
        reason = error.reason
        log.warning("endpoint update failed arn=%s reason=%s", row.arn, reason)
        moved, _ = _settle(ctx.services, row, EndpointStatus.IN_SERVICE,
                           lambda d: {**_without(d, PENDING), "FailureReason": reason})
        return not moved
    moved, _ = _settle(ctx.services, row, EndpointStatus.IN_SERVICE, lambda d: _deployed(_without(d, PENDING),
                                                                                            deployment))
    if not moved:
        return True
    _serve_staged(ctx.services, row.arn)
    log.info("endpoint InService arn=%s config=%s variants=%d", row.arn, pending, len(deployment.variants))
    return False


def _serve(ctx: Context, row: Resource) -> bool:
    """Serve the configuration the endpoint serves now, with its current weights (loading it if need be);
    True when the endpoint changed while it loaded."""
    host, arn = ctx.services.host, row.arn
    config, weights = row.document.get("EndpointConfigName", ""), _weights(row.document)
    serving = host.get(arn)
    if serving is not None and serving.serves(row.id, config):
        serving.weigh(weights)
        return False
    staged = host.staged(arn)
    if staged is None or not staged.serves(row.id, config):
        failure = host.failure(arn)
        if failure is not None and failure[:2] == (row.id, config) and time.monotonic() - failure[2] < RETRY_SECONDS:
            return False  # tried and failed lately: requests hear why (ServiceUnavailable) until the next try
        if serving is not None:
            host.retire(arn)  # it serves another endpoint of this name, or another configuration: no longer
        else:
            host.expect(arn)
        log.info("endpoint loading here arn=%s status=%s config=%s", arn, row.status, config)
        try:
            staged = _ready(ctx, row, config, weights)
        except DeploymentFailed as error:
            log.warning("endpoint cannot be served here arn=%s reason=%s", arn, error.reason)
            host.fail(arn, row.id, config, error.reason, time.monotonic())
            return False
    with ctx.store.reading() as conn:
        current = resources.get(conn, arn)
    if current is None or current.id != row.id or current.document.get("EndpointConfigName") != config:
        return True
    staged.weigh(_weights(current.document))
    _serve_staged(ctx.services, arn)
    return current.status != row.status or current.document != row.document


def _serve_staged(services: Services, arn: str) -> None:
    staged = services.host.unstage(arn)
    if staged is not None:
        services.host.put(arn, staged)


def _ready(ctx: Context, row: Resource, config: str, weights: dict[str, float]) -> Deployment:
    """The deployment of `config` for the endpoint row, staged (loaded now unless it was staged already)."""
    staged = ctx.services.host.staged(row.arn)
    if staged is not None and staged.serves(row.id, config):
        return staged
    deployment = load(ctx, row.name, config, weights)
    deployment.row = row.id
    ctx.services.host.stage(row.arn, deployment)
    return deployment


def _settle(services: Services, row: Resource, status: EndpointStatus,
            edit: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[bool, Resource | None]:
    """Move the endpoint from the state `row` read to `status`, its document edited by `edit`, unless it changed
    since (another server settled it, an update, a delete): whether this call moved it, and the row now."""
    with services.store.transaction() as conn:
        current = resources.get(conn, row.arn, for_update=True)
        if current is None or (current.id, current.status, current.document) != (row.id, row.status, row.document):
            return False, current
        document = edit(dict(current.document))
        resources.update(conn, row.arn, services.now(), status=status, document=document)
    return True, replace(current, status=status, document=document)


def _deployed(document: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    """The endpoint's document once it serves `deployment`."""
    document = _without(document, "FailureReason")
    document.update(EndpointConfigName=deployment.config, ProductionVariants=deployment.described)
    capture = _capture_summary(deployment.capture)
    if capture is not None:
        document["DataCaptureConfig"] = capture
    else:
        document.pop("DataCaptureConfig", None)
    return document


def _weights_applied(document: dict[str, Any]) -> dict[str, Any]:
    variants = [{**v, "CurrentWeight": v["DesiredWeight"], "CurrentInstanceCount": v["DesiredInstanceCount"]}
                for v in document.get("ProductionVariants") or []]
    return {**document, "ProductionVariants": variants}


def _weights(document: dict[str, Any]) -> dict[str, float]:
    """The weights the endpoint routes by now: each variant's CurrentWeight."""
    return {v["VariantName"]: float(v["CurrentWeight"]) for v in document.get("ProductionVariants") or []
            if "CurrentWeight" in v}


def _without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


def load(ctx: Context, endpoint: str, config_name: str, weights: dict[str, float]) -> Deployment:
    """The endpoint configuration `config_name` loaded in worker processes for `endpoint` (their log streams are
    its), `weights` replacing the variants' InitialVariantWeight; DeploymentFailed with the FailureReason when it
    cannot be (ServiceUnavailable passes: the database, not the configuration, is at fault)."""
    try:
        config = endpoint_configs.FAMILY.get(ctx, config_name).document
        deployment = _load(ctx, endpoint, config, weights)
    except ServiceUnavailable:
        raise
    except Exception as error:  # whatever stops one deployment is that endpoint's FailureReason, never silence
        if isinstance(error, ServiceError):
            raise DeploymentFailed(error.message) from None
        if isinstance(error, (WorkerFailed, ArtifactError, ValueError)):
            raise DeploymentFailed(without_folders(str(error), ctx.settings.home)) from None
        if isinstance(error, OSError):  # its text would name a folder of this server: its reason only
            raise DeploymentFailed(f"The model could not be prepared: {error.strerror or type(error).__name__}") \
                from None
        log.exception("endpoint deployment crashed config=%s", config_name)
        raise DeploymentFailed(without_folders(f"InternalFailure: {type(error).__name__}: {error}",
                                               ctx.settings.home)) from None
    deployment.capture = config.get("DataCaptureConfig")
    deployment.config = config_name
    return deployment


def _logged(ctx: Context, spec: ModelSpec, endpoint: str, variant: str, index: int) -> ModelSpec:
    """`spec` for the worker `index` of an endpoint's variant: it logs to the stream `<variant>/<instance id>` of
    the endpoint's log group (a file the worker's user may write, when workers run as another user)."""
    instance = log_files.instance_id(arns.arn(ctx, KIND, endpoint), variant, index)
    stream = log_files.endpoint_stream(ctx.settings.home, ctx.account, ctx.region, endpoint, variant, instance)
    user = ctx.services.host.zygotes.box.account()
    if user is not None:
        stream.parent.mkdir(parents=True, exist_ok=True)
        stream.touch(mode=0o600)
        os.chown(stream, user.uid, user.gid)
    return replace(spec, log_file=stream, clock_file=ctx.settings.clock_file)


def _load(ctx: Context, endpoint: str, config: dict[str, Any], weights: dict[str, float]) -> Deployment:
    variants: list[Variant] = []
    summaries = []
    held: list[Lease] = []  # the unpacked archives, kept until the deployment stops
    try:
        for variant in config["ProductionVariants"]:
            spec = model_spec_of(ctx, variant["ModelName"], held)
            image = spec.image
            count = max(1, min(int(variant.get("InitialInstanceCount", 1)), MAX_WORKERS_PER_VARIANT))
            workers = [Worker(_logged(ctx, spec, endpoint, variant["VariantName"], i), ctx.services.host.zygotes)
                       for i in range(count)]
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
        Deployment(variants, leases=held).stop()
        raise
    return Deployment(variants, described=summaries, leases=held)


def model_spec_of(ctx: Context, model_name: str, held: list[Lease]) -> ModelSpec:
    """A model's image, unpacked artifact and environment (ValidationException when there is no such model); the
    leases on its unpacked archives are added to `held` (release them when the model is no longer used)."""
    model = models.FAMILY.get(ctx, model_name).document
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return _spec(ctx, container.get("Image", ""), container, held)


def archive_limits(settings: Settings) -> Limits:
    """The model archive limits a server is configured with (--archive-max-*)."""
    return Limits(compressed_bytes=settings.archive_max_mb * 1024 * 1024,
                  unpacked_bytes=settings.archive_max_unpacked_mb * 1024 * 1024,
                  members=settings.archive_max_members)


def _spec(ctx: Context, image: str, container: dict[str, Any], held: list[Lease]) -> ModelSpec:
    """The container's model, its archives unpacked by a child process (never this server's threads)."""
    # A capture destination (or job output) set up after the model was created
    models.refuse_written_archives(ctx, container, models.DESTINATION_KINDS)
    cache = ctx.settings.home / "models"
    limits = archive_limits(ctx.settings)
    environment = dict(container.get("Environment") or {})
    url = container.get("ModelDataUrl")
    if url:
        held.append(lease(_archive(ctx, url, limits), cache, url, limits))
        model_dir = held[-1].folder
    else:
        model_dir = cache / "empty"
        model_dir.mkdir(parents=True, exist_ok=True)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    source = None
    if submit.startswith("s3://"):  # unpacked here within the limits; the worker finds the folder unpacked
        source = _archive(ctx, submit, limits)
        held.append(lease(source, cache, submit, limits))
    return ModelSpec(image, model_dir, environment, cache, source, url or None)


def _archive(ctx: Context, uri: str, limits: Limits) -> bytes:
    """An archive's bytes, its size checked before it is read into this process."""
    too_large(ctx.services.objects.size(uri), uri, limits)
    return ctx.services.objects.read(uri)


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


class Reconciler:
    """The thread that, every `interval` seconds, reads every stored endpoint and converges each one this server
    does not serve as stored (and each one it serves that is gone). Its first round runs at start: an endpoint
    InService in the database is held for (not refused) while this server loads it."""

    def __init__(self, services: Services, interval: float) -> None:
        self.services = services
        self.interval = interval
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="clarimon-reconciler")

    def start(self) -> None:
        """Run a first round now (requests for InService endpoints wait for their models), then every interval."""
        try:
            self.round(first=True)
        except ServiceUnavailable:
            log.warning("endpoints not reconciled at start: database unavailable")
        self._thread.start()

    def close(self) -> None:
        """Stop the rounds."""
        self._closing.set()
        self._thread.join(timeout=30)

    def round(self, first: bool = False) -> int:
        """Converge every endpoint that differs here from its row; returns how many were started."""
        host = self.services.host
        with self.services.store.reading() as conn:
            rows = resources.with_status(conn, KIND, tuple(EndpointStatus))
        started = 0
        for row in rows:
            if first and row.status in (EndpointStatus.IN_SERVICE, EndpointStatus.UPDATING):
                host.expect(row.arn)
            if not host.converging(row.arn) and self._differs(row):
                converge_later(self.services, row.arn)
                started += 1
        for arn in host.arns() - {row.arn for row in rows}:
            if not host.converging(arn):
                converge_later(self.services, arn)
                started += 1
        return started

    def _differs(self, row: Resource) -> bool:
        host = self.services.host
        if row.status in (EndpointStatus.CREATING, EndpointStatus.UPDATING, EndpointStatus.DELETING):
            return True
        serving, staged = host.get(row.arn), host.staged(row.arn)
        if row.status == EndpointStatus.FAILED:
            return serving is not None or staged is not None
        config = row.document.get("EndpointConfigName", "")
        if serving is None or not serving.serves(row.id, config):
            return True
        return {v.name: v.weight for v in serving.variants if v.name in _weights(row.document)} != _weights(
            row.document)

    def _loop(self) -> None:
        while not self._closing.wait(self.interval):
            try:
                self.round()
            except Exception:  # the database may be briefly away: keep reconciling
                log.exception("endpoint reconcile round failed")
