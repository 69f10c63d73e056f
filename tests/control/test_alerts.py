"""The Model Dashboard's alert operations on a model explainability schedule."""

from __future__ import annotations

import pytest

from clarimon.control import alerts, job_definitions, schedules
from clarimon.control.context import Context
from clarimon.errors import ResourceNotFound, ValidationException
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


def test_the_history_is_empty_until_alerts_change_status(scheduled: Context) -> None:
    assert alerts.history(scheduled, {"MonitoringScheduleName": "hourly"}) == {"MonitoringAlertHistory": []}
    assert alerts.history(scheduled, {}) == {"MonitoringAlertHistory": []}
    with pytest.raises(ValidationException, match="NextToken"):
        alerts.history(scheduled, {"NextToken": "forged"})
