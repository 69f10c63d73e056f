"""`clarimon models package`: a fitted model as the model.tar.gz its serving container expects."""

from __future__ import annotations

from pathlib import Path

from clarimon.serving.artifacts import pack

FRAMEWORKS = {"sklearn": "model.joblib", "xgboost": "xgboost-model", "onnx": "model.onnx"}


def package(model: Path, framework: str, entry_point: Path | None = None) -> bytes:
    """model.tar.gz bytes: the model file under the name its container loads, and `code/<entry point>`."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {sorted(FRAMEWORKS)}, got {framework!r}")
    if not model.is_file():
        raise ValueError(f"{model}: no such file")
    files = {FRAMEWORKS[framework]: model}
    if entry_point is not None:
        if framework != "sklearn":
            raise ValueError("an entry point is for the sagemaker-scikit-learn container only")
        if not entry_point.is_file():
            raise ValueError(f"{entry_point}: no such file")
        files[f"code/{entry_point.name}"] = entry_point
    return pack(files)
