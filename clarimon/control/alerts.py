"""Monitoring alerts, as the Model Dashboard shows them: ListMonitoringAlerts, UpdateMonitoringAlert and
ListMonitoringAlertHistory.

A model explainability schedule has one alert, created with the schedule, `OK` until alerting exists in clarimon:
its history stays empty. Its rule ("View and edit alerts" in SageMaker's guide) is `DatapointsToAlert` failed
executions among the `EvaluationPeriod` most recent ones; UpdateMonitoringAlert stores a new rule. The rule is
kept in the schedule's stored document (no Describe output shape carries it, so no response shows it there).
"""

from __future__ import annotations

from typing import Any

from clarimon.control import pagination, schedules
from clarimon.control.context import Context, Request, Response
from clarimon.errors import ResourceNotFound, ValidationException
from clarimon.store import resources
from clarimon.store.resources import Resource

# The name SageMaker gives the alert of a model explainability schedule is not documented where we looked (the
# guide's "View and edit alerts", the API reference, the sagemaker SDK and its tests); clarimon names it after
# the monitoring type. The defaults are the least the rule can be: one failed execution of the last one.
ALERT_NAME = "ModelExplainabilityAlert"
DEFAULT_RULE = {"DatapointsToAlert": 1, "EvaluationPeriod": 1}
_DOCUMENT_KEY = "MonitoringAlerts"


def alerts_of(schedule: Resource) -> dict[str, dict[str, Any]]:
    """A schedule's alerts by name: their rule and their creation and modification times."""
    stored = schedule.document.get(_DOCUMENT_KEY) or {}
    created = {"CreationTime": schedule.creation_time, "LastModifiedTime": schedule.creation_time}
    return {ALERT_NAME: {**DEFAULT_RULE, **created, **stored.get(ALERT_NAME, {})}}


def _summary(name: str, alert: dict[str, Any]) -> Response:
    return {"MonitoringAlertName": name, "CreationTime": alert["CreationTime"],
            "LastModifiedTime": alert["LastModifiedTime"], "AlertStatus": "OK",
            "DatapointsToAlert": alert["DatapointsToAlert"], "EvaluationPeriod": alert["EvaluationPeriod"],
            "Actions": {"ModelDashboardIndicator": {"Enabled": True}}}


def _no_token(ctx: Context, operation: str, request: Request) -> None:
    """clarimon issues no NextToken for these lists (every page holds them whole): any given one is refused."""
    if request.get("NextToken"):
        pagination.decode(ctx.store.secret(), request["NextToken"], {"op": operation, "account": ctx.account})


def _not_found(schedule: str, alert: str) -> ResourceNotFound:
    return ResourceNotFound(f"Could not find monitoring alert {alert} of monitoring schedule {schedule}.")


def list_(ctx: Context, request: Request) -> Response:
    """ListMonitoringAlerts: the alerts of one schedule (ResourceNotFound for an unknown schedule)."""
    schedule = schedules.FAMILY.get(ctx, request["MonitoringScheduleName"])
    _no_token(ctx, "ListMonitoringAlerts", request)
    return {"MonitoringAlertSummaries": [_summary(name, alert) for name, alert in sorted(alerts_of(schedule).items())]}


def update(ctx: Context, request: Request) -> Response:
    """UpdateMonitoringAlert: a new rule for one alert of a schedule."""
    name, alert_name = request["MonitoringScheduleName"], request["MonitoringAlertName"]
    datapoints, period = request["DatapointsToAlert"], request["EvaluationPeriod"]
    if datapoints > period:  # "Within EvaluationPeriod, how many execution failures will raise an alert"
        raise ValidationException(f"DatapointsToAlert ({datapoints}) must be less than or equal to "
                                  f"EvaluationPeriod ({period}).")
    with ctx.store.transaction() as conn:
        schedule = resources.get(conn, schedules.FAMILY.get(ctx, name).arn, for_update=True)
        if schedule is None:
            raise schedules.FAMILY.not_found(name, "")
        current = alerts_of(schedule)
        if alert_name not in current:
            raise _not_found(name, alert_name)
        stored = dict(schedule.document.get(_DOCUMENT_KEY) or {})
        stored[alert_name] = {**current[alert_name], "DatapointsToAlert": datapoints, "EvaluationPeriod": period,
                              "LastModifiedTime": ctx.now()}
        # the schedule's own LastModifiedTime stays: it is when its scheduled times count from
        resources.update(conn, schedule.arn, schedule.last_modified_time,
                         document={**schedule.document, _DOCUMENT_KEY: stored})
    return {"MonitoringScheduleArn": schedule.arn, "MonitoringAlertName": alert_name}


def history(ctx: Context, request: Request) -> Response:
    """ListMonitoringAlertHistory: empty, since clarimon's alerts do not change status yet; an unknown schedule or
    alert named in the request is ResourceNotFound."""
    name, alert_name = request.get("MonitoringScheduleName"), request.get("MonitoringAlertName")
    if name is not None:
        schedule = schedules.FAMILY.get(ctx, name)
        if alert_name is not None and alert_name not in alerts_of(schedule):
            raise _not_found(name, alert_name)
    _no_token(ctx, "ListMonitoringAlertHistory", request)
    return {"MonitoringAlertHistory": []}
