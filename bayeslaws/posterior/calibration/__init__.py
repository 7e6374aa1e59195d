"""Calibration harness: do the predictive intervals mean what they say?

* :mod:`.scoring` -- :func:`score`: median absolute relative error of the predictive median,
  coverage of the central 50/80/90% intervals, mean relative width of the 90% interval and the
  mean log predictive density (of ln L, by a Gaussian kernel over the draws) of held-out runs
  (:func:`interval_table` per point; :class:`UnscoredWarning` names runs without a loss).
* :mod:`.backtesting` -- :func:`backtest`: fit on the smaller runs, predict the larger ones
  (``kind="new_run"``) with each extrapolation method, score them; :func:`backtests` -- many of
  them (data sets, splits) as a batch through ``map_tasks`` (in process by default; local
  processes or a Dask cluster). Its argument checks are in :mod:`.checks`; :mod:`.groups` picks
  the group each held-out run is predicted for on a grouped fit (the test table's ``group``
  column); :mod:`.health` gives every scores row its fit's health (:func:`fit_health`: R-hat,
  bulk ESS, divergences, runs flagged by the outlier screening) and names fits with problems in
  one ``SamplerWarning`` (:func:`warn_fit_health`).
* :mod:`.decisions` -- decision quantities at held-out budgets: empirical isoFLOP vertices
  (:func:`empirical_vertices`), N_opt and L_opt scored against a truth
  (:func:`decision_scores`), intervals bounded by the search edge (:func:`edge_bounded`);
  :mod:`.rates` -- hit rates with intervals (:func:`bootstrap_rate`); :mod:`.widths` --
  interval width by distance (:func:`widths_by_distance`).
* :mod:`.simulation` -- :func:`sbc`: simulation-based calibration (Talts et al. 2018): draw
  parameters and runs from the prior predictive of a law, fit and rank the true value among the
  posterior draws (a batch through ``map_tasks``: in process, or on local processes or a Dask
  cluster); ranks of a calibrated sampler are uniform (:func:`rank_uniformity`).
* Scale-out splits of the real tables (:func:`epoch_split`, :func:`porian_split`,
  :func:`steplaw_split`) and simulated designs with a known truth, either the fitted form or one
  whose exponent bends at large scale (:func:`simulated_split`), live in
  :mod:`bayeslaws.posterior.splits` and are importable from here.
"""

from __future__ import annotations

# every name imported here is public, those outside __all__ too (the benchmarks, tests and
# other modules use them)
from ..draws import log_loss_draws, query_frame  # noqa: F401  (importable from here, as before)
from ..splits import (  # noqa: F401  (the splits the harness scores, importable from here)
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
from .backtesting import BacktestCase, backtest, backtest_query, backtests  # noqa: F401
from .decisions import (  # noqa: F401
    EDGE_STEPS,
    decision_scores,
    edge_bounded,
    edge_bounds,
    empirical_vertices,
)
from .health import HEALTH_COLUMNS, fit_health, warn_fit_health  # noqa: F401
from .rates import MIN_GROUPS, bootstrap_rate  # noqa: F401
from .scoring import UnscoredWarning, interval_table, log_predictive_density, score
from .simulation import SBCItem, rank_uniformity, sbc, sbc_items, sbc_rank
from .widths import widths_by_distance  # noqa: F401

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
