"""Writing an explanation where Clarify writes it: analysis.json, explanations_shap/out.csv, report.html."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from clarimon.engine import report
from clarimon.engine.explain import Explanation


def files(explanation: Explanation, *, save_local: bool, parameters: dict[str, Any],
          baseline: dict[str, Any] | None = None, violations: Sequence[dict[str, Any]] = ()) -> dict[str, bytes]:
    """Clarify's output files by their path in the output folder: analysis.json, report.html (beside the
    `baseline` analysis, with the `violations`, when there is one) and, with `save_local`,
    explanations_shap/out.csv."""
    found = {"analysis.json": orjson.dumps(explanation.to_analysis_json(), option=orjson.OPT_INDENT_2),
             "report.html": report.render(explanation, parameters, baseline=baseline,
                                          violations=violations).encode()}
    if save_local:
        found["explanations_shap/out.csv"] = explanation.local_csv()
    return found


def write(explanation: Explanation, directory: Path, *, save_local: bool, parameters: dict[str, Any]) -> list[Path]:
    """The output files, written under `directory`; returns their paths."""
    written = []
    for name, content in files(explanation, save_local=save_local, parameters=parameters).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written
