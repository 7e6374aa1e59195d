"""The groups held-out runs (or budgets) are predicted for: on a fit of several groups each row
of a held-out table is answered for its own fitted group (its ``group`` column), a group the fit
lacks or a table without the column as a NEW, unseen group, named in one UserWarning; the
new-run draws (:func:`held_out_draws`) and distances outside the training range
(:func:`held_out_distance`) row by row for those groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...runs.checks import rows_text
from ...runs.warn import warn_user
from ..draws import log_loss_draws
from ..extrapolation import distance


def fitted_groups(fit) -> list[str]:
    """The group labels (text) of a fit of several groups (``fit.groups``); empty for a fit
    without groups or of one group (whose answer for ``group=None`` is that group's own)."""
    labels = [str(g) for g in fit.groups if g is not None]
    return labels if len(labels) > 1 else []


def held_out_groups(fit, table: pd.DataFrame) -> tuple[list, list[str]]:
    """Per row of ``table`` (held-out runs or budgets, Q rows): the fitted group it is
    predicted for (its ``group`` column's label, text) or None (a NEW, unseen group); and the
    table's labels the fit lacks (their rows are predicted as a new group), in order of first
    appearance. Every row is None for a fit without several groups (:func:`fitted_groups`) and
    for a table without a ``group`` column (:func:`held_out_group_note` says so)."""
    labels = fitted_groups(fit)
    if not labels or "group" not in table:
        return [None] * len(table), []
    given = [str(g) for g in table["group"]]
    unknown = list(dict.fromkeys(g for g in given if g not in labels))
    return [g if g in labels else None for g in given], unknown


def held_out_group_note(fit, table: pd.DataFrame, where: str) -> str:
    """The sentence for rows of ``table`` that a grouped fit predicts as a NEW, unseen group
    (:func:`held_out_groups`): every row, when the table has no ``group`` column; the rows of
    groups the fit lacks, named; '' when every row is predicted for its own fitted group (or
    the fit has no groups). ``where``: the caller, for the message."""
    labels = fitted_groups(fit)
    if not labels:
        return ""
    more = f", ... ({len(labels) - 10} more)" if len(labels) > 10 else ""
    named = ", ".join(labels[:10]) + more
    new = "a NEW, unseen group (its deviation drawn from the groups' spread: intervals wider "
    new += "than a fitted group's)"
    if "group" not in table:
        return (
            f"{where}: the fit has {len(labels)} groups ({named}) but the table has no 'group' "
            f"column, so every row is predicted for {new}; add the runs' group column to "
            "predict each for its own group"
        )
    _, unknown = held_out_groups(fit, table)
    if not unknown:
        return ""
    rows = table.index[[str(g) in unknown for g in table["group"]]]
    groups = rows_text(unknown, noun="groups")
    return (
        f"{where}: group(s) {groups} (rows {rows_text(rows)}) are not among the "
        f"fit's {len(labels)} groups ({named}): those rows are predicted for {new}"
    )


def warn_held_out_groups(named, what: str) -> None:
    """One UserWarning for the (name, fit, table) triples of ``named`` whose rows a grouped
    fit predicts as a new group (:func:`held_out_group_note`; the first ten, the rest
    counted); nothing when there are none. ``what``: the caller ("backtest", "backtests")."""
    notes = [held_out_group_note(fit, table, repr(name)) for name, fit, table in named]
    notes = [n for n in notes if n]
    if not notes:
        return
    more = len(notes) - 10
    shown = "; ".join(notes[:10]) + (f"; and {more} more" if more > 0 else "")
    warn_user(f"{what}: " + shown, UserWarning)


def by_group(groups) -> list[tuple[object, np.ndarray]]:
    """(label or None, positions) of each distinct entry of ``groups`` (Q,), in order of first
    appearance."""
    return [
        (key, np.flatnonzero([g == key for g in groups])) for key in dict.fromkeys(groups)
    ]


def held_out_draws(fit, points: pd.DataFrame, groups, seed: int, method: str) -> np.ndarray:
    """New-run ln-loss draws (S, Q) at the query rows ``points`` (:func:`backtest_query`, Q
    rows), each row for its entry of ``groups`` (:func:`held_out_groups`: a fitted group's
    label, or None for a new group or a fit without groups), under extrapolation ``method``."""
    out = None
    for group, at in by_group(groups):
        query = points.iloc[at].reset_index(drop=True)
        z = np.asarray(log_loss_draws(fit, query, "new_run", group, seed, method), float)
        if out is None:
            out = np.empty((z.shape[0], len(points)))
        out[:, at] = z
    return out


def held_out_distance(fit, points: pd.DataFrame, groups) -> np.ndarray:
    """Decades (Q,) of each query row of ``points`` outside the training range of its group
    (``groups`` as in :func:`held_out_draws`: a fitted group's own runs' range, else the pooled
    one; :func:`~.extrapolation.distance.group_ranges`), C measured as the query's C is."""
    out = np.empty(len(points))
    for group, at in by_group(groups):
        values = [points[c].to_numpy(float)[at] for c in ("N", "D", "C")]
        out[at] = distance.distance_decades(*values, distance.group_ranges(fit, group))
    return out
