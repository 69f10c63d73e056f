"""Models served in worker processes, so that a crashing or slow model cannot hurt the API process.

A worker loads one model (its runtime, from the unpacked artifact) and answers requests over a pipe; the
parent keeps a client per worker and sends one request at a time to each, waits for the answer no longer than
the invocation timeout, and replaces a worker that hung or died: a watch notices a death at once, not when the
next request comes.

A worker process is forked from its runtime's warm parent (`zygotes`): the runtime's libraries are imported once
and shared, and the process starts in a box (`boxes`: scrubbed environment, memory limit, another user).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from clarimon.clock import for_settings
from clarimon.serving import boxes, codecs, log_files
from clarimon.serving.lifeline import PROCESSES
from clarimon.serving.zygotes import Child, ZygoteFailed, Zygotes

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


def serve(connection: Connection) -> None:
    """A worker process (forked by its runtime's zygote): receive the ModelSpec, load the model, answer."""
    spec: ModelSpec = connection.recv()
    os.environ.update(spec.environment)  # the model's Environment, as SageMaker sets it in the container
    _serve(connection, spec)


def _serve(connection: Connection, spec: ModelSpec) -> None:
    from clarimon.serving import runtimes

    note = _log(spec)

    def fetch(uri: str) -> bytes:
        if spec.source is None:
            raise runtimes.LoadError(f"{uri}: the source was not fetched")
        return spec.source

    note(f"Loading the model: image {spec.image}, model data {spec.archive or spec.model_dir}")
    try:
        handler = runtimes.load(spec.image, spec.model_dir, spec.environment, fetch, spec.cache)
    except (runtimes.UnsupportedImage, runtimes.LoadError) as error:
        reason = str(error)
        if isinstance(error.__cause__, MemoryError):  # the user's loading code: "model_fn failed: MemoryError: "
            reason = f"{reason.rstrip(': ')}: {boxes.out_of_memory()}"
        note(f"The model failed to load: {reason}")
        connection.send(("failed", reason))
        return
    except MemoryError:
        note(f"The model failed to load: MemoryError: {boxes.out_of_memory()}")
        connection.send(("failed", f"MemoryError: {boxes.out_of_memory()}"))
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
            if isinstance(error.__cause__, MemoryError):  # its heap may be in any state: this worker ends
                note(f"The model ran out of memory answering a request: {boxes.out_of_memory()}")
                connection.send(("model-error", f"MemoryError: {boxes.out_of_memory()}; its worker is replaced"))
                return
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
    try:  # the server made the stream the worker's own (--worker-user); else its output goes nowhere
        writer = log_files.LogWriter(spec.log_file, for_settings(spec.clock_file))
    except OSError:
        return lambda message: None
    log_files.capture_output(writer)
    return writer


def _start(spec: ModelSpec, zygotes: Zygotes) -> Child:
    """A worker process serving `spec` once its model is loaded; WorkerFailed if it cannot be."""
    from clarimon.serving.runtimes import libraries

    try:
        child = zygotes.fork(("clarimon.serving.workers", "clarimon.serving.runtimes", *libraries(spec.image)),
                             "clarimon.serving.workers:serve")
    except (ZygoteFailed, boxes.BoxError, OSError) as error:
        raise WorkerFailed(f"the model's worker could not be started: {error}") from None
    try:
        child.connection.send(spec)
        if not child.connection.poll(START_SECONDS):
            raise WorkerFailed(f"the model did not load within {START_SECONDS} s")
        try:
            status, detail = child.connection.recv()
        except EOFError:
            raise WorkerFailed("the model's worker exited while loading" + (
                f" (its memory limit is {zygotes.box.memory_mb} MB beyond its runtime, --worker-memory-mb)"
                if zygotes.box.memory_mb else "")) from None
        if status != "ready":
            raise WorkerFailed(str(detail))
    except BaseException:
        _end(child)
        raise
    return child


def _end(child: Child) -> None:
    child.connection.close()
    if not child.join(timeout=5):
        child.kill()
        child.join(timeout=5)
    PROCESSES.remove(child.pid)
    child.close()


class _Watch:
    """One thread that sees a worker's process die the moment it does, and has the worker replace it."""

    def __init__(self) -> None:
        self._watched: dict[int, tuple[Child, Worker]] = {}  # by the child's sentinel
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        self._thread: threading.Thread | None = None

    def add(self, child: Child, worker: Worker) -> None:
        """Watch `child`, the process of `worker`."""
        with self._lock:
            self._watched[child.sentinel] = (child, worker)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="clarimon-worker-watch")
                self._thread.start()
        os.write(self._wake_write, b"w")

    def discard(self, child: Child) -> None:
        """Stop watching `child` (its worker ends it)."""
        with self._lock:
            if self._watched.get(child.sentinel, (None,))[0] is child:
                del self._watched[child.sentinel]

    def _run(self) -> None:
        while True:
            with self._lock:
                sentinels = list(self._watched)
            for ready in wait([self._wake_read, *sentinels], timeout=1.0):
                if ready == self._wake_read:
                    os.read(self._wake_read, 4096)
                    continue
                with self._lock:
                    watched = self._watched.get(ready) if isinstance(ready, int) else None
                    if watched is None or watched[0].is_alive():
                        continue
                    child, worker = self._watched.pop(watched[0].sentinel)
                try:
                    worker.died(child)
                except Exception:  # the watch serves every worker: one failure must not end it
                    log.exception("replacing a dead model worker failed image=%s", worker.spec.image)


_WATCH = _Watch()


class Worker:
    """One worker process and the pipe to it, one request at a time.

    A request the model does not answer within its timeout kills the process (WorkerTimedOut); a process that
    died or was killed is replaced in the background at once (requests meanwhile get WorkerFailed), at most once
    per RESTART_SECONDS, so a model that keeps crashing does not keep a core busy loading it. `zygotes`: where
    its processes are forked from, in what box."""

    def __init__(self, spec: ModelSpec, zygotes: Zygotes) -> None:
        self.spec = spec
        self.zygotes = zygotes
        self._request = threading.Lock()  # held for one request's round trip
        self._state = threading.Lock()  # guards the process and the replacement flags
        self._replacing = False
        self._stopped = False
        self._last_start = time.monotonic()
        self._child = _start(spec, self.zygotes)
        _WATCH.add(self._child, self)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None,
               timeout: float | None = None) -> tuple[bytes, str]:
        """The model's answer; ModelFailed, BadRequest, AnswerTooLarge, WorkerTimedOut or WorkerFailed."""
        with self._request:
            with self._state:
                child = self._child
            if not child.is_alive():
                self.replace()
                raise WorkerFailed("the model's worker process died; a new one is starting")
            try:
                child.connection.send((body, content_type, accept))
                if timeout is not None and not child.connection.poll(timeout):
                    child.kill()
                    self.replace()
                    raise WorkerTimedOut(timeout)
                status, detail = child.connection.recv()
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

    def died(self, child: Child) -> None:
        """The watch saw `child` end: replace it, unless it is no longer this worker's process."""
        with self._state:
            current = child is self._child
        if current:
            log.warning("model worker died image=%s pid=%s", self.spec.image, child.pid)
            self.replace()

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
            child = _start(self.spec, self.zygotes)
        except WorkerFailed as error:  # the next request tries again
            log.warning("model worker could not be restarted image=%s reason=%s", self.spec.image, error)
            with self._state:
                self._replacing = False
            return
        with self._state:
            old = self._child
            if self._stopped:
                old = child
            else:
                self._child = child
                _WATCH.add(child, self)
            self._replacing = False
        _WATCH.discard(old)
        _end(old)
        log.info("model worker replaced image=%s pid=%s", self.spec.image, child.pid)

    @property
    def alive(self) -> bool:
        """Whether the worker process runs."""
        with self._state:
            return self._child.is_alive()

    @property
    def busy(self) -> bool:
        """Whether a request is being answered (or waits for its answer)."""
        return self._request.locked()

    @property
    def pid(self) -> int | None:
        """The worker process's pid."""
        with self._state:
            return self._child.pid

    def stop(self) -> None:
        """End the worker process (killed if it does not end within 5 s); it is not replaced."""
        with self._state:
            self._stopped = True
            child = self._child
        _WATCH.discard(child)
        _end(child)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
