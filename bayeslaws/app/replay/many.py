"""Many campaigns as a batch (:func:`replay_many`): one task per (strategy, seed)
(:class:`CampaignTask`, run by :func:`run_campaign` from its own start fit) through
``bayeslaws.inference.batch``, in this process, on local worker processes or on a Dask
cluster, with the tables of :func:`~bayeslaws.app.replay.replay` and one
:class:`CampaignError` naming the failed campaigns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...inference.batch import BatchResult, InProcessExecutor, iter_map_tasks, warn_again
from ...runs.checks import ArgumentTypeError
from .checks import BUDGETS, check_budgets, check_seeds, warn_start_only
from .fits import campaign_fit_options
from .history import concat_frames, describe, failure_lines, failure_row, scored_rows
from .pool import Pool
from .steps import check_campaigns, guarded_steps, started_steps
from .strategies import STRATEGIES
from .trouble import warn_trouble


class CampaignError(RuntimeError):
    """Campaigns of :func:`replay_many` failed (the message names each: pool, strategy, seed,
    the budget of the step it stopped at, the error). What finished is in its ``history`` and
    ``components`` (set when raised): every step scored before a failure, and per failed
    campaign a row with its error (column :data:`FAILURE_COLUMN`, :func:`failure_row`)."""


@dataclass(frozen=True)
class CampaignTask:
    """One (strategy, seed) campaign of :func:`replay_many` (what a worker gets).

    pool : a :class:`Pool`, or a picklable function of no arguments returning one (a module-level
        function or a ``functools.partial`` of one: the worker builds the pool itself).
    budgets : fractions of the pool's compute; sampler, refit, max_draws : as :func:`replay`.
    """

    pool: object
    strategy: str
    seed: int
    budgets: tuple = BUDGETS
    sampler: dict | None = None
    refit: str = "update"
    max_draws: int | None = 400


def _resolve_pool(pool) -> Pool:
    """``pool``, or what the factory ``pool()`` returns, checked to be a :class:`Pool`."""
    made = pool() if callable(pool) and not isinstance(pool, Pool) else pool
    if not isinstance(made, Pool):
        raise ArgumentTypeError(
            f"pool must be a replay.Pool or a function returning one, got {type(made).__name__}"
        )
    return made


def run_campaign(task: CampaignTask) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a worker runs for :func:`replay_many`: one strategy's campaign for one seed, from
    its own start fit. Returns (history rows, component table) as :func:`replay` does. A step
    that raises (the start fit included) stops the campaign without raising: the steps scored
    before it keep their rows and a last row records the failure (:func:`failure_row`: the
    step's budget and the error's text, column ``failure``); :func:`replay_many` raises it."""
    pool = _resolve_pool(task.pool)
    options = campaign_fit_options(pool, task.sampler)
    budgets = check_budgets(task.budgets)
    steps = started_steps(
        pool, task.strategy, task.seed, options, {}, budgets=budgets, refit=task.refit,
        max_draws=task.max_draws,
    )  # fmt: skip
    rows, tables = [], []
    for row, table, _ in guarded_steps(pool, task.strategy, task.seed, budgets, steps):
        rows.append(row)
        if table is not None:
            tables.append(table)
    return pd.DataFrame(rows), concat_frames(tables)


def _campaign_tables(result, pool: Pool, seed: int, strategy: str) -> tuple:
    """(history, components) of one campaign's batch ``result``: what :func:`run_campaign`
    returned, or for a task that failed outside its steps (its worker died, its pool could not
    be made) a :func:`failure_row` at an unknown step (budget NaN) and no components."""
    if result.ok:
        return result.value
    return pd.DataFrame([failure_row(pool, strategy, seed, np.nan, result.error)]), pd.DataFrame()


def _in_order(finished: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history and component tables of the finished campaigns (``finished``: task index
    -> (history, components)), in task order."""
    tables = [finished[i] for i in sorted(finished)]
    return concat_frames([h for h, _ in tables]), concat_frames([c for _, c in tables])


def replay_many(
    pool: Pool | Callable[[], Pool],
    strategies=STRATEGIES,
    seeds=(0,),
    *,
    budgets=BUDGETS,
    sampler: dict | None = None,
    refit: str = "update",
    max_draws: int | None = 400,
    executor=None,
    workers: int | None = None,
    retries: int = 1,
    show_progress: bool = True,
    log=None,
    checkpoint=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The campaigns of :func:`replay` as a batch: one task per (strategy, seed) through
    :func:`~bayeslaws.inference.batch.map_tasks`'s machinery (:func:`run_campaign`).

    ``pool``: a :class:`Pool` or a picklable function returning one (called once here to check
    the strategies, and in every task). ``executor``: None runs the campaigns in this process
    one by one (or, with ``workers=n``, on n local worker processes); a Dask ``Client`` or any
    ``concurrent.futures`` executor spreads them. Each task fits its own start design (the fit
    :func:`replay` shares between a seed's strategies, with the same seed: the same fit).

    Returns (history, components) as :func:`replay`: the campaigns' tables concatenated in the
    order seed by seed, strategy by strategy, whatever order they finished in. As each campaign
    finishes, ``log(line)`` gets a line per history row and ``checkpoint(history, components)``
    the finished campaigns' tables (in that order). A campaign whose step raised keeps the
    steps scored before it, and a last row with the error (:func:`failure_row`, column
    ``failure``: the budget of the step it stopped at), and is not retried (the same seeds
    fail it the same way); a task that failed otherwise (after ``retries``: its worker died)
    gets such a row at an unknown step (budget NaN). After the others finished, one
    :class:`CampaignError` (a RuntimeError) names every failed campaign, with the tables of
    what finished as its ``history`` and ``components``. ``seeds``: a non-empty list of
    integers >= 0 (:func:`check_seeds`).

    The warnings the campaigns raised (e.g. :class:`BudgetWarning`, an extrapolation's) are
    raised again here after the batch, each with its category, prefixed with its campaign's
    name (:func:`~bayeslaws.inference.batch.warn_again`), failed campaigns' too; those of their
    fits and designs, recorded in the history as :func:`replay` records them, are named once
    per kind for the scored rows (:func:`warn_trouble`), before a failure is raised. An error in
    ``log`` or ``checkpoint`` stops the campaigns still running (local worker processes are
    terminated) before it propagates.
    """
    resolved = _resolve_pool(pool)
    strategies = check_campaigns(resolved, strategies, refit)
    seeds = check_seeds(seeds)
    budgets = check_budgets(budgets)
    warn_start_only(budgets)
    pairs = [(seed, strategy) for seed in seeds for strategy in strategies]
    tasks = [
        CampaignTask(pool, strategy, seed, tuple(budgets), sampler, refit, max_draws)
        for seed, strategy in pairs
    ]
    if executor is None and workers is None:
        executor = InProcessExecutor()
    results = iter_map_tasks(
        run_campaign,
        tasks,
        executor,
        names=[f"{resolved.name} {strategy} seed {seed}" for seed, strategy in pairs],
        workers=workers,
        retries=retries,
        show_progress=show_progress,
        label="replay_many",
    )
    ended, finished = {}, {}
    # closed on the way out: an error in log or checkpoint stops the campaigns still running
    # (their worker processes), not left to the generator's garbage collection
    with contextlib.closing(results):
        for result in results:
            ended[result.index] = result
            finished[result.index] = _campaign_tables(result, resolved, *pairs[result.index])
            if log is not None:
                for row in finished[result.index][0].to_dict("records"):
                    log(describe(row))
            if checkpoint is not None:
                checkpoint(*_in_order(finished))
    batch = BatchResult([ended[i] for i in sorted(ended)], label="replay_many", noun="campaigns")
    warn_again(batch, "replay_many")  # as replay shows them (the campaign named), not lost
    history, components = _in_order(finished)
    # the finished campaigns' recorded trouble, once
    warn_trouble(scored_rows(history), "replay_many")
    named = failure_lines(history)
    if named:
        error = CampaignError(
            f"replay_many: {len(named)} of {len(tasks)} campaigns failed: {'; '.join(named)}. What "
            "finished is this error's .history and .components (the steps scored before each "
            "failure are kept; history column failure marks the failed campaigns' rows)."
        )
        error.history, error.components = history, components
        raise error
    return history, components
