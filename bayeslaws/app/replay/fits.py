"""The fits of a campaign: the pool's law fitted to its runs (:func:`fit_runs`, with the
options of :func:`campaign_fit_options`), its drift rate calibrated on its own scale-out
splits (:func:`calibrated`, :data:`DRIFT_CALIBRATION`; their health in the history's
:data:`DRIFT_COLUMNS`, :func:`drift_columns`) and the start design's fit (:func:`fit_start`,
its warnings recorded by :func:`recorded_start`).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...design import discrepancy
from ...inference import fit as fit_law
from ...inference.nuts import derived_seed
from ...posterior.extrapolation import drift
from ...runs import load_runs
from .pool import Pool
from .trouble import recording_warnings


def fit_runs(pool: Pool, runs: pd.DataFrame, options: dict, seed: int):
    """``pool.law`` fitted to ``runs`` (pool rows: N params, D tokens, C FLOPs, loss) with the
    bl.fit ``options`` and ``seed``. Its warnings (the sampler checks' among them) reach the
    caller; a replay's campaigns record them (:func:`campaign_steps`, column ``fit_warnings``)."""
    table = load_runs(runs.drop(columns=["C"]), allow_missing_loss=True)
    table.df["C"] = runs["C"].to_numpy(float)
    return fit_law(table, pool.law, seed=seed, progress_bar=False, **options)


def campaign_fit_options(pool: Pool, sampler: dict | None) -> dict:
    """bl.fit options of every fit of a campaign: NUTS defaults, ``sampler``, the pool's own."""
    return {"chains": 2, "warmup": 200, "draws": 200, **(sampler or {}), **pool.fit_options}


DRIFT_CALIBRATION = dict(discrepancy.DRIFT_CALIBRATION)  # NUTS of the scale-out refits
DRIFT_COLUMNS = (
    "drift_refits",
    "drift_refits_failed",
    "drift_refit_max_r_hat",
    "drift_refit_divergences",
)


def calibrated(pool: Pool, fit, seed: int):
    """``fit``, its drift rate updated (in ``fit.cache``) by its own scale-out splits when
    ``pool.calibrate_drift`` (:func:`bayeslaws.design.discrepancy.calibrate`). The refits'
    SamplerWarning reaches the caller; a replay records it (column ``fit_warnings``), keeps the
    refits' health (:func:`drift_columns`) and names the rows once at its end."""
    if pool.calibrate_drift:
        discrepancy.calibrate(fit, seed=seed, **DRIFT_CALIBRATION)
    return fit


def drift_columns(pool: Pool, fit) -> dict:
    """History columns of the drift calibration of ``fit`` (:data:`DRIFT_COLUMNS`): the number
    of scale-out refits, how many failed their sampler checks, their largest R-hat (NaN when
    none is defined) and their summed divergences, from ``fit.cache["drift"]
    ["refit_diagnostics"]`` (:func:`bayeslaws.posterior.extrapolation.drift.calibrate`). All
    NaN when the pool does not calibrate the drift, or the fit has no refits (its law is not
    widened, or it stores no runs)."""
    if not pool.calibrate_drift:
        return dict.fromkeys(DRIFT_COLUMNS, np.nan)
    refits = (fit.cache.get(drift.CACHE_KEY) or {}).get("refit_diagnostics")
    if refits is None:
        return dict.fromkeys(DRIFT_COLUMNS, np.nan)
    r_hats = np.array([d["max_r_hat"] for d in refits], float)
    r_hats = r_hats[np.isfinite(r_hats)]
    return {
        "drift_refits": len(refits),
        "drift_refits_failed": sum(bool(d["problems"]) for d in refits),
        "drift_refit_max_r_hat": float(r_hats.max()) if len(r_hats) else np.nan,
        "drift_refit_divergences": int(sum(int(d["divergences"]) for d in refits)),
    }


def fit_start(pool: Pool, seed: int, options: dict) -> tuple[pd.Index, object, float]:
    """(row labels of the start design of ``seed``, its fit (:func:`calibrated`), seconds the
    fit took). The fit's warnings reach the caller (a replay records them:
    :func:`recorded_start`)."""
    start = pool.start(seed)
    t0 = time.perf_counter()
    first = derived_seed(seed, 0)
    fit = calibrated(pool, fit_runs(pool, pool.runs.loc[start], options, first), first)
    return start, fit, time.perf_counter() - t0


def recorded_start(pool: Pool, seed: int, options: dict) -> tuple[tuple, list[str]]:
    """(:func:`fit_start`'s triple, the ``"Category: message"`` texts of the warnings the start
    fit and its drift calibration raised): what :func:`campaign_steps` takes as
    ``start_warnings``."""
    caught: list[str] = []
    with recording_warnings(caught):
        start = fit_start(pool, seed, options)
    return start, caught
