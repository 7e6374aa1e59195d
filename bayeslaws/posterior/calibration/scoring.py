"""Scoring predictive draws against held-out losses: the interval table of each point (median,
central intervals and hit flags at :data:`LEVELS`, log predictive density), the scores over the
points that have a loss (:func:`score`), the checks of their arguments, and the
:class:`UnscoredWarning` naming the points left out."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from ...runs.checks import ArgumentTypeError, is_real, number_array, rows_text
from ...runs.warn import user_stacklevel

LEVELS = (0.5, 0.8, 0.9)


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
            f"positions {rows_text(np.flatnonzero(bad).tolist(), noun='positions')} (e.g. "
            f"{actual[bad][:3].tolist()})"
        )
    return actual, draws, checked_levels(levels)


def checked_levels(levels) -> tuple[float, ...]:
    """``levels``, a sequence of interval masses each in (0, 1), as a tuple (else
    ArgumentTypeError or ValueError naming ``levels``); two different levels whose column key
    (:func:`level_key`) is the same are refused, naming both."""
    if isinstance(levels, str | bytes) or not isinstance(levels, Iterable):
        raise ArgumentTypeError(f"levels must be a sequence of interval masses, got {levels!r}")
    levels = tuple(levels)
    bad = [v for v in levels if not is_real(v) or not 0 < v < 1]
    if bad:
        raise ValueError(
            f"levels must be interval masses in (0, 1) (e.g. 0.9 for the central 90% "
            f"interval), got {bad} in {levels}"
        )
    seen: dict[str, float] = {}
    for level in levels:
        first = seen.setdefault(level_key(level), level)
        if first != level:
            raise ValueError(
                f"levels {first} and {level} share the column key {level_key(level)!r} "
                f"(cov{level_key(level)}, in{level_key(level)}, ...): give levels that differ "
                f"within {KEY_DIGITS} significant digits of a percent"
            )
    return levels


KEY_DIGITS = 10  # significant digits of a level's percent in its column key


def level_key(level: float) -> str:
    """The column key of interval mass ``level`` (in (0, 1)): its percent, a whole percent as an
    integer ("90" for 0.9: cov90, in90, lower90), another to :data:`KEY_DIGITS` significant
    digits ("90.1" for 0.901, "90.5" for 0.905)."""
    percent = 100 * float(level)
    whole = round(percent)
    if abs(percent - whole) < 1e-9:
        return str(whole)
    return f"{percent:.{KEY_DIGITS}g}"


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
        key = level_key(level)
        out[f"lower{key}"] = lo
        out[f"upper{key}"] = hi
        out[f"in{key}"] = (actual >= lo) & (actual <= hi)
    out["lpd"] = log_predictive_density(np.log(actual), log_draws)
    out["scored"] = np.isfinite(actual)
    return pd.DataFrame(out)


def score(actual, log_draws, levels=LEVELS, rows=None) -> dict:
    """Scores of predictive ln-loss draws (S, Q) against actual losses (Q,).

    ``error``: median |median / actual - 1|; ``cov50``...: fraction of actual losses inside the
    central intervals (keyed by :func:`level_key`: ``cov90`` for 0.9, ``cov90.5`` for 0.905);
    ``width90``: mean (upper - lower) / median of the 90% interval; ``lpd``: mean log
    predictive density of ln L; ``n``: number of points scored.

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
        key = level_key(level)
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
