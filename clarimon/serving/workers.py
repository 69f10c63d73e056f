"""Models served in worker processes, so that a crashing or slow model cannot hurt the API process.

A worker loads one model (its runtime, from the unpacked artifact) and answers requests over a pipe; the
parent keeps a client per worker and sends one request at a time to each.
"""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from clarimon.serving import codecs

START_SECONDS = 120


class WorkerFailed(RuntimeError):
    """The worker could not load its model, or died; the message says why."""


class ModelFailed(RuntimeError):
    """The model answered a request with an error (the runtime's ModelError); the message is the model's."""


class BadRequest(ValueError):
    """A request the model's runtime refuses (an unsupported content or accept type)."""


@dataclass(frozen=True)
class ModelSpec:
    """What a worker serves: the image (matched to a runtime), the unpacked artifact, the container's env."""

    image: str
    model_dir: Path
    environment: dict[str, str]
    cache: Path
    source: bytes | None = None  # an s3:// SAGEMAKER_SUBMIT_DIRECTORY, fetched by the parent
    archive: str | None = None  # the ModelDataUrl `model_dir` was unpacked from (for processes elsewhere)


def _serve(connection: Connection, spec: ModelSpec) -> None:
    from clarimon.serving import runtimes

    def fetch(uri: str) -> bytes:
        if spec.source is None:
            raise runtimes.LoadError(f"{uri}: the source was not fetched")
        return spec.source

    try:
        handler = runtimes.load(spec.image, spec.model_dir, spec.environment, fetch, spec.cache)
    except (runtimes.UnsupportedImage, runtimes.LoadError) as error:
        connection.send(("failed", str(error)))
        return
    except Exception as error:  # anything else that stops the model loading is the endpoint's FailureReason
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return
    connection.send(("ready", None))
    while True:
        try:
            body, content_type, accept = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", handler(body, content_type, accept)))
        except codecs.UnsupportedFormat as error:
            connection.send(("bad-request", str(error)))
        except runtimes.InferenceError as error:
            connection.send(("model-error", str(error)))


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, spec: ModelSpec) -> None:
        context = multiprocessing.get_context("spawn")  # the server has threads: never fork it
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, spec), daemon=True, name="clarimon-model")
        self._lock = threading.Lock()
        self._process.start()
        child.close()
        if not self._connection.poll(START_SECONDS):
            self.stop()
            raise WorkerFailed(f"the model did not load within {START_SECONDS} s")
        try:
            status, detail = self._connection.recv()
        except EOFError:
            self.stop()
            raise WorkerFailed("the model's worker exited while loading") from None
        if status != "ready":
            self.stop()
            raise WorkerFailed(str(detail))

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """Run one request on the model: the answer and its content type; BadRequest, ModelFailed or WorkerFailed."""
        with self._lock:
            try:
                self._connection.send((body, content_type, accept))
                status, detail = self._connection.recv()
            except (EOFError, OSError, BrokenPipeError):
                raise WorkerFailed("the model's worker process died") from None
        if status == "ok":
            answer: tuple[bytes, str] = detail
            return answer
        if status == "bad-request":
            raise BadRequest(str(detail))
        raise ModelFailed(str(detail))

    def stop(self) -> None:
        """End the worker process (killed if it does not end within 5 s)."""
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
