"""Backtests: fit a law on the smaller runs, predict the held-out larger ones as new runs with
each extrapolation method and score them (:func:`backtest`); many of them (data sets, splits) as
one batch through ``map_tasks`` (:func:`backtests`, cases :class:`BacktestCase`),
warning once for the batch about fit health and held-out groups, and raising the cases' own
warnings again (each named by its case)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...inference import fit as fit_law
from ...inference.batch import InProcessExecutor, map_tasks, warn_again
from ...runs import RunTable
from ...runs.checks import ArgumentTypeError
from ..draws import query_frame
from ..extrapolation import METHODS, prepare
from .checks import check_methods, check_test_table
from .groups import held_out_distance, held_out_draws, held_out_groups, warn_held_out_groups
from .health import fit_health, warn_fit_health
from .scoring import interval_table, score


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
    """The query frame (:func:`~..draws.query_frame`) of the held-out runs ``test`` (columns N
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
    **Groups**, :func:`warn_held_out_groups`). The warnings a case raised in its worker (e.g.
    an :class:`~.scoring.UnscoredWarning` naming its held-out runs without a loss) are raised
    again here, each as its own category, prefixed with ``backtests`` and the case's name
    (:func:`~bayeslaws.inference.batch.warn_again`), failed cases' too, before a failure is
    raised."""
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
        summary=False,
    )
    warn_again(result, "backtests")  # the cases' own warnings, as backtest shows them
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
