"""Data capture: what an endpoint was asked and answered, as SageMaker writes it for Model Monitor.

One JSON object per line under `<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/`. A record is
journalled before its request is answered (`clarimon.serving.journal`), in a segment per destination folder;
one thread seals the segments every flush interval and moves each into its folder as a file that appears whole
(renamed, not copied, on a local object store), so nothing answered is lost on a stop or a `kill -9`.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from clarimon.objects import Objects
from clarimon.serving.codecs import base_type
from clarimon.serving.journal import Journal, stamp
from clarimon.timestamps import iso, utc

log = logging.getLogger("clarimon.capture")

WRITE_ATTEMPTS = 3


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
    metadata = {"eventId": event_id, "inferenceTime": _second(int(exchange.time // 1))}
    if exchange.inference_id:
        metadata["inferenceId"] = exchange.inference_id
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def _payload(body: bytes, content_type: str, mode: str, header: dict[str, Any]) -> dict[str, str]:
    kind = base_type(content_type, "application/octet-stream")
    # Without CaptureContentTypeHeader SageMaker base64-encodes everything; listed types are kept as text.
    if kind in _types(tuple(header.get("CsvContentTypes", ()))):
        encoding, data = "CSV", body.decode("utf-8", errors="replace")
    elif kind in _types(tuple(header.get("JsonContentTypes", ()))):
        encoding, data = "JSON", body.decode("utf-8", errors="replace")
    else:
        encoding, data = "BASE64", base64.b64encode(body).decode()
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def prefix(destination: str, exchange: Exchange) -> str:
    """The capture folder of an exchange: `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh`."""
    return f"{destination.rstrip('/')}/{exchange.endpoint}/{exchange.variant}/{_hour(int(exchange.time // 3600))}"


# Formatting a time costs more than the rest of a small record: each second's and each hour's text is made once.
@functools.lru_cache(maxsize=8)
def _second(second: int) -> str:
    return iso(utc(second))


@functools.lru_cache(maxsize=8)
def _hour(hour: int) -> str:
    return f"{utc(hour * 3600):%Y/%m/%d/%H}"


@functools.lru_cache(maxsize=256)
def _types(types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(base_type(t) for t in types)


class CaptureWriter:
    """Journals capture records on the request path and writes them out in batches.

    `offer` builds the record and appends it to the journal segment of its destination folder before the request
    is answered (one write call, no flush to disk), so a server killed at any moment keeps every answered record.
    A thread wakes every `flush_seconds`, seals the segments and moves each into its folder as one file, named
    after the segment (so that a segment written out again after a crash replaces rather than repeats it).
    At start it first writes out what a stopped predecessor left in the journal. A record that cannot be
    built or written is logged and counted in `dropped`, and never stops the others."""

    def __init__(self, objects: Objects, journal: Path, flush_seconds: float = 2.0,
                 sample: Callable[[float], bool] | None = None) -> None:
        import random

        self.objects = objects
        self.flush_seconds = flush_seconds
        self.dropped = 0
        self._random = random.Random()
        self._sample = sample or (lambda percentage: self._random.random() * 100 < percentage)
        self._journal = Journal(journal)
        self._count_lock = threading.Lock()
        self._closing = threading.Event()
        self._flush_safely()  # what a stopped predecessor journalled, before anything new
        self._thread = threading.Thread(target=self._run, daemon=True, name="clarimon-capture")
        self._thread.start()

    def offer(self, config: dict[str, Any] | None, exchange: Exchange) -> bool:
        """Journal `exchange` if the config captures and samples it; True when kept."""
        try:
            if not config or not config.get("EnableCapture", False):
                return False
            if not self._sample(float(config["InitialSamplingPercentage"])):
                return False
            folder = prefix(config["DestinationS3Uri"], exchange)
            line = orjson.dumps(record(config, exchange, str(uuid.uuid4())), option=orjson.OPT_APPEND_NEWLINE)
            self._journal.append(folder, line)
        except Exception:  # one endpoint's configuration (or a full disk) must not fail its request or others
            log.exception("capture record dropped endpoint=%s variant=%s", exchange.endpoint, exchange.variant)
            self._drop(1)
            return False
        return True

    def close(self) -> None:
        """Write everything journalled, then stop."""
        self._closing.set()
        self._thread.join()
        self._journal.close()

    def _drop(self, count: int) -> None:
        with self._count_lock:
            self.dropped += count

    def _run(self) -> None:
        while not self._closing.wait(self.flush_seconds):
            self._flush_safely()
        self._flush_safely()

    def _flush_safely(self) -> None:
        try:
            self._flush()
        except Exception:  # e.g. the journal's folder unreadable for a moment: its segments stay for the next flush
            log.exception("capture flush failed")

    def _flush(self) -> None:
        for segment in self._journal.seal():
            folder = self._journal.stream(segment)
            if folder is not None:
                self._move_out(segment, folder)
            else:  # a journal of an older clarimon: every segment at the top, each line naming its folder
                self._write_segment(segment)

    def _move_out(self, segment: Path, folder: str) -> None:
        """Write one folder's segment out as its capture file (a torn last line, left by a machine crash, cut)."""
        unreadable = _cut_torn_line(segment)
        if unreadable:
            log.warning("capture journal lines unreadable segment=%s lines=%d", segment.name, unreadable)
            self._drop(unreadable)
        uri = f"{folder}/{stamp(segment)}.jsonl"
        self._stored(uri, lambda: self.objects.move_in(uri, segment), lambda: _lines(segment))
        self._journal.release(segment)

    def _write_segment(self, segment: Path) -> None:
        # Lines are found by offset and written out as slices of the segment (one copy, in the final join): a
        # segment may hold hundreds of megabytes, and copies hold the interpreter lock that requests need.
        data = segment.read_bytes()
        view = memoryview(data)
        folders: dict[str, list[memoryview]] = defaultdict(list)
        unreadable, position = 0, 0
        while position < len(data):
            end = data.find(b"\n", position)
            if end == -1:  # no newline: the last line, cut by a machine crash
                unreadable += 1
                break
            tab = data.find(b"\t", position, end)
            try:
                if tab == -1:
                    raise ValueError("no tab")
                folders[str(orjson.loads(view[position:tab]))].append(view[tab + 1 : end + 1])
            except (orjson.JSONDecodeError, ValueError):
                unreadable += 1
            position = end + 1
        if unreadable:
            log.warning("capture journal lines unreadable segment=%s lines=%d", segment.name, unreadable)
            self._drop(unreadable)
        name = stamp(segment)
        for folder, entries in folders.items():
            self._write(f"{folder}/{name}.jsonl", entries)
        self._journal.release(segment)

    def _write(self, uri: str, entries: list[memoryview]) -> None:
        body = b"".join(entries)
        self._stored(uri, lambda: self.objects.write(uri, body), lambda: len(entries))

    def _stored(self, uri: str, store: Callable[[], None], records: Callable[[], int]) -> None:
        """`store` (which writes `uri`) tried WRITE_ATTEMPTS times; when it keeps failing, its `records` are
        counted as dropped and logged (counted only then: a moved segment is gone after a success)."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                store()
                return
            except Exception:  # the store failing must not stop capture of other folders; the log says what was lost
                if attempt + 1 < WRITE_ATTEMPTS and not self._closing.is_set():
                    time.sleep(0.5 * (attempt + 1))
                    continue
                lost = records()
                log.exception("capture write failed file=%s records=%d", uri, lost)
                self._drop(lost)
                return


def _cut_torn_line(segment: Path) -> int:
    """Cut a last line without its newline off the segment (only a machine crash leaves one); 1 if cut."""
    with open(segment, "rb+") as file:
        size = file.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        file.seek(size - 1)
        if file.read(1) == b"\n":
            return 0
        data = (file.seek(0), file.read())[1]
        file.truncate(data.rfind(b"\n") + 1)
        return 1


def _lines(segment: Path) -> int:
    try:
        return segment.read_bytes().count(b"\n")
    except OSError:
        return 0
