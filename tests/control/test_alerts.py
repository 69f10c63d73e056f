"""The Model Dashboard's alert operations on a model explainability schedule."""

from __future__ import annotations

import pytest

from clarimon.control import alerts, job_definitions, schedules
from clarimon.control.context import Context
from clarimon.control.states import ExecutionStatus
from clarimon.errors import ResourceNotFound, ValidationException
from tests.control.test_monitoring_results import end_execution
from tests.control.test_schedules import schedule_request
from tests.documents import minimal_definition


@pytest.fixture
def scheduled(ctx: Context) -> Context:
    job_definitions.create(ctx, minimal_definition("def"))
    schedules.create(ctx, schedule_request())
    return ctx


def test_a_schedule_has_its_alert_with_the_default_rule(scheduled: Context) -> None:
    listed = alerts.list_(scheduled, {"MonitoringScheduleName": "hourly"})["MonitoringAlertSummaries"]
    assert [(a["MonitoringAlertName"], a["AlertStatus"], a["DatapointsToAlert"], a["EvaluationPeriod"])
            for a in listed] == [(alerts.ALERT_NAME, "OK", 1, 1)]
    assert listed[0]["Actions"] == {"ModelDashboardIndicator": {"Enabled": True}}


def test_an_update_is_stored_and_validated(scheduled: Context) -> None:
    described = schedules.describe(scheduled, {"MonitoringScheduleName": "hourly"})
    answer = alerts.update(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": alerts.ALERT_NAME,
                                       "DatapointsToAlert": 2, "EvaluationPeriod": 3})
    assert answer == {"MonitoringScheduleArn": described["MonitoringScheduleArn"],
                      "MonitoringAlertName": alerts.ALERT_NAME}
    listed = alerts.list_(scheduled, {"MonitoringScheduleName": "hourly"})["MonitoringAlertSummaries"]
    assert (listed[0]["DatapointsToAlert"], listed[0]["EvaluationPeriod"]) == (2, 3)
    # the schedule itself is not modified: its scheduled times count from its own LastModifiedTime
    assert schedules.describe(scheduled, {"MonitoringScheduleName": "hourly"})["LastModifiedTime"] == \
        described["LastModifiedTime"]
    with pytest.raises(ValidationException, match=r"DatapointsToAlert \(4\) must be less than or equal"):
        alerts.update(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": alerts.ALERT_NAME,
                                  "DatapointsToAlert": 4, "EvaluationPeriod": 3})
    assert alerts.list_(scheduled, {"MonitoringScheduleName": "hourly"})["MonitoringAlertSummaries"] == listed
    # an update of the schedule keeps the alert's rule
    schedules.update(scheduled, schedule_request(expression="cron(0 5 ? * * *)"))
    assert alerts.list_(scheduled, {"MonitoringScheduleName": "hourly"})["MonitoringAlertSummaries"] == listed


def test_unknown_schedules_and_alerts_are_not_found(scheduled: Context) -> None:
    with pytest.raises(ResourceNotFound, match="nowhere"):
        alerts.list_(scheduled, {"MonitoringScheduleName": "nowhere"})
    with pytest.raises(ResourceNotFound, match="no-such-alert"):
        alerts.update(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": "no-such-alert",
                                  "DatapointsToAlert": 1, "EvaluationPeriod": 1})
    with pytest.raises(ResourceNotFound):
        alerts.update(scheduled, {"MonitoringScheduleName": "nowhere", "MonitoringAlertName": alerts.ALERT_NAME,
                                  "DatapointsToAlert": 1, "EvaluationPeriod": 1})
    with pytest.raises(ResourceNotFound):
        alerts.history(scheduled, {"MonitoringScheduleName": "nowhere"})
    with pytest.raises(ResourceNotFound):
        alerts.history(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": "no-such-alert"})


def test_the_guides_example_period_3_datapoints_2() -> None:
    """"View and edit alerts": seven executions, EvaluationPeriod 3, DatapointsToAlert 2; after each the failures
    among the latest three are counted, also while fewer than three exist. The guide shows the sequence as an
    image; this one passes through each case its text describes: an alert raised before the window is full
    (execution 2), kept while failures stay at 2 (3), cleared when they fall below (4, 5), raised again (6) and
    kept (7)."""
    failed, passed = "CompletedWithViolations", "Completed"
    sequence = [failed, failed, passed, passed, failed, failed, passed]
    states = [alerts.alarmed(sequence[:n][::-1], datapoints=2, period=3) for n in range(1, 8)]
    assert states == [False, True, True, False, False, True, True]


def test_failed_executions_fail_and_stopped_ones_are_not_counted() -> None:
    assert alerts.alarmed(["Failed"], 1, 1)
    assert not alerts.alarmed(["Completed"], 1, 1)
    # the stopped one is skipped: the period reaches back to the older failure
    assert alerts.alarmed(["Stopped", "Failed", "Completed"], 1, 1)
    assert not alerts.alarmed(["Completed", "Stopped", "Failed"], 1, 1)
    assert alerts.alarmed(["Completed", "Stopped", "Failed"], 1, 2)


def status(ctx: Context) -> str:
    [alert] = alerts.list_(ctx, {"MonitoringScheduleName": "hourly"})["MonitoringAlertSummaries"]
    return str(alert["AlertStatus"])


def test_executions_move_the_alert_and_each_transition_is_history(scheduled: Context) -> None:
    alerts.update(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": alerts.ALERT_NAME,
                              "DatapointsToAlert": 2, "EvaluationPeriod": 3})
    failed, passed = ExecutionStatus.COMPLETED_WITH_VIOLATIONS, ExecutionStatus.COMPLETED
    seen = []
    for hour, ending in enumerate([failed, failed, passed, passed, ExecutionStatus.FAILED, failed, passed]):
        end_execution(scheduled, ending, hour)
        seen.append(status(scheduled))
    assert seen == ["OK", "InAlert", "InAlert", "OK", "OK", "InAlert", "InAlert"]

    newest_first = alerts.history(scheduled, {"MonitoringScheduleName": "hourly"})["MonitoringAlertHistory"]
    assert [h["AlertStatus"] for h in newest_first] == ["InAlert", "OK", "InAlert"]
    assert all(h["MonitoringScheduleName"] == "hourly" and h["MonitoringAlertName"] == alerts.ALERT_NAME
               for h in newest_first)
    times = [h["CreationTime"] for h in newest_first]
    assert times == sorted(times, reverse=True)

    # pagination, order and filters, as botocore's model defines them
    first = alerts.history(scheduled, {"MaxResults": 2, "SortOrder": "Ascending"})
    assert [h["AlertStatus"] for h in first["MonitoringAlertHistory"]] == ["InAlert", "OK"]
    rest = alerts.history(scheduled, {"MaxResults": 2, "SortOrder": "Ascending", "NextToken": first["NextToken"]})
    assert [h["AlertStatus"] for h in rest["MonitoringAlertHistory"]] == ["InAlert"] and "NextToken" not in rest
    with pytest.raises(ValidationException):  # a token is good only for the listing that issued it
        alerts.history(scheduled, {"MaxResults": 2, "NextToken": first["NextToken"]})
    in_alert = alerts.history(scheduled, {"StatusEquals": "InAlert"})["MonitoringAlertHistory"]
    assert [h["CreationTime"] for h in in_alert] == [times[0], times[2]]
    by_status = alerts.history(scheduled, {"SortBy": "Status", "SortOrder": "Ascending"})["MonitoringAlertHistory"]
    assert [h["AlertStatus"] for h in by_status] == ["InAlert", "InAlert", "OK"]
    since = alerts.history(scheduled, {"CreationTimeAfter": times[1]})["MonitoringAlertHistory"]
    assert [h["CreationTime"] for h in since] == times[:2]  # inclusive, as botocore words it ("on or after")
    assert alerts.history(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": alerts.ALERT_NAME,
                                      "CreationTimeBefore": times[2]})["MonitoringAlertHistory"] == [newest_first[2]]
    other = Context("111111111111", scheduled.region, scheduled.services)
    assert alerts.history(other, {}) == {"MonitoringAlertHistory": []}


def test_an_updated_rule_is_evaluated_at_once(scheduled: Context) -> None:
    end_execution(scheduled, ExecutionStatus.COMPLETED_WITH_VIOLATIONS, 0)
    end_execution(scheduled, ExecutionStatus.COMPLETED, 1)
    assert status(scheduled) == "OK"  # the default rule: the latest execution failed, 1 of 1
    alerts.update(scheduled, {"MonitoringScheduleName": "hourly", "MonitoringAlertName": alerts.ALERT_NAME,
                              "DatapointsToAlert": 1, "EvaluationPeriod": 2})
    assert status(scheduled) == "InAlert"
    history = alerts.history(scheduled, {})["MonitoringAlertHistory"]
    assert [h["AlertStatus"] for h in history] == ["InAlert", "OK", "InAlert"]


def test_the_history_is_empty_until_alerts_change_status(scheduled: Context) -> None:
    assert alerts.history(scheduled, {"MonitoringScheduleName": "hourly"}) == {"MonitoringAlertHistory": []}
    assert alerts.history(scheduled, {}) == {"MonitoringAlertHistory": []}
    with pytest.raises(ValidationException, match="NextToken"):
        alerts.history(scheduled, {"NextToken": "forged"})
