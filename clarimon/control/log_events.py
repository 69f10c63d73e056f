"""CloudWatch Logs, as far as SageMaker's clients read it: DescribeLogStreams, GetLogEvents and FilterLogEvents
over the log groups SageMaker writes, served from the stream files of `clarimon.serving.log_files`.

    /aws/sagemaker/ProcessingJobs          streams <job name>/algo-<n>-<epoch seconds>  (each job's log)
    /aws/sagemaker/Endpoints/<endpoint>    streams <variant>/<instance id>              (each worker's log)

A caller sees only its own account's and region's groups. A group exists once one of its streams does (as in
CloudWatch, where the group appears with the first log line); until then the answer is ResourceNotFoundException,
which the sagemaker SDK expects and waits through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from clarimon.control import pagination
from clarimon.control.context import Context, Request, Response
from clarimon.errors import InvalidParameterException, LogsResourceNotFound, ValidationException
from clarimon.serving import log_files
from clarimon.serving.log_files import Event, Stream

PROCESSING_JOBS = "/aws/sagemaker/ProcessingJobs"
ENDPOINTS = "/aws/sagemaker/Endpoints/"
MAX_RESPONSE_BYTES = 1024 * 1024  # "as many log events as can fit in a response size of 1 MB"
EVENT_OVERHEAD = 26  # bytes CloudWatch counts per event besides its message (its PutLogEvents quota rule)
MAX_EVENTS = 10_000
DEFAULT_STREAMS = 50
_ENDPOINT_NAME = regex.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_GROUP_ARN = regex.compile(r"arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([^:]+)(:\*)?")


@dataclass(frozen=True)
class _Group:
    name: str
    streams: list[Stream]


def _group(ctx: Context, request: Request) -> _Group:
    """The log group a request names (by logGroupName or logGroupIdentifier), with its streams;
    ResourceNotFoundException when the caller has no such group."""
    name, identifier = request.get("logGroupName"), request.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if name is None and identifier is None:
        raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be specified.")
    if identifier is not None:
        found = _GROUP_ARN.fullmatch(identifier)
        if found is None:
            name = identifier
        elif (found.group(1), found.group(2)) == (ctx.region, ctx.account):
            name = found.group(3)
        else:  # another account's or region's group is not this caller's to read
            raise LogsResourceNotFound("The specified log group does not exist.")
    folder = _folder(ctx, str(name))
    streams = log_files.streams(folder) if folder is not None else []
    if not streams:
        raise LogsResourceNotFound("The specified log group does not exist.")
    return _Group(str(name), streams)


def _folder(ctx: Context, group: str) -> Path | None:
    base = log_files.account_folder(ctx.settings.home, ctx.account, ctx.region)
    if group == PROCESSING_JOBS:
        return base / log_files.PROCESSING_JOBS
    endpoint = group[len(ENDPOINTS):] if group.startswith(ENDPOINTS) else ""
    if _ENDPOINT_NAME.fullmatch(endpoint):  # checked before it becomes part of a path
        return base / log_files.ENDPOINTS / endpoint
    return None


def _arn(ctx: Context, group: str, stream: str | None = None) -> str:
    arn = f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{group}"
    return arn + (f":log-stream:{stream}" if stream is not None else "")


def _token(ctx: Context, token: str, scope: dict[str, Any]) -> Any:
    try:
        return pagination.decode(ctx.store.secret(), token, scope)
    except (ValidationException, ValueError, TypeError):
        raise InvalidParameterException("The specified nextToken is invalid.") from None


def describe_log_streams(ctx: Context, request: Request) -> Response:
    """The group's streams, by name (default) or last event time, ascending unless `descending`."""
    group = _group(ctx, request)
    prefix = request.get("logStreamNamePrefix")
    order = request.get("orderBy", "LogStreamName")
    if order == "LastEventTime" and prefix is not None:
        raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
    summaries = [_stream_summary(ctx, group.name, stream) for stream in group.streams
                 if prefix is None or stream.name.startswith(prefix)]
    if order == "LastEventTime":
        summaries.sort(key=lambda s: (s.get("lastEventTimestamp", s["creationTime"]), s["logStreamName"]))
    if request.get("descending", False):
        summaries.reverse()
    scope = {"op": "DescribeLogStreams", "account": ctx.account, "region": ctx.region, "group": group.name,
             "prefix": prefix, "order": order, "descending": bool(request.get("descending", False))}
    start = int(_token(ctx, request["nextToken"], scope)) if "nextToken" in request else 0
    limit = int(request.get("limit", DEFAULT_STREAMS))
    response: Response = {"logStreams": summaries[start:start + limit]}
    if start + limit < len(summaries):
        response["nextToken"] = pagination.encode(ctx.store.secret(), scope, start + limit)
    return response


def _stream_summary(ctx: Context, group: str, stream: Stream) -> dict[str, Any]:
    events = stream.events()
    summary: dict[str, Any] = {"logStreamName": stream.name,
                               "creationTime": events[0].timestamp if events else stream.modified(),
                               "arn": _arn(ctx, group, stream.name), "storedBytes": 0}
    if events:
        summary.update(firstEventTimestamp=events[0].timestamp, lastEventTimestamp=events[-1].timestamp,
                       lastIngestionTime=events[-1].timestamp)
    return summary


def get_log_events(ctx: Context, request: Request) -> Response:
    """One stream's events in [startTime, endTime): from the head, or the latest ones (the default), or from
    where a nextForwardToken / nextBackwardToken left off. A forward token at the end of the stream comes back
    unchanged until new events arrive, so a client can poll with it."""
    group = _group(ctx, request)
    stream = next((s for s in group.streams if s.name == request["logStreamName"]), None)
    if stream is None:
        raise LogsResourceNotFound("The specified log stream does not exist.")
    events = stream.events()
    start, end = request.get("startTime"), request.get("endTime")
    matching = [i for i, e in enumerate(events)
                if (start is None or e.timestamp >= start) and (end is None or e.timestamp < end)]
    limit = int(request.get("limit", MAX_EVENTS))
    scope = {"op": "GetLogEvents", "account": ctx.account, "region": ctx.region, "group": group.name,
             "stream": stream.name}
    if "nextToken" in request:
        direction, position = _direction(_token(ctx, request["nextToken"].partition("/")[2], scope))
    else:
        direction, position = ("f", 0) if request.get("startFromHead", False) else ("b", len(events))
    if direction == "f":
        chosen = _fit([i for i in matching if i >= position], limit, events)
    else:
        chosen = _fit([i for i in reversed(matching) if i < position], limit, events)[::-1]
    forward = chosen[-1] + 1 if chosen else position
    backward = chosen[0] if chosen else position
    secret = ctx.store.secret()
    return {"events": [{"timestamp": events[i].timestamp, "message": events[i].message,
                        "ingestionTime": events[i].timestamp} for i in chosen],
            "nextForwardToken": "f/" + pagination.encode(secret, scope, ["f", forward]),
            "nextBackwardToken": "b/" + pagination.encode(secret, scope, ["b", backward])}


def _direction(position: Any) -> tuple[str, int]:
    if (isinstance(position, list) and len(position) == 2 and position[0] in ("f", "b")
            and isinstance(position[1], int) and position[1] >= 0):
        return position[0], position[1]
    raise InvalidParameterException("The specified nextToken is invalid.")


def _fit(indices: Iterable[int], limit: int, events: list[Event]) -> list[int]:
    """The first of `indices` that fit `limit` events and one response's 1 MB."""
    chosen: list[int] = []
    size = 0
    for i in indices:
        size += len(events[i].message.encode()) + EVENT_OVERHEAD
        if len(chosen) >= limit or (size > MAX_RESPONSE_BYTES and chosen):
            break
        chosen.append(i)
    return chosen


def filter_log_events(ctx: Context, request: Request) -> Response:
    """Events of the group's streams (all, `logStreamNames`, or those named with `logStreamNamePrefix`) in
    [startTime, endTime], matching `filterPattern`, interleaved by time, oldest first unless startFromHead is
    false; nextToken while more remain."""
    group = _group(ctx, request)
    names, prefix = request.get("logStreamNames"), request.get("logStreamNamePrefix")
    if names is not None and prefix is not None:
        raise InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
    searched = [s for s in group.streams
                if (names is None or s.name in names) and (prefix is None or s.name.startswith(prefix))]
    if names is not None and not searched:
        raise LogsResourceNotFound("The specified log stream does not exist.")
    pattern = TermPattern.parse(request.get("filterPattern", ""))
    start, end = request.get("startTime"), request.get("endTime")
    found = [(e.timestamp, s.name, i, e) for s in searched for i, e in enumerate(s.events())
             if (start is None or e.timestamp >= start) and (end is None or e.timestamp <= end)
             and pattern.matches(e.message)]
    head = request.get("startFromHead", True)
    found.sort(key=lambda item: item[:3], reverse=not head)
    scope = {"op": "FilterLogEvents", "account": ctx.account, "region": ctx.region, "group": group.name,
             "names": names, "prefix": prefix, "start": start, "end": end, "pattern": request.get("filterPattern"),
             "head": head}
    if "nextToken" in request:
        after = tuple(_token(ctx, request["nextToken"], scope))
        found = [item for item in found if (item[:3] > after if head else item[:3] < after)]
    chosen = [found[i] for i in _fit(range(len(found)), int(request.get("limit", MAX_EVENTS)),
                                     [item[3] for item in found])]
    response: Response = {
        "events": [{"logStreamName": name, "timestamp": event.timestamp, "message": event.message,
                    "ingestionTime": event.timestamp, "eventId": _event_id(name, index, event)}
                   for _, name, index, event in chosen],
        "searchedLogStreams": [{"logStreamName": s.name, "searchedCompletely": True} for s in searched],
    }
    if len(chosen) < len(found):
        response["nextToken"] = pagination.encode(ctx.store.secret(), scope, list(chosen[-1][:3]))
    return response


def _event_id(stream: str, index: int, event: Event) -> str:
    """A stable id of an event, digits only as CloudWatch's are (56 of them)."""
    digest = hashlib.sha256(f"{stream}\0{index}\0{event.timestamp}".encode()).digest()
    return f"{int.from_bytes(digest, 'big') % 10**56:056d}"


@dataclass(frozen=True)
class TermPattern:
    """A filter pattern of terms, as CloudWatch Logs matches unstructured events: every plain term (or
    "quoted phrase") must appear, no `-term` may, and of the `?term`s at least one must; case-sensitive. An
    empty pattern matches every event."""

    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TermPattern:
        """The pattern `text`; InvalidParameterException for the JSON, space-delimited and regex forms, which
        clarimon does not match."""
        stripped = text.strip()
        if stripped[:1] in ("{", "[") or stripped.startswith("%"):
            raise InvalidParameterException(
                "Invalid filter pattern: clarimon matches terms, \"quoted phrases\", ?either terms and -excluded "
                "terms; JSON, space-delimited and regular-expression patterns are not supported.")
        required, excluded, any_of = [], [], []
        for term in _terms(stripped):
            if term.startswith("?") and len(term) > 1:
                any_of.append(term[1:].strip('"'))
            elif term.startswith("-") and len(term) > 1:
                excluded.append(term[1:].strip('"'))
            else:
                required.append(term.strip('"'))
        return cls(tuple(required), tuple(excluded), tuple(any_of))

    def matches(self, message: str) -> bool:
        """Whether an event's message matches the pattern."""
        return (all(t in message for t in self.required) and not any(t in message for t in self.excluded)
                and (not self.any_of or any(t in message for t in self.any_of)))


def _terms(text: str) -> list[str]:
    """Space-separated terms, a double-quoted phrase (its spaces kept) counting as one."""
    found = regex.findall(r'[?-]?"[^"]*"|\S+', text)
    if text.count('"') % 2:
        raise InvalidParameterException("Invalid filter pattern: a quoted phrase is not closed.")
    return [term for term in found if term.strip('?-"')]
