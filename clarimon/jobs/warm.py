"""What every job's process needs, imported once: the jobs' warm parent (`clarimon.serving.zygotes`) imports this
module, and each job then starts as a fork of it, with the engine imported, its compiled kernel loaded and the
model libraries of the supported containers imported (about 1.5 s a job otherwise; see benchmarks/monitoring.py).

Importing this module has that side effect on purpose; nothing else imports it. No Python thread outlives the
warm-up; the native pools that do (OpenBLAS's workers, pyarrow's jemalloc background thread) register fork
handlers, so forking afterwards is safe.
"""

from __future__ import annotations

import importlib

import numpy as np

from clarimon.engine import explain
from clarimon.jobs import analysis  # noqa: F401 (imported for the forks)

# The containers' libraries, where installed: unpickling a model imports the modules its classes live in.
LIBRARIES = ("joblib", "sklearn.pipeline", "sklearn.preprocessing", "sklearn.linear_model", "sklearn.ensemble",
             "sklearn.tree", "xgboost", "onnxruntime", "pyarrow.csv", "pyarrow.parquet")


def _warm() -> None:
    for library in LIBRARIES:
        try:
            importlib.import_module(library)
        except ImportError:
            continue
    rows = np.arange(12.0).reshape(4, 3)
    explain({"methods": {"shap": {"baseline": rows[:2].tolist()}}}, rows, lambda batch: batch.sum(axis=1))


_warm()
