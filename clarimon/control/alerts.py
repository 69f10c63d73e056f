"""Monitoring alerts, as the Model Dashboard shows them: ListMonitoringAlerts, UpdateMonitoringAlert and
ListMonitoringAlertHistory, and their evaluation after every execution.

A model explainability schedule has one alert, created with the schedule. Its rule ("View and edit alerts" in
SageMaker's guide) is `DatapointsToAlert` failures among the `EvaluationPeriod` most recent executions: after
every execution the failures among the latest `EvaluationPeriod` are counted (fewer executions count too), the
alert is `InAlert` when they reach `DatapointsToAlert` and `OK` again when they fall below. Each change of status
is a row of the alert's history, made by `record_transition` only; the latest row is the alert's status.

What fails: the guide counts "execution failures" without naming statuses. An execution that ended
CompletedWithViolations failed its check (drift past the threshold); one that ended Failed could not check at
all (no captured data, a broken model), and the dashboard is there to say that a monitor needs attention, so it
counts too. A Stopped execution was stopped on purpose: it is neither a pass nor a failure, and is left out of
the count, as if it had not run. UpdateMonitoringAlert evaluates the new rule at once, over the same executions.

The rule is kept in the schedule's stored document (no Describe output shape carries it, so no response shows
it there).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Connection

from clarimon.control import arns, pagination, schedules
from clarimon.control.context import Context, Request, Response
from clarimon.control.listing import DEFAULT_SORT_ORDER, keyset_page, time_member
from clarimon.control.states import ExecutionStatus
from clarimon.errors import ResourceNotFound, ValidationException
from clarimon.store import alerts as history_rows
from clarimon.store import outbox, resources
from clarimon.store import results as stored_results
from clarimon.store.alerts import HistoryQuery
from clarimon.store.resources import Resource

log = logging.getLogger("clarimon.alerts")

# The name SageMaker gives the alert of a model explainability schedule is not documented where we looked (the
# guide's "View and edit alerts", the API reference, the sagemaker SDK and its tests); clarimon names it after
# the monitoring type. The defaults are the least the rule can be: one failed execution of the last one.
ALERT_NAME = "ModelExplainabilityAlert"
DEFAULT_RULE = {"DatapointsToAlert": 1, "EvaluationPeriod": 1}
_DOCUMENT_KEY = "MonitoringAlerts"
IN_ALERT, OK = "InAlert", "OK"
FAILURES = frozenset({ExecutionStatus.COMPLETED_WITH_VIOLATIONS, ExecutionStatus.FAILED})
NOT_COUNTED = frozenset({ExecutionStatus.STOPPED})
HISTORY_OPERATION = "ListMonitoringAlertHistory"
DEFAULT_HISTORY_RESULTS = 100  # botocore: "The default is 100."


def alerts_of(schedule: Resource) -> dict[str, dict[str, Any]]:
    """A schedule's alerts by name: their rule and their creation and modification times."""
    stored = schedule.document.get(_DOCUMENT_KEY) or {}
    created = {"CreationTime": schedule.creation_time, "LastModifiedTime": schedule.creation_time}
    return {ALERT_NAME: {**DEFAULT_RULE, **created, **stored.get(ALERT_NAME, {})}}


def alarmed(statuses: list[str], datapoints: int, period: int) -> bool:
    """Whether an alert is InAlert after executions that ended with `statuses` (newest first): at least
    `datapoints` failures among the latest `period` counted ones (Stopped ones are not counted)."""
    counted = [s for s in statuses if s not in NOT_COUNTED][:period]
    return sum(s in FAILURES for s in counted) >= datapoints


def status_of(conn: Connection, schedule: Resource, alert_name: str) -> str:
    """The alert's status: its latest transition since the schedule was created, else OK."""
    latest = history_rows.current(conn, schedule.account, schedule.region, schedule.name, alert_name,
                                  since=schedule.creation_time)
    return latest.status if latest is not None else OK


def statuses(conn: Connection, schedules_: Iterable[Resource]) -> dict[tuple[str, str], str]:
    """The status of every alert of these schedules, by (schedule ARN, alert name), read in one query."""
    latest = {(t.account, t.region, t.schedule_name, t.alert_name): t for t in history_rows.latest(conn)}
    found = {}
    for schedule in schedules_:
        for name in alerts_of(schedule):
            last = latest.get((schedule.account, schedule.region, schedule.name, name))
            current = last is not None and last.creation_time >= schedule.creation_time
            found[(schedule.arn, name)] = last.status if current and last is not None else OK
    return found


def evaluate(conn: Connection, account: str, region: str, schedule_name: str, now: float,
             execution_id: int | None) -> None:
    """Evaluate the schedule's alerts over its latest results (`execution_id`: the execution that just ended,
    if one did) and record each change of status; nothing for a schedule that no longer exists."""
    schedule = resources.get(conn, arns.of(account, region, schedules.KIND, schedule_name))
    if schedule is None:
        return
    for name, rule in alerts_of(schedule).items():
        statuses = stored_results.recent_statuses(conn, account, region, schedule_name,
                                                  limit=rule["EvaluationPeriod"], created_since=schedule.creation_time,
                                                  ignored=NOT_COUNTED)
        target = IN_ALERT if alarmed(statuses, rule["DatapointsToAlert"], rule["EvaluationPeriod"]) else OK
        if target != status_of(conn, schedule, name):
            record_transition(conn, account=account, region=region, schedule_name=schedule_name, alert_name=name,
                              status=target, now=now, execution_id=execution_id)


def record_transition(conn: Connection, *, account: str, region: str, schedule_name: str, alert_name: str,
                      status: str, now: float, execution_id: int | None) -> None:
    """The one place an alert changes status: a history row and its notification (store.outbox), in the
    caller's transaction."""
    history_rows.insert(conn, account=account, region=region, schedule_name=schedule_name, alert_name=alert_name,
                        status=status, now=now, execution_id=execution_id)
    if outbox.notifying(conn):
        schedule_arn = arns.of(account, region, schedules.KIND, schedule_name)
        schedule = resources.get(conn, schedule_arn)
        rule = alerts_of(schedule).get(alert_name, {}) if schedule is not None else {}
        datapoints, period = rule.get("DatapointsToAlert"), rule.get("EvaluationPeriod")
        reason = (f"{'At least' if status == IN_ALERT else 'Fewer than'} {datapoints} of the last {period} "
                  "monitoring executions failed their check")
        outbox.record(conn, kind=outbox.ALERT, account=account, region=region, resource=schedule_arn,
                      status=status, previous_status=OK if status == IN_ALERT else IN_ALERT, time=now, snapshot={
                          "MonitoringScheduleName": schedule_name, "MonitoringAlertName": alert_name,
                          "DatapointsToAlert": datapoints, "EvaluationPeriod": period, "Reason": reason,
                          "ExecutionId": execution_id})
    log.info("alert transition account=%s region=%s schedule=%s alert=%s status=%s execution=%s", account, region,
             schedule_name, alert_name, status, execution_id if execution_id is not None else "-")


def _summary(name: str, alert: dict[str, Any], status: str) -> Response:
    return {"MonitoringAlertName": name, "CreationTime": alert["CreationTime"],
            "LastModifiedTime": alert["LastModifiedTime"], "AlertStatus": status,
            "DatapointsToAlert": alert["DatapointsToAlert"], "EvaluationPeriod": alert["EvaluationPeriod"],
            "Actions": {"ModelDashboardIndicator": {"Enabled": True}}}


def _not_found(schedule: str, alert: str) -> ResourceNotFound:
    return ResourceNotFound(f"Could not find monitoring alert {alert} of monitoring schedule {schedule}.")


def list_(ctx: Context, request: Request) -> Response:
    """ListMonitoringAlerts: the alerts of one schedule with their status (ResourceNotFound for an unknown
    schedule)."""
    schedule = schedules.FAMILY.get(ctx, request["MonitoringScheduleName"])
    if request.get("NextToken"):  # clarimon issues no NextToken here (a page holds them whole): any is refused
        pagination.decode(ctx.store.secret(), request["NextToken"], {"op": "ListMonitoringAlerts",
                                                                     "account": ctx.account})
    with ctx.store.reading() as conn:
        return {"MonitoringAlertSummaries": [_summary(name, alert, status_of(conn, schedule, name))
                                             for name, alert in sorted(alerts_of(schedule).items())]}


def update(ctx: Context, request: Request) -> Response:
    """UpdateMonitoringAlert: a new rule for one alert of a schedule, evaluated at once."""
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
        evaluate(conn, ctx.account, ctx.region, schedule.name, ctx.now(), None)
    return {"MonitoringScheduleArn": schedule.arn, "MonitoringAlertName": alert_name}


def history(ctx: Context, request: Request) -> Response:
    """ListMonitoringAlertHistory: the caller's alert transitions, filtered, sorted and paginated; an unknown
    schedule or alert named in the request is ResourceNotFound."""
    name, alert_name = request.get("MonitoringScheduleName"), request.get("MonitoringAlertName")
    if name is not None:
        schedule = schedules.FAMILY.get(ctx, name)
        if alert_name is not None and alert_name not in alerts_of(schedule):
            raise _not_found(name, alert_name)
    query = HistoryQuery(
        account=ctx.account, region=ctx.region,
        limit=int(request.get("MaxResults", DEFAULT_HISTORY_RESULTS)),
        sort_by=request.get("SortBy", "CreationTime"),
        descending=request.get("SortOrder", DEFAULT_SORT_ORDER) == "Descending",
        schedule_name=name, alert_name=alert_name, status=request.get("StatusEquals"),
        created_before=time_member(request, HISTORY_OPERATION, "CreationTimeBefore"),
        created_after=time_member(request, HISTORY_OPERATION, "CreationTimeAfter"),
    )
    rows, token = keyset_page(ctx, HISTORY_OPERATION, request, query, history_rows.page, history_rows.sort_value)
    response: Response = {"MonitoringAlertHistory": [
        {"MonitoringScheduleName": t.schedule_name, "MonitoringAlertName": t.alert_name,
         "CreationTime": t.creation_time, "AlertStatus": t.status} for t in rows]}
    if token:
        response["NextToken"] = token
    return response
