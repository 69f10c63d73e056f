"""The background of Kernel SHAP: given rows, or a summary of the dataset (k-means, k-prototypes)."""

from __future__ import annotations

import numpy as np


def summarise(values: np.ndarray, clusters: int, rng: np.random.Generator,
              iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """k cluster centres of (n, M) `values` and their weights (cluster sizes / n).

    Numeric columns get the cluster mean; categorical (string) columns the cluster's most frequent value
    (k-prototypes, with Huang's mixed distance). All-numeric data is plain k-means (Lloyd)."""
    n = len(values)
    k = min(clusters, n)
    if k < 1:
        raise ValueError(f"clusters: need at least one row and one cluster, got {n} rows and {clusters}")
    categorical = [j for j in range(values.shape[1]) if values.dtype == object and isinstance(values[0, j], str)]
    numeric = [j for j in range(values.shape[1]) if j not in categorical]
    numbers = values[:, numeric].astype(np.float64)
    scale = numbers.std(axis=0)
    scale[scale == 0] = 1.0
    scaled = numbers / scale
    # Huang's weight of a categorical mismatch: half the mean standard deviation of the (scaled) numbers.
    gamma = 0.5 if numeric else 1.0
    labels = values[:, categorical].astype(str)

    start = rng.choice(n, size=k, replace=False)
    centres, modes = scaled[start].copy(), labels[start].copy()
    assignment = np.full(n, -1)
    for _ in range(iterations):
        distance = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        distance += gamma * (labels[:, None, :] != modes[None, :, :]).sum(axis=2)
        new = distance.argmin(axis=1)
        if np.array_equal(new, assignment):
            break
        assignment = new
        for c in range(k):
            members = assignment == c
            if not members.any():
                continue  # an empty cluster keeps its centre and ends with weight 0
            centres[c] = scaled[members].mean(axis=0)
            for i in range(len(categorical)):
                kinds, counts = np.unique(labels[members, i], return_counts=True)
                modes[c, i] = kinds[counts.argmax()]
    weights = np.bincount(assignment, minlength=k).astype(np.float64)
    keep = weights > 0
    summary = np.empty((int(keep.sum()), values.shape[1]), dtype=values.dtype)
    summary[:, numeric] = (centres * scale)[keep]
    summary[:, categorical] = modes[keep]
    return summary, weights[keep] / n
