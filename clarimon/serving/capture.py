"""Data capture: what an endpoint was asked and answered, as SageMaker writes it for Model Monitor.

One JSON object per line under `<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/`. Records are
queued on the request path and written by one thread in batches, each batch a new file that appears whole;
`close()` writes what is queued, so nothing acknowledged is lost on a clean stop.
"""

from __future__ import annotations

import base64
import datetime
import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from clarimon.objects import Objects
from clarimon.serving.codecs import base_type

log = logging.getLogger("clarimon.capture")

_TICK: tuple[str, dict[str, Any]] = ("", {})


@dataclass(frozen=True)
class Exchange:
    """One request and answer of an endpoint's variant."""

    endpoint: str
    variant: str
    request: bytes
    request_type: str
    response: bytes
    response_type: str
    inference_id: str | None
    time: float


def record(config: dict[str, Any], exchange: Exchange, event_id: str) -> dict[str, Any]:
    """The capture record of `exchange` under a DataCaptureConfig `config`."""
    modes = {option["CaptureMode"] for option in config.get("CaptureOptions", [])}
    header = config.get("CaptureContentTypeHeader") or {}
    data: dict[str, Any] = {}
    if modes & {"Input", "InputAndOutput"}:
        data["endpointInput"] = _payload(exchange.request, exchange.request_type, "INPUT", header)
    if modes & {"Output", "InputAndOutput"}:
        data["endpointOutput"] = _payload(exchange.response, exchange.response_type, "OUTPUT", header)
    moment = datetime.datetime.fromtimestamp(exchange.time, datetime.UTC)
    metadata = {"eventId": event_id, "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if exchange.inference_id:
        metadata["inferenceId"] = exchange.inference_id
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def _payload(body: bytes, content_type: str, mode: str, header: dict[str, Any]) -> dict[str, str]:
    kind = base_type(content_type, "application/octet-stream")
    # Without CaptureContentTypeHeader SageMaker base64-encodes everything; listed types are kept as text.
    if kind in {base_type(t) for t in header.get("CsvContentTypes", [])}:
        encoding, data = "CSV", body.decode("utf-8", errors="replace")
    elif kind in {base_type(t) for t in header.get("JsonContentTypes", [])}:
        encoding, data = "JSON", body.decode("utf-8", errors="replace")
    else:
        encoding, data = "BASE64", base64.b64encode(body).decode()
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def prefix(destination: str, exchange: Exchange) -> str:
    moment = datetime.datetime.fromtimestamp(exchange.time, datetime.UTC)
    return f"{destination.rstrip('/')}/{exchange.endpoint}/{exchange.variant}/{moment:%Y/%m/%d/%H}"


class CaptureWriter:
    """Queues capture records and writes them in batches, one file per destination folder and flush."""

    def __init__(self, objects: Objects, flush_seconds: float = 2.0,
                 sample: Callable[[float], bool] | None = None) -> None:
        import random

        self.objects = objects
        self.flush_seconds = flush_seconds
        self._random = random.Random()
        self._sample = sample or (lambda percentage: self._random.random() * 100 < percentage)
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True, name="clarimon-capture")
        self._thread.start()

    def offer(self, config: dict[str, Any] | None, exchange: Exchange) -> bool:
        """Queue `exchange` if the config captures and samples it; True when queued."""
        if not config or not config.get("EnableCapture", False):
            return False
        if not self._sample(float(config["InitialSamplingPercentage"])):
            return False
        self._queue.put((prefix(config["DestinationS3Uri"], exchange), record(config, exchange, str(uuid.uuid4()))))
        return True

    def close(self) -> None:
        """Write everything queued, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        deadline = time.monotonic() + self.flush_seconds
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                item = _TICK  # nothing new: maybe time to flush
            if item is None:  # close(): write what is left and stop
                self._flush(pending)
                return
            folder, entry = item
            if folder:
                pending[folder].append(entry)
            if time.monotonic() >= deadline:
                self._flush(pending)
                deadline = time.monotonic() + self.flush_seconds

    def _flush(self, pending: dict[str, list[dict[str, Any]]]) -> None:
        for folder, entries in pending.items():
            self._write(folder, entries)
        pending.clear()

    def _write(self, folder: str, entries: list[dict[str, Any]]) -> None:
        now = datetime.datetime.now(datetime.UTC)
        name = f"{folder}/{now:%M-%S-%f}-{uuid.uuid4().hex[:8]}.jsonl"
        body = b"".join(orjson.dumps(entry) + b"\n" for entry in entries)
        try:
            self.objects.write(name, body)
        except Exception:  # the store failing must not stop capture of later batches; the log says what was lost
            log.exception("capture write failed file=%s records=%d", name, len(entries))
