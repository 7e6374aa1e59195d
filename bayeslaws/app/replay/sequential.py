"""The replay in this process (:func:`replay`): a pool's campaigns one after another, a seed's
strategies sharing its start fit, with their log, checkpoints and recorded trouble, and a
failing step's error raised with what finished.
"""

from __future__ import annotations

import pandas as pd

from .checks import BUDGETS, check_budgets, check_seeds, warn_start_only
from .fits import campaign_fit_options
from .history import concat_frames, describe, scored_rows
from .pool import Pool
from .steps import check_campaigns, guarded_steps, started_steps
from .strategies import STRATEGIES
from .trouble import warn_trouble


def replay(
    pool: Pool,
    strategies=STRATEGIES,
    seeds=(0,),
    *,
    budgets=BUDGETS,
    sampler: dict | None = None,
    refit: str = "update",
    max_draws: int | None = 400,
    log=None,
    checkpoint=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replay campaigns on ``pool``, in this process: per seed, the start design is fitted
    once; each strategy then spends up to each budget fraction of the pool's compute in one
    batch, refits (by ``fit.update``, or ``refit="cold"``: a new fit) and is scored.
    ``fit.update`` warm-starts only where the law re-expresses its posterior on the new
    reference scales (the loss-surface laws, ``hyperparams``); for law ``sweep`` (the Step Law
    pool's) it is a cold refit with the fit's own warm-up. ``budgets``: strictly increasing
    fractions in (0, 1] (:func:`check_budgets`, checked before any fit).

    Returns (history: one row per pool, strategy, seed and budget with the spent fraction, the
    number of runs, r2, error, coverage, divergences, max_r_hat, seconds, min_ess_bulk, sampler_ok
    (False when the fit failed the sampler checks), then picked (the pool row labels bought at
    that step, ";"-joined; the start's row: the start design), fit_warnings and design_warnings
    (the ``"Category: message"`` texts of the warnings of the step's fit and drift calibration,
    and of its design, ";"-joined: :func:`split_warnings`; "" when none) and the drift
    calibration's refits (:data:`DRIFT_COLUMNS`, NaN when the pool does not calibrate the
    drift); components: the per-component table of every scored fit, with its pool, strategy,
    seed, budget and simulated). Both tables label a pool's simulated data (column
    ``simulated``, ``pool.simulated``). ``checkpoint(history, components)`` is called after
    every scored fit, ``log(line)`` with a line per scored fit (:func:`describe`: it says
    "sampler FAILED" for a fit that failed its checks). ``seeds``: a non-empty list of integers
    >= 0 (:func:`check_seeds`).

    The fits' and designs' warnings are recorded in the history, not shown as they come; at the
    end one warning per kind names the rows they came from (:func:`warn_trouble`): one
    SamplerWarning for the fits that failed the sampler checks and the drift calibrations
    resting on failed refits, one DesignWarning for the designs that warned, one UserWarning
    for the fits' other warnings.

    A step that raises stops the replay: its campaign's failure row (:func:`failure_row`:
    the step's budget and the error's text, column ``failure``) is logged and checkpointed
    after the rows already scored, the recorded trouble is named (:func:`warn_trouble`), and
    the error propagates with a note and what finished as its ``history`` and ``components``.
    """
    strategies = check_campaigns(pool, strategies, refit)
    seeds = check_seeds(seeds)
    budgets = check_budgets(budgets)
    warn_start_only(budgets)
    options = campaign_fit_options(pool, sampler)
    history, components = [], []
    for seed in seeds:
        shared: dict = {}  # the seed's start fit, shared by its strategies
        for strategy in strategies:
            steps = started_steps(
                pool, strategy, seed, options, shared, budgets=budgets, refit=refit,
                max_draws=max_draws,
            )  # fmt: skip
            for row, table, error in guarded_steps(pool, strategy, seed, budgets, steps):
                history.append(row)
                if table is not None:
                    components.append(table)
                if log is not None:
                    log(describe(row))
                if checkpoint is not None:
                    checkpoint(pd.DataFrame(history), concat_frames(components))
                if error is not None:
                    done = pd.DataFrame(history)
                    warn_trouble(scored_rows(done), "replay")
                    error.add_note(
                        f"replay: {describe(row)}. What finished is this error's .history and "
                        ".components (history column failure marks the failed step)."
                    )
                    error.history, error.components = done, concat_frames(components)
                    raise error
    history = pd.DataFrame(history)
    warn_trouble(history, "replay")
    return history, concat_frames(components)
