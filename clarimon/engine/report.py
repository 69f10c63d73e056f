"""report.html: a self-contained page (inline SVG) with the global attributions per label; for a monitoring
execution, each label's attributions beside the baseline's, with the ranks, the NDCG against its threshold and
the violations."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from clarimon.engine.drift import LabelResult, compare
from clarimon.engine.explain import Explanation

_BAR_HEIGHT = 22
_WIDTH = 720
_LABEL_WIDTH = 220


def render(explanation: Explanation, parameters: dict[str, Any], *, baseline: dict[str, Any] | None = None,
           violations: Sequence[dict[str, Any]] = ()) -> str:
    """The report page: each label's expected value and global attributions as bars, the warnings, the
    parameters. With `baseline` (the baseline's analysis.json: a monitoring execution), each label's values
    beside the baseline's with their ranks and the NDCG against the threshold, and the `violations`."""
    compared = {r.label: r for r in compare(explanation.to_analysis_json(), baseline)} if baseline else {}
    sections = []
    for k, label in enumerate(explanation.labels):
        values = explanation.global_values[:, k]
        order = sorted(range(len(values)), key=lambda j: -abs(float(values[j])))
        result = compared.get(label)
        if result is not None and result.ndcg is not None:
            sections.append(f"<h2>{html.escape(label)}</h2>" + _comparison(result))
            continue
        sections.append(
            f"<h2>{html.escape(label)}</h2>"
            f"<p>Expected value: <b>{float(explanation.expected[k]):.6g}</b></p>"
            + _bars([explanation.features[j] for j in order], [float(values[j]) for j in order])
        )
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in parameters.items())
    warnings = "".join(f'<p class="warning"><b>Warning:</b> {html.escape(w)}</p>' for w in explanation.warnings)
    checked = _violations(violations) if baseline is not None else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>clarimon explainability report</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
th,td{{text-align:left;padding:2px 12px 2px 0}}svg text{{font-size:12px}}td.n{{text-align:right}}
.drift{{color:#b00;font-weight:bold}}.ok{{color:#070;font-weight:bold}}</style></head>
<body><h1>Feature attributions (Kernel SHAP, {html.escape(explanation.agg_method)})</h1>
{warnings}{checked}{''.join(sections)}
<h2>Parameters</h2><table>{rows}</table></body></html>
"""


def _comparison(result: LabelResult) -> str:
    """A label's NDCG against the threshold, bars of baseline and current values, and a table with the ranks."""
    ndcg = result.ndcg if result.ndcg is not None else 1.0
    verdict = (f'<span class="drift">drift: NDCG {ndcg:.4f} is under the threshold {result.threshold:g}</span>'
               if ndcg < result.threshold else
               f'<span class="ok">no drift: NDCG {ndcg:.4f} is at or over the threshold {result.threshold:g}</span>')
    baseline_rank = _ranks({a.feature: a.baseline for a in result.attributions})
    rank = _ranks({a.feature: a.value for a in result.attributions})
    shown = sorted(result.attributions, key=lambda a: rank.get(a.feature, len(rank) + 1))
    rows = "".join(
        f"<tr><td>{html.escape(a.feature)}</td><td class='n'>{_number(a.baseline)}</td>"
        f"<td class='n'>{_number(a.value)}</td><td class='n'>{baseline_rank.get(a.feature, '-')}</td>"
        f"<td class='n'>{rank.get(a.feature, '-')}</td></tr>" for a in shown)
    expected = (f"<p>Expected value: <b>{_number(result.expected_value)}</b> (baseline "
                f"{_number(result.baseline_expected_value)})</p>")
    return (f"<p>{verdict}</p>{expected}"
            + _paired([a.feature for a in shown], [a.baseline for a in shown], [a.value for a in shown])
            + "<table><tr><th>feature</th><th>baseline</th><th>this run</th><th>baseline rank</th><th>rank</th></tr>"
            + rows + "</table>")


def _violations(violations: Sequence[dict[str, Any]]) -> str:
    if not violations:
        return "<h2>Violations</h2><p>None: every label's ranking holds against the baseline.</p>"
    rows = "".join(f"<tr><td>{html.escape(str(v.get('label', '')))}</td>"
                   f"<td>{html.escape(str(v.get('constraint_check_type', '')))}</td>"
                   f"<td>{html.escape(str(v.get('description', '')))}</td></tr>" for v in violations)
    return ("<h2>Violations</h2><table><tr><th>label</th><th>check</th><th>description</th></tr>"
            + rows + "</table>")


def _ranks(values: dict[str, float | None]) -> dict[str, int]:
    present = sorted(((f, abs(v)) for f, v in values.items() if v is not None), key=lambda item: -item[1])
    return {f: i + 1 for i, (f, _) in enumerate(present)}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _bars(names: list[str], values: list[float]) -> str:
    largest = max((abs(v) for v in values), default=0.0) or 1.0
    span = _WIDTH - _LABEL_WIDTH - 90
    height = _BAR_HEIGHT * len(names) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" role="img">']
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        y = i * _BAR_HEIGHT + 5
        length = abs(value) / largest * span
        colour = "#1f77b4" if value >= 0 else "#d62728"
        parts.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{html.escape(name)}</text>'
                     f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{_BAR_HEIGHT - 6}" '
                     f'fill="{colour}"/><text x="{_LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{value:.4g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _paired(names: list[str], baseline: list[float | None], current: list[float | None]) -> str:
    """Each feature's baseline value (grey) above its value in this run (blue)."""
    present = [abs(v) for v in (*baseline, *current) if v is not None]
    largest = max(present, default=0.0) or 1.0
    span = _WIDTH - _LABEL_WIDTH - 90
    row = 26
    height = row * len(names) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" role="img">']
    for i, name in enumerate(names):
        y = i * row + 5
        parts.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{html.escape(name)}</text>')
        for j, (value, colour) in enumerate(((baseline[i], "#9aa5b1"), (current[i], "#1f77b4"))):
            if value is None:
                continue
            length = abs(value) / largest * span
            top = y + 2 + j * 11
            parts.append(f'<rect x="{_LABEL_WIDTH}" y="{top}" width="{length:.1f}" height="10" fill="{colour}"/>'
                         f'<text x="{_LABEL_WIDTH + length + 6:.1f}" y="{top + 9}">{value:.4g}</text>')
    legend = height - 8
    parts.append(f'<rect x="{_LABEL_WIDTH}" y="{legend - 9}" width="10" height="10" fill="#9aa5b1"/>'
                 f'<text x="{_LABEL_WIDTH + 14}" y="{legend}">baseline</text>'
                 f'<rect x="{_LABEL_WIDTH + 90}" y="{legend - 9}" width="10" height="10" fill="#1f77b4"/>'
                 f'<text x="{_LABEL_WIDTH + 104}" y="{legend}">this run</text></svg>')
    return "".join(parts)
