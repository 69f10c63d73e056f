"""report.html: a self-contained page (inline SVG) with the global attributions per label."""

from __future__ import annotations

import html
from typing import Any

from clarimon.engine.explain import Explanation

_BAR_HEIGHT = 22
_WIDTH = 720
_LABEL_WIDTH = 220


def render(explanation: Explanation, parameters: dict[str, Any]) -> str:
    """The HTML report of an explanation: global attributions per label, and `parameters`."""
    sections = []
    for k, label in enumerate(explanation.labels):
        values = explanation.global_values[:, k]
        order = sorted(range(len(values)), key=lambda j: -abs(float(values[j])))
        sections.append(
            f"<h2>{html.escape(label)}</h2>"
            f"<p>Expected value: <b>{float(explanation.expected[k]):.6g}</b></p>"
            + _bars([explanation.features[j] for j in order], [float(values[j]) for j in order])
        )
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in parameters.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>clarimon explainability report</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
th,td{{text-align:left;padding:2px 12px 2px 0}}svg text{{font-size:12px}}</style></head>
<body><h1>Feature attributions (Kernel SHAP, {html.escape(explanation.agg_method)})</h1>
{''.join(sections)}
<h2>Parameters</h2><table>{rows}</table></body></html>
"""


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
