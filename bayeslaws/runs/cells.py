"""A sweep's (N, D) cells. The sorted N (params) and D (tokens) values are each cut into
stretches spanning at most ``CELL_RTOL`` (relative) from the stretch's smallest value
(:func:`same_value_ids`), and a cell is one stretch of N by one stretch of D: a value and its
rounding (N and N * (1 + 1e-12)) never make two cells, values further apart than ``CELL_RTOL``
are never one cell, but two values closer than ``CELL_RTOL`` can still fall either side of a cut
(1e9 * (1 + 0.9e-6) and 1e9 * (1 + 1.5e-6) when 1e9 starts the stretch). Every stage that groups
runs by cell (best run per cell, the hyperparameter and sweep laws, matching a query to a fitted
cell) uses these."""

from __future__ import annotations

import numpy as np
import pandas as pd

CELL_RTOL = 1e-6  # N (or D) values within this relative tolerance are one cell's (runs, queries)


def same_value_ids(values) -> np.ndarray:
    """Per value (> 0, e.g. N params or D tokens), an integer id shared by the values that agree
    within ``CELL_RTOL`` (relative): the sorted values are cut into stretches spanning at most
    ``CELL_RTOL`` from each stretch's smallest value, so a value and its rounding (N and
    N * (1 + 1e-12)) share an id and values further apart never do. Ids increase with the
    value."""
    logs = np.log(np.asarray(values, float))
    distinct = np.unique(logs)
    ids = np.empty(len(distinct), dtype=np.int64)
    step = np.log1p(CELL_RTOL)
    current, start = -1, -np.inf
    for i, value in enumerate(distinct):
        if value - start > step:
            current, start = current + 1, value
        ids[i] = current
    return ids[np.searchsorted(distinct, logs)]


def cell_table(N, D, group=None) -> tuple[np.ndarray, pd.DataFrame]:
    """The (N, D) cells of a sweep (per group): runs whose N (params) and D (tokens) fall in
    the same stretches of :func:`same_value_ids` (within ``CELL_RTOL`` of the stretch's smallest
    value) are one cell, as a query is matched to a fitted cell. ``group``: one label per run,
    or None.

    Returns each run's cell index (R,) int32 and the cells, a DataFrame with columns ``g``
    (the group label; 0 without groups), ``N`` and ``D`` (the smallest value among the cell's
    runs), sorted by (g, N, D) and numbered as the index."""
    N = np.asarray(N, float)
    D = np.asarray(D, float)
    g = np.zeros(len(N), dtype=int) if group is None else np.asarray(group)
    keys = pd.DataFrame({"g": g, "n": same_value_ids(N), "d": same_value_ids(D), "N": N, "D": D})
    grouped = keys.groupby(["g", "n", "d"], sort=True)
    cells = grouped.agg(N=("N", "min"), D=("D", "min")).reset_index()[["g", "N", "D"]]
    return grouped.ngroup().to_numpy().astype(np.int32), cells


def run_cells(df: pd.DataFrame) -> np.ndarray:
    """Each run's cell index (:func:`cell_table`) by N, D and, when present, the group."""
    return cell_table(df["N"], df["D"], df["group"] if "group" in df else None)[0]
