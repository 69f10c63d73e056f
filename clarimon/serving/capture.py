"""Data capture: what an endpoint was asked and answered, as SageMaker writes it for Model Monitor.

One JSON object per line under `<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/`. The request
path only keeps the exchange; one thread builds and writes the records in batches, each batch a new file that
appears whole; `close()` writes what is kept, so nothing acknowledged is lost on a clean stop.
"""

from __future__ import annotations

import base64
import datetime
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from clarimon.objects import Objects
from clarimon.serving.codecs import base_type
from clarimon.timestamps import iso, utc

log = logging.getLogger("clarimon.capture")



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
    metadata = {"eventId": event_id, "inferenceTime": iso(utc(exchange.time))}
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
    """The capture folder of an exchange: `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh`."""
    return f"{destination.rstrip('/')}/{exchange.endpoint}/{exchange.variant}/{utc(exchange.time):%Y/%m/%d/%H}"


class CaptureWriter:
    """Collects capture exchanges and writes them in batches, one file per destination folder and flush.

    The request path only appends to a list under a lock (no thread is woken per request); the writer thread
    wakes every `flush_seconds`, takes the whole list, and builds and writes the records."""

    def __init__(self, objects: Objects, flush_seconds: float = 2.0,
                 sample: Callable[[float], bool] | None = None) -> None:
        import random

        self.objects = objects
        self.flush_seconds = flush_seconds
        self._random = random.Random()
        self._sample = sample or (lambda percentage: self._random.random() * 100 < percentage)
        self._pending: list[tuple[dict[str, Any], Exchange]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="clarimon-capture")
        self._thread.start()

    def offer(self, config: dict[str, Any] | None, exchange: Exchange) -> bool:
        """Keep `exchange` if the config captures and samples it; True when kept."""
        if not config or not config.get("EnableCapture", False):
            return False
        if not self._sample(float(config["InitialSamplingPercentage"])):
            return False
        with self._lock:
            self._pending.append((config, exchange))
        return True

    def close(self) -> None:
        """Write everything kept, then stop."""
        self._closing.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._closing.wait(self.flush_seconds):
            self._flush()
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        folders: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for config, exchange in batch:
            folders[prefix(config["DestinationS3Uri"], exchange)].append(record(config, exchange, str(uuid.uuid4())))
        for folder, entries in folders.items():
            self._write(folder, entries)

    def _write(self, folder: str, entries: list[dict[str, Any]]) -> None:
        now = datetime.datetime.now(datetime.UTC)
        name = f"{folder}/{now:%M-%S-%f}-{uuid.uuid4().hex[:8]}.jsonl"
        body = b"".join(orjson.dumps(entry) + b"\n" for entry in entries)
        try:
            self.objects.write(name, body)
        except Exception:  # the store failing must not stop capture of later batches; the log says what was lost
            log.exception("capture write failed file=%s records=%d", name, len(entries))
