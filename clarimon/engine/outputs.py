"""Writing an explanation where Clarify writes it: analysis.json, explanations_shap/out.csv, report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from clarimon.engine import report
from clarimon.engine.explain import Explanation


def write(explanation: Explanation, directory: Path, *, save_local: bool, parameters: dict[str, Any]) -> list[Path]:
    """The output files, written under `directory`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "analysis.json", directory / "report.html"]
    written[0].write_bytes(orjson.dumps(explanation.to_analysis_json(), option=orjson.OPT_INDENT_2))
    written[1].write_text(report.render(explanation, parameters))
    if save_local:
        local = directory / "explanations_shap" / "out.csv"
        local.parent.mkdir(exist_ok=True)
        local.write_bytes(explanation.local_csv())
        written.append(local)
    return written
