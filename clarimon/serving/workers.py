"""Models served in worker processes, so that a crashing or slow model cannot hurt the API process.

A worker loads one model (its runtime, from the unpacked artifact) and answers requests over a pipe; the
parent keeps a client per worker and sends one request at a time to each, waits for the answer no longer than
the invocation timeout, and replaces a worker that hung or died.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from clarimon.clock import for_settings
from clarimon.serving import codecs, log_files
from clarimon.serving.lifeline import PROCESSES, die_with_parent

log = logging.getLogger("clarimon.workers")

START_SECONDS = 120
RESTART_SECONDS = 5.0  # at least this long between two starts of one worker
ANSWER_LIMIT = 6 * 1024 * 1024  # InvokeEndpoint's response payload limit, as SageMaker's


class WorkerFailed(RuntimeError):
    """The worker could not load its model, or died; the message says why."""


class ModelFailed(RuntimeError):
    """The model answered a request with an error (the runtime's ModelError); the message is the model's."""


class BadRequest(ValueError):
    """A request the model's runtime refuses (an unsupported content or accept type)."""


class WorkerTimedOut(RuntimeError):
    """The model did not answer within the invocation timeout; its worker was killed (and is being replaced)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the model did not answer within {seconds:g} s")
        self.seconds = seconds


class AnswerTooLarge(RuntimeError):
    """The model's answer is larger than InvokeEndpoint may return."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the model's answer of {size} bytes is larger than {ANSWER_LIMIT} bytes (6 MB)")
        self.size = size


@dataclass(frozen=True)
class ModelSpec:
    """What a worker serves: the image (matched to a runtime), the unpacked artifact, the container's env."""

    image: str
    model_dir: Path
    environment: dict[str, str]
    cache: Path
    source: bytes | None = None  # an s3:// SAGEMAKER_SUBMIT_DIRECTORY, fetched by the parent
    archive: str | None = None  # the ModelDataUrl `model_dir` was unpacked from (for processes elsewhere)
    log_file: Path | None = None  # an endpoint worker's log stream (`log_files`): its output and what it did
    clock_file: Path | None = None  # the server's clock file, if any: the log's timestamps are its time


def _serve(connection: Connection, spec: ModelSpec) -> None:
    from clarimon.serving import runtimes

    die_with_parent()  # a killed server must not leave a worker busy in a request behind
    note = _log(spec)

    def fetch(uri: str) -> bytes:
        if spec.source is None:
            raise runtimes.LoadError(f"{uri}: the source was not fetched")
        return spec.source

    note(f"Loading the model: image {spec.image}, model data {spec.archive or spec.model_dir}")
    try:
        handler = runtimes.load(spec.image, spec.model_dir, spec.environment, fetch, spec.cache)
    except (runtimes.UnsupportedImage, runtimes.LoadError) as error:
        note(f"The model failed to load: {error}")
        connection.send(("failed", str(error)))
        return
    except Exception as error:  # anything else that stops the model loading is the endpoint's FailureReason
        note(f"The model failed to load: {type(error).__name__}: {error}")
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return
    note("The model is loaded; serving requests.")
    connection.send(("ready", None))
    while True:
        try:
            body, content_type, accept = connection.recv()
        except EOFError:
            return
        try:
            answer, answer_type = handler(body, content_type, accept)
        except codecs.UnsupportedFormat as error:
            connection.send(("bad-request", str(error)))
            continue
        except runtimes.InferenceError as error:
            note(f"The model answered a request with an error: {error}")
            connection.send(("model-error", str(error)))
            continue
        if len(answer) > ANSWER_LIMIT:  # checked here, so that an oversized answer never reaches the server
            connection.send(("too-large", len(answer)))
        else:
            connection.send(("ok", (answer, answer_type)))


def _log(spec: ModelSpec) -> Callable[[str], None]:
    """Where a worker writes what it does: its log stream, which also gets the model code's prints and
    tracebacks (as a container's stdout and stderr go to CloudWatch); nowhere when it has none."""
    if spec.log_file is None:
        return lambda message: None
    writer = log_files.LogWriter(spec.log_file, for_settings(spec.clock_file))
    log_files.capture_output(writer)
    return writer


def _start(spec: ModelSpec) -> tuple[Any, Connection]:
    """A worker process serving `spec` once its model is loaded, and the pipe to it; WorkerFailed if it cannot."""
    context = multiprocessing.get_context("spawn")  # the server has threads: never fork it
    connection, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, spec), daemon=True, name="clarimon-model")
    process.start()
    PROCESSES.add(process.pid)
    child.close()
    try:
        if not connection.poll(START_SECONDS):
            raise WorkerFailed(f"the model did not load within {START_SECONDS} s")
        try:
            status, detail = connection.recv()
        except EOFError:
            raise WorkerFailed("the model's worker exited while loading") from None
        if status != "ready":
            raise WorkerFailed(str(detail))
    except BaseException:
        _end(process, connection)
        raise
    return process, connection


def _end(process: Any, connection: Connection) -> None:
    connection.close()
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    PROCESSES.remove(process.pid)


class Worker:
    """One worker process and the pipe to it, one request at a time.

    A request the model does not answer within its timeout kills the process (WorkerTimedOut); a process that
    died or was killed is replaced in the background (requests meanwhile get WorkerFailed), at most once per
    RESTART_SECONDS, so a model that keeps crashing does not keep a core busy loading it."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._request = threading.Lock()  # held for one request's round trip
        self._state = threading.Lock()  # guards the process and pipe pair and the replacement flags
        self._replacing = False
        self._stopped = False
        self._last_start = time.monotonic()
        self._process, self._connection = _start(spec)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None,
               timeout: float | None = None) -> tuple[bytes, str]:
        """The model's answer; ModelFailed, BadRequest, AnswerTooLarge, WorkerTimedOut or WorkerFailed."""
        with self._request:
            with self._state:
                process, connection = self._process, self._connection
            if not process.is_alive():
                self.replace()
                raise WorkerFailed("the model's worker process died; a new one is starting")
            try:
                connection.send((body, content_type, accept))
                if timeout is not None and not connection.poll(timeout):
                    process.kill()
                    self.replace()
                    raise WorkerTimedOut(timeout)
                status, detail = connection.recv()
            except (EOFError, OSError):
                self.replace()
                raise WorkerFailed("the model's worker process died; a new one is starting") from None
        if status == "ok":
            answer: tuple[bytes, str] = detail
            return answer
        if status == "bad-request":
            raise BadRequest(str(detail))
        if status == "too-large":
            raise AnswerTooLarge(int(detail))
        raise ModelFailed(str(detail))

    def replace(self) -> None:
        """Start a new process in the background unless one is starting (or the worker was stopped)."""
        with self._state:
            if self._replacing or self._stopped:
                return
            self._replacing = True
        threading.Thread(target=self._replace, daemon=True, name="clarimon-worker-restart").start()

    def _replace(self) -> None:
        try:
            time.sleep(max(0.0, self._last_start + RESTART_SECONDS - time.monotonic()))
            if self._stopped:  # stopped while waiting: nothing to replace
                return
            self._last_start = time.monotonic()
            process, connection = _start(self.spec)
        except WorkerFailed as error:  # the next request tries again
            log.warning("model worker could not be restarted image=%s reason=%s", self.spec.image, error)
            with self._state:
                self._replacing = False
            return
        with self._state:
            old = (self._process, self._connection)
            if self._stopped:
                old = (process, connection)
            else:
                self._process, self._connection = process, connection
            self._replacing = False
        _end(*old)
        log.info("model worker replaced image=%s pid=%s", self.spec.image, process.pid)

    @property
    def alive(self) -> bool:
        """Whether the worker process runs."""
        with self._state:
            return bool(self._process.is_alive())

    @property
    def busy(self) -> bool:
        """Whether a request is being answered (or waits for its answer)."""
        return self._request.locked()

    @property
    def pid(self) -> int | None:
        """The worker process's pid."""
        with self._state:
            pid: int | None = self._process.pid
            return pid

    def stop(self) -> None:
        """End the worker process (killed if it does not end within 5 s); it is not replaced."""
        with self._state:
            self._stopped = True
            process, connection = self._process, self._connection
        _end(process, connection)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
