"""The one rule for "the same design point" and for a run that looks like one already trained:
a run within :data:`MATCH_RTOL` (1%) of another in N, D (and lr, batch_size where both hold
them) is the same design point (:func:`same_design_value`, :func:`near_design`), as the design
guardrails count a candidate and a campaign matches a recorded run; one that is also in the
same group, has the same ``run`` label where both hold one, and a loss within
:data:`REPEAT_LOSS_RTOL` (0.1%) looks like that run (:func:`looks_repeated`: e.g. the same log
passed again with its values rounded), which ``fit.update`` and ``Campaign.record`` say.
Units: N params, D tokens, lr as given, batch_size tokens, loss nats per token."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .table import label_key, label_text

# a run within 1% of another's N, D (lr, batch_size) is the same design point: the caps count
# it so (a candidate 3.33e9 next to a trained 3.3333e9), as Campaign.record matches runs
MATCH_RTOL = 0.01
REPEAT_LOSS_RTOL = 1e-3  # ... and within 0.1% of an earlier run's loss looks like that run
DESIGN_COLUMNS = ("N", "D", "lr", "batch_size")  # the columns of a design point


def same_design_value(log_a: np.ndarray, log_b: np.ndarray, rtol: float = MATCH_RTOL) -> np.ndarray:
    """The one rule for "the same design point" in one column: elementwise (broadcast) whether
    ``|a / b - 1| <= rtol`` given the natural logs of a and b, or both are missing (NaN: e.g. no
    lr). The design caps (:func:`~bayeslaws.design.guardrails.near_counts`), a campaign's run
    matching and :func:`looks_repeated` all count a run so. Booleans of the broadcast shape."""
    with np.errstate(invalid="ignore"):
        near = np.abs(np.expm1(log_a - log_b)) <= rtol
    return near | (np.isnan(log_a) & np.isnan(log_b))


def near_design(runs: pd.DataFrame, other: pd.DataFrame, rtol: float = MATCH_RTOL) -> tuple:
    """(len(runs) x len(other) booleans: the same design point within ``rtol`` in the
    :data:`DESIGN_COLUMNS` both hold (:func:`same_design_value`); the summed |log ratios| of
    those columns, len(runs) x len(other) floats)."""
    close = np.ones((len(runs), len(other)), bool)
    distance = np.zeros((len(runs), len(other)))
    for c in (c for c in DESIGN_COLUMNS if c in runs and c in other):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.log(runs[c].to_numpy(float))[:, None]
            b = np.log(other[c].to_numpy(float))[None, :]
            close &= same_design_value(a, b, rtol)
            distance += np.nan_to_num(np.abs(a - b), nan=0.0)
    return close, distance


def group_key(label):
    """A group label's :func:`~.table.label_key` without surrounding spaces (7, 7.0, "7" and
    " 7.0" alike; None when missing)."""
    text = label_text(label)
    return None if text is None else label_key(text.strip())


def group_keys(df: pd.DataFrame, default=None) -> list:
    """Per row of ``df`` its group's key (:func:`group_key`), else ``default``'s (None: no
    group)."""
    if "group" in df:
        return [group_key(g) for g in df["group"]]
    return [None if default is None else group_key(default)] * len(df)


def looks_repeated(runs: pd.DataFrame, earlier: pd.DataFrame, rtol: float = MATCH_RTOL) -> dict:
    """Rows of ``runs`` that look like a run of ``earlier`` (the fit's runs before them):
    the same design point within ``rtol`` (:func:`near_design`), the same group, the same
    ``run`` where both hold one (by :func:`~.table.label_key`: 7, 7.0, "7" alike), and the
    loss within :data:`REPEAT_LOSS_RTOL` (relative; a missing loss matches none).
    Returns {row label of runs: row label of the first such run of earlier}."""
    if runs.empty or earlier.empty or "loss" not in runs or "loss" not in earlier:
        return {}
    close, _ = near_design(runs, earlier, rtol)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = runs["loss"].to_numpy(float)[:, None]
        close &= np.abs(a / earlier["loss"].to_numpy(float)[None, :] - 1) <= REPEAT_LOSS_RTOL
    mine = np.array(group_keys(runs), object)[:, None]
    close &= mine == np.array(group_keys(earlier), object)[None, :]  # None == None: no groups
    if "run" in runs and "run" in earlier:
        mine_run = np.array([label_key(r) for r in runs["run"]], object)[:, None]
        their_run = np.array([label_key(r) for r in earlier["run"]], object)[None, :]
        close &= (mine_run == their_run) | pd.isna(mine_run) | pd.isna(their_run)
    return {
        runs.index[i]: earlier.index[int(np.argmax(close[i]))]
        for i in np.flatnonzero(close.any(axis=1))
    }
