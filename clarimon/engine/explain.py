"""explain(config, data, predictor): Kernel SHAP attributions as Clarify computes them."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from clarimon.engine import baseline as baselines
from clarimon.engine import kernel_shap
from clarimon.engine.config import AnalysisConfig, ConfigError, parse
from clarimon.engine.datasets import Table, read, typed
from clarimon.engine.predictors import Predictor, as_outputs, select

DEFAULT_CLUSTERS = 10
LOGIT_EPSILON = 1e-10

Progress = Callable[[int, int], None]
Fetch = Callable[[str], bytes]
Background = tuple[np.ndarray, np.ndarray]  # (k, M) rows and (k,) weights summing to 1


@dataclass(frozen=True)
class Explanation:
    """Attributions of n rows on m explained features for K model outputs.

    local: (n, m, K); global_values: (m, K), the local values aggregated by `agg_method`;
    expected: (K,), the model's mean output on the background (in logit space with use_logit);
    num_samples: the coalition budget asked for; coalitions: those each design used (fewer when all are
    enumerated); designs: the independent coalition designs, one per group of background rows;
    warnings: what a reader of the values should know (a budget too small for a determined solve)."""

    features: list[str]
    labels: list[str]
    local: np.ndarray
    global_values: np.ndarray
    expected: np.ndarray
    agg_method: str
    num_samples: int
    coalitions: int
    designs: int
    exact: bool
    background_rows: int
    warnings: tuple[str, ...] = ()

    def to_analysis_json(self) -> dict[str, Any]:
        """Clarify's analysis.json: global SHAP values and the expected value per label."""
        per_label = {
            label: {
                "global_shap_values": {f: float(self.global_values[j, k]) for j, f in enumerate(self.features)},
                "expected_value": float(self.expected[k]),
            }
            for k, label in enumerate(self.labels)
        }
        document: dict[str, Any] = {"version": "1.0", "explanations": {"kernel_shap": per_label}}
        if self.warnings:
            document["parameters"] = {"num_samples": self.num_samples, "coalitions": self.coalitions,
                                      "warnings": list(self.warnings)}
        return document

    def local_csv(self) -> bytes:
        """explanations_shap/out.csv: one row per record, one column per feature (per feature and label when
        the model has several outputs); each value in the fewest digits that read back to the same float."""
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        if len(self.labels) == 1:
            header = list(self.features)
        else:
            header = [f"{f}_{label}" for label in self.labels for f in self.features]
        flat = self.local.transpose(0, 2, 1).reshape(len(self.local), -1)
        out = io.BytesIO()
        out.write((",".join(header) + "\n").encode())
        columns = pa.table([np.ascontiguousarray(flat[:, j], dtype=np.float64) for j in range(flat.shape[1])],
                           names=[str(j) for j in range(flat.shape[1])])
        pa_csv.write_csv(columns, out, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
        return out.getvalue()


def explain(config: dict[str, Any] | AnalysisConfig, data: Table | np.ndarray, predictor: Predictor, *,
            memory_mb: int = 1024, progress: Progress | None = None, fetch: Fetch | None = None,
            background: Background | None = None) -> Explanation:
    """Kernel SHAP of `predictor` on every row of `data`, as the Clarify analysis `config` asks.

    data: a Table (columns named) or an (n, M) array (columns named by the config's headers); fetch reads an
    s3:// baseline when the config names one; background: (rows, weights) computed beforehand by
    `background_of` (parts of one dataset explained apart then share it, and `merge` gives the whole's values)."""
    settings = config if isinstance(config, AnalysisConfig) else parse(config)
    shap = settings.shap
    table = data if isinstance(data, Table) else Table(_names(settings, data.shape[1]), data)
    rows = table.values
    if len(rows) == 0:
        raise ValueError("data: no rows to explain")
    columns = _explained(shap.features_to_explain, table.columns)
    background_rng, rng = _generators(shap.seed)
    background_rows, weights = background if background is not None else _background(settings, table,
                                                                                      background_rng, fetch)
    chosen = select(predictor, settings.predictor.probability)

    def predict(batch: np.ndarray) -> np.ndarray:
        return as_outputs(chosen(batch))  # a bare regressor's predict answers (n,), not (n, 1)

    m = len(columns)
    num_samples = shap.num_samples or kernel_shap.default_num_samples(m)
    link = _logit if shap.use_logit else _identity
    # A design per group of background rows averages out sampling error, as long as the game is linear in the
    # background: use_logit takes the logit of the average, so it keeps one design.
    designs = 1 if shap.use_logit else kernel_shap.design_count(len(background_rows), m, num_samples)
    coalitions = kernel_shap.coalitions(m, num_samples, rng, designs)
    averaging, shares = kernel_shap.groups(weights, coalitions.groups)
    on_background = predict(background_rows)
    phi0 = link(weights @ on_background)
    phi0_groups = link(averaging.T @ on_background)
    outputs = phi0.shape[0]
    local = np.empty((len(rows), m, outputs))
    memory = memory_mb * 1024 * 1024
    # f(x) of every row in a few large calls (one per row would pay the model's per-call overhead n times),
    # each a slice of the budget: a model may copy its input several times over (8 leaves room for that).
    row_bytes = max(1, rows.nbytes // len(rows))
    fx = np.concatenate([link(predict(rows[part])) for part in _chunks(len(rows), memory // (8 * row_bytes))])
    warnings: tuple[str, ...] = ()
    if m == 1:
        local[:, 0, :] = fx - phi0[None, :]
    else:
        # Solves run on a thread of their own: the model's thread keeps predicting the blocks already built
        # (about a millisecond each for a linear model) while a batch is solved (tens of milliseconds), and the
        # designs are factorised while the first blocks are evaluated. BLAS limits are process-wide and the
        # threads set and restore theirs in any order: this outer limit restores the caller's at the end.
        with threadpool_limits(limits=kernel_shap.blas_threads(), user_api="blas"), \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="clarimon-solve") as solver:
            projecting = solver.submit(kernel_shap.projection, coalitions)

            def solved(part: slice, values: np.ndarray) -> slice:
                local[part] = kernel_shap.solve(coalitions, link(values), fx[part], phi0_groups, shares,
                                                projecting.result())
                return part

            # a batch stays valid until the one after the next is asked for: one solve in flight at most
            solving: Future[slice] | None = None
            for part, values in kernel_shap.evaluated(rows, background_rows, weights, coalitions.masks, predict,
                                                      np.asarray(columns), memory,
                                                      min(kernel_shap.SOLVE_BYTES, memory // 8)):
                if solving is not None:
                    _report(solving.result(), len(rows), progress)
                solving = solver.submit(solved, part, values)
            if solving is not None:
                _report(solving.result(), len(rows), progress)
        if projecting.result().rank.min() < m - 1:
            warnings = (f"num_samples {num_samples} is below the {kernel_shap.determined_num_samples(m)} "
                        f"coalitions that {m} features need for a determined solve: each value is the "
                        f"minimum-norm solution (an equal split of f(x) - E[f] where the coalitions say "
                        f"nothing), and less reliable than with a larger budget",)
    return Explanation(
        features=[table.columns[j] for j in columns],
        labels=_labels(settings, outputs),
        local=local,
        global_values=_aggregate(local, shap.agg_method),
        expected=phi0,
        agg_method=shap.agg_method,
        num_samples=num_samples,
        coalitions=coalitions.masks.shape[1],
        designs=coalitions.groups,
        exact=coalitions.exact,
        background_rows=len(background_rows),
        warnings=warnings,
    )


def _report(part: slice, total: int, progress: Progress | None) -> None:
    if progress is not None:
        progress(part.stop, total)


def background_of(config: AnalysisConfig, data: Table, fetch: Fetch | None = None) -> Background:
    """The background rows and weights `explain` would use for `data` (k-means of it without a baseline)."""
    return _background(config, data, _generators(config.shap.seed)[0], fetch)


def merge(parts: list[Explanation]) -> Explanation:
    """The explanation of the rows of `parts` together (each explained with one seed and background)."""
    local = np.concatenate([part.local for part in parts])
    first = parts[0]
    return dataclasses.replace(first, local=local, global_values=_aggregate(local, first.agg_method))


def _generators(seed: int | None) -> tuple[np.random.Generator, np.random.Generator]:
    # Separate streams for the background and the coalitions: a background computed apart (`background_of`)
    # leaves the coalitions exactly as one run would draw them.
    first, second = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(first), np.random.default_rng(second)


def _names(settings: AnalysisConfig, width: int) -> list[str]:
    headers = [h for h in settings.headers or [] if h != settings.label]
    return headers if len(headers) == width else [f"feature_{i}" for i in range(width)]


def _explained(chosen: list[str | int] | None, columns: list[str]) -> list[int]:
    if not chosen:
        return list(range(len(columns)))
    indices = []
    for item in chosen:
        if isinstance(item, int) and 0 <= item < len(columns):
            indices.append(item)
        elif isinstance(item, str) and item in columns:
            indices.append(columns.index(item))
        else:
            raise ConfigError(f"methods.shap.features_to_explain: {item!r} is not a feature; features are {columns}")
    return sorted(set(indices))


def _background(settings: AnalysisConfig, table: Table, rng: np.random.Generator,
                fetch: Fetch | None) -> tuple[np.ndarray, np.ndarray]:
    given = settings.shap.baseline
    if given is None:
        return baselines.summarise(table.values, settings.shap.num_clusters or DEFAULT_CLUSTERS, rng)
    if isinstance(given, str):
        if fetch is None:
            raise ConfigError(f"methods.shap.baseline {given!r}: no object store to read it from")
        names = table.columns
        read_back = read(fetch(given), "text/csv", source=given, headers=names)
        rows = read_back.values
    else:
        rows = typed([list(r.values()) if isinstance(r, dict) else list(r) for r in given], table.columns,
                     "methods.shap.baseline")
    if rows.shape[1] != table.values.shape[1]:
        raise ConfigError(
            f"methods.shap.baseline: rows have {rows.shape[1]} values, the dataset has {table.values.shape[1]} features"
        )
    if table.values.dtype != object:
        rows = rows.astype(np.float64)
    return rows, np.full(len(rows), 1 / len(rows))


def _labels(settings: AnalysisConfig, outputs: int) -> list[str]:
    headers = settings.predictor.label_headers
    if headers and settings.predictor.probability is not None and outputs == 1:
        index = int(settings.predictor.probability)
        if index < len(headers):
            return [headers[index]]
    if headers and len(headers) == outputs:
        return list(headers)
    return [f"label{k}" for k in range(outputs)]


def _aggregate(local: np.ndarray, method: str) -> np.ndarray:
    """Clarify's agg_method: mean of |phi|, mean of phi squared, or the median of phi, over the rows."""
    aggregated: np.ndarray
    if method == "mean_abs":
        aggregated = np.abs(local).mean(axis=0)
    elif method == "mean_sq":
        aggregated = np.square(local).mean(axis=0)
    else:
        aggregated = np.median(local, axis=0)
    return aggregated


def _chunks(n: int, size: int) -> list[slice]:
    size = max(1, size)
    return [slice(start, min(n, start + size)) for start in range(0, n, size)]


def _identity(values: np.ndarray) -> np.ndarray:
    return values


def _logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, LOGIT_EPSILON, 1 - LOGIT_EPSILON)
    result: np.ndarray = np.log(clipped / (1 - clipped))
    return result
