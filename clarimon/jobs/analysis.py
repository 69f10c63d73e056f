"""One job's work, in its own process: read its rows (`clarimon.jobs.inputs`), explain them with a private copy
of the model, compare with the baseline (a monitoring execution), write Clarify's outputs.

`run(task)` returns an Outcome (Completed, CompletedWithViolations or Failed with a reason that names what to
fix); it never raises for a user's mistake. With `instance_count` > 1 the rows are split across that many
processes, each with its own copy of the model, and merged exactly (one seed, one background).
"""

from __future__ import annotations

import dataclasses
import datetime
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from clarimon.clock import for_settings
from clarimon.control.states import ExecutionStatus
from clarimon.engine import drift, outputs
from clarimon.engine.config import AnalysisConfig, ConfigError, by_index
from clarimon.engine.datasets import DataError, Table
from clarimon.engine.explain import Background, Explanation, background_of, explain, merge
from clarimon.engine.predictors import ModelError, Predictor
from clarimon.jobs import inputs, shadow
from clarimon.jobs.task import ConfigFailure, JobFailed, Outcome, Task
from clarimon.objects import ObjectError, Objects, open_objects
from clarimon.serving import boxes, runtimes
from clarimon.serving.artifacts import ArtifactError, unpack
from clarimon.serving.lifeline import die_with_parent
from clarimon.serving.log_files import LogWriter
from clarimon.serving.workers import ModelSpec
from clarimon.timestamps import iso

DASK_CONNECT_SECONDS = 30  # how long a job tries to reach the Dask scheduler before it fails


class _Log:
    """The job's log: kept for execution.log, and written line by line to the job's log stream (what CloudWatch
    Logs operations serve while the job runs), with the server's clock."""

    def __init__(self, task: Task) -> None:
        self.lines: list[str] = []
        self.clock = for_settings(Path(task.clock_file) if task.clock_file else None)
        self.stream = LogWriter(Path(task.log_file), self.clock) if task.log_file else None

    def __call__(self, message: str) -> None:
        now = self.clock()
        stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.lines.append(f"{stamp} {message}")
        if self.stream is not None:
            self.stream(message, now)

    def text(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - started


def run(task: Task) -> Outcome:
    """The execution's outcome; outputs and the log are written to `task.output_uri`."""
    os.environ.update(task.environment)  # the app specification's Environment, as the container would see it
    log, timer = _Log(task), _Timer()
    objects = open_objects(Path(task.home), task.s3_endpoint_url)
    window = f" window=[{iso(task.start)}, {iso(task.end)})" if task.start and task.end else ""
    log(f"job={task.job_name}{window} source={task.source.uri}")
    try:
        outcome = _run(task, objects, log, timer)
    except JobFailed as failure:
        log(f"failed: {failure.detail}")
        outcome = Outcome(ExecutionStatus.FAILED, failure.detail[:1024], failure.reason[:1024], timer.seconds)
    try:
        objects.write(_join(task.output_uri, "execution.log"), log.text())
    except ObjectError:
        pass  # the outputs' location is unwritable: the outcome already says so where it matters
    log.close()
    return outcome


def _run(task: Task, objects: Objects, log: _Log, timer: _Timer) -> Outcome:
    with timer("read"):
        config = _config(task)
        baseline = _constraints(task, objects)
        table = inputs.table(task, config, objects, log)
    log(f"read rows={len(table.values)} features={len(table.columns)}")
    with timer("shap"):
        explanation, model_seconds = _explain(task, config, table, objects, log)
    timer.seconds["model"] = model_seconds
    live = explanation.to_analysis_json()
    violations = drift.violations(baseline, live) if baseline is not None else []
    with timer("write"):
        _write(task, objects, explanation, config, live, violations, baseline)
    for violation in violations:
        log(f"violation label={violation['label']} {violation['description']}")
    status = ExecutionStatus.COMPLETED_WITH_VIOLATIONS if violations else ExecutionStatus.COMPLETED
    message = (f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
               if violations else "Completed: Job completed successfully with no violations.")
    log(f"{message} seconds=" + " ".join(f"{k}={v:.3f}" for k, v in timer.seconds.items()))
    return Outcome(status, message, None, dict(timer.seconds), len(table.values), tuple(drift.compare(live, baseline)),
                   tuple(violations))


def _config(task: Task) -> AnalysisConfig:
    if isinstance(task.config, ConfigFailure):
        raise JobFailed(task.config.reason)
    return task.config


def _constraints(task: Task, objects: Objects) -> dict[str, Any] | None:
    if task.constraints_uri is None:
        return None
    try:
        document = orjson.loads(objects.read(task.constraints_uri))
    except ObjectError as error:
        raise JobFailed(f"Cannot read the baseline constraints (ConstraintsResource): {error}") from None
    except orjson.JSONDecodeError as error:
        raise JobFailed(f"The baseline constraints {task.constraints_uri} are not JSON: {error}") from None
    shap = document.get("explanations", {}).get("kernel_shap") if isinstance(document, dict) else None
    if not isinstance(shap, dict) or not all(isinstance(v, dict) and "global_shap_values" in v for v in shap.values()):
        raise JobFailed(f"The baseline constraints {task.constraints_uri} have no explanations.kernel_shap.<label>."
                        "global_shap_values: use the analysis.json of a Clarify explainability baselining job.")
    result: dict[str, Any] = document
    return result


def _explain(task: Task, config: AnalysisConfig, table: Table, objects: Objects,
             log: _Log) -> tuple[Explanation, float]:
    try:
        background = background_of(config, table, objects.read)
    except (ConfigError, DataError, ObjectError) as error:
        raise JobFailed(str(error)) from None
    parts = max(1, min(task.instance_count, len(table.values)))
    log(f"explain rows={len(table.values)} instances={parts} background_rows={len(background[0])}")
    if parts == 1 and task.model_user is None:
        explanation, seconds = _explain_part(task, config, table, background)
    elif task.dask_scheduler and parts > 1:
        explanation, seconds = _merged(_on_dask(task, config, _split(table, parts), background))
    else:
        # Forked where the platform can: the parts start with this process's imports and warm kernel. With a
        # model user, even one part runs in a process of its own that takes that user before loading the model:
        # this process reads and writes the account's objects, the model's code must not.
        start = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(start).Pool(parts, initializer=_part_process,
                                                     initargs=(task.model_user,)) as pool:
            results = pool.starmap(_explain_part, [(task, config, part, background) for part in _split(table, parts)])
        explanation, seconds = _merged(results)
    for warning in explanation.warnings:
        log(f"warning: {warning}")
    return explanation, seconds


def _part_process(user: tuple[int, int] | None) -> None:
    """A part's process: it ends with the job's, and takes the model's user (if any) before any model code,
    without the job's keys to the object store."""
    die_with_parent()
    if user is not None:
        for name in [name for name in os.environ if name.startswith("AWS_")]:  # the object store is the job's
            del os.environ[name]
        boxes.become(*user)


def _split(table: Table, parts: int) -> list[Table]:
    """`table`'s rows in `parts` nearly equal parts, in order."""
    return [Table(table.columns, table.values[c]) for c in np.array_split(np.arange(len(table.values)), parts)]


def _merged(results: list[tuple[Explanation, float]]) -> tuple[Explanation, float]:
    """The parts' explanations as one, and their model seconds added up."""
    return merge([explanation for explanation, _ in results]), sum(seconds for _, seconds in results)


def _on_dask(task: Task, config: AnalysisConfig, tables: list[Table], background: Background
             ) -> list[tuple[Explanation, float]]:
    """The parts on the workers of the Dask cluster at `task.dask_scheduler` (clarimon installed there)."""
    from distributed import Client

    try:
        client = Client(task.dask_scheduler, timeout=DASK_CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise JobFailed(f"Cannot reach the Dask scheduler {task.dask_scheduler} (--dask-scheduler): {error}") from None
    with client:
        count = len(tables)
        futures = client.map(_explain_part, [task] * count, [config] * count, tables, [background] * count,
                             pure=False)
        results: list[tuple[Explanation, float]] = client.gather(futures)
    return results


def _explain_part(task: Task, config: AnalysisConfig, table: Table, background: Background
                  ) -> tuple[Explanation, float]:
    """Explain `table` with a private copy of the model; returns the explanation and the model's seconds."""
    try:
        served = shadow.load(_model_here(task))
    except (runtimes.LoadError, runtimes.UnsupportedImage) as error:
        raise JobFailed(f"Cannot load the model of {task.model_label}: {error}") from None
    except PermissionError as error:  # the model's user (--worker-user) cannot reach the unpacked model
        raise JobFailed(f"Cannot load the model of {task.model_label}: its folder is not readable by the model's "
                        f"user (--worker-user): {error.strerror}") from None
    predictor, spent = _timed(shadow.predictor(served, config.predictor, task.model_label))
    if not by_index(config.predictor.probability):  # the predictor applied the JMESPath already
        config = dataclasses.replace(config, predictor=dataclasses.replace(config.predictor, probability=None))
    memory = max(64, task.memory_mb // max(1, task.instance_count))
    try:
        explanation = explain(config, table, _raising_as_model(predictor), memory_mb=memory, background=background)
    except (ModelError, ConfigError, DataError) as error:
        raise JobFailed(f"The model of {task.model_label} failed: {error}") from None
    except _ModelRaised as raised:  # the model choked on the rows (wrong width, wrong types)
        cause = raised.error
        raise JobFailed(f"The model of {task.model_label} failed on the captured rows "
                        f"({len(table.columns)} features {table.columns[:5]}...): {type(cause).__name__}: {cause}"
                        ) from None
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:  # ours, not the model's
        raise JobFailed(f"clarimon's Kernel SHAP failed on {len(table.values)} rows of {len(table.columns)} "
                        f"features (an error of the explainer, not of the model of {task.model_label}): "
                        f"{type(error).__name__}: {error}") from None
    return explanation, spent()


class _ModelRaised(Exception):
    """An exception the model's own code raised, told apart from the explainer's."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error

    def __reduce__(self) -> tuple[type[_ModelRaised], tuple[Exception]]:
        return _ModelRaised, (self.error,)  # crosses process boundaries (InstanceCount > 1) whole


def _raising_as_model(predictor: Predictor) -> Predictor:
    """`predictor`, its ValueError and TypeError wrapped as _ModelRaised (ModelError passes as it is)."""

    def predict(rows: np.ndarray) -> np.ndarray:
        try:
            return predictor(rows)
        except (ValueError, TypeError) as error:
            raise _ModelRaised(error) from error

    return predict


def _model_here(task: Task) -> ModelSpec:
    """The task's model where this process runs: its unpacked folder, or, on a machine without it (a Dask
    worker elsewhere), its archive from the object store unpacked anew."""
    spec = task.model
    if spec.model_dir.is_dir() or spec.archive is None:
        return spec
    cache = Path(tempfile.gettempdir()) / "clarimon-models"
    try:
        data = open_objects(Path(task.home), task.s3_endpoint_url).read(spec.archive)
        return dataclasses.replace(spec, model_dir=unpack(data, cache, spec.archive), cache=cache)
    except (ObjectError, ArtifactError, OSError) as error:
        raise JobFailed(f"Cannot fetch the model of {task.model_label} ({spec.archive}) where this part runs: "
                        f"{error}") from None


def _timed(predictor: Predictor) -> tuple[Predictor, Callable[[], float]]:
    spent = [0.0]
    lock = threading.Lock()

    def predict(rows: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        try:
            return predictor(rows)
        finally:
            with lock:
                spent[0] += time.perf_counter() - started

    return predict, lambda: spent[0]


def _write(task: Task, objects: Objects, explanation: Explanation, config: AnalysisConfig, live: dict[str, Any],
           violations: list[dict[str, str]], baseline: dict[str, Any] | None) -> None:
    files = outputs.files(explanation, save_local=config.shap.save_local_shap_values,
                          parameters={"job": task.job_name, "rows": len(explanation.local)}, baseline=baseline,
                          violations=violations)
    if violations:
        files["constraint_violations.json"] = orjson.dumps({"version": "1.0", "violations": violations},
                                                           option=orjson.OPT_INDENT_2)
    if task.publish_metrics and task.environment.get("publish_cloudwatch_metrics", "Enabled") != "Disabled":
        files["cloudwatch_metrics.jsonl"] = _metrics(task, live)
    try:
        for name, content in files.items():
            objects.write(_join(task.output_uri, name), content)
    except ObjectError as error:
        raise JobFailed(f"Cannot write the outputs (MonitoringOutputs): {error}") from None


def _metrics(task: Task, live: dict[str, Any]) -> bytes:
    """The metrics Clarify publishes to CloudWatch, one JSON object per line as a monitoring container writes
    them for the service to publish (clarimon publishes nowhere; they are kept with the outputs)."""
    stamp = time.time()
    lines = []
    for label, values in live["explanations"]["kernel_shap"].items():
        base = [{"Name": k, "Value": v} for k, v in task.dimensions.items()]
        base += [{"Name": "ExplainabilityMethod", "Value": "KernelShap"}, {"Name": "Label", "Value": label}]
        for feature, value in values["global_shap_values"].items():
            lines.append({"MetricName": f"feature_{feature}", "Timestamp": stamp, "Value": value,
                          "Dimensions": [*base, {"Name": "ValueType", "Value": "GlobalShapValues"}]})
        lines.append({"MetricName": "ExpectedValue", "Timestamp": stamp, "Value": values["expected_value"],
                      "Dimensions": [*base, {"Name": "ValueType", "Value": "ExpectedValue"}]})
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)




def _join(uri: str, name: str) -> str:
    return f"{uri.rstrip('/')}/{name}"
