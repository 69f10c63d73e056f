"""The console's pages, rendered on the server from what `clarimon.control.dashboard` reads: the overview, a
schedule, an execution, an endpoint, and the sign-in form."""

from __future__ import annotations

from collections.abc import Sequence
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
    number,
    schedule_href,
    status,
    table,
    time_cell,
)
from clarimon.control.dashboard import EndpointView, ExecutionView, Overview, Result, ScheduleView, Trend
from clarimon.engine.drift import LabelResult

RECENT = 50  # executions listed in a schedule page's table (the charts show the whole history asked for)


def overview(view: Overview) -> str:
    """Every endpoint and schedule of the account, with statuses and alerts at a glance."""
    in_alert = sum(row.alert_status == "InAlert" for row in view.schedules)
    summary = (f'<p class="summary"><b>{len(view.endpoints)}</b> {_plural(len(view.endpoints), "endpoint")} · '
               f'<b>{len(view.schedules)}</b> monitoring {_plural(len(view.schedules), "schedule")} · '
               f'<b class="{"alarm" if in_alert else ""}">{in_alert}</b> in alert</p>')
    schedule_rows = []
    for row in view.schedules:
        s, last = row.schedule, row.latest
        schedule_rows.append([
            link(schedule_href(s.region, s.name), s.name), e(s.region),
            link(endpoint_href(s.region, s.endpoint_name), s.endpoint_name) if s.endpoint_name else "-",
            status(s.status), alert(row.alert_status),
            status(last.status) if last else "-",
            link(execution_href(s.region, last.id), charts.when(last.scheduled_time)) if last else "-",
            _ndcg_cell(row.labels),
            e(_expression(s.document)),
        ])
    endpoint_rows = [[link(endpoint_href(r.endpoint.region, r.endpoint.name), r.endpoint.name), e(r.endpoint.region),
                      status(r.endpoint.status), "on" if r.capturing else "off", e(r.schedules),
                      time_cell(r.endpoint.creation_time)] for r in view.endpoints]
    return (summary
            + "<h2>Monitoring schedules</h2>"
            + table(["schedule", "region", "endpoint", "status", "alert", "last execution", "scheduled (UTC)",
                     "NDCG (threshold)", "schedule expression"], schedule_rows, empty="No monitoring schedules yet.",
                    css="schedules")
            + "<h2>Endpoints</h2>"
            + table(["endpoint", "region", "status", "data capture", "schedules", "created (UTC)"], endpoint_rows,
                    empty="No endpoints yet.", css="endpoints"))


def schedule(view: ScheduleView) -> str:
    """A schedule: its settings and alert, the executions' timeline, and the latest executions."""
    s = view.schedule
    region = s.region
    marks = [charts.Mark(x.scheduled_time, x.status, x.id) for x in view.executions]
    href = execution_href(region, 0)[:-1]  # a point's execution id completes it
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
    ndcg = [charts.Series(t.name, _points(t)) for t in view.ndcg]
    threshold = view.ndcg[0].reference if view.ndcg else None
    features = "".join(
        f"<h3>{e(t.name)}</h3>" + charts.line_chart([charts.Series(t.name, _points(t), t.reference)],
                                                   label=f"attribution of {t.name} over time, baseline dashed",
                                                   href=href)
        for t in view.features)
    history = [[time_cell(t.creation_time), alert(t.status), e(t.alert_name),
                link(execution_href(region, t.execution_id), t.execution_id) if t.execution_id else "-"]
               for t in view.history]
    return (about
            + "<h2>Executions</h2>"
            + charts.timeline(marks, label="executions by scheduled time, coloured by status", href=href)
            + "<h2>NDCG against the baseline</h2>"
            + charts.line_chart(ndcg, label="NDCG of each execution's ranking against the baseline's, with the "
                                "threshold", threshold=threshold, href=href)
            + (f"<h2>Top {len(view.features)} features: attribution over time "
               f"({e(view.features[0].label)})</h2>{features}" if view.features else "")
            + "<h2>Alert history</h2>"
            + table(["time (UTC)", "status", "alert", "execution"], history, empty="The alert has not changed status.",
                    css="history")
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
    if view.result is None:
        return about + '<p class="empty">No results are recorded for this execution (it has not ended).</p>'
    labels = "".join(_label(label) for label in view.result.labels)
    return about + "<h2>Violations</h2>" + _violations(view.result) + labels


def _label(label: LabelResult) -> str:
    """One model output: NDCG against the threshold, the attributions beside the baseline's with rank changes."""
    baseline_rank = _ranks({a.feature: a.baseline for a in label.attributions})
    current_rank = _ranks({a.feature: a.value for a in label.attributions})
    rows = []
    for a in sorted(label.attributions, key=lambda a: current_rank.get(a.feature, 10**6)):
        before, after = baseline_rank.get(a.feature), current_rank.get(a.feature)
        rows.append([e(a.feature), number(a.baseline), number(a.value), e(before or "-"), e(after or "-"),
                     _change(before, after)])
    if label.ndcg is None:
        verdict = "no baseline for this label: nothing to compare"
    else:
        verdict = (f"NDCG <b>{number(label.ndcg)}</b> against threshold {number(label.threshold)}: "
                   + ('<span class="badge alarm">drift</span>' if label.ndcg < label.threshold
                      else '<span class="badge ok">no drift</span>'))
    bars = charts.paired_bars([(a.feature, a.baseline, a.value)
                               for a in sorted(label.attributions, key=lambda a: current_rank.get(a.feature, 10**6))],
                              label=f"baseline and current attributions of {label.label}")
    expected = (f"expected value {number(label.expected_value)} (baseline "
                f"{number(label.baseline_expected_value)})")
    return (f"<h2>Label {e(label.label)}</h2><p>{verdict}; {expected}</p>" + bars
            + table(["feature", "baseline", "this execution", "baseline rank", "rank", "rank change"], rows,
                    css="attributions"))


def _violations(result: Result) -> str:
    rows = [[e(v.get("label")), e(v.get("constraint_check_type")), e(v.get("description"))] for v in result.violations]
    return table(["label", "check", "description"], rows, empty="No violations.", css="violations")


def _ranks(values: dict[str, float | None]) -> dict[str, int]:
    """Each feature's rank by magnitude (1: strongest), as the drift check orders them."""
    present = [(f, abs(v)) for f, v in values.items() if v is not None]
    return {f: i + 1 for i, (f, _) in enumerate(sorted(present, key=lambda item: -item[1]))}


def _change(before: int | None, after: int | None) -> str:
    if before is None or after is None or before == after:
        return "-" if before is None or after is None else "="
    moved = before - after
    return f'<span class="{"up" if moved > 0 else "down"}">{"▲" if moved > 0 else "▼"} {abs(moved)}</span>'


def _points(trend: Trend) -> Sequence[charts.Point]:
    return trend.points  # already (time, value, execution id), oldest first


def _ndcg_cell(labels: tuple[LabelResult, ...]) -> str:
    scored = [label for label in labels if label.ndcg is not None]
    if not scored:
        return "-"
    worst = min(scored, key=lambda label: label.ndcg or 0.0)
    css = "alarm" if (worst.ndcg or 0.0) < worst.threshold else ""
    return f'<span class="{css}">{number(worst.ndcg)}</span> ({number(worst.threshold)})'


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


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


def _expression(document: dict[str, Any]) -> str:
    config = document.get("MonitoringScheduleConfig") or {}
    return str((config.get("ScheduleConfig") or {}).get("ScheduleExpression", "cron(0 0 ? * * *)"))
