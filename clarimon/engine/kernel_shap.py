"""Kernel SHAP: coalition designs, the constrained weighted least-squares solve, and model evaluation on
synthetic rows.

Pure functions of arrays. For n rows, m features, s coalitions, k background rows in G groups and K outputs:

- The Shapley value is linear in the game, and v(S) = sum_b w_b f(x_S, b_~S) is a weighted sum of one game per
  background row; so the background rows are split into G groups (row b in group b % G), each group's game gets
  a coalition design of its own, and phi = sum_g W_g phi_g. Independent designs average out each other's
  sampling error at no extra model evaluation: n x s x k evaluations, as with one shared design. On breast cancer
  (m = 30, 20 background rows) this halves the error of one shared design at 2m + 2048 coalitions and at 8192.
  With all coalitions enumerated (2^m - 2 <= s) every group has the same design and G = 1.
- Each design: every coalition of the small sizes the budget covers, the rest drawn per size without
  repetition, each size with its complement (paired sampling makes the solve exact for games with at most
  pairwise interactions); each coalition carries its size's kernel mass divided by the coalitions drawn of it.
- Efficiency, sum(phi) = f(x) - E[f(background)], is exact by construction: phi = delta/m + B psi with B an
  orthonormal basis of the vectors summing to zero, so the solve only has to find psi (m - 1 unknowns), through
  the SVD of each design's weighted matrix, factorised once for all rows. A budget too small for m - 1
  independent equations gives the minimum-norm psi (attributions shrunk toward the equal split delta/m,
  bounded whatever the budget); a budget that barely determines psi (fewer than two equations per unknown)
  takes a ridge penalty chosen per row by generalised cross-validation (divided by the number of designs whose
  solutions are averaged), where least squares has its largest variance.
- Synthetic rows are built by broadcasting into a reused buffer and evaluated in chunks under a memory budget.

With all coalitions enumerated the solution equals the Shapley values of v(S) = E_b[f(x_S, b_~S)] exactly.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from threadpoolctl import threadpool_limits

Predict = Callable[[np.ndarray], np.ndarray]

# Two buffers of synthetic rows. Small enough to stay in the cache (L3: 32 MB here), so that the model reads
# what was just written from the cache: a 60-feature linear model explained 1.4x faster than with 64 MB; large
# enough that a model's cost per call stays small beside a block (a 50-tree forest: 2.3 ms a call, 5% of a
# block of 35,000 rows of 60 features).
WORK_BYTES = 16 * 1024 * 1024
SOLVE_BYTES = 32 * 1024 * 1024  # coalition values solved together: the factorisations are read once per batch
SOLVER_BYTES = 128 * 1024 * 1024  # the designs' factorised solves together: G x m x s floats at most
RCOND = 1e-6  # singular values below this fraction of the largest are directions the design does not see
RIDGE_GRID = np.concatenate([[0.0], np.logspace(-6, 2, 25)])  # ridge penalties, times the largest S^2


@dataclass(frozen=True)
class Coalitions:
    """Coalition designs and their kernel weights, one design per group of background rows.

    masks: (G, s, m) bool, True where a feature comes from the explained row; design g serves the background
    rows b with b % G == g. weights: (G, s) float64, each design's summing to 1.
    exact: True when every non-trivial coalition is present with its exact Shapley kernel weight (then G = 1).
    """

    masks: np.ndarray
    weights: np.ndarray
    exact: bool

    @property
    def groups(self) -> int:
        """G, the number of designs."""
        return int(self.masks.shape[0])


def default_num_samples(m: int) -> int:
    """shap's default budget: 2m + 2048."""
    return 2 * m + 2048


def determined_num_samples(m: int) -> int:
    """The fewest coalitions that determine m attributions: m - 1 independent pairs (or all 2^m - 2)."""
    return min(2 * (m - 1), 2**m - 2) if m < 63 else 2 * (m - 1)


def design_count(k: int, m: int, num_samples: int) -> int:
    """G for k background rows: one design per row, as many as SOLVER_BYTES holds the solves of."""
    return max(1, min(k, SOLVER_BYTES // (8 * max(1, m) * max(1, num_samples))))


def coalitions(m: int, num_samples: int, rng: np.random.Generator, designs: int = 1) -> Coalitions:
    """`designs` coalition designs for m features within `num_samples` coalitions each (one exact design when
    2^m - 2 <= num_samples). Any budget from 1 gives a design; the solve copes with too few coalitions."""
    if m < 1:
        raise ValueError(f"m: need at least one feature to explain, got {m}")
    if num_samples < 1:
        raise ValueError(f"num_samples: must be positive, got {num_samples}")
    if designs < 1:
        raise ValueError(f"designs: must be positive, got {designs}")
    if m == 1:
        return Coalitions(np.zeros((1, 0, 1), dtype=bool), np.zeros((1, 0)), exact=True)
    if m < 63 and 2**m - 2 <= num_samples:
        masks, weights = _all_coalitions(m)
        return Coalitions(masks[None], weights[None], exact=True)
    plan = _plan(m, num_samples)
    masks, weights = _sampled(m, plan, rng, designs)
    return Coalitions(np.ascontiguousarray(masks), weights, exact=False)


def _kernel_weight(m: int, size: int) -> float:
    return (m - 1) / (math.comb(m, size) * size * (m - size))


def _all_coalitions(m: int) -> tuple[np.ndarray, np.ndarray]:
    codes = np.arange(1, 2**m - 1, dtype=np.int64)
    masks = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
    sizes = masks.sum(axis=1)
    table = np.array([0.0] + [_kernel_weight(m, size) for size in range(1, m)] + [0.0])
    weights = table[sizes]
    return masks, weights / weights.sum()


@dataclass(frozen=True)
class _Plan:
    """What a sampled design holds: the sizes enumerated in full, then per sampled size the pairs drawn, and
    at most one coalition drawn without its complement (an odd budget's last coalition)."""

    full_sizes: int
    size_mass: np.ndarray  # (ceil((m-1)/2),) kernel mass of size i+1 together with its complement size
    paired: int  # sizes 1..paired come with their complements
    draws: dict[int, int]  # size -> draws (pairs for a paired size)
    single: int | None  # the size whose stratum takes one unpaired coalition


def _plan(m: int, num_samples: int) -> _Plan:
    # As shap's KernelExplainer: sizes s and m - s are paired; a size pair is enumerated in full while the budget
    # covers it at its share of the kernel weight; the remaining sizes are sampled.
    num_sizes = math.ceil((m - 1) / 2)
    num_paired = math.floor((m - 1) / 2)
    size_mass = np.array([(m - 1) / (i * (m - i)) for i in range(1, num_sizes + 1)])
    size_mass[:num_paired] *= 2
    size_mass /= size_mass.sum()
    left = num_samples
    remaining = size_mass.copy()
    full_sizes = 0
    for size in range(1, num_sizes + 1):
        count = math.comb(m, size) * (2 if size <= num_paired else 1)
        if left * remaining[size - 1] / count < 1.0 - 1e-8:
            break
        full_sizes += 1
        left -= count
        if remaining[size - 1] < 1:
            remaining /= 1 - remaining[size - 1]
    draws: dict[int, int] = {}
    single = None
    if full_sizes < num_sizes and left > 0:
        # Stratified by size, where shap draws sizes at random and renormalises all weights together: the budget
        # left is split evenly over the remaining sizes (the regression's leverage scores are equal per size, as
        # in Musco & Witter's Leverage SHAP), each size's coalitions are drawn without repetition, and each
        # carries mass / count, so every size holds exactly its kernel mass.
        rest = np.arange(full_sizes, num_sizes)
        per_draw = np.where(rest < num_paired, 2, 1)  # a paired size spends two masks per draw
        share = np.full(len(rest), left / per_draw.sum())
        counts = np.floor(share).astype(int)
        spare = left - int((counts * per_draw).sum())
        order = np.argsort(share - counts, kind="stable")[::-1]  # the remainder, largest fractions first
        for extra in order:
            if spare >= per_draw[extra]:
                counts[extra] += 1
                spare -= int(per_draw[extra])
        for index, size_index in enumerate(rest):
            size = int(size_index) + 1
            draws[size] = min(int(counts[index]), math.comb(m, size))
        if spare:  # an odd budget: its last coalition goes, without complement, to a paired size not exhausted
            single = next((int(s) + 1 for s in rest[order] if s < num_paired
                           and draws[int(s) + 1] < math.comb(m, int(s) + 1)), None)
    return _Plan(full_sizes, size_mass, num_paired, draws, single)


def _sampled(m: int, plan: _Plan, rng: np.random.Generator, designs: int) -> tuple[np.ndarray, np.ndarray]:
    """`designs` designs of `plan`: their masks (G, s, m) and weights (G, s), each design's summing to 1. The
    enumerated sizes are the same in every design; each sampled size is drawn for all designs at once."""
    masks: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for size in range(1, plan.full_sizes + 1):
        paired = size <= plan.paired
        chosen = np.array(list(itertools.combinations(range(m), size)))
        subsets = np.zeros((len(chosen), m), dtype=bool)
        np.put_along_axis(subsets, chosen, True, axis=1)
        stratum = _with_complements(subsets[None]) if paired else subsets[None]
        masks.append(np.broadcast_to(stratum, (designs, *stratum.shape[1:])))
        weight = float(plan.size_mass[size - 1]) / math.comb(m, size) / (2 if paired else 1)
        weights.append(np.full(stratum.shape[1], weight))
    for size, count in plan.draws.items():
        paired = size <= plan.paired
        single = plan.single == size
        if count == 0 and not single:
            continue
        subsets = _distinct_subsets(m, size, count + single, rng, designs)  # (G, count + single, m)
        stratum = _with_complements(subsets[:, :count]) if paired else subsets[:, :count]
        if single:  # the extra draw, or its complement: either size of the pair, at random
            flip = rng.random(designs) < 0.5
            extra = np.where(flip[:, None], subsets[:, -1], ~subsets[:, -1])
            stratum = np.concatenate([stratum, extra[:, None]], axis=1)
        masks.append(stratum)
        weights.append(np.full(stratum.shape[1], float(plan.size_mass[size - 1]) / stratum.shape[1]))
    joined = np.concatenate(weights)
    return np.concatenate(masks, axis=1), np.broadcast_to(joined / joined.sum(), (designs, len(joined))).copy()


def _with_complements(subsets: np.ndarray) -> np.ndarray:
    """(G, c, m) subsets -> (G, 2c, m): each followed by its complement."""
    return np.stack([subsets, ~subsets], axis=2).reshape(subsets.shape[0], -1, subsets.shape[2])


def _distinct_subsets(m: int, size: int, count: int, rng: np.random.Generator, designs: int) -> np.ndarray:
    """(designs, count, m) masks: per design, `count` different subsets of `size` of m features, uniformly at
    random (the first distinct ones of a stream of uniform draws, kept in the order drawn)."""
    out = np.empty((designs, count, m), dtype=bool)
    held = [np.empty((0, m), dtype=bool) for _ in range(designs)]
    short = list(range(designs))
    while short:
        # a few more than missing: duplicates are rare unless count nears comb(m, size)
        extra = max(count - len(held[g]) for g in short)
        fresh = _random_subsets(m, size, len(short) * (extra + extra // 4 + 4), rng).reshape(len(short), -1, m)
        still = []
        for g, drawn in zip(short, fresh, strict=True):
            pool = np.concatenate([held[g], drawn])
            packed = np.ascontiguousarray(np.packbits(pool, axis=1))
            _, first = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_index=True)
            held[g] = pool[np.sort(first)[:count]]
            if len(held[g]) == count:
                out[g] = held[g]
            else:
                still.append(g)
        short = still
    return out


def _random_subsets(m: int, size: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, m) masks of independent uniformly random subsets of `size` of m features."""
    chosen = np.argpartition(rng.random((draws, m)), size - 1, axis=1)[:, :size]
    masks = np.zeros((draws, m), dtype=bool)
    np.put_along_axis(masks, chosen, True, axis=1)
    return masks


def groups(background_weights: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """How G = `count` groups average the background: (k, G) weights within each group (each column summing
    to 1, row b in column b % G) and (G,) each group's share of the total weight."""
    k = len(background_weights)
    member = np.zeros((k, count))
    member[np.arange(k), np.arange(k) % count] = background_weights
    shares = member.sum(axis=0)
    averaging = member / np.where(shares > 0, shares, 1.0)[None, :]
    return averaging, shares


@dataclass(frozen=True)
class Projection:
    """Each design's constrained weighted least-squares solve, factorised once for all rows.

    With phi = delta/m + B psi (B: (m, m-1) orthonormal, columns summing to zero), a design's masks Z (s, m) and
    weights w, the eigendecomposition V S^2 V^T of B^T Z^T W Z B (the SVD of diag(sqrt(w)) Z B, squared) gives
    psi = V diag(f) c with c = S^-1 V^T B^T Z^T W y (= U^T sqrt(W) y, U the SVD's left vectors) for the row's
    centred values y, and f = S / (S^2 + lambda) (lambda = 0: least squares, minimum norm).

    coefficients: (G, r, s) S^-1 V^T B^T Z^T W, zero past a design's rank (c = coefficients @ y); right: (G, m, r) B V;
    singular: (G, r) S, 0 past the rank; ones, sizes: (G, r) c of a row of ones and of |z|; ridge: (G,) bool,
    where lambda is chosen per row; rank: (G,) the directions each design determines (m - 1 when determined);
    weights, mask_sizes: (G, s) each coalition's weight and size."""

    coefficients: np.ndarray
    right: np.ndarray
    singular: np.ndarray
    ones: np.ndarray
    sizes: np.ndarray
    ridge: np.ndarray
    rank: np.ndarray
    weights: np.ndarray
    mask_sizes: np.ndarray


def projection(coalitions: Coalitions) -> Projection:
    """The factorised solve of each of `coalitions`' designs.

    On one BLAS thread: its matrices are small, and with a second thread busy elsewhere (the model, another
    process) OpenBLAS's threads only wait on each other (0.03 s on one thread, 0.11 s on two, for 20 designs of
    2,168 coalitions on 60 features on this loaded 2-core machine)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _projection(coalitions)


def _projection(coalitions: Coalitions) -> Projection:
    g_count, s, m = coalitions.masks.shape
    r = m - 1
    basis = _sum_zero_basis(m)
    masks = coalitions.masks.astype(np.float64)
    weighted = (masks * coalitions.weights[:, :, None]).transpose(0, 2, 1)  # (G, m, s)
    gram = basis.T @ (weighted @ masks) @ basis  # (G, r, r): the squared design, without forming it
    reduce = np.zeros((g_count, r, m))
    right = np.zeros((g_count, m, r))
    singular = np.zeros((g_count, r))
    ridge = np.zeros(g_count, dtype=bool)
    rank = np.zeros(g_count, dtype=int)
    # LAPACK's SVD of the tall (s, r) design took 40 ms a design here, the eigendecomposition of its (r, r)
    # square 0.6 ms; directions below RCOND keep the squared condition number within precision.
    all_squared, all_vectors = np.linalg.eigh(gram)  # ascending, every design in one call
    for g in range(g_count):
        squared, vectors = all_squared[g, ::-1], all_vectors[g, :, ::-1]
        kept = int((squared > (RCOND**2) * squared[0]).sum()) if squared[0] > 0 else 0
        values = np.sqrt(squared[:kept])
        reduce[g, :kept] = (basis @ vectors[:, :kept]).T / values[:, None]
        right[g, :, :kept] = basis @ vectors[:, :kept]
        singular[g, :kept] = values
        rank[g] = kept
        # Least squares has its largest variance where the equations barely determine psi (double descent):
        # there a ridge penalty chosen per row by generalised cross-validation; elsewhere plain least squares,
        # which stays exact when every coalition is enumerated. (A coalition and its complement make one
        # equation, so s >= 4r coalitions always make at least 2r: no need to count them.)
        ridge[g] = not coalitions.exact and kept == r and s < 4 * r and _equations(coalitions.masks[g]) < 2 * r
    sizes_of = coalitions.masks.sum(axis=2).astype(np.float64)
    coefficients = reduce @ weighted  # (G, r, s): one product per solve instead of two
    ones = coefficients.sum(axis=2)
    sizes = np.einsum("grs,gs->gr", coefficients, sizes_of)
    return Projection(coefficients, right, singular, ones, sizes, ridge, rank, coalitions.weights, sizes_of)


def _sum_zero_basis(m: int) -> np.ndarray:
    """(m, m - 1) orthonormal columns spanning the vectors whose entries sum to zero."""
    q, _ = np.linalg.qr(np.eye(m)[:, :-1] - 1.0 / m)
    basis: np.ndarray = q
    return basis


def _equations(masks: np.ndarray) -> int:
    """Distinct equations of a design: a coalition and its complement give the same one (up to sign)."""
    if len(masks) == 0:
        return 0
    canonical = np.where(masks[:, :1], ~masks, masks)
    return len(np.unique(np.packbits(canonical, axis=1), axis=0))


def solve(coalitions: Coalitions, values: np.ndarray, fx: np.ndarray, phi0: np.ndarray,
          shares: np.ndarray | None = None, projected: Projection | None = None) -> np.ndarray:
    """Shapley values from coalition values.

    values: (n, s, G, K) g(z) per row, coalition, design group and output (or (n, s, K) with one design);
    fx: (n, K) f(x); phi0: (G, K) each group's E[f(background)] (or (K,) with one design); shares: (G,) each
    group's weight (default equal); projected: `projection(coalitions)`, when the caller solves many chunks
    with one factorisation. Returns (n, m, K), each row summing exactly to fx - sum_g shares_g phi0_g over m."""
    m = coalitions.masks.shape[2]
    g_count = coalitions.groups
    if values.ndim == 3:
        values = values[:, :, None, :]
    if phi0.ndim == 1:
        phi0 = phi0[None, :]
    weights = np.full(g_count, 1 / g_count) if shares is None else shares
    n, s, _, outputs = values.shape
    delta = fx[:, None, :] - phi0[None, :, :]  # (n, G, K)
    result = np.repeat(((weights[None, :, None] * delta).sum(axis=1) / m)[:, None, :], m, axis=1)
    if m == 1:
        return result
    solver = projection(coalitions) if projected is None else projected
    # c for every group in one batched product, (G, K n, s) @ (G, s, r): BLAS reads values laid out as
    # (G, K, n, s) (as `evaluated` lays them out) without a copy; with (n, s, G, K) strides matmul took 2.7x longer
    by_group = values.transpose(2, 3, 0, 1).reshape(g_count, outputs * n, s)
    projected_values = by_group @ solver.coefficients.transpose(0, 2, 1)
    coordinates = projected_values.reshape(g_count, outputs, n, -1).transpose(0, 2, 1, 3)  # (G, n, K, r)
    coordinates -= solver.ones[:, None, None, :] * phi0[:, None, :, None]
    coordinates -= solver.sizes[:, None, None, :] * (delta.transpose(1, 0, 2)[:, :, :, None] / m)
    independent = 1 / float((weights**2).sum())  # designs averaged: G when their weights are equal
    for g in range(g_count):
        c = coordinates[g]
        factor = _factor(solver, g, values[:, :, g, :], phi0[g], delta[:, g, :] / m, c, independent)
        c *= factor * weights[g]
    # phi = sum_g W_g B V_g psi_g: one product over the groups' stacked coordinates
    stacked = coordinates.transpose(1, 2, 0, 3).reshape(n * outputs, -1)  # (n K, G r)
    right = solver.right.transpose(1, 0, 2).reshape(m, -1)  # (m, G r)
    result += (stacked @ right.T).reshape(n, outputs, m).transpose(0, 2, 1)
    return result


def _factor(solver: Projection, g: int, values: np.ndarray, phi0: np.ndarray, per_feature: np.ndarray,
            c: np.ndarray, independent: float) -> np.ndarray:
    """f = S / (S^2 + lambda): lambda = 0 (least squares, minimum norm), or per row and output the penalty of
    RIDGE_GRID with the least generalised cross-validation score, RSS / (s - dof)^2, divided by the number of
    `independent` designs whose solutions are averaged: the variance a penalty trades against shrinks that many
    times in the average, its bias does not (on a 50-tree forest of 10 features at 2m coalitions and 20
    background rows this took the error from 0.0215 to 0.0112; unpenalised, 0.0135). Shape (r,) or (n, K, r)."""
    singular = solver.singular[g]
    seen = singular > 0
    plain = np.where(seen, 1 / np.where(seen, singular, 1.0), 0.0)
    if not solver.ridge[g]:
        return plain
    s = values.shape[1]
    centred = values - phi0[None, None, :] - solver.mask_sizes[g][None, :, None] * per_feature[:, None, :]
    total = np.einsum("s,nsk->nk", solver.weights[g], centred**2)  # ||sqrt(w) y||^2
    explained = (c**2).sum(axis=2)
    penalties = RIDGE_GRID * singular[0] ** 2  # (L,)
    squared = singular**2
    shrink = penalties[:, None] / (squared[None, :] + penalties[:, None])  # (L, r): 1 - S^2 / (S^2 + lambda)
    shrink[:, ~seen] = 1.0
    rss = np.einsum("lr,nkr->nkl", shrink**2, c**2) + (total - explained)[:, :, None]
    dof = s - (1 - shrink).sum(axis=1)  # (L,)
    score = rss / np.maximum(dof, 1e-12)[None, None, :] ** 2
    best = penalties[np.argmin(score, axis=2)] / independent  # (n, K)
    factor: np.ndarray = np.where(seen, singular / (squared + best[:, :, None]), 0.0)
    return factor


def coalition_values(
    rows: np.ndarray,
    background: np.ndarray,
    background_weights: np.ndarray,
    masks: np.ndarray,
    predict: Predict,
    columns: np.ndarray,
    memory_bytes: int,
) -> Iterator[tuple[slice, np.ndarray]]:
    """g(z) = sum_b w_b f(z*x + (1 - z)*b) per design group, for chunks of rows, yielded as (row slice, values).

    rows: (n, M) rows to explain; background: (k, M) with weights (k,) summing to 1; masks: (G, s, m) designs
    over the explained `columns` (m indices into M; the other columns always keep the row's value), design g
    serving the background rows b with b % G == g, each group averaged with its weights made to sum to 1
    (`groups`); values are (rows, s, G, K), or (rows, s, K) for masks given as one (s, m) design, each chunk
    the caller's to keep. Synthetic rows are written into reused buffers of at most about `memory_bytes`
    together."""
    for part, values in evaluated(rows, background, background_weights, masks, predict, columns, memory_bytes, 0):
        yield part, values.copy()


def evaluated(
    rows: np.ndarray,
    background: np.ndarray,
    background_weights: np.ndarray,
    masks: np.ndarray,
    predict: Predict,
    columns: np.ndarray,
    memory_bytes: int,
    limit_bytes: int = SOLVE_BYTES,
) -> Iterator[tuple[slice, np.ndarray]]:
    """`coalition_values`' values for consecutive batches of rows of about `limit_bytes` (at least one block's
    rows), each valid until the batch after the next is asked for: two buffers take turns, so that a batch can
    be solved on another thread while the next one is evaluated.

    Each block's values are copied once, straight into a reused buffer laid out (G, K, rows, s), whose (rows, s,
    G, K) view is yielded: `solve`'s product reads that layout without a copy, and reads every design's
    factorisation (G x r x s floats: 20 MB for 20 designs of 2,168 coalitions on 60 features) once per batch
    instead of once per row. (Copying each block, joining a row's blocks, then joining rows cost 0.1 s of copies
    and page faults per 200 rows of 60 features.)"""
    single = masks.ndim == 2
    designs = masks[None] if single else masks
    s = designs.shape[1]
    if s == 0:
        raise ValueError("masks: no coalitions to evaluate (one feature needs none: its value is f(x) - phi0)")
    averaging, _ = groups(background_weights, designs.shape[0])
    buffers = [np.empty((0, 0, 0, 0))] * 2
    buffer = buffers[0]
    start = used = turn = 0
    for part, m_start, averaged in _blocks(rows, background, averaging, designs, predict, columns, memory_bytes):
        count, width = part.stop - part.start, averaged.shape[1]
        if m_start == 0 and used and used + count > buffer.shape[2]:
            yield _batch(buffer, start, used, single)
            used = 0
        if not used and m_start == 0:
            # blocks hold the same rows count but the last: the first block's count is the largest
            capacity = max(count, limit_bytes // (s * averaged[0, 0].nbytes))
            shape = (*averaged.shape[2:], capacity, s)
            turn = 1 - turn
            if buffers[turn].shape != shape:
                buffers[turn] = np.empty(shape)
            buffer = buffers[turn]
            start = part.start
        buffer[:, :, used : used + count, m_start : m_start + width] = averaged.transpose(2, 3, 0, 1)
        if m_start + width == s:
            used += count
    if used:
        yield _batch(buffer, start, used, single)


def _batch(buffer: np.ndarray, start: int, used: int, single: bool) -> tuple[slice, np.ndarray]:
    values = buffer[:, :, :used].transpose(2, 3, 0, 1)  # (rows, s, G, K)
    return slice(start, start + used), values[:, :, 0] if single else values


@numba.njit(nogil=True, cache=True)
def _fill(out: np.ndarray, rows: np.ndarray, background: np.ndarray, cells: np.ndarray) -> None:  # pragma: no cover
    """out[r, z, b, j] = rows[r, j] where cells[b % G, z, j], else background[b, j], on the values' bits.

    Branch-free (a select by bit masks, which the compiler vectorises): a branch per cell mispredicts wherever
    the designs differ from one background row to the next, and writing only the row's cells of a buffer that
    kept its background cells was 1.3x slower with 20 designs of 60 features. Write-only: the output streams
    once while rows, background and cells stay in cache; without the GIL it overlaps the model's predict.
    out, rows, background: the values viewed as signed integers of their width; cells: uint8, 0 or 1."""
    count, width, k, total = out.shape
    designs = cells.shape[0]
    for r in range(count):
        row = rows[r]
        for z in range(width):
            for b in range(k):
                cell = cells[b % designs, z]
                into = out[r, z, b]
                base = background[b]
                for j in range(total):
                    into[j] = base[j] ^ ((row[j] ^ base[j]) & -np.int64(cell[j]))


def _blocks(
    rows: np.ndarray,
    background: np.ndarray,
    averaging: np.ndarray,
    masks: np.ndarray,
    predict: Predict,
    columns: np.ndarray,
    memory_bytes: int,
) -> Iterator[tuple[slice, int, np.ndarray]]:
    """Model outputs averaged over each group's background, per block of rows and coalitions:
    (rows, first mask, values (rows, width, G, K)), a block's values valid until the next is asked for.

    Two buffers take turns: while the model predicts one block on a worker thread (calls stay sequential), the
    next block is built on this one. BLAS pools get one core fewer meanwhile, so that building has a core of its
    own: on this machine's 2 cores that took logistic regression from 1.41 s to 1.01 s (floor 0.89 s); with BLAS
    on every core the two threads only contend. OpenMP pools (XGBoost, LightGBM) are left alone."""
    n, total = rows.shape
    k = background.shape[0]
    designs, s, _ = masks.shape
    full = np.ones((designs, s, total), dtype=bool)
    full[:, :, columns] = masks
    cells = full.view(np.uint8)
    bits = rows.dtype != object and rows.dtype.itemsize in (1, 2, 4, 8)
    if bits:  # the kernel selects bits: the same values, viewed as integers of their width
        as_bits = np.dtype(f"i{rows.dtype.itemsize}")
        rows = np.ascontiguousarray(rows)
        row_bits = rows.view(as_bits)
        background_bits = np.ascontiguousarray(background, dtype=rows.dtype).view(as_bits)
    block = min(memory_bytes, WORK_BYTES) // 2  # two buffers
    per_mask = k * total * rows.dtype.itemsize
    masks_per_block = max(1, min(s, block // max(per_mask, 1)))
    rows_per_block = max(1, block // max(per_mask * masks_per_block, 1)) if masks_per_block == s else 1
    buffers = [np.empty((rows_per_block, masks_per_block, k, total), dtype=rows.dtype) for _ in range(2)]
    pending: deque[tuple[Future[np.ndarray], slice, int, int, int]] = deque()
    per_background = np.arange(k) % designs

    def finished() -> tuple[slice, int, np.ndarray]:
        future, part, m_start, count, width = pending.popleft()
        predictions = _as_2d(future.result())
        outputs = predictions.shape[1]
        if designs == k:  # a design per background row: each group's average is that row's output
            # (not copied: a model may answer with a view of its input, a buffer about to be refilled, so the
            # consumer copies before the next block is asked for)
            return part, m_start, predictions.reshape(count, width, k, outputs)
        by_background = predictions.reshape(count * width, k, outputs).transpose(0, 2, 1).reshape(-1, k)
        averaged = (by_background @ averaging).reshape(count, width, outputs, designs).transpose(0, 1, 3, 2)
        return part, m_start, averaged

    with threadpool_limits(limits=blas_threads(), user_api="blas"), \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="clarimon-predict") as worker:
        turn = 0
        # Rows outside, coalitions inside: a row's blocks arrive together, so only one row is ever partial.
        for start in range(0, n, rows_per_block):
            stop = min(n, start + rows_per_block)
            count = stop - start
            for m_start in range(0, s, masks_per_block):
                width = min(s, m_start + masks_per_block) - m_start
                if len(pending) == 2:
                    yield finished()  # frees the buffer this block is about to fill (the oldest in flight)
                view = buffers[turn % 2][:count, :width]
                turn += 1
                if bits:
                    _fill(view.view(as_bits), row_bits[start:stop], background_bits,
                          cells[:, m_start : m_start + width])
                else:
                    view[...] = background[None, None, :, :]
                    by_row = full[per_background, m_start : m_start + width].transpose(1, 0, 2)  # (width, k, M)
                    np.copyto(view, rows[start:stop, None, None, :], where=by_row[None])
                pending.append((worker.submit(predict, view.reshape(-1, total)), slice(start, stop), m_start,
                                count, width))
        while pending:
            yield finished()


def blas_threads() -> int:
    """BLAS threads while synthetic rows are built: one core fewer than the machine has (at least one)."""
    return max(1, (os.cpu_count() or 2) - 1)


def _as_2d(predictions: np.ndarray) -> np.ndarray:
    array = np.asarray(predictions, dtype=np.float64)
    return array.reshape(array.shape[0], -1)
