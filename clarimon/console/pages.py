"""The console's pages, rendered on the server from what `clarimon.control.dashboard` reads: the overview, a
schedule, an execution, an endpoint, and the sign-in form."""

from __future__ import annotations

from typing import Any

from clarimon.console import charts
from clarimon.console.layout import (
    ROOT,
    alert,
    e,
    endpoint_href,
    execution_href,
    facts,
    link,
    schedule_href,
    status,
    table,
    time_cell,
)
from clarimon.control.dashboard import EndpointView, ExecutionView, Overview, ScheduleView

RECENT = 50  # executions listed in a schedule page's table (the charts show the whole history asked for)


def overview(view: Overview) -> str:
    """Every endpoint and schedule of the account, with statuses and alerts at a glance."""
    in_alert = sum(row.alert_status == "InAlert" for row in view.schedules)
    summary = (f'<p class="summary"><b>{len(view.endpoints)}</b> endpoints · <b>{len(view.schedules)}</b> '
               f'monitoring schedules · <b class="{"alarm" if in_alert else ""}">{in_alert}</b> in alert</p>')
    schedule_rows = []
    for row in view.schedules:
        s, last = row.schedule, row.latest
        schedule_rows.append([
            link(schedule_href(s.region, s.name), s.name), e(s.region),
            link(endpoint_href(s.region, s.endpoint_name), s.endpoint_name) if s.endpoint_name else "-",
            status(s.status), alert(row.alert_status),
            status(last.status) if last else "-",
            link(execution_href(s.region, last.id), charts.when(last.scheduled_time)) if last else "-",
            e(_expression(s.document)),
        ])
    endpoint_rows = [[link(endpoint_href(r.endpoint.region, r.endpoint.name), r.endpoint.name), e(r.endpoint.region),
                      status(r.endpoint.status), "on" if r.capturing else "off", e(r.schedules),
                      time_cell(r.endpoint.creation_time)] for r in view.endpoints]
    return (summary
            + "<h2>Monitoring schedules</h2>"
            + table(["schedule", "region", "endpoint", "status", "alert", "last execution", "scheduled (UTC)",
                     "schedule expression"], schedule_rows, empty="No monitoring schedules yet.", css="schedules")
            + "<h2>Endpoints</h2>"
            + table(["endpoint", "region", "status", "data capture", "schedules", "created (UTC)"], endpoint_rows,
                    empty="No endpoints yet.", css="endpoints"))


def schedule(view: ScheduleView) -> str:
    """A schedule: its settings and alert, the executions' timeline, and the latest executions."""
    s = view.schedule
    region = s.region
    marks = [charts.Mark(x.scheduled_time, x.status, execution_href(region, x.id)) for x in view.executions]
    rule = view.alert_rule
    shown = (f"the latest {len(view.executions)} of {view.total}" if len(view.executions) < view.total
             else f"all {view.total}")
    about = facts([
        ("status", status(s.status)),
        ("endpoint", link(endpoint_href(region, s.endpoint_name), s.endpoint_name) if s.endpoint_name else "-"),
        ("job definition", e(s.job_definition_name)),
        ("schedule expression", e(_expression(s.document))),
        ("region", e(region)),
        ("created (UTC)", time_cell(s.creation_time)),
        ("alert", f"{alert(view.alert_status)} {e(view.alert_name)}: {e(rule['DatapointsToAlert'])} failed of the "
                  f"last {e(rule['EvaluationPeriod'])} executions"),
        ("executions", e(shown)),
    ])
    recent = list(reversed(view.executions))[:RECENT]
    rows = [[link(execution_href(region, x.id), charts.when(x.scheduled_time)), status(x.status),
             e(x.failure_reason or "")] for x in recent]
    return (about
            + "<h2>Executions</h2>"
            + charts.timeline(marks, label="executions by scheduled time, coloured by status")
            + f"<h2>Latest {len(recent)} executions</h2>"
            + table(["scheduled (UTC)", "status", "failure reason"], rows, empty="No executions yet.",
                    css="executions"))


def execution(view: ExecutionView) -> str:
    """An execution: its status and times, its processing job, and links to its output files."""
    x, job = view.execution, view.job or {}
    region = x.region
    about = facts([
        ("schedule", link(schedule_href(region, x.schedule_name), x.schedule_name)),
        ("status", status(x.status)),
        ("scheduled (UTC)", time_cell(x.scheduled_time)),
        ("started (UTC)", time_cell(job.get("ProcessingStartTime"))),
        ("ended (UTC)", time_cell(job.get("ProcessingEndTime"))),
        ("endpoint", link(endpoint_href(region, x.endpoint_name), x.endpoint_name) if x.endpoint_name else "-"),
        ("processing job", e(job.get("ProcessingJobName", "-"))),
        ("failure reason", e(x.failure_reason or "-")),
        ("exit message", e(job.get("ExitMessage", "-"))),
        ("output", e(view.output_uri or "-")),
    ])
    return about


def files(region: str, execution_id: int, names: list[str]) -> str:
    """Links to an execution's output files."""
    if not names:
        return '<p class="empty">No output files.</p>'
    base = execution_href(region, execution_id)
    return '<ul class="files">' + "".join(f"<li>{link(f'{base}/files/{name}', name)}</li>" for name in names) + "</ul>"


def log(text: str | None) -> str:
    """The execution's log."""
    if text is None:
        return '<p class="empty">No log was written.</p>'
    return f'<pre class="log">{e(text)}</pre>'


def endpoint(view: EndpointView, traffic: str) -> str:
    """An endpoint: its status and variants, its capture settings, its traffic, the schedules watching it."""
    d, config = view.endpoint, view.config or {}
    region = d["EndpointArn"].split(":")[3]
    about = facts([
        ("status", status(d.get("EndpointStatus"))),
        ("endpoint configuration", e(d.get("EndpointConfigName"))),
        ("region", e(region)),
        ("created (UTC)", time_cell(d.get("CreationTime"))),
        ("last modified (UTC)", time_cell(d.get("LastModifiedTime"))),
        ("failure reason", e(d.get("FailureReason", "-"))),
    ])
    variants = [[e(v.get("VariantName")), e(v.get("ModelName", "-")), e(v.get("InstanceType", "-")),
                 e(v.get("InitialInstanceCount", "-")), e(v.get("InitialVariantWeight", "-"))]
                for v in config.get("ProductionVariants", [])]
    capture: dict[str, Any] = config.get("DataCaptureConfig") or {}
    capture_facts = facts([
        ("capture", "on" if capture.get("EnableCapture") else "off"),
        ("sampling", e(f"{capture['InitialSamplingPercentage']}%") if capture else "-"),
        ("destination", e(capture.get("DestinationS3Uri", "-"))),
        ("captured", e(", ".join(o.get("CaptureMode", "") for o in capture.get("CaptureOptions", [])) or "-")),
        ("content types", e(", ".join([*(capture.get("CaptureContentTypeHeader") or {}).get("CsvContentTypes", []),
                                       *(capture.get("CaptureContentTypeHeader") or {}).get("JsonContentTypes", [])])
                            or "-")),
    ]) if capture else '<p class="empty">This endpoint captures no data: no schedule can monitor it.</p>'
    watching = [[link(schedule_href(region, s.name), s.name), status(s.status)] for s in view.schedules]
    return (about + "<h2>Traffic</h2>" + traffic
            + "<h2>Production variants</h2>"
            + table(["variant", "model", "instance type", "instances", "weight"], variants)
            + "<h2>Data capture</h2>" + capture_facts
            + "<h2>Monitoring schedules</h2>"
            + table(["schedule", "status"], watching, empty="No schedule monitors this endpoint."))


def sign_in(*, problem: str | None = None, next_path: str = ROOT) -> str:
    """The sign-in form: an access key id and its secret."""
    warning = f'<p class="problem" role="alert">{e(problem)}</p>' if problem else ""
    return f"""{warning}<form method="post" action="{ROOT}sign-in" class="sign-in">
<input type="hidden" name="next" value="{e(next_path)}">
<label>Access key id <input name="key_id" autocomplete="username" required></label>
<label>Secret access key <input name="secret" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<p class="hint">Use a key of the server's <code>--credentials</code> file: the console shows that key's account.</p>"""


def not_found(what: str) -> str:
    """The body of a page for something the account does not have."""
    return f'<p class="empty">{e(what)}</p><p><a href="{ROOT}">Back to the overview</a></p>'


def _expression(document: dict[str, Any]) -> str:
    config = document.get("MonitoringScheduleConfig") or {}
    return str((config.get("ScheduleConfig") or {}).get("ScheduleExpression", "cron(0 0 ? * * *)"))
