"""Replayed design campaigns: strategies choose runs from pools of runs that were really trained;
running an experiment reveals its row. The oracle is real training, not a fitted law
(``benchmarks/design_replay.py`` runs them and writes the tables and the figure).

A :class:`Pool` holds the candidate runs (the training side of a split), the held-out target
region (for SL2's R^2), the decision quantity ours designs for and its realised truth, the start
design (the cheapest runs, as SL2 does) and, where one exists, the paper's own grid. Every
campaign of a seed starts from the same runs; budgets are fractions of the pool's compute
(``BUDGETS``: 1%, 5%, 10%, 25%), each spent in one batch, and the fit after each is scored.

Strategies (``STRATEGIES``):

* ``ours``: :func:`bayeslaws.design.next_runs` with the pool's decision targets, information
  per FLOP, the design's model (:func:`bayeslaws.design.discrepancy.design_method`: GP and
  drift discrepancy, and the drift a run removes), the stage's budget (counted in the pool's
  C, as every strategy spends it) and campaign-wide guardrails; runs at unseen cells of an
  LR x batch pool come as small sweeps (:func:`bayeslaws.design.pool_units`).
* ``random``: uniform picks among the affordable remaining runs until the budget is spent.
* ``vopt``: the classical V-optimal design of SL2's baselines: reduction of the summed variance
  of the law's predictions (method ``"none"``) of the losses at up to 40 held-out runs'
  settings (sampled from all of them, diverged or not: :func:`vopt_target` reads no
  outcome), per cost^0.3.
* ``grid``: the paper's design in its natural order (isoFLOP curves budget by budget, LR x batch
  sweeps cell by cell, cheapest first), where the pool has one.

Scores per budget (:func:`score`): SL2's R^2 of the held-out runs' losses (posterior median of a
new run, clipped to [-1, 1] as SL2), the decision quantity's error ``|ln(median / truth)|`` per
component and their mean, whether each truth lies inside its central 90% interval, and the
interval's half-width ``ln(upper / lower) / 2`` (median over components). Every strategy of a
pool is scored on the same prediction, under the pool's ``report_method``; ``ALSO_SCORED``
methods are scored beside it (columns ``error_gp`` etc.):

* losses of runs (Epoch): the new-run prediction under the model discrepancy the design values
  (:func:`bayeslaws.design.discrepancy.design_method`: the GP pattern plus the drift beyond the
  training range, ``"drift"``), with the drift rate updated by the fit's own scale-out splits
  after every fit (``Pool.calibrate_drift``: :func:`bayeslaws.posterior.extrapolation.drift.
  calibrate`). The package default ``"gp"`` widens only by what the training residuals show:
  after a campaign's few large runs pin the (mis-tilted) form, it is blind to the distance to
  the target and its 90% intervals miss many of Epoch's held-out runs (columns
  ``coverage_gp``); the shipped drift population alone covers them but with intervals about ten
  times wider than the errors;
* N_opt (isoFLOP pools): the package default (the law's own allocation): the drift's N_opt
  interval, shipped or calibrated, was measured uninformative on Porian (selection data; a ln
  half-width of about 4 at every budget, and a median further from the truth than the law's);
* eta_opt, B_opt and the loss at the optimum (Step Law): the sweep law (law ``"sweep"``) is not
  widened (every method gives the same draws); its ``new_run`` optima carry the fitted cell
  scatter and, beyond the fitted cells' range, the optima laws' drift (``optima_drift``).

:func:`replay` runs the campaigns of a pool one after another in this process;
:func:`replay_many` runs the same campaigns as a batch through
``bayeslaws.inference.batch.map_tasks``, one task per (strategy, seed) (:func:`run_campaign`:
it fits its own start design, the one :func:`replay` shares between the strategies of a seed),
in this process, on local worker processes or on a Dask cluster, with the same tables.

Modules (each imports only those listed before it):

* ``pool``: the :class:`Pool` record and the checks it passes when made (:func:`check_pool`);
* ``checks``: a replay's ``budgets`` and ``seeds`` checked before any fit, :class:`BudgetWarning`;
* ``scores``: R^2, the decision quantity's error, coverage and half-width (:func:`score`);
* ``pool_builders``: the pools built from the shipped data (Step Law, Epoch, isoFLOP) and the
  simulated pools of the compendium's shapes;
* ``strategies``: which runs each strategy buys within a budget (:func:`choose`);
* ``history``: the history table's cells, failure rows and log lines (:func:`describe`);
* ``trouble``: the fits' and designs' warnings, recorded, then named once (:func:`warn_trouble`);
* ``fits``: the law fitted to a pool's runs, its drift calibration, the start fit;
* ``steps``: one strategy's campaign step by step (:func:`campaign_steps`);
* ``sequential``: :func:`replay`, the campaigns one after another in this process;
* ``many``: :func:`replay_many`, many campaigns as a batch of tasks.

Units: N params, D tokens, C FLOPs, lr the learning rate, batch size in tokens.
"""

from .checks import (
    BUDGET_RTOL,
    BUDGETS,
    BudgetWarning,
    check_budgets,
    check_seeds,
)
from .fits import (
    calibrated,
    fit_start,
)
from .history import (
    describe,
    failure_lines,
    failure_row,
    joined,
    r_hat_text,
    scored_rows,
    split_warnings,
)
from .many import CampaignError, CampaignTask, replay_many, run_campaign
from .pool import (
    Pool,
    cells_of,
    check_pool,
    held_out_overlap,
)
from .pool_builders import (
    COMPENDIUM_SHAPES,
    compendium_pool,
    epoch_pool,
    isoflop_pool,
    porian_pool,
    simulated_isoflop_pool,
    steplaw_pool,
    steplaw_truth,
)
from .scores import (
    ALSO_SCORED,
    SL2_STEPLAW_R2,
    decision_table,
    held_out_predictions,
    r_squared,
    score,
    scored_beside,
)
from .sequential import replay
from .steps import campaign_steps
from .strategies import (
    STRATEGIES,
    VOPT_MAX_POINTS,
    choose,
    random_fill,
    vopt_target,
)

__all__ = [
    "ALSO_SCORED",
    "BUDGETS",
    "BUDGET_RTOL",
    "COMPENDIUM_SHAPES",
    "SL2_STEPLAW_R2",
    "STRATEGIES",
    "VOPT_MAX_POINTS",
    "BudgetWarning",
    "CampaignError",
    "CampaignTask",
    "Pool",
    "calibrated",
    "campaign_steps",
    "cells_of",
    "check_budgets",
    "check_pool",
    "check_seeds",
    "choose",
    "compendium_pool",
    "decision_table",
    "describe",
    "epoch_pool",
    "failure_lines",
    "failure_row",
    "fit_start",
    "held_out_overlap",
    "held_out_predictions",
    "isoflop_pool",
    "joined",
    "porian_pool",
    "r_hat_text",
    "r_squared",
    "random_fill",
    "replay",
    "replay_many",
    "run_campaign",
    "score",
    "scored_beside",
    "scored_rows",
    "simulated_isoflop_pool",
    "split_warnings",
    "steplaw_pool",
    "steplaw_truth",
    "vopt_target",
]
