"""What would only fail when a schedule runs or a record is captured is refused at create time, as SageMaker
refuses it: ValidationException, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.documents import endpoint_config, minimal_definition, model
from tests.e2e.test_job_definitions import error_of
from tests.e2e.test_monitoring_schedules import config
from tests.servers import Server

pytestmark = pytest.mark.e2e


def definition(name: str, **offsets: str) -> dict[str, Any]:
    document = minimal_definition(name)
    document["ModelExplainabilityJobInput"]["EndpointInput"].update(offsets)
    return document


@pytest.mark.parametrize(("offsets", "wording"), [
    ({"StartTimeOffset": "-PT1H", "EndTimeOffset": "-PT2H"}, "the start offset must come before the end offset"),
    ({"StartTimeOffset": "-PT1H", "EndTimeOffset": "-PT1H"}, "the start offset must come before the end offset"),
    ({"StartTimeOffset": "-P2D", "EndTimeOffset": "-PT1H"}, "longer than 24 hours"),
    ({"StartTimeOffset": "-P9999999999D"}, "at most 365 days"),
    ({"EndTimeOffset": "-PT1Q"}, "Invalid duration"),
])
def test_offsets_that_make_no_window_are_refused(shared_server: Server, region: str, offsets: dict[str, str],
                                                  wording: str) -> None:
    client = shared_server.client(region)
    code, message, _ = error_of(client.create_model_explainability_job_definition, **definition("d", **offsets))
    assert code == "ValidationException" and wording in message, message
    assert client.list_model_explainability_job_definitions()["JobDefinitionSummaries"] == []


def test_a_schedule_whose_window_with_its_definition_is_empty_is_refused(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**definition("late-end", EndTimeOffset="-PT2H"))
    code, message, _ = error_of(client.create_monitoring_schedule, MonitoringScheduleName="s",
                             MonitoringScheduleConfig=config("late-end"))
    assert code == "ValidationException" and "late-end" in message and "window is empty" in message, message
    assert client.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
    # The schedule's own offsets replace the definition's: this window is fine.
    window = {"ScheduleExpression": "cron(0 * ? * * *)", "DataAnalysisStartTime": "-PT3H",
              "DataAnalysisEndTime": "-PT2H"}
    client.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=config("late-end",
                                                                                                  schedule=window))


@pytest.mark.parametrize("destination", ["https://bucket.s3.amazonaws.com/capture", "s3://Not_A_Bucket/capture",
                                         "s3://bucket/a/../../other-bucket"])
def test_a_capture_destination_the_store_cannot_write_is_refused(shared_server: Server, region: str,
                                                                 destination: str) -> None:
    client = shared_server.client(region)
    client.create_model(**model("m"))
    document = endpoint_config("c", "m")
    document["DataCaptureConfig"]["DestinationS3Uri"] = destination
    code, message, _ = error_of(client.create_endpoint_config, **document)
    assert code == "ValidationException" and "DestinationS3Uri" in message, message
    assert client.list_endpoint_configs()["EndpointConfigs"] == []
