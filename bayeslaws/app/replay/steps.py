"""One strategy's campaign, step by step (:func:`campaign_steps`): from the start fit, each
budget's batch chosen, refitted and scored into a history row and a component table, its
warnings recorded; started from a seed's (shared) start fit (:func:`started_steps`) and
stopped by a failing step with a failure row (:func:`guarded_steps`), after the campaign's
arguments are checked (:func:`check_campaigns`, :func:`warn_overspent`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ...inference.nuts import derived_seed
from ...runs import load_runs
from ...runs.warn import user_stacklevel
from .checks import BUDGET_RTOL, BUDGETS, BudgetWarning, check_budgets
from .fits import calibrated, drift_columns, fit_runs, recorded_start
from .history import failure_row, joined
from .pool import Pool, check_pool
from .scores import score
from .strategies import STRATEGIES, choose
from .trouble import recording_warnings


def check_campaigns(pool: Pool, strategies, refit: str) -> list[str]:
    """``strategies`` as a list, checked against ``pool`` (and ``refit``, the truth table);
    the pool is checked again (:func:`check_pool`: its runs may have been changed since)."""
    check_pool(pool)
    strategies = [strategies] if isinstance(strategies, str) else list(strategies)
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"strategies: unknown strategy {s!r}; choose from {STRATEGIES}")
        if s == "grid" and pool.grid is None:
            raise ValueError(f"strategies: pool {pool.name!r} has no paper grid")
    if refit not in ("update", "cold"):
        raise ValueError(f"refit must be 'update' or 'cold', got {refit!r}")
    if pool.truth is None:
        raise ValueError(f"pool {pool.name!r} has no truth table (steplaw: steplaw_truth())")
    return strategies


def _scored(pool: Pool, strategy, seed, budget, trained, fit, seconds) -> tuple[dict, pd.DataFrame]:
    """(the history row, the per-component table) of one scored fit of a campaign; both
    carry ``simulated`` (``pool.simulated``: the pool's losses are simulated)."""
    summary, table = score(pool, fit)
    spent = float(pool.runs.loc[trained, "C"].sum())
    row = {
        "pool": pool.name,
        "simulated": pool.simulated,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        "spent": spent / pool.compute,
        "flops": spent,
        "n_runs": len(trained),
        **summary,
        "divergences": fit.diagnostics.divergences,
        "max_r_hat": fit.diagnostics.max_r_hat,
        "seconds": seconds,
        # appended after the older columns, so stored histories keep their column order
        "min_ess_bulk": fit.diagnostics.min_ess_bulk,
        "sampler_ok": fit.diagnostics.ok,
    }
    # simulated appended after the older columns, so stored component tables keep their order
    components = table.assign(
        pool=pool.name, strategy=strategy, seed=seed, budget=budget, simulated=pool.simulated
    )
    return row, components


def _step_columns(pool: Pool, fit, picked, fit_warnings, design_warnings) -> dict:
    """The history columns a campaign step appends after :func:`_scored`'s (so stored
    histories keep their column order): ``picked`` (the pool row labels bought at this step:
    the start design on the start's row), ``fit_warnings`` and ``design_warnings`` (the
    ``"Category: message"`` texts of the step's fit and drift calibration, and of its design),
    each :func:`joined`, then :func:`drift_columns`."""
    return {
        "picked": joined(picked),
        "fit_warnings": joined(fit_warnings),
        "design_warnings": joined(design_warnings),
        **drift_columns(pool, fit),
    }


def campaign_steps(
    pool: Pool,
    strategy: str,
    seed: int,
    start: tuple,
    *,
    budgets=BUDGETS,
    options: dict,
    refit: str = "update",
    max_draws: int | None = 400,
    start_warnings=(),
) -> Iterator[tuple[dict, pd.DataFrame]]:
    """One strategy's campaign from ``start`` (:func:`fit_start`'s triple): yields the scored
    start, then after each budget fraction of the pool's compute (spent in one batch, refitted
    by ``fit.update`` or cold) its (history row, component table) as :func:`_scored`, the row
    followed by :func:`_step_columns`: the runs bought (the start's row: the start design), the
    warnings of the step's fit and drift calibration (the start's row: ``start_warnings``, the
    texts :func:`recorded_start` recorded; a refit's: recorded here) and of its design
    (:func:`choose`), and the drift refits' health. Those warnings are recorded, not shown:
    :func:`replay` and :func:`replay_many` name the rows once at their end
    (:func:`warn_trouble`). ``budgets`` are checked (:func:`check_budgets`); a
    :class:`BudgetWarning` names those the start already spends more than (their rows score
    the start, ``spent`` above ``budget``)."""
    budgets = check_budgets(budgets)
    trained, fit, seconds = start
    total = pool.compute
    warn_overspent(pool, seed, trained, budgets)
    row, table = _scored(pool, strategy, seed, 0.0, trained, fit, seconds)
    yield {**row, **_step_columns(pool, fit, trained, start_warnings, ())}, table
    rng = np.random.default_rng([seed, 1 + STRATEGIES.index(strategy)])
    for step, fraction in enumerate(budgets, start=1):
        t0 = time.perf_counter()
        left = fraction * total - float(pool.runs.loc[trained, "C"].sum())
        design_warnings: list[str] = []
        fit_warnings: list[str] = []
        new = pd.Index([])
        if left > 0:
            with recording_warnings(design_warnings):
                new = choose(
                    strategy, pool, fit, trained, left, rng, seed=seed, max_draws=max_draws
                )
        if len(new):
            trained = trained.append(new)
            with recording_warnings(fit_warnings):
                if refit == "update":
                    fit = fit.update(_run_table(pool.runs.loc[new]), seed=derived_seed(seed, step))
                else:
                    fit = fit_runs(pool, pool.runs.loc[trained], options, derived_seed(seed, step))
                fit = calibrated(pool, fit, derived_seed(seed, step))
        row, table = _scored(pool, strategy, seed, fraction, trained, fit, time.perf_counter() - t0)
        yield {**row, **_step_columns(pool, fit, new, fit_warnings, design_warnings)}, table


def warn_overspent(pool: Pool, seed: int, start: pd.Index, budgets) -> None:
    """A :class:`BudgetWarning` when the ``start`` design (row labels of seed ``seed``)
    already spends more than some of ``budgets`` (fractions of the pool's compute): those
    steps buy nothing and their rows score the start."""
    spent = float(pool.runs.loc[start, "C"].sum()) / pool.compute
    below = [b for b in budgets if b * (1 + BUDGET_RTOL) < spent]
    if below:
        warnings.warn(
            f"pool {pool.name!r} seed {seed}: the start design already spends {spent:.4%} of the "
            f"pool's compute, more than budgets {below}: their steps buy nothing and their rows "
            "score the start (spent above budget); give budgets above the start's spend",
            BudgetWarning,
            stacklevel=user_stacklevel(),
        )


def started_steps(
    pool: Pool, strategy: str, seed: int, options: dict, shared: dict, **steps
) -> Iterator[tuple[dict, pd.DataFrame]]:
    """:func:`campaign_steps` of ``strategy`` (``steps``: its keyword options) from the start
    fit of ``seed``, fitted on first use and kept in ``shared`` (a dict: the strategies of a
    seed share it in :func:`replay`); the fit runs inside the generator, so that its failure is
    the campaign's first step's (:func:`guarded_steps`)."""
    if "start" not in shared:
        shared["start"] = recorded_start(pool, seed, options)
    start, start_warnings = shared["start"]
    yield from campaign_steps(
        pool, strategy, seed, start, options=options, start_warnings=start_warnings, **steps
    )


def guarded_steps(
    pool: Pool, strategy: str, seed: int, budgets: tuple, steps: Iterator
) -> Iterator[tuple[dict, pd.DataFrame | None, Exception | None]]:
    """(history row, component table, None) per scored step of a campaign's ``steps``
    (:func:`started_steps`); when a step raises, a last (:func:`failure_row` at the budget of
    that step: 0.0 for the start, then ``budgets`` in turn, None, the error) and no more. An
    error of the caller's own code between steps (its log, its checkpoint) is not caught."""
    done = 0
    try:
        for row, table in steps:
            yield row, table, None
            done += 1
    except Exception as error:  # the campaign stops; the caller keeps its rows, then raises
        budget = (0.0, *budgets)[min(done, len(budgets))]
        yield failure_row(pool, strategy, seed, budget, error), None, error


def _run_table(rows: pd.DataFrame):
    table = load_runs(rows.drop(columns=["C"]), allow_missing_loss=True)
    table.df["C"] = rows["C"].to_numpy(float)
    return table
