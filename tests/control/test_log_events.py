"""CloudWatch Logs operations over the stream files: the groups and streams SageMaker names, GetLogEvents' tokens
as the sagemaker SDK polls them, FilterLogEvents across streams, and each account's and region's own logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from clarimon.control import log_events
from clarimon.control.context import Context
from clarimon.errors import InvalidParameterException, LogsResourceNotFound, ServiceError
from clarimon.serving import log_files
from clarimon.serving.log_files import LogWriter

JOBS = log_events.PROCESSING_JOBS


def write(ctx: Context, path_of: Callable[..., Any], *args: Any, lines: list[tuple[float, str]]) -> None:
    writer = LogWriter(path_of(ctx.settings.home, ctx.account, ctx.region, *args), lambda: 0.0)
    for at, message in lines:
        writer(message, at=at)
    writer.close()


def job_log(ctx: Context, job: str, started: float, lines: list[tuple[float, str]]) -> None:
    write(ctx, log_files.job_stream, job, started, lines=lines)


def error_of(operation: Callable[[Context, dict[str, Any]], Any], ctx: Context, **request: Any) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        operation(ctx, request)
    return raised.value


def test_a_group_exists_once_it_has_a_stream(ctx: Context) -> None:
    for group in (JOBS, "/aws/sagemaker/Endpoints/churn", "/aws/lambda/x", "/aws/sagemaker/Endpoints/../../x"):
        error = error_of(log_events.describe_log_streams, ctx, logGroupName=group)
        assert (type(error), error.message) == (LogsResourceNotFound, "The specified log group does not exist.")
        assert error.code == "ResourceNotFoundException"
    job_log(ctx, "baseline", 100.0, [(100.5, "started")])
    [stream] = log_events.describe_log_streams(ctx, {"logGroupName": JOBS})["logStreams"]
    assert stream == {"logStreamName": "baseline/algo-1-100", "creationTime": 100500, "firstEventTimestamp": 100500,
                      "lastEventTimestamp": 100500, "lastIngestionTime": 100500, "storedBytes": 0,
                      "arn": f"arn:aws:logs:us-east-1:000000000000:log-group:{JOBS}:log-stream:baseline/algo-1-100"}


def test_each_account_and_region_reads_only_its_own_logs(ctx: Context) -> None:
    job_log(ctx, "baseline", 100.0, [(100.5, "started")])
    for other in (Context("111122223333", "us-east-1", ctx.services), Context("000000000000", "eu-west-1",
                                                                              ctx.services)):
        assert isinstance(error_of(log_events.describe_log_streams, other, logGroupName=JOBS), LogsResourceNotFound)
        foreign = f"arn:aws:logs:us-east-1:000000000000:log-group:{JOBS}:*"
        assert isinstance(error_of(log_events.describe_log_streams, other, logGroupIdentifier=foreign),
                          LogsResourceNotFound)
    own = f"arn:aws:logs:us-east-1:000000000000:log-group:{JOBS}:*"
    assert len(log_events.describe_log_streams(ctx, {"logGroupIdentifier": own})["logStreams"]) == 1
    both = error_of(log_events.describe_log_streams, ctx, logGroupName=JOBS, logGroupIdentifier=own)
    assert isinstance(both, InvalidParameterException)
    assert isinstance(error_of(log_events.describe_log_streams, ctx), InvalidParameterException)


def test_describe_log_streams_as_the_sdk_asks_and_pages(ctx: Context) -> None:
    job_log(ctx, "job-b", 10.0, [(30.0, "b")])
    job_log(ctx, "job-a", 20.0, [(20.0, "a")])
    job_log(ctx, "job-a2", 25.0, [(40.0, "a2")])
    named = log_events.describe_log_streams(ctx, {"logGroupName": JOBS, "logStreamNamePrefix": "job-a/",
                                                  "orderBy": "LogStreamName", "limit": 1})
    assert [s["logStreamName"] for s in named["logStreams"]] == ["job-a/algo-1-20"] and "nextToken" not in named
    by_time = log_events.describe_log_streams(ctx, {"logGroupName": JOBS, "orderBy": "LastEventTime",
                                                    "descending": True, "limit": 2})
    assert [s["logStreamName"] for s in by_time["logStreams"]] == ["job-a2/algo-1-25", "job-b/algo-1-10"]
    rest = log_events.describe_log_streams(ctx, {"logGroupName": JOBS, "orderBy": "LastEventTime",
                                                 "descending": True, "limit": 2, "nextToken": by_time["nextToken"]})
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["job-a/algo-1-20"] and "nextToken" not in rest
    error = error_of(log_events.describe_log_streams, ctx, logGroupName=JOBS, orderBy="LastEventTime",
                     logStreamNamePrefix="job")
    assert (type(error), error.message) == (InvalidParameterException,
                                            "Cannot order by LastEventTime with a logStreamNamePrefix.")
    forged = error_of(log_events.describe_log_streams, ctx, logGroupName=JOBS, nextToken=by_time["nextToken"] + "x")
    assert (type(forged), forged.message) == (InvalidParameterException, "The specified nextToken is invalid.")


def test_get_log_events_polls_with_the_forward_token(ctx: Context) -> None:
    job_log(ctx, "job", 1.0, [(1.0, "one"), (1.0, "two"), (2.0, "three")])
    request = {"logGroupName": JOBS, "logStreamName": "job/algo-1-1", "startFromHead": True}
    first = log_events.get_log_events(ctx, request)
    assert [(e["timestamp"], e["message"]) for e in first["events"]] == [(1000, "one"), (1000, "two"), (2000, "three")]
    assert first["events"][0]["ingestionTime"] == 1000
    at_end = log_events.get_log_events(ctx, {**request, "nextToken": first["nextForwardToken"]})
    assert at_end["events"] == [] and at_end["nextForwardToken"] == first["nextForwardToken"]
    job_log(ctx, "job", 1.0, [(3.0, "four")])  # the job writes on
    later = log_events.get_log_events(ctx, {**request, "nextToken": at_end["nextForwardToken"]})
    assert [e["message"] for e in later["events"]] == ["four"]
    # The SDK resumes at the last timestamp it saw, from the head: startTime is inclusive, endTime exclusive.
    window = log_events.get_log_events(ctx, {**request, "startTime": 1000, "endTime": 3000})
    assert [e["message"] for e in window["events"]] == ["one", "two", "three"]
    missing = error_of(log_events.get_log_events, ctx, logGroupName=JOBS, logStreamName="job/algo-2-1")
    assert (type(missing), missing.message) == (LogsResourceNotFound, "The specified log stream does not exist.")
    bad = error_of(log_events.get_log_events, ctx, **request, nextToken="f/AAAA")
    assert isinstance(bad, InvalidParameterException)


def test_get_log_events_gives_the_latest_first_and_pages_back(ctx: Context) -> None:
    job_log(ctx, "job", 1.0, [(float(i), f"event {i}") for i in range(1, 6)])
    request = {"logGroupName": JOBS, "logStreamName": "job/algo-1-1", "limit": 2}
    latest = log_events.get_log_events(ctx, request)
    assert [e["message"] for e in latest["events"]] == ["event 4", "event 5"]
    older = log_events.get_log_events(ctx, {**request, "nextToken": latest["nextBackwardToken"]})
    assert [e["message"] for e in older["events"]] == ["event 2", "event 3"]
    oldest = log_events.get_log_events(ctx, {**request, "nextToken": older["nextBackwardToken"]})
    assert [e["message"] for e in oldest["events"]] == ["event 1"]
    onward = log_events.get_log_events(ctx, {**request, "nextToken": oldest["nextForwardToken"]})
    assert [e["message"] for e in onward["events"]] == ["event 2", "event 3"]
    other = log_events.get_log_events(ctx, {**request, "logStreamName": "job/algo-1-1"})["nextForwardToken"]
    job_log(ctx, "job2", 1.0, [(1.0, "x")])
    foreign = error_of(log_events.get_log_events, ctx, logGroupName=JOBS, logStreamName="job2/algo-1-1",
                       nextToken=other)
    assert isinstance(foreign, InvalidParameterException)  # a token of another stream


def test_filter_log_events_interleaves_streams_matches_terms_and_pages(ctx: Context) -> None:
    group = "/aws/sagemaker/Endpoints/churn"
    write(ctx, log_files.endpoint_stream, "churn", "AllTraffic", "i-1",
          lines=[(1.0, "Loading the model"), (3.0, "ERROR model failed: bad row"), (5.0, "served 3 rows")])
    write(ctx, log_files.endpoint_stream, "churn", "AllTraffic", "i-2",
          lines=[(2.0, "Loading the model"), (4.0, "WARN slow")])
    write(ctx, log_files.endpoint_stream, "churn", "Shadow", "i-3", lines=[(1.5, "shadow")])
    request: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": "AllTraffic/"}
    found = log_events.filter_log_events(ctx, request)
    assert [(e["logStreamName"], e["timestamp"]) for e in found["events"]] == [
        ("AllTraffic/i-1", 1000), ("AllTraffic/i-2", 2000), ("AllTraffic/i-1", 3000), ("AllTraffic/i-2", 4000),
        ("AllTraffic/i-1", 5000)]
    assert len({e["eventId"] for e in found["events"]}) == 5 and "nextToken" not in found
    assert [s["logStreamName"] for s in found["searchedLogStreams"]] == ["AllTraffic/i-1", "AllTraffic/i-2"]

    def messages(**more: Any) -> list[str]:
        return [e["message"] for e in log_events.filter_log_events(ctx, {**request, **more})["events"]]

    assert messages(filterPattern="?ERROR ?WARN") == ["ERROR model failed: bad row", "WARN slow"]
    assert messages(filterPattern='"the model" -i-2') == ["Loading the model", "Loading the model"]
    assert messages(filterPattern="model -Loading") == ["ERROR model failed: bad row"]
    assert messages(startTime=2000, endTime=4000) == ["Loading the model", "ERROR model failed: bad row", "WARN slow"]
    assert messages(startFromHead=False, limit=2) == ["served 3 rows", "WARN slow"]
    pages, token = [], None
    while True:
        page = log_events.filter_log_events(ctx, {**request, "limit": 2, **({"nextToken": token} if token else {})})
        pages.append([e["timestamp"] for e in page["events"]])
        token = page.get("nextToken")
        if token is None:
            break
    assert pages == [[1000, 2000], [3000, 4000], [5000]]
    everything = log_events.filter_log_events(ctx, {"logGroupName": group, "logStreamNames": ["Shadow/i-3"]})
    assert [e["message"] for e in everything["events"]] == ["shadow"]
    both = error_of(log_events.filter_log_events, ctx, **request, logStreamNames=["Shadow/i-3"])
    assert isinstance(both, InvalidParameterException)
    for pattern in ('{ $.level = "ERROR" }', "[ip, user]", '"unclosed'):
        assert isinstance(error_of(log_events.filter_log_events, ctx, **request, filterPattern=pattern),
                          InvalidParameterException)
