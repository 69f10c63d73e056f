"""The console's SVG charts: every point drawn and carried for hover, references and thresholds marked, names
escaped, empty data said."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson

from clarimon.console import charts
from clarimon.console.charts import Mark, Series


def chart_data(svg: str) -> list[dict[str, Any]]:
    found = re.search(r'data-chart="([^"]*)"', svg)
    assert found is not None
    data: list[dict[str, Any]] = orjson.loads(html.unescape(found.group(1)))
    return data


def test_a_line_chart_draws_and_carries_every_point_with_its_time_value_and_link() -> None:
    points = [(1_795_590_000.0 + 3600 * i, 0.5 + i / 10, 40 + i) for i in range(5)]
    svg = charts.line_chart([Series("label0", points)], label="NDCG", threshold=0.9,
                            href="/console/executions/us-east-1/")
    assert dots(svg) == [5]
    assert 'class="threshold"' in svg and "threshold 0.9" in svg
    assert 'data-href="/console/executions/us-east-1/"' in svg
    (series,) = chart_data(svg)
    carried = series["points"]
    assert isinstance(carried, list) and len(carried) == 5
    assert carried[0][1:] == [0.5, 1_795_590_000.0, 40]
    xs = [p[0] for p in carried]
    assert xs == sorted(xs) and xs[0] < xs[-1]  # oldest left, so hover can search by x


def dots(svg: str) -> list[int]:
    """How many points each series' path of dots draws."""
    return [d.count("h0") for d in re.findall(r'<path class="points"[^>]* d="([^"]*)"', svg)]


def test_higher_values_are_drawn_higher() -> None:
    svg = charts.line_chart([Series("f", [(0.0, 0.1, None), (1.0, 0.9, None)])], label="f")
    low, high = re.findall(r'<path class="points"[^>]* d="M[\d.]+ ([\d.]+)h0M[\d.]+ ([\d.]+)h0"', svg)[0]
    assert float(high) < float(low)  # SVG's y grows downwards


def test_a_baseline_reference_is_a_dashed_line_and_non_finite_values_are_left_out() -> None:
    svg = charts.line_chart([Series("sat", [(0.0, 0.2, None), (1.0, float("nan"), None), (2.0, 0.3, None)], 0.7)],
                            label="sat")
    assert 'class="reference"' in svg and "sat baseline 0.7" in svg
    assert dots(svg) == [2]


def test_names_are_escaped() -> None:
    svg = charts.line_chart([Series("<script>x</script>", [(0.0, 1.0, None)], 0.5)], label="<b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_no_data_is_said_not_drawn() -> None:
    assert "No data yet" in charts.line_chart([], label="x")
    assert "No data yet" in charts.timeline([], label="x")
    assert "No data yet" in charts.paired_bars([], label="x")


def test_a_timeline_colours_each_execution_by_status_and_links_it() -> None:
    marks = [Mark(0.0, "Completed", 1), Mark(3600.0, "CompletedWithViolations", 2), Mark(7200.0, "Failed", 3),
             Mark(10800.0, "Completed", 4)]
    svg = charts.timeline(marks, label="executions", href="/console/executions/r/")
    bars = dict(re.findall(r'<path class="marks s-(\w+)"[^>]* data-count="(\d+)"', svg))
    assert bars == {"Completed": "2", "CompletedWithViolations": "1", "Failed": "1"}
    for status in ("Completed", "CompletedWithViolations", "Failed"):
        assert charts.STATUS_COLOURS[status] in svg
    (series,) = chart_data(svg)
    assert [(p[1], p[3]) for p in series["points"]] == [("Completed", 1), ("CompletedWithViolations", 2),
                                                        ("Failed", 3), ("Completed", 4)]


def test_paired_bars_show_baseline_beside_current() -> None:
    svg = charts.paired_bars([("sat", 0.7, 0.1), ("gpa", 0.5, None)], label="bars")
    assert svg.count('class="bar baseline"') == 3  # two features' baselines and the legend's
    assert svg.count('class="bar current"') == 2  # sat's current value and the legend's
    assert "sat current 0.1" in svg
