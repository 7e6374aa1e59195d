"""Calibration harness: do the predictive intervals mean what they say?

* :func:`score` -- median absolute relative error of the predictive median, coverage of the
  central 50/80/90% intervals, mean relative width of the 90% interval and the mean log predictive
  density (of ln L, by a Gaussian kernel over the draws) of held-out runs.
* :func:`backtest` -- fit on the smaller runs, predict the larger ones (``kind="new_run"``; on a
  grouped fit each for its own group, the test table's ``group`` column) with each
  extrapolation method, score them; :func:`backtests` -- many of them (data sets, splits)
  as a batch through ``map_tasks`` (in process by default; local processes or a Dask cluster).
  Every scores row carries its fit's health (:func:`fit_health`: R-hat, bulk ESS, divergences,
  runs flagged by the outlier screening), and fits with problems are named in one
  ``SamplerWarning`` (:func:`warn_fit_health`).
* Scale-out splits of the real tables (:func:`epoch_split`, :func:`porian_split`,
  :func:`steplaw_split`) and simulated designs with a known truth, either the fitted form or one
  whose exponent bends at large scale (:func:`simulated_split`).
* :func:`sbc` -- simulation-based calibration (Talts et al. 2018): draw parameters and runs from
  the prior predictive of a law, fit and rank the true value among the posterior draws (a batch
  through ``map_tasks``: in process, or on local processes or a Dask cluster); ranks of a
  calibrated sampler are uniform (:func:`rank_uniformity`).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import jax
import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logsumexp

from ..inference import fit as fit_law
from ..inference.batch import InProcessExecutor, map_tasks
from ..inference.diagnostics import SamplerWarning
from ..inference.nuts import derived_seed, prior_predictive
from ..laws import resolve_law
from ..laws.contract import resolve_group
from ..laws.optimum import COARSE_POINTS, search_range
from ..runs import PlausibilityWarning, RunTable, load_runs
from ..runs.checks import (
    ArgumentTypeError,
    UnknownNameError,
    bool_cells,
    check_integer,
    check_probability,
    is_real,
    number_array,
    rows_text,
)
from ..runs.warn import user_stacklevel, warn_user
from .draws import check_fit, log_loss_draws, query_frame, warn_new_group
from .extrapolation import METHODS, check_method, distance, prepare
from .splits import (  # noqa: F401  (the splits the harness scores, importable from here)
    PORIAN_CONFIGS,
    SIM_TRUTH,
    epoch_split,
    porian_split,
    simulated_split,
    simulated_truth_loss,
    split_by,
    steplaw_best_cells,
    steplaw_split,
)

LEVELS = (0.5, 0.8, 0.9)


# ---- scoring ----
def log_predictive_density(y, draws) -> np.ndarray:
    """ln p(y) per point from draws (S, Q) of the same quantity, by a Gaussian kernel density
    (Silverman bandwidth per point)."""
    draws = np.asarray(draws, float)
    y = np.asarray(y, float)
    s = draws.shape[0]
    sd = draws.std(axis=0)
    iqr = np.subtract(*np.quantile(draws, [0.75, 0.25], axis=0)) / 1.349
    h = 0.9 * np.minimum(sd, np.where(iqr > 0, iqr, sd)) * s ** (-0.2)
    h = np.maximum(h, 1e-12)
    u = (y[None, :] - draws) / h[None, :]
    return logsumexp(-0.5 * u**2, axis=0) - np.log(s) - np.log(h) - 0.5 * np.log(2 * np.pi)


class UnscoredWarning(UserWarning):
    """Held-out runs (no loss) or budgets (no truth) were left out of the calibration scores."""


def checked_scoring(actual, log_draws, levels) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The arguments of :func:`interval_table` checked: ``actual`` losses (Q,), numbers, each
    > 0 or NaN/+inf (no loss: left unscored); ``log_draws`` ln-loss draws (S, Q), numbers;
    ``levels`` interval masses, each in (0, 1). ArgumentTypeError for text, ValueError naming
    the argument otherwise."""
    actual = number_array("actual", actual)
    draws = number_array("log_draws", log_draws)
    if actual.ndim != 1:
        raise ValueError(f"actual must be a 1-d sequence of losses (Q,), got shape {actual.shape}")
    if draws.ndim != 2 or draws.shape[0] < 1 or draws.shape[1] != actual.size:
        raise ValueError(
            f"log_draws must be ln-loss draws of shape (S, Q) = (draws, {actual.size}) for the "
            f"{actual.size} actual losses, got shape {draws.shape}"
        )
    bad = actual <= 0  # NaN and +inf are runs without a loss, left unscored
    if bad.any():
        raise ValueError(
            "actual must hold losses > 0 (NaN or +inf: no loss, left unscored); bad at "
            f"positions {rows_text(np.flatnonzero(bad).tolist())} (e.g. "
            f"{actual[bad][:3].tolist()})"
        )
    return actual, draws, checked_levels(levels)


def checked_levels(levels) -> tuple[float, ...]:
    """``levels``, a sequence of interval masses each in (0, 1), as a tuple (else
    ArgumentTypeError or ValueError naming ``levels``)."""
    if isinstance(levels, str | bytes) or not isinstance(levels, Iterable):
        raise ArgumentTypeError(f"levels must be a sequence of interval masses, got {levels!r}")
    levels = tuple(levels)
    bad = [v for v in levels if not is_real(v) or not 0 < v < 1]
    if bad:
        raise ValueError(
            f"levels must be interval masses in (0, 1) (e.g. 0.9 for the central 90% "
            f"interval), got {bad} in {levels}"
        )
    return levels


def interval_table(actual, log_draws, levels=LEVELS) -> pd.DataFrame:
    """Per point: actual loss, predictive median, and for each level the interval and a hit flag;
    ``scored``: whether the actual loss is finite (a NaN loss, a run that diverged or was never
    logged, can be neither hit nor miss: its hit flags are False and its lpd NaN).

    ``actual``: losses (Q,), > 0 or NaN; ``log_draws``: ln-loss draws (S, Q); ``levels``:
    masses in (0, 1) (:func:`checked_scoring`: other input is refused naming the argument)."""
    actual, log_draws, levels = checked_scoring(actual, log_draws, levels)
    loss = np.exp(log_draws)
    out = {"actual": actual, "median": np.median(loss, axis=0)}
    for level in levels:
        lo, hi = np.quantile(loss, [(1 - level) / 2, (1 + level) / 2], axis=0)
        key = f"{round(100 * level)}"
        out[f"lower{key}"] = lo
        out[f"upper{key}"] = hi
        out[f"in{key}"] = (actual >= lo) & (actual <= hi)
    out["lpd"] = log_predictive_density(np.log(actual), log_draws)
    out["scored"] = np.isfinite(actual)
    return pd.DataFrame(out)


def score(actual, log_draws, levels=LEVELS, rows=None) -> dict:
    """Scores of predictive ln-loss draws (S, Q) against actual losses (Q,).

    ``error``: median |median / actual - 1|; ``cov50``...: fraction of actual losses inside the
    central intervals; ``width90``: mean (upper - lower) / median of the 90% interval; ``lpd``:
    mean log predictive density of ln L; ``n``: number of points scored.

    Every score is over the same points: those with a loss. A point whose actual loss is NaN
    (a held-out run that diverged or was never logged) is neither a hit nor a miss and is left
    out of all of them, with an :class:`UnscoredWarning` naming it (``rows``: the points'
    labels, e.g. the test table's index; default positions 0..Q-1); ``n_unscored`` counts
    them. With no point left every score is NaN. Input is checked as by
    :func:`interval_table` (:func:`checked_scoring`); ``rows`` must hold one label per point."""
    levels = checked_levels(levels)
    table = interval_table(actual, log_draws, levels)
    rows = None if rows is None else list(rows)
    if rows is not None and len(rows) != len(table):
        raise ValueError(
            f"rows must hold one label per point: got {len(rows)} labels for {len(table)} "
            "actual losses"
        )
    scored = table["scored"].to_numpy()
    _warn_unscored(scored, rows)
    table = table[scored]
    out = {"n": len(table), "n_unscored": int((~scored).sum())}
    out["error"] = _mean_or_nan(np.abs(table["median"] / table["actual"] - 1), np.median)
    for level in levels:
        key = f"{round(100 * level)}"
        out[f"cov{key}"] = _mean_or_nan(table[f"in{key}"])
    if 0.9 in levels:
        out["width90"] = _mean_or_nan((table["upper90"] - table["lower90"]) / table["median"])
    out["lpd"] = _mean_or_nan(table["lpd"])
    return out


def _mean_or_nan(values, average=np.mean) -> float:
    """``average`` of ``values`` as a float, NaN when there are none (no point was scored)."""
    values = np.asarray(values, float)
    return float(average(values)) if values.size else float("nan")


def _warn_unscored(scored, rows=None) -> None:
    """Warn (:class:`UnscoredWarning`) naming the points (``rows`` labels, default positions)
    whose ``scored`` flag (Q,) is False."""
    scored = np.asarray(scored, bool)
    if scored.all():
        return
    labels = np.arange(scored.size) if rows is None else np.asarray(list(rows))
    left = labels[~scored].tolist()
    shown = f"{left[:10]}{' ...' if len(left) > 10 else ''}"
    warnings.warn(
        f"{len(left)} of {scored.size} held-out runs have no loss (NaN: diverged or never "
        f"logged) and are left out of every score (n = {int(scored.sum())} scored): rows "
        f"{shown}",
        UnscoredWarning,
        stacklevel=user_stacklevel(),
    )


# ---- backtests ----
TEST_COLUMNS = ("N", "D", "loss")


def check_methods(methods, name: str = "methods") -> tuple[str, ...]:
    """``methods`` (a sequence of extrapolation method names, :data:`~.extrapolation.METHODS`)
    as a tuple, checked before any fit: a single string (read letter by letter it would be
    'g', 'p'), an empty sequence or an unknown name is an error naming ``name``."""
    if isinstance(methods, str | bytes) or not isinstance(methods, Iterable):
        raise ArgumentTypeError(
            f"{name} must be a list or tuple of extrapolation methods, e.g. ({methods!r},), got "
            f"{type(methods).__name__} {methods!r}"
        )
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"{name} is empty: give at least one of {METHODS}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"{name}: {unknown} not among the extrapolation methods {METHODS}")
    return methods


def check_test_table(test, where: str = "test") -> None:
    """Refuse a held-out table that cannot be scored, before any fit: ``test`` must be a
    DataFrame with rows and the columns N, D (parameters, tokens) and loss, each numeric; N, D
    and C (FLOPs, optional) finite and > 0 in every row; loss > 0 where given (NaN or +inf, a
    run with no loss, is left out of the scores with an :class:`UnscoredWarning`).

    ``where``: how messages name the table (e.g. ``"cases[0] ('epoch'): test"``). Raises
    ValueError naming the column and the rows (index labels)."""
    missing = set(TEST_COLUMNS) - set(test.columns) if isinstance(test, pd.DataFrame) else None
    if missing is None or missing:
        what = f"lacks columns {sorted(missing)}" if missing else "is not a DataFrame"
        raise ValueError(f"{where} {what} (needs {', '.join(TEST_COLUMNS)})")
    if test.empty:
        raise ValueError(f"{where} has no rows: nothing to predict and score")
    for column in (*TEST_COLUMNS, *(["C"] if "C" in test else [])):
        _positive_column(test, column, where)


def _positive_column(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """``table[column]`` as floats (Q,), finite and positive (``loss``: positive where given;
    NaN or +inf, a run with no loss, passes); ValueError naming ``where``, the column and the
    rows otherwise."""
    values = _numeric_column(table, column, where)
    bad = values <= 0 if column == "loss" else ~np.isfinite(values) | (values <= 0)
    if bad.any():
        given = " where given (NaN or +inf: no loss, left unscored)" if column == "loss" else ""
        raise ValueError(
            f"{where}: column {column!r} must be finite and positive{given}; bad at rows "
            f"{rows_text(table.index[bad])} (e.g. {values[bad][:3].tolist()})"
        )
    return values


def _numeric_column(test: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """``test[column]`` as floats (Q,); ValueError naming the rows that hold no number."""
    raw = test[column]
    values = pd.to_numeric(raw, errors="coerce")
    text = (values.isna() & raw.notna()).to_numpy(bool) | bool_cells(raw)
    if text.any():
        raise ValueError(
            f"{where}: column {column!r} must hold numbers; bad at rows "
            f"{rows_text(test.index[text])} (e.g. {raw[text][:3].tolist()})"
        )
    return values.to_numpy(float)


def backtest(
    train: RunTable,
    test: pd.DataFrame,
    *,
    law: str = "chinchilla",
    likelihood: str = "huber",
    methods=METHODS,
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
    calibrate_options: dict | None = None,
    stack_options: dict | None = None,
    name: str = "",
):
    """Fit ``law`` to ``train``, predict ``test`` (columns N, D, loss) as new runs with each
    extrapolation method and score them.

    Returns ``(scores, points, fit)``: one row of :func:`score` per method, with the fit's
    health (:func:`fit_health`: ``max_r_hat``, ``min_ess_bulk``, ``divergences``,
    ``diagnostics_ok``, ``n_flagged``); per point and method the intervals
    (:func:`interval_table`) with the query's N, D, C (as ``bl.predict`` asks them,
    :func:`backtest_query`: for a loss surface of (N, D), C is the compute model's FLOPs of
    N and D), the distance outside the fitted range and ``C_table``, the test table's own C
    (e.g. a nominal budget label; NaN without a C column); and the fit
    (with its learned discrepancy states in ``fit.cache``). ``test`` is checked
    (:func:`check_test_table`) before the fit: a table that cannot be scored is refused first.

    **Groups.** On a fit of several groups each held-out run is predicted (and its distance
    measured) for its own group, the test table's ``group`` column (:func:`held_out_groups`):
    a fitted group's intervals, not a new group's. Runs of a group the fit lacks, or every run
    when the table has no ``group`` column, are predicted as a NEW, unseen group (wider
    intervals), and one UserWarning names them (:func:`warn_held_out_groups`).

    The fit itself does not warn (``warn=False``); instead, when its sampler checks fail
    (``fit.diagnostics.ok`` False: R-hat, ESS, divergences, too few draws) or the outlier
    screening flagged runs (kept in the fit), one :class:`~bayeslaws.inference.SamplerWarning`
    names them (:func:`warn_fit_health`): scores of a fit that did not converge misstate what
    its intervals are worth."""
    check_test_table(test)
    methods = check_methods(methods)
    scores, points, fitted = _fit_and_score(
        train,
        test,
        law=law,
        likelihood=likelihood,
        methods=methods,
        chains=chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        calibrate_options=calibrate_options,
        stack_options=stack_options,
        name=name,
    )
    warn_fit_health([(name or "backtest", fitted)], "backtest")
    warn_held_out_groups([(name or "backtest", fitted, test)], "backtest")
    return scores, points, fitted


def _fit_and_score(
    train, test, *, law, likelihood, methods, chains, warmup, draws, seed, calibrate_options,
    stack_options, name,
):  # fmt: skip
    """:func:`backtest` without its checks and warning (what a :func:`backtests` worker runs:
    the batch warns once for every case)."""
    fitted = fit_law(
        train,
        law,
        likelihood=likelihood,
        chains=chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        warn=False,
        label=name or None,
    )
    for method in methods:
        prepare(fitted, method, train, seed=seed, refits=calibrate_options, stacking=stack_options)
    points = backtest_query(fitted, test)
    groups, _ = held_out_groups(fitted, test)  # each run its own fitted group (None: a new one)
    distance_out = held_out_distance(fitted, points, groups)
    # the table's own C (FLOPs, or a nominal budget label, e.g. Marin's), for grouping the
    # points by budget; NaN when the table has none
    table_c = test["C"].to_numpy(float) if "C" in test else np.full(len(test), np.nan)
    rows, tables = [], []
    health = fit_health(fitted)
    for method in methods:
        z = held_out_draws(fitted, points, groups, seed, method)
        scores = score(test["loss"], z, rows=test.index)
        rows.append({"dataset": name, "method": method, **scores, **health})
        t = interval_table(test["loss"], z)
        t.insert(0, "method", method)
        for c in ("N", "D", "C"):
            t[c] = points[c].to_numpy()
        t["distance"] = distance_out
        t["C_table"] = table_c
        tables.append(t)
    return pd.DataFrame(rows), pd.concat(tables, ignore_index=True), fitted


def backtest_query(fit, test: pd.DataFrame) -> pd.DataFrame:
    """The query frame (:func:`~.draws.query_frame`) of the held-out runs ``test`` (columns N
    params, D tokens, optional C FLOPs), as a user asks ``bl.predict`` for them: by N and D,
    C the fit's compute model's FLOPs of them, for a loss surface of (N, D) (the table's C,
    which may be a nominal budget label, e.g. Marin's 3e20 for 3.64e20 FLOPs, is not asked:
    the distance beyond the fitted range, of the methods that widen with it, is measured in
    those FLOPs, :func:`~.extrapolation.distance.as_queried`); by N and the table's C for a law
    that takes C (e.g. isoflop, whose budgets are the runs' own C, as its nominal-budget
    warning tells a user to ask it), D then from the compute model. (Q rows, 0..Q-1.)"""
    N = test["N"].to_numpy(float)
    if "C" in fit.law.inputs and "C" in test:
        return query_frame(fit, N=N, C=test["C"].to_numpy(float))
    return query_frame(fit, N=N, D=test["D"].to_numpy(float))


# ---- the groups held-out runs are predicted for ----
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
    return (
        f"{where}: group(s) {rows_text(unknown)} (rows {rows_text(rows)}) are not among the "
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


def _by_group(groups) -> list[tuple[object, np.ndarray]]:
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
    for group, at in _by_group(groups):
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
    for group, at in _by_group(groups):
        values = [points[c].to_numpy(float)[at] for c in ("N", "D", "C")]
        out[at] = distance.distance_decades(*values, distance.group_ranges(fit, group))
    return out


HEALTH_COLUMNS = ("max_r_hat", "min_ess_bulk", "divergences", "diagnostics_ok", "n_flagged")


def flagged_rows(fit) -> list[str]:
    """The row labels (as text) of the training runs the fit's outlier screening flagged
    (``fit.record.data["screening"]``: its first round and, under ``screen="exclude"``, the
    refit's rounds), each once; empty when the fit was not screened or records none."""
    entry = (fit.record.data or {}).get("screening") or {}
    rows = [str(f["row"]) for f in entry.get("flagged") or []]
    for again in entry.get("rounds") or []:
        rows += [str(f["row"]) for f in again.get("flagged") or []]
    return list(dict.fromkeys(rows))


def fit_health(fit) -> dict:
    """The health of a fit as scores columns (HEALTH_COLUMNS): ``max_r_hat`` (largest R-hat;
    NaN with one chain), ``min_ess_bulk`` (smallest bulk ESS, draws), ``divergences`` (count),
    ``diagnostics_ok`` (``fit.diagnostics.ok``: no sampler problem, see
    :mod:`bayeslaws.inference.diagnostics`) and ``n_flagged`` (training runs flagged by the
    outlier screening, :func:`flagged_rows`; kept in the fit under the default
    ``screen="warn"``)."""
    diag = fit.diagnostics
    return {
        "max_r_hat": float(diag.max_r_hat),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "divergences": int(diag.divergences),
        "diagnostics_ok": bool(diag.ok),
        "n_flagged": len(flagged_rows(fit)),
    }


def warn_fit_health(named_fits, what: str) -> None:
    """One :class:`~bayeslaws.inference.SamplerWarning` naming the fits of ``named_fits``
    ((name, fit) pairs) whose sampler checks failed (``fit.diagnostics.ok`` False) or whose
    outlier screening flagged runs, with their R-hat, bulk ESS, divergences, sampler problems
    and flagged rows (the first ten such fits; the rest counted); nothing when every fit is
    clean. ``what``: the caller, for the message ("backtest", "backtests")."""
    named_fits = list(named_fits)
    troubled = []
    for name, fit in named_fits:
        diag, flagged = fit.diagnostics, flagged_rows(fit)
        parts = []
        if not diag.ok:
            parts.append(
                f"R-hat {diag.r_hat_text}, min bulk ESS {diag.min_ess_bulk:.3g} of "
                f"{diag.n_draws} draws, {diag.divergences} divergences; "
                + "; ".join(diag.problems)
            )
        if flagged:
            parts.append(
                f"{len(flagged)} training run(s) flagged by the outlier screening and kept in "
                f"the fit: rows {rows_text(flagged)}"
            )
        if parts:
            troubled.append(f"{name!r} ({' | '.join(parts)})")
    if not troubled:
        return
    more = len(troubled) - 10
    shown = "; ".join(troubled[:10]) + (f"; and {more} more" if more > 0 else "")
    warn_user(
        f"{what}: {len(troubled)} of {len(named_fits)} fits have problems, so their scores "
        "may misstate what the intervals are worth (each scores row carries the fit's "
        f"{', '.join(HEALTH_COLUMNS)}): " + shown + ". Refit with more warm-up "
        "and draws (warmup=, draws=, chains=); check or exclude flagged runs",
        SamplerWarning,
    )


@dataclass(frozen=True)
class BacktestCase:
    """One backtest of a batch: fit ``train`` (a RunTable), predict ``test`` (columns N, D,
    loss; C optional), called ``name`` (the ``dataset`` column of its tables)."""

    name: str
    train: RunTable
    test: pd.DataFrame


def as_cases(cases) -> list[BacktestCase]:
    """``cases`` checked: :class:`BacktestCase` objects or ``(name, train, test)`` tuples with
    unique non-empty names, RunTable training sets and test tables that can be scored
    (:func:`check_test_table`)."""
    one_case = isinstance(cases, tuple) and len(cases) == 3 and isinstance(cases[0], str)
    if (
        one_case
        or isinstance(cases, str | bytes | dict | BacktestCase)
        or not isinstance(cases, Iterable)
    ):
        raise ArgumentTypeError(
            "cases must be a list of BacktestCase objects or (name, train, test) tuples, got "
            f"{type(cases).__name__}"
        )
    out = []
    for i, case in enumerate(cases):
        if isinstance(case, tuple) and len(case) == 3:
            case = BacktestCase(*case)
        if not isinstance(case, BacktestCase):
            raise ArgumentTypeError(
                f"cases[{i}] must be a BacktestCase or a (name, train, test) tuple, got "
                f"{type(case).__name__}"
            )
        if not isinstance(case.name, str) or not case.name:
            raise ValueError(f"cases[{i}]: name must be a non-empty string, got {case.name!r}")
        if not isinstance(case.train, RunTable):
            raise ArgumentTypeError(
                f"cases[{i}] ({case.name!r}): train must be a RunTable, got "
                f"{type(case.train).__name__}"
            )
        check_test_table(case.test, f"cases[{i}] ({case.name!r}): test")
        out.append(case)
    if not out:
        raise ValueError("cases is empty: nothing to backtest")
    return out


def run_backtest(case: BacktestCase, options: dict):
    """What a worker runs for :func:`backtests`: ``backtest(case.train, case.test,
    name=case.name, **options)`` without its :class:`~bayeslaws.inference.SamplerWarning` on
    the fit's health (:func:`backtests` gives one for the whole batch)."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(backtest).parameters.items()
        if name in _BACKTEST_OPTIONS
    }
    return _fit_and_score(case.train, case.test, name=case.name, **{**defaults, **options})


def backtests(
    cases,
    *,
    executor=None,
    workers: int | None = None,
    retries: int = 1,
    show_progress: bool = False,
    **backtest_options,
):
    """Many :func:`backtest` calls (data sets, splits) as one batch through
    :func:`~bayeslaws.inference.batch.map_tasks`, one task per case.

    ``cases``: :class:`BacktestCase` objects or ``(name, train RunTable, test DataFrame)``
    tuples, names unique. ``executor``: None runs them in this process one by one (or, with
    ``workers=n``, on n local worker processes); a Dask ``Client`` or any
    ``concurrent.futures`` executor spreads them. ``backtest_options``: :func:`backtest`'s
    keywords (``law``, ``methods``, ``chains``, ``draws``, ``seed``, ...), the same for every
    case. A case that failed (after ``retries``) raises one error naming every failed case.

    Returns ``(scores, points, fits)``: :func:`backtest`'s scores (one row per case and
    method, the case name in ``dataset``, with its fit's health: :func:`fit_health`) and points
    (one row per case, held-out point and method, with ``dataset`` first) concatenated in case
    order, and the fits in case order. One :class:`~bayeslaws.inference.SamplerWarning` names
    the cases whose fits have problems (:func:`warn_fit_health`), and one UserWarning the
    cases whose held-out runs a grouped fit predicts as a new group (:func:`backtest`'s
    **Groups**, :func:`warn_held_out_groups`)."""
    unknown = set(backtest_options) - set(_BACKTEST_OPTIONS)
    if unknown:
        raise ArgumentTypeError(
            f"backtests: unknown backtest options {sorted(unknown)} (names come from the cases); "
            f"choose from {_BACKTEST_OPTIONS}"
        )
    if "methods" in backtest_options:
        backtest_options["methods"] = check_methods(backtest_options["methods"])
    cases = as_cases(cases)
    if executor is None and workers is None:
        executor = InProcessExecutor()
    result = map_tasks(
        functools.partial(run_backtest, options=backtest_options),
        cases,
        executor,
        names=[c.name for c in cases],
        workers=workers,
        retries=retries,
        show_progress=show_progress,
        label="backtests",
    )
    result.raise_for_failures()
    scores = pd.concat([v[0] for v in result.values], ignore_index=True)
    points = pd.concat(
        [v[1].assign(dataset=c.name) for c, v in zip(cases, result.values, strict=True)],
        ignore_index=True,
    )
    points = points[["dataset", *[c for c in points.columns if c != "dataset"]]]
    fits = [v[2] for v in result.values]
    warn_fit_health([(c.name, f) for c, f in zip(cases, fits, strict=True)], "backtests")
    warn_held_out_groups(
        [(c.name, f, c.test) for c, f in zip(cases, fits, strict=True)], "backtests"
    )
    return scores, points, fits


_BACKTEST_OPTIONS = tuple(
    name
    for name, p in inspect.signature(backtest).parameters.items()
    if p.kind is p.KEYWORD_ONLY and name != "name"
)


# ---- decision quantities at held-out budgets ----
def empirical_vertices(points: pd.DataFrame, n_boot: int = 2000, seed: int = 0, ci=0.9):
    """Per budget (column C) of held-out isoFLOP points: the vertex of a quadratic fit of ln loss
    on ln N (N_vertex params, L_vertex loss), its bootstrap ``ci`` interval over the budget's
    points (resampled with replacement; fits without a minimum are left out of the interval),
    the number of points and whether the vertex lies inside the budget's range of N.

    A curve without a minimum (the fitted parabola opens downward) has NaN N_vertex and
    L_vertex: :func:`decision_scores` leaves such a budget unscored.

    **The "90%" interval under-covers, most with few points.** On SIMULATED parabolas in ln N
    with noise sd 0.01 in ln loss and the defaults (n_boot 2000, ci 0.9) it held the true N*
    in 83-91% and the true L* in 74-86% of 300 curves per setting, the fewer the points the
    less (5, 9, 15 points per curve; ``benchmarks/vertex_bootstrap_coverage.py``,
    ``benchmarks/output/vertex_bootstrap_coverage.txt``; binomial standard errors about
    0.02), as percentile bootstrap intervals over few points tend to be too narrow. Its width
    understates the vertex's uncertainty: it is not a calibrated 90% interval (the method is
    kept: its intervals are in the stored benchmark outputs).

    ``points`` lacking a column (C FLOPs, N params, loss) is an UnknownNameError naming it;
    ``n_boot`` must be an integer >= 1 and ``ci`` in (0, 1)."""
    require_columns(points, "points", ("C", "N", "loss"))
    check_integer("n_boot", n_boot, 1)
    check_probability("ci", ci)
    rng = np.random.default_rng(seed)
    rows = []
    for C, group in points.groupby("C"):
        u = np.log(group["N"].to_numpy(float))
        z = np.log(group["loss"].to_numpy(float))
        centre = u.mean()
        vertex = _quadratic_vertex(u - centre, z)
        boot = []
        for _ in range(n_boot):
            i = rng.integers(0, len(u), len(u))
            if np.unique(u[i]).size >= 3:
                boot.append(_quadratic_vertex(u[i] - centre, z[i]))
        boot = np.array([b for b in boot if np.isfinite(b[0])])
        lo, hi = (
            np.quantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
            if len(boot)
            else np.full((2, 2), np.nan)
        )
        rows.append(
            {
                "C": float(C),
                "n_points": len(group),
                "N_vertex": float(np.exp(vertex[0] + centre)),
                "N_vertex_lower": float(np.exp(lo[0] + centre)),
                "N_vertex_upper": float(np.exp(hi[0] + centre)),
                "L_vertex": float(np.exp(vertex[1])),
                "L_vertex_lower": float(np.exp(lo[1])),
                "L_vertex_upper": float(np.exp(hi[1])),
                "vertex_inside_sizes": bool(u.min() <= vertex[0] + centre <= u.max()),
            }
        )
    return pd.DataFrame(rows)


def _quadratic_vertex(u, z) -> tuple[float, float]:
    """(u*, z*) of the least-squares parabola z = c0 + c1 u + c2 u^2 (NaN if c2 <= 0)."""
    c2, c1, c0 = np.polyfit(u, z, 2)
    if c2 <= 0:
        return float("nan"), float("nan")
    u_star = -c1 / (2 * c2)
    return float(u_star), float(c0 - c1**2 / (4 * c2))


EDGE_STEPS = 2  # coarse-grid steps (ln N) within which an interval end counts as the edge


def edge_bounds(C, searched=None) -> tuple[np.ndarray, np.ndarray]:
    """Per budget C (FLOPs): the sizes (params) at or below / at or above which an N_opt value
    is the isoFLOP search range's edge, not an interior optimum. ``searched``: (low, high)
    params per budget, the range the law searched (a law may narrow it:
    :func:`~.allocation.searched_range` of its draws); None: the whole
    :func:`~bayeslaws.laws.optimum.search_range`.

    A draw whose optimum is at the edge starts at an end of the coarse grid (step h = the
    range in ln N / (COARSE_POINTS - 1), 0.068 at 1e20 FLOPs) and the zoom rounds move it by
    at most about one h, either way (e.g. 9.37 params below the 10-parameter bound). The
    margin is EDGE_STEPS = 2 grid steps in ln N: ``exp(lo + 2 h)``, ``exp(hi - 2 h)``."""
    if searched is None:
        lo, hi = search_range(C)
    else:
        lo, hi = (np.log(np.asarray(b, float)) for b in searched)
    margin = EDGE_STEPS * (hi - lo) / (COARSE_POINTS - 1)
    return np.exp(lo + margin), np.exp(hi - margin)


def edge_bounded(lower, upper, C, searched=None) -> np.ndarray:
    """Whether an N_opt interval [lower, upper] (params) at budget C (FLOPs) has an end at the
    edge of the range searched (:func:`edge_bounds`; ``searched`` as there): such an interval
    is bounded by the search, not by the posterior, and its "hit" says nothing about the
    data."""
    bottom, top = edge_bounds(C, searched)
    return (np.asarray(lower, float) <= bottom) | (np.asarray(upper, float) >= top)


def decision_scores(fit, truth: pd.DataFrame, method: str, seed: int = 0, levels=LEVELS):
    """N_opt and L_opt at the budgets of ``truth`` (columns C, N_opt, L_opt: a simulator's
    optimum or a held-out budget's empirical vertex; optional ``N_opt_lower`` ... ``L_opt_upper``,
    the truth's own interval) against ``fit``'s posterior under the extrapolation ``method``.

    One row per budget and quantity: the truth (and ``truth_lower``, ``truth_upper`` when
    given, else NaN), our median and interval per level, a hit flag per level,
    ``log_error`` = |ln(median / truth)|, ``at_boundary_share`` (share of draws whose N_opt is
    at the search edge), ``edge_bounded90`` (the budget's N_opt 90% interval ends at the
    search edge, :func:`edge_bounded`; the L_opt row carries the same flag, its draws being
    those optima) and ``in90_bounded`` = in90 and not edge_bounded90.

    ``scored``: whether the row's truth is finite. A truth that is NaN or infinite (e.g. the
    empirical vertex of a budget whose isoFLOP curve has no minimum,
    :func:`empirical_vertices`) is neither a hit nor a miss, as a held-out run without a loss
    is in :func:`score`: its hit flags (``in50`` ... ``in90_bounded``, nullable booleans) are
    NA, which means and sums skip, and its ``log_error`` is NaN; one :class:`UnscoredWarning`
    names those budgets and quantities.

    **Groups.** On a fit of several groups each budget is answered for the fitted group in
    ``truth``'s ``group`` column (:func:`held_out_groups`); a group the fit lacks, or every
    budget when ``truth`` has no ``group`` column, is answered for a NEW, unseen group (wider
    intervals), with a UserWarning naming them (:func:`held_out_group_note`).

    ``truth`` lacking a column is an UnknownNameError naming it; ``levels`` must be masses in
    (0, 1)."""
    require_columns(truth, "truth", ("C", "N_opt", "L_opt"))
    levels = checked_levels(levels)
    method = check_method(method, "method")
    check_fit(fit)
    C = _positive_column(truth, "C", "truth")
    groups, _ = held_out_groups(fit, truth)
    note = held_out_group_note(fit, truth, "decision_scores")
    if note:
        warn_user(note, UserWarning)
    draws = _decision_draws(fit, C, groups, seed, method)
    rows = []
    for q, (_, values) in enumerate(truth.iterrows()):
        for quantity in ("N_opt", "L_opt"):
            x = draws[quantity][:, q]
            true = float(values[quantity])
            scored = bool(np.isfinite(true))
            row = {
                "C": float(values["C"]),
                "quantity": quantity,
                "truth": true,
                "truth_lower": float(values.get(f"{quantity}_lower", np.nan)),
                "truth_upper": float(values.get(f"{quantity}_upper", np.nan)),
                "median": float(np.median(x)),
                "log_error": float(abs(np.log(np.median(x) / true))) if scored else np.nan,
            }
            for level in levels:
                lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
                key = round(100 * level)
                row[f"lower{key}"], row[f"upper{key}"] = float(lo), float(hi)
                row[f"in{key}"] = bool(lo <= true <= hi) if scored else pd.NA
            row["at_boundary_share"] = float(draws["edge_share"][q])
            row["edge_bounded90"] = bool(draws["edge90"][q])
            if "in90" in row:
                bounded = (row["in90"] and not row["edge_bounded90"]) if scored else pd.NA
                row["in90_bounded"] = bounded
            row["scored"] = scored
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:  # no budget asked
        return out
    hits = [f"in{round(100 * v)}" for v in levels] + ["in90_bounded"] * ("in90" in out)
    out = out.astype({c: "boolean" for c in hits})  # NA where unscored
    _warn_unscored_budgets(out)
    return out


def _decision_draws(fit, C, groups, seed: int, method: str) -> dict:
    """:func:`decision_scores`' draws at budgets C (FLOPs, (Q,)), each for its entry of
    ``groups`` (:func:`held_out_groups`): ``N_opt`` (params) and ``L_opt`` (S, Q), the share
    of draws at the search edge ``edge_share`` (Q,) and ``edge90`` (Q,), whether the 90% N_opt
    interval ends at the edge of the range the law searched (:func:`edge_bounded`)."""
    from .allocation import allocation_draws, searched_range

    out = {}
    for group, at in _by_group(groups):
        draws = allocation_draws(fit, C[at], group=group, seed=seed, extrapolation=method)
        n_opt = np.asarray(draws["N_opt"], float)
        ends = np.quantile(n_opt, [0.05, 0.95], axis=0)
        part = {
            "N_opt": n_opt,
            "L_opt": np.asarray(draws["L_opt"], float),
            "edge_share": np.asarray(draws["at_boundary"], bool).mean(axis=0),
            "edge90": edge_bounded(*ends, C[at], searched_range(C[at], draws)),
        }
        for key, value in part.items():
            if key not in out:
                out[key] = np.empty((*value.shape[:-1], len(C)), value.dtype)
            out[key][..., at] = value
    return out


def require_columns(table, argument: str, columns) -> None:
    """Refuse ``table`` (the argument named ``argument``) unless it is a DataFrame holding
    ``columns``: ArgumentTypeError for another type, UnknownNameError naming the missing
    columns."""
    if not isinstance(table, pd.DataFrame):
        raise ArgumentTypeError(
            f"{argument} must be a DataFrame with columns {list(columns)}, got "
            f"{type(table).__name__}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise UnknownNameError(
            f"{argument} lacks column(s) {missing} (needs {list(columns)}; has "
            f"{[str(c) for c in table.columns]})"
        )


def _warn_unscored_budgets(table: pd.DataFrame) -> None:
    """Warn (:class:`UnscoredWarning`) naming the budgets (C, FLOPs) and quantities of the
    :func:`decision_scores` rows ``table`` whose truth is not finite (``scored`` False)."""
    left = table.loc[~table["scored"].to_numpy(bool), ["C", "quantity"]]
    if left.empty:
        return
    named = [f"C={c:.3g} {q}" for c, q in left.itertuples(index=False)]
    shown = f"{named[:10]}{' ...' if len(named) > 10 else ''}"
    warnings.warn(
        f"{len(named)} of {len(table)} decision rows have no finite truth (NaN or inf: e.g. a "
        "held-out budget whose isoFLOP curve has no minimum) and are neither hit nor miss "
        f"(hit flags NA, log_error NaN; {int(table['scored'].sum())} scored): {shown}",
        UnscoredWarning,
        stacklevel=user_stacklevel(),
    )


MIN_GROUPS = 5  # fewer resampling groups give a degenerate bootstrap (1 group: 1 value)


def bootstrap_rate(hits, groups=None, n_boot: int = 2000, seed: int = 0, ci: float = 0.9):
    """The share of true ``hits`` with a ``ci`` interval: ``(rate, lower, upper)``.

    ``hits``: flags (n,), booleans or 0/1, e.g. a :func:`decision_scores` hit column, whose
    unscored rows are NA; ``groups``: labels (n,) of the points that move together (e.g.
    held-out budgets or data sets), or None. An NA (or NaN) hit is neither hit nor miss: it is
    left out, with its group entry, as ``Series.mean`` skips it, so the rate is over the scored
    hits and a group none of whose hits is scored does not count towards MIN_GROUPS. No scored
    hit: (NaN, NaN, NaN). ``ci`` in (0, 1); ``n_boot`` an integer >= 1.

    The interval:

    * **independent points** (``groups`` None, or every group one scored hit): the exact
      Clopper-Pearson interval of k hits in n (:func:`clopper_pearson`, ``scipy.stats.beta``),
      with no resampling (``n_boot`` and ``seed`` unused). At 0% or 100% it has one end at 0
      or 1 and the other honest (23 of 23 at 90%: lower 0.878), where a bootstrap gave a
      zero-width interval;
    * **groups of several points**: the percentile bootstrap resampling whole groups
      (``n_boot`` resamples, ``seed``). When every scored flag is a hit (or every one a miss)
      every resample gives the same rate, so instead the Clopper-Pearson interval with the
      groups as the trials (all of them hits, or all misses): conservative, since a group's
      chance of being all hits (all misses) is at most its expected hit (miss) rate.

    With fewer than MIN_GROUPS = 5 groups (or points) the bounds are NaN: resampling one group
    always returns the same rate (a zero-width "interval") and two give three values, so such a
    bootstrap says nothing about the uncertainty of the rate."""
    ci = check_probability("ci", ci)
    n_boot = check_integer("n_boot", n_boot, 1)
    hits = pd.Series(pd.array(np.asarray(hits, dtype=object).ravel(), dtype="Float64"))
    scored = hits.notna().to_numpy(bool)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(hits),):
            raise ValueError(
                f"bootstrap_rate: groups has shape {groups.shape}, hits {len(hits)} values: "
                "one group label per hit"
            )
        groups = groups[scored]
    hits = hits[scored].to_numpy(float)
    flags = (hits == 0) | (hits == 1)
    if not flags.all():
        raise ValueError(
            "bootstrap_rate: hits must be flags (booleans or 0/1; NA for unscored), got "
            f"{hits[~flags][:3].tolist()} at scored positions "
            f"{np.flatnonzero(~flags)[:10].tolist()}"
        )
    if hits.size == 0:
        return float("nan"), float("nan"), float("nan")
    groups = np.arange(hits.size) if groups is None else groups
    labels, index = np.unique(groups, return_inverse=True)
    rate = float(hits.mean())
    if len(labels) < MIN_GROUPS:
        return rate, float("nan"), float("nan")
    counts = np.bincount(index, minlength=len(labels))
    if (counts == 1).all():  # independent points: exact
        return (rate, *clopper_pearson(int(hits.sum()), hits.size, ci))
    if rate in (0.0, 1.0):  # the bootstrap has no spread: the groups as trials
        return (rate, *clopper_pearson(int(rate) * len(labels), len(labels), ci))
    sums = np.bincount(index, weights=hits, minlength=len(labels))
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(labels), (n_boot, len(labels)))
    rates = sums[pick].sum(1) / counts[pick].sum(1)
    lo, hi = np.quantile(rates, [(1 - ci) / 2, (1 + ci) / 2])
    return rate, float(lo), float(hi)


def clopper_pearson(k: int, n: int, ci: float = 0.9) -> tuple[float, float]:
    """The exact (Clopper-Pearson) central ``ci`` interval of a binomial rate from ``k`` hits
    in ``n`` trials: beta quantiles, 0 as the lower end at k = 0 and 1 as the upper at k = n."""
    tail = (1 - ci) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - tail, k + 1, n - k))
    return lo, hi


def ray_start(runs: RunTable, compute_model, group=None) -> tuple[float, float, float]:
    """(N params, D tokens, C FLOPs) where :func:`widths_by_distance`'s ray starts: the
    lowest-loss run of the top budget (the runs whose stored C is within 0.1% of the largest;
    ties broken by N then D, so the row order does not matter), C from ``compute_model`` of
    (N, D), not the stored C (which may be a nominal budget). ``group``: a label of the runs'
    ``group`` column, whose own runs it starts from; None: every run."""
    df = runs.df
    if group is not None and "group" in df:
        df = df[df["group"].astype(str) == str(group)]
    top = df[np.isclose(df["C"], df["C"].max(), rtol=1e-3)]
    best = top.sort_values(["loss", "N", "D"], kind="mergesort").iloc[0]
    N, D = float(best["N"]), float(best["D"])
    return N, D, float(compute_model.flops(N, D))


def ray_sizes(compute_model, ratio: float, C) -> np.ndarray:
    """Sizes N (params) with flops(N, ratio * N) = C (FLOPs), at ``ratio`` tokens per param
    (closed form for C = k N D, else bisection in ln N over 1..1e18 params)."""
    C = np.asarray(C, float)
    k = compute_model.linear_k
    if k is not None:
        return np.sqrt(C / (k * ratio))
    lo, hi = np.zeros_like(C), np.full_like(C, np.log(1e18))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        N = np.exp(mid)
        too_big = compute_model.flops(N, ratio * N) > C
        lo, hi = np.where(too_big, lo, mid), np.where(too_big, mid, hi)
    return np.exp(0.5 * (lo + hi))


def widths_by_distance(
    fit, method: str, decades=(1, 2, 3), seed: int = 0, group=None
) -> pd.DataFrame:
    """Relative 90% width of ``new_run`` loss predictions along a ray from the lowest-loss run
    of the fit's top training budget (:func:`ray_start`; its tokens per parameter held fixed),
    ``decades`` (numbers; default 1, 2, 3) decades of compute (the fit's compute model of N, D)
    beyond that run.

    ``group``: on a grouped fit, a fitted group's label: the ray starts from that group's own
    runs and is predicted for that group. None on a fit of several groups predicts a NEW,
    unseen group (wider intervals; UserWarning, once per fit: :func:`~.draws.warn_new_group`)
    from the pooled runs' start."""
    check_fit(fit)
    resolve_group(fit.groups, group)  # a label the fit lacks: ValueError naming its groups
    steps = number_array("decades", decades)
    if steps.ndim > 1 or steps.size == 0 or not np.isfinite(steps).all():
        raise ValueError(f"decades must be a 1-d sequence of finite numbers, got {decades!r}")
    steps = np.atleast_1d(steps)
    warn_new_group(fit, group, "widths_by_distance")
    N0, D0, C0 = ray_start(fit.training_runs(), fit.compute_model, group)
    ratio = D0 / N0
    C = C0 * 10.0**steps
    N = ray_sizes(fit.compute_model, ratio, C)
    query = query_frame(fit, N=N, D=ratio * N, group=group)
    loss = np.exp(np.asarray(log_loss_draws(fit, query, "new_run", group, seed, method)))
    lo, med, hi = np.quantile(loss, [0.05, 0.5, 0.95], axis=0)
    return pd.DataFrame(
        {"decades": steps, "N": N, "D": ratio * N, "width90": (hi - lo) / med}
    )


# ---- simulation-based calibration ----
RANK_BINS = 5  # bins of sbc's uniformity test


def rank_uniformity(ranks, n_draws: int, bins: int = RANK_BINS) -> float:
    """Chi-square p-value that integer ranks in 0..n_draws are uniform, over ``bins``
    equal-width bins; each bin's expected count is in proportion to the rank values it holds
    (equal counts are right only when ``bins`` divides ``n_draws + 1``)."""
    ranks = np.asarray(ranks)
    check_integer("n_draws", n_draws, 1)
    check_integer("bins", bins, 2)
    if bins > n_draws + 1:
        raise ValueError(f"bins={bins} is more than the {n_draws + 1} rank values 0..{n_draws}")
    outside = (ranks < 0) | (ranks > n_draws) | (ranks != np.round(ranks))
    if outside.any():
        raise ValueError(
            f"ranks must be integers in 0..{n_draws}; got {ranks[outside][:5].tolist()} "
            f"at positions {np.flatnonzero(outside)[:5].tolist()}"
        )
    edges = np.linspace(-0.5, n_draws + 0.5, bins + 1)
    counts = np.histogram(ranks, bins=edges)[0]
    values_per_bin = np.histogram(np.arange(n_draws + 1), bins=edges)[0]
    expected = ranks.size * values_per_bin / (n_draws + 1)
    return float(stats.chisquare(counts, expected).pvalue)


@dataclass(frozen=True)
class SBCItem:
    """One simulation of :func:`sbc`: its design (columns N, D), simulated losses (runs,), the
    law and fit options of its refit, the true parameter values it was simulated from, and the
    thinning of the draws it is ranked among. The worker builds the run table (validation is
    part of each task, not of the calling process)."""

    name: str
    design: pd.DataFrame
    loss: np.ndarray
    law: object
    options: dict
    truth: dict
    thin: int


def sbc_rank(item: SBCItem) -> dict:
    """Fit one simulated table and rank each true parameter among the thinned draws (what an
    SBC worker runs; only this row travels back, not the fit): ``{parameter: rank,
    "divergences", "min_ess"}``."""
    from ..inference import deferred

    with warnings.catch_warnings():  # prior draws are implausible tables by design
        warnings.simplefilter("ignore", PlausibilityWarning)
        runs = load_runs(item.design.assign(loss=item.loss))
    fitted = fit_law(runs, law=item.law, **item.options)
    post = {p: np.asarray(fitted.idata.posterior[p]) for p in item.truth}  # (chains, draws)
    row = {p: int(np.sum(post[p].reshape(-1)[:: item.thin] < v)) for p, v in item.truth.items()}
    row["divergences"] = fitted.diagnostics.divergences
    ess = deferred.arviz().ess(fitted.idata, var_names=list(item.truth), method="bulk")
    row["min_ess"] = float(min(np.min(ess[p].values) for p in item.truth))  # as fits report it
    return row


def sbc_items(
    law: str = "chinchilla",
    likelihood: str = "gaussian",
    *,
    n_sims: int = 20,
    design: pd.DataFrame | None = None,
    chains: int = 1,
    warmup: int = 200,
    draws: int = 200,
    thin: int = 4,
    seed: int = 0,
    params=None,
) -> list[SBCItem]:
    """The simulations of :func:`sbc` (same arguments), one :class:`SBCItem` each: parameters
    and ln-loss observations drawn from the law's prior predictive on ``design`` (columns N,
    D; default a 5 x 5 grid), each refit centred on the design's reference scales
    (``law.with_reference_scales``), so that its prior is the one simulated from."""
    check_integer("n_sims", n_sims, 1)
    check_integer("chains", chains, 1)
    check_integer("draws", draws, 1)
    check_integer("thin", thin, 1)
    if thin > chains * draws:
        raise ValueError(f"thin={thin} keeps no draw of chains x draws = {chains * draws}")
    kept = len(range(0, chains * draws, thin))
    if kept + 1 < RANK_BINS:  # refused before any fit, not after all of them
        raise ValueError(
            f"thin={thin} keeps {kept} of chains x draws = {chains * draws} draws: ranks take "
            f"{kept + 1} values, fewer than the uniformity test's {RANK_BINS} bins; thin less "
            "or draw more"
        )
    law_obj = resolve_law(law)
    if design is None:
        N, D = np.meshgrid(np.logspace(7.5, 9.5, 5), np.logspace(9, 11, 5))
        design = pd.DataFrame({"N": N.ravel(), "D": D.ravel()})
    if not isinstance(design, pd.DataFrame) or not {"N", "D"} <= set(design.columns):
        raise ValueError(
            "design must be a DataFrame with columns N and D (its losses are simulated)"
        )
    runs = load_runs(design[["N", "D"]].assign(loss=3.0))  # a placeholder: only N, D matter
    prepared = law_obj.prepare(runs)
    known = list(law_obj.default_priors())
    unknown = [p for p in params or [] if p not in known]
    if unknown:
        raise ValueError(f"params: {unknown} are not parameters of law {law!r}; it has {known}")
    fixed = law_obj.with_reference_scales(prepared.scales)
    priors = law_obj.priors(likelihood)
    static = {**prepared.static, "priors": priors, "likelihood": likelihood}
    arrays = {k: v for k, v in prepared.data.items() if k != "obs"}
    params = list(params or law_obj.default_priors()) + ["sigma"]
    # the prior draw runs in the calling process before any task starts: a saved program
    # after the first SBC of this law and size, as bl.fit's samplers are
    prior = prior_predictive(law_obj, static, arrays, n_sims, jax.random.PRNGKey(seed))
    z = np.asarray(prior[law_obj.observed_site], float)  # (n_sims, runs), centred ln loss
    options = {
        "likelihood": likelihood, "chains": chains, "warmup": warmup, "draws": draws,
        "dense_mass": True, "warn": False, "screen": "off",
    }  # fmt: skip
    losses = np.exp(z + prepared.scales["loss"])  # (n_sims, runs)
    truths = {p: np.asarray(prior[p], float) for p in params}  # parameter -> (n_sims,)
    points = design[["N", "D"]].reset_index(drop=True)
    return [
        SBCItem(
            f"sbc{i}",
            points,
            losses[i],
            fixed,
            {**options, "seed": derived_seed(seed, 1 + i, stride=1)},
            {p: float(truths[p][i]) for p in params},
            thin,
        )
        for i in range(n_sims)
    ]


def sbc(
    law: str = "chinchilla",
    likelihood: str = "gaussian",
    *,
    executor=None,
    workers: int | None = None,
    retries: int = 1,
    chunk_size: int | str = "auto",
    show_progress: bool = False,
    **simulation,
):
    """Simulation-based calibration of a law's NUTS fit, as a batch of fits.

    Draw parameters and ln-loss observations from the law's prior predictive
    (:func:`sbc_items`, whose keyword arguments ``simulation`` are: ``n_sims``, ``design``,
    ``chains``, ``warmup``, ``draws``, ``thin``, ``seed``, ``params``), refit each simulated
    table with ``bl.fit`` and rank each true parameter among its ``ceil(chains * draws /
    thin)`` draws (every chain's draws, thinned together; ranks 0 .. that count), one
    :func:`sbc_rank` call per simulation
    through :func:`~bayeslaws.inference.batch.map_tasks` (``executor``: None runs them in this
    process one by one, or, with ``workers=n``, on n local worker processes; a Dask ``Client``
    or any ``concurrent.futures`` executor spreads them; only the simulated losses travel out
    and the rank rows back, not the fits; ``retries``: how many times a failed simulation's
    fit is resubmitted, as for :func:`backtests`; ``chunk_size``: the simulations per
    submission, default ``"auto"``, four chunks per worker, since each fit takes a fraction of
    a second and a scheduler's per-task cost would show). Any other keyword is refused, naming
    the simulation options. Returns ``(ranks
    DataFrame (sim x parameter, plus per-simulation sampler diagnostics ``divergences`` and
    ``min_ess``, the smallest bulk ESS over ``params``), p-values of uniformity per
    parameter)``: a non-uniform rank with troubled fits points at the sampler, with clean fits
    at the model. A simulation whose fit failed raises (``raise_for_failures``).

    **Troubled fits are warned about.** After the batch one
    :class:`~bayeslaws.inference.SamplerWarning` says how many simulations' fits diverged and
    how many have ``min_ess`` below the number of draws ranked: ranks among divergent or
    autocorrelated draws are not uniform even for a calibrated model (too few effective draws
    pile the ranks up at the ends). At the defaults (1 chain x 200 warm-up + 200 draws, thin 4:
    50 ranked draws) the Chinchilla law's fits often do both. Remedies: more warm-up and draws
    (``warmup=``, ``draws=``), and thinning by the effective sample size, ``thin`` about
    ``chains * draws / min_ess`` so that the ranked draws are close to independent (Talts et
    al. 2018).

    **Several p-values.** Each parameter's p-value is a separate test: with k parameters each
    tested at 0.05, the chance that some p-value falls below 0.05 under exact uniformity is
    about 1 - 0.95**k (0.26 for six, the Chinchilla law's five and sigma; "about", as the
    parameters' ranks are not independent). Compare the smallest p-value with 0.05 / k
    (Bonferroni), not with 0.05."""
    unknown = sorted(set(simulation) - set(_SBC_OPTIONS))
    if unknown:  # refused before the simulations, naming sbc (not the internal sbc_items)
        raise ArgumentTypeError(
            f"sbc: unknown option(s) {unknown}; its simulation options are {list(_SBC_OPTIONS)}, "
            "and its batch options executor, workers, retries, chunk_size, show_progress"
        )
    items = sbc_items(law, likelihood, **simulation)
    if executor is None and workers is None:
        executor = InProcessExecutor()
    result = map_tasks(
        sbc_rank,
        items,
        executor,
        names=[item.name for item in items],
        workers=workers,
        retries=retries,
        chunk_size=chunk_size,
        show_progress=show_progress,
        label="sbc",
    )
    result.raise_for_failures()
    rows = result.values
    ranks = pd.DataFrame(rows)
    first = items[0]
    n_kept = len(range(0, first.options["draws"] * first.options["chains"], first.thin))
    pvalues = {p: rank_uniformity(ranks[p], n_kept) for p in items[0].truth}
    _warn_sbc_trouble(ranks, n_kept)
    return ranks, pvalues


# sbc's simulation options: sbc_items' keywords (law and likelihood are sbc's own arguments)
_SBC_OPTIONS = tuple(
    name
    for name, p in inspect.signature(sbc_items).parameters.items()
    if p.kind is p.KEYWORD_ONLY
)


def _warn_sbc_trouble(ranks: pd.DataFrame, n_kept: int) -> None:
    """:func:`sbc`'s :class:`~bayeslaws.inference.SamplerWarning`: how many of the simulations
    (rows of ``ranks``, with columns ``divergences`` and ``min_ess``) diverged and how many have
    a smallest bulk ESS below ``n_kept``, the draws each truth is ranked among; nothing when
    none does."""
    n = len(ranks)
    divergent = ranks["divergences"].to_numpy(float) > 0
    ess = ranks["min_ess"].to_numpy(float)
    few = (ess < n_kept) | np.isnan(ess)  # an undefined ESS (NaN) counts as too few
    if not divergent.any() and not few.any():
        return
    warn_user(
        f"sbc: {int(divergent.sum())} of {n} simulations' fits diverged "
        f"({int(ranks['divergences'].sum())} divergent transitions in all) and "
        f"{int(few.sum())} of {n} have a smallest bulk ESS (min_ess) below the {n_kept} draws "
        "ranked (or undefined): their ranks are not uniform even for a calibrated model, so a "
        "small p-value may be the sampler's. Raise warmup= and draws=, and thin by the "
        "effective sample size (thin about chains * draws / min_ess); the ranks table's "
        "divergences and min_ess columns name the simulations",
        SamplerWarning,
    )


__all__ = [
    "BacktestCase",
    "SBCItem",
    "UnscoredWarning",
    "backtest",
    "backtests",
    "epoch_split",
    "fit_health",
    "interval_table",
    "log_predictive_density",
    "porian_split",
    "rank_uniformity",
    "sbc",
    "sbc_items",
    "sbc_rank",
    "score",
    "simulated_split",
    "steplaw_best_cells",
    "steplaw_split",
    "warn_fit_health",
]
