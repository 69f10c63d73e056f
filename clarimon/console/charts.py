"""The console's charts: inline SVG written here, no library, no script needed to draw them.

Each chart carries its data as JSON in a `data-chart` attribute (per point: x in the chart's coordinates, its
value, its time in epoch seconds and the id of its execution; the chart's `data-href` is the link to which
an id is appended), which the console's one script reads to show a point's value and time on hover and to open
its execution on click; without the script the chart still shows every point. Long histories stay cheap: per
series one polyline and one path of round dots (a zero-length segment per point), per status one path of bars.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from clarimon.timestamps import utc

WIDTH = 880
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 28
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
# The status colours of the Model Dashboard's convention: green passed, orange violations, red failed.
STATUS_COLOURS = {"Completed": "#2e9e4f", "CompletedWithViolations": "#f0a020", "Failed": "#d62728",
                  "Stopped": "#8c8c8c", "Stopping": "#8c8c8c", "InProgress": "#4a90d9", "Pending": "#b0c4de"}


# One value at a time: (epoch seconds, value, the id of the execution it opens or None). A plain tuple: a
# schedule page draws thousands.
Point = tuple[float, float, int | None]


@dataclass(frozen=True)
class Series:
    """A named line of points, oldest first, with a `reference` value (its baseline) drawn as a dashed line."""

    name: str
    points: Sequence[Point]
    reference: float | None = None


class Mark(NamedTuple):
    """One execution on a timeline: when it was scheduled, its status, and its id."""

    time: float
    status: str
    key: int | None = None


def when(seconds: float) -> str:
    """A time as the console shows it: `2026-11-25 11:00:00` (UTC)."""
    return utc(seconds).strftime("%Y-%m-%d %H:%M:%S")


def line_chart(series: Sequence[Series], *, label: str, threshold: float | None = None, height: int = 200,
               threshold_name: str = "threshold", href: str = "") -> str:
    """Lines of values over time (each series' points oldest first) with their points, each series' reference
    value dashed in its colour, and an optional red `threshold` line; an empty chart says that there is no data
    yet."""
    values = [p[1] for s in series for p in s.points if math.isfinite(p[1])]
    if not values:
        return _empty(label, height)
    times = [min(s.points[0][0] for s in series if s.points), max(s.points[-1][0] for s in series if s.points)]
    values += [s.reference for s in series if s.reference is not None and math.isfinite(s.reference)]
    if threshold is not None:
        values.append(threshold)
    x = _x_scale(times[0], times[-1])
    y = _y_scale(min(values), max(values), height)
    parts = [_open(label, height, "line", href), *_y_axis(min(values), max(values), y, height),
             _x_axis(times, x, height)]
    if threshold is not None:
        parts.append(_rule(y(threshold), "threshold", f"{threshold_name} {threshold:.4g}"))
    data_series = []
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        finite = [p for p in s.points if math.isfinite(p[1])]
        if s.reference is not None and math.isfinite(s.reference):
            parts.append(f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(s.reference):.1f}" '
                         f'y2="{y(s.reference):.1f}" stroke="{colour}"><title>{html.escape(s.name)} baseline '
                         f'{s.reference:.4g}</title></line>')
        xs = x.many([p[0] for p in finite])
        pairs = [f"{px} {py}" for px, py in zip(xs, y.many([p[1] for p in finite]), strict=True)]
        parts.append(f'<polyline class="series" fill="none" stroke="{colour}" points="{" ".join(pairs)}"/>')
        parts.append(f'<path class="points" stroke="{colour}" data-count="{len(pairs)}" '
                     f'd="M{"h0M".join(pairs)}h0"/>')
        data_series.append({"name": s.name, "points": [
            [px, round(value, 6), moment, key] for px, (moment, value, key) in zip(xs, finite, strict=True)]})
    parts.append(_legend(series, threshold is not None))
    parts.append("</svg>")
    parts[0] = parts[0].replace("data-chart=\"\"", f'data-chart="{_json(data_series)}"', 1)
    return "".join(parts)


def timeline(marks: Sequence[Mark], *, label: str, height: int = 56, href: str = "") -> str:
    """Executions as bars along time, one path per status in its colour; a click opens the nearest execution."""
    if not marks:
        return _empty(label, height)
    x = _x_scale(marks[0].time, marks[-1].time)
    plot = WIDTH - LEFT - RIGHT
    bar = round(max(1.5, min(14.0, plot / max(len(marks), 1) * 0.8)), 1)
    tall = height - TOP - BOTTOM
    parts = [_open(label, height, "timeline", href), _x_axis([m.time for m in marks], x, height)]
    by_status: dict[str, list[str]] = {}
    data: list[list[object]] = []
    for middle, mark in zip(x.many([m.time for m in marks]), marks, strict=True):
        by_status.setdefault(mark.status, []).append(f"M{middle} {TOP}v{tall}")
        data.append([middle, mark.status, mark.time, mark.key])
    for status, bars in sorted(by_status.items()):
        parts.append(f'<path class="marks s-{html.escape(status)}" stroke="{STATUS_COLOURS.get(status, "#999999")}" '
                     f'stroke-width="{bar}" data-count="{len(bars)}" d="{"".join(bars)}"/>')
    parts.append(_status_legend(sorted(by_status)))
    parts.append("</svg>")
    parts[0] = parts[0].replace("data-chart=\"\"", f'data-chart="{_json([{"name": "status", "points": data}])}"', 1)
    return "".join(parts)


def paired_bars(rows: Sequence[tuple[str, float | None, float | None]], *, label: str) -> str:
    """Each feature's baseline value (grey) beside its current value (blue), as horizontal bars."""
    if not rows:
        return _empty(label, 60)
    name_width, row = 200, 26
    height = row * len(rows) + TOP + 20
    largest = max((abs(v) for _, a, b in rows for v in (a, b) if v is not None and math.isfinite(v)),
                  default=0.0) or 1.0
    span = WIDTH - name_width - 120
    parts = [f'<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{html.escape(label)}">']
    for i, (name, baseline, current) in enumerate(rows):
        top = TOP + i * row
        parts.append(f'<text x="{name_width - 8}" y="{top + 15}" text-anchor="end">{html.escape(name)}</text>')
        for j, (value, kind) in enumerate(((baseline, "baseline"), (current, "current"))):
            if value is None or not math.isfinite(value):
                continue
            length = abs(value) / largest * span
            y = top + 2 + j * 11
            parts.append(f'<rect class="bar {kind}" x="{name_width}" y="{y}" width="{length:.1f}" height="10">'
                         f'<title>{html.escape(name)} {kind} {value:.6g}</title></rect>'
                         f'<text class="value" x="{name_width + length + 4:.1f}" y="{y + 9}">{value:.4g}</text>')
    legend_y = height - 6
    parts.append(f'<rect class="bar baseline" x="{name_width}" y="{legend_y - 9}" width="10" height="10"/>'
                 f'<text x="{name_width + 14}" y="{legend_y}">baseline</text>'
                 f'<rect class="bar current" x="{name_width + 90}" y="{legend_y - 9}" width="10" height="10"/>'
                 f'<text x="{name_width + 104}" y="{legend_y}">this execution</text></svg>')
    return "".join(parts)


def _open(label: str, height: int, kind: str, href: str) -> str:
    return (f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" role="img" aria-label="{html.escape(label)}" '
            f'data-href="{html.escape(href)}" data-chart="">')


def _empty(label: str, height: int) -> str:
    return (f'<svg class="chart empty" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" role="img" aria-label="{html.escape(label)}">'
            f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">No data yet</text></svg>')


def _x_scale(first: float, last: float) -> _Scale:
    plot = WIDTH - LEFT - RIGHT
    if last <= first:
        return _Scale(first, 0.0, LEFT + plot / 2)
    return _Scale(first, plot / (last - first), LEFT)


def _y_scale(low: float, high: float, height: int) -> _Scale:
    if high <= low:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    plot = height - TOP - BOTTOM
    return _Scale(high, -plot / (high - low), TOP)


@dataclass(frozen=True)
class _Scale:
    """value -> pixel: `offset + (value - origin) * factor`."""

    origin: float
    factor: float
    offset: float

    def __call__(self, value: float) -> float:
        return self.offset + (value - self.origin) * self.factor

    def many(self, values: Sequence[float]) -> list[float]:
        """Pixels of many values, to a tenth (a chart of 1,000 points calls this rather than 1,000 calls)."""
        origin, factor, offset = self.origin, self.factor, self.offset
        return [round(offset + (value - origin) * factor, 1) for value in values]


def _y_axis(low: float, high: float, y: _Scale, height: int) -> list[str]:
    parts = [f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{height - BOTTOM}"/>']
    ticks = 4 if high > low else 1
    for i in range(ticks + 1):
        value = low + (high - low) * i / ticks if ticks > 1 else low
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.3g}</text>'
                     f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>')
    return parts


def _x_axis(times: Sequence[float], x: _Scale, height: int) -> str:
    base = height - BOTTOM
    parts = [f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>']
    first, last = times[0], times[-1]
    picks = [first] if last <= first else [first + (last - first) * i / 3 for i in range(4)]
    anchors = ["start", "middle", "middle", "end"] if len(picks) > 1 else ["middle"]
    for moment, anchor in zip(picks, anchors, strict=True):
        parts.append(f'<text class="tick" x="{x(moment):.1f}" y="{base + 18}" text-anchor="{anchor}">'
                     f'{when(moment)[:16]}</text>')
    return "".join(parts)


def _rule(y: float, kind: str, title: str) -> str:
    return (f'<line class="{kind}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
            f'<title>{html.escape(title)}</title></line>'
            f'<text class="{kind}-label" x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end">'
            f'{html.escape(title)}</text>')


def _legend(series: Sequence[Series], threshold: bool) -> str:
    if len(series) < 2 and not any(s.reference is not None for s in series):
        return ""
    parts, left = [], LEFT + 8
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        text = s.name + (" (dashed: baseline)" if s.reference is not None and len(series) == 1 else "")
        parts.append(f'<rect x="{left}" y="{TOP - 10}" width="10" height="3" fill="{colour}"/>'
                     f'<text class="legend" x="{left + 14}" y="{TOP - 4}">{html.escape(text)}</text>')
        left += 24 + 7 * len(text)
    return "".join(parts)


def _status_legend(statuses: list[str]) -> str:
    parts, left = [], LEFT
    for status in statuses:
        parts.append(f'<rect x="{left}" y="2" width="10" height="10" fill="{STATUS_COLOURS.get(status, "#999999")}"/>'
                     f'<text class="legend" x="{left + 14}" y="11">{html.escape(status)}</text>')
        left += 24 + 7 * len(status)
    return "".join(parts)


def _json(data: object) -> str:
    return html.escape(orjson.dumps(data).decode(), quote=True)
