"""A sweep's (N, D) cells. The sorted N (params) and D (tokens) values are each cut into
stretches spanning at most ``CELL_RTOL`` (relative) from the stretch's smallest value
(:func:`same_value_ids`), and a cell is one stretch of N by one stretch of D: a value and its
rounding (N and N * (1 + 1e-12)) never make two cells, values further apart than ``CELL_RTOL``
are never one cell, but two values closer than ``CELL_RTOL`` can still fall either side of a cut
(1e9 * (1 + 0.9e-6) and 1e9 * (1 + 1.5e-6) when 1e9 starts the stretch). Every stage that groups
runs by cell (best run per cell, the hyperparameter and sweep laws, matching a query to a fitted
cell) uses these. Each cell's best run (its lowest-loss converged run) is chosen here too:
:func:`best_in_cell`, :func:`best_run_per_cell`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .reading import diverged_flags

CELL_RTOL = 1e-6  # N (or D) values within this relative tolerance are one cell's (runs, queries)
# values this close (relative) but further apart than CELL_RTOL are likely one value written
# two ways: one the other rounded (2.15e8 and 214663680, :func:`rounded_twins`), or D computed
# per run (batch x steps x sequence length) around one budget (:func:`near_split_values`). Only
# reported: the cells stay those of CELL_RTOL
NEAR_RTOL = 0.01


def same_value_ids(values) -> np.ndarray:
    """Per value (finite and > 0, e.g. N params or D tokens; else ValueError), an integer id
    shared by the values that agree within ``CELL_RTOL`` (relative): the sorted values are cut
    into stretches spanning at most ``CELL_RTOL`` from each stretch's smallest value, so a value
    and its rounding (N and N * (1 + 1e-12)) share an id and values further apart never do. Ids
    increase with the value, from 0."""
    return _value_ids(positive_values("values", values))


def positive_values(name: str, values) -> np.ndarray:
    """``values`` as a 1-d float array, each finite and > 0, else ValueError naming ``name``
    and the positions (a NaN, 0 or negative value has no place among the cut stretches)."""
    arr = np.asarray(values, float).ravel()
    bad = ~(arr > 0) | ~np.isfinite(arr)  # NaN fails arr > 0
    if bad.any():
        where = np.flatnonzero(bad)
        raise ValueError(
            f"{name} must be finite and > 0 to be grouped into cells, got "
            f"{arr[where[0]]:g} at positions {where[:10].tolist()} ({where.size} such value(s))"
        )
    return arr


def _value_ids(values: np.ndarray) -> np.ndarray:
    """:func:`same_value_ids` of checked ``values`` (1-d, finite, > 0)."""
    logs = np.log(values)
    distinct = np.unique(logs)
    ids = np.empty(len(distinct), dtype=np.int64)
    step = np.log1p(CELL_RTOL)
    current, start = -1, -np.inf
    for i, value in enumerate(distinct):
        if value - start > step:
            current, start = current + 1, value
        ids[i] = current
    return ids[np.searchsorted(distinct, logs)]


def significant_digits(value: float) -> int:
    """The significant digits of a positive number as Python writes it shortest (2.15e8: 3,
    214663680: 8, 0.00125: 3); trailing zeros of an integer do not count (1.2e9: 2)."""
    mantissa = repr(float(value)).split("e")[0].replace(".", "").replace("-", "")
    return max(len(mantissa.strip("0")), 1)


def rounded_twins(values) -> list[tuple[float, float]]:
    """Pairs (rounded, full) of distinct values (> 0, e.g. N params) within ``NEAR_RTOL`` of
    each other but in different stretches of :func:`same_value_ids` (so different cells),
    one of which is the other rounded to its significant digits: 2.15e8 and 214663680, most
    likely one size written two ways. Values merely close (digitised points, the tokens of
    different budgets) are not twins. In increasing order of the rounded value.

    Each value is rounded to each of its shorter lengths and the rounding looked up among the
    values (at most ~16 per value), so many values crowded within ``NEAR_RTOL`` (D computed per
    run) cost O(n log n), not a comparison of every close pair."""
    v = np.unique(positive_values("values", values))
    if len(v) < 2:
        return []
    ids = _value_ids(v)
    near = v[1:] <= v[:-1] * (1 + NEAR_RTOL)
    crowded = np.flatnonzero(np.r_[near, False] | np.r_[False, near])  # a neighbour that close
    position = {float(v[i]): i for i in crowded}  # a crowded value's position in v
    pairs = []
    for i in crowded:
        for short in _shorter_roundings(float(v[i]), position):
            lo, hi = sorted((i, position[short]))
            if v[hi] <= v[lo] * (1 + NEAR_RTOL) and ids[lo] != ids[hi]:
                pairs.append((v[position[short]], v[i]))
    return sorted(pairs)


def _shorter_roundings(full: float, present) -> list[float]:
    """The values in ``present`` (a set or dict of floats) that are ``full`` rounded to their
    own significant digits, fewer than ``full``'s: 2.15e8 (3 digits) of 214663680 (8). A
    rounding to k digits that writes shorter (210000001 to 3 digits is 2.1e8, 2 digits) counts
    only as the rounding to its own digits, so each is found once."""
    digits = significant_digits(full)
    found = []
    for shorter in range(1, digits):
        short = float(f"{full:.{shorter}g}")
        if short in present and significant_digits(short) == shorter:
            found.append(short)
    return found


def cell_table(N, D, group=None) -> tuple[np.ndarray, pd.DataFrame]:
    """The (N, D) cells of a sweep (per group): runs whose N (params) and D (tokens) fall in
    the same stretches of :func:`same_value_ids` (within ``CELL_RTOL`` of the stretch's smallest
    value) are one cell, as a query is matched to a fitted cell. ``group``: one label per run,
    or None.

    Returns each run's cell index (R,) int32 and the cells, a DataFrame with columns ``g``
    (the group label; 0 without groups), ``N`` and ``D`` (the smallest value among the cell's
    runs), sorted by (g, N, D) and numbered as the index. N and D must be finite and > 0 and
    every run needs a group label (not None or NaN) when ``group`` is given, one per run: else
    ValueError naming the argument and the positions (a run would fall in no cell)."""
    N = positive_values("N (params)", N)
    D = positive_values("D (tokens)", D)
    g = np.zeros(len(N), dtype=int) if group is None else np.asarray(group)
    lengths = {"N": len(N), "D": len(D), "group": len(g)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"N, D and group need one value per run, got lengths {lengths}")
    if group is not None:
        missing = np.flatnonzero(pd.isna(g))
        if missing.size:
            raise ValueError(
                f"group has missing labels (None or NaN) at positions {missing[:10].tolist()} "
                f"({missing.size} run(s)): a run without a group label would be in no cell; "
                "give every run a label"
            )
    keys = pd.DataFrame({"g": g, "n": _value_ids(N), "d": _value_ids(D), "N": N, "D": D})
    grouped = keys.groupby(["g", "n", "d"], sort=True)
    cells = grouped.agg(N=("N", "min"), D=("D", "min")).reset_index()[["g", "N", "D"]]
    return grouped.ngroup().to_numpy().astype(np.int32), cells


def near_split_values(cells: pd.DataFrame, axis: str) -> list[tuple]:
    """Near-equal values of ``axis`` ("N" params or "D" tokens) that make separate cells:
    among the cells (a :func:`cell_table`: columns g, N, D) of one group and one value of the
    other axis, sorted distinct ``axis`` values each within ``NEAR_RTOL`` (relative) of the
    next, chained, two or more in a chain (each its own cell, since further apart than
    ``CELL_RTOL``). One (g, other axis' value, the chain's values (k,) sorted) per chain, in
    order of g, the other value, then the values."""
    other = {"N": "D", "D": "N"}[axis]
    chains = []
    for (g, at), part in cells.groupby(["g", other], sort=True):
        values = np.unique(part[axis].to_numpy(float))
        near = values[1:] <= values[:-1] * (1 + NEAR_RTOL)
        chain = np.cumsum(np.r_[True, ~near])  # a new chain wherever the gap is wider
        for label in np.unique(chain):
            members = values[chain == label]
            if members.size > 1:
                chains.append((g, float(at), members))
    return chains


def run_cells(df: pd.DataFrame) -> np.ndarray:
    """Each run's cell index (:func:`cell_table`) by N, D and, when present, the group."""
    return cell_table(df["N"], df["D"], df["group"] if "group" in df else None)[0]


def best_in_cell(df: pd.DataFrame) -> np.ndarray:
    """Boolean mask (rows of ``df``) of each (N, D) cell's best run: its lowest-loss converged
    run; cells as :func:`run_cells` makes them (N and D within ``CELL_RTOL``, and the
    group). A run flagged diverged (column ``diverged``, :func:`diverged_flags`: its loss, if
    any, is a lower bound, not the loss under the cell's hyperparameters) or without a finite
    loss never is a cell's best run, so a cell whose runs all diverged or lack a loss has no
    best run (all its rows are False). Ties in loss go, independent of row order, to the run
    with the smallest ``lr``, then the smallest ``batch_size`` (tokens), then the smallest N
    (params) and D (tokens); runs equal in all of these, to the first in row order."""
    return _best_mask(df, run_cells(df))


def _best_mask(df: pd.DataFrame, cells: np.ndarray) -> np.ndarray:
    """:func:`best_in_cell` of ``df`` given its runs' cells (``cells``: :func:`run_cells`)."""
    order = _best_first(df, cells)
    mask = np.zeros(len(df), bool)
    if order.size:
        ranked = cells[order]
        first = np.r_[True, ranked[1:] != ranked[:-1]]  # the first eligible run of each cell
        mask[order[first]] = True
    return mask


def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``df`` as floats (NaN where missing or not a number; all NaN without it)."""
    if column not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[column], errors="coerce").to_numpy(float, na_value=np.nan)


def _best_first(df: pd.DataFrame, cells: np.ndarray) -> np.ndarray:
    """Positions of the runs that can be a cell's best (converged, finite loss), sorted by
    cell, then loss, lr, batch_size, N and D (NaN last), then row position (a stable sort)."""
    loss = _numeric(df, "loss")
    eligible = np.flatnonzero(np.isfinite(loss) & ~diverged_flags(df))
    keys = [_numeric(df, c)[eligible] for c in ("D", "N", "batch_size", "lr")]
    return eligible[np.lexsort([*keys, loss[eligible], cells[eligible]])]


NO_BEST_RUN = (
    "no converged run with a finite loss in its (N, D) cell (every run of the cell diverged or "
    "has no finite loss): the cell has no best run"
)


def best_run_per_cell(runs):
    """Keep each (N, D) cell's best run of ``runs`` (a RunTable; a RunTable back):
    :func:`best_in_cell`, its lowest-loss converged run, ties to the smallest lr, then batch
    size: the loss under (grid-)optimal hyperparameters. The other runs are excluded, so a
    fit records them: the runs of a cell without a converged run with a finite loss (every run
    diverged or lacks a loss) with reason ``NO_BEST_RUN``, the rest as not their cell's best
    run (a diverged run, whatever its loss, never is: its loss is a lower bound). The reason
    counts the cells whose lowest loss was tied."""
    df = runs.df
    cells = run_cells(df)
    best = _best_mask(df, cells)
    has_best = np.isin(cells, cells[best])
    reason = "not the best (lowest-loss converged) run of its (N, D) cell"
    tied = _tied_cells(df, cells, best)
    if tied:
        reason += (
            f"; {tied} cell(s) had runs tied at the lowest loss: kept the one with the smallest "
            "lr, then batch_size"
        )
    return runs.subset(has_best, NO_BEST_RUN).subset(best[has_best], reason)


def _tied_cells(df: pd.DataFrame, cells: np.ndarray, best: np.ndarray) -> int:
    """How many cells have an eligible run (converged, finite loss) other than their best
    (``best``: :func:`best_in_cell`) with the same loss."""
    loss = _numeric(df, "loss")
    eligible = np.isfinite(loss) & ~diverged_flags(df) & ~best
    lowest = pd.Series(loss[best], index=cells[best])
    same = eligible & (loss == lowest.reindex(cells).to_numpy(float))
    return int(np.unique(cells[same]).size)
