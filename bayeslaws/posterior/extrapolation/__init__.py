"""Honest extrapolation: ``kind="new_run"`` intervals that hold beyond the fitted range.

A posterior fitted to small runs is honest about run-to-run noise *inside* the fitted range and
blind to the law bending, or the form being wrong, further out. One module per widening:

* :mod:`.gp` -- a Gaussian-process model discrepancy over (ln N, ln D) fitted to the training
  runs' residuals (method ``"gp"``, the default): near the runs the smoothed residual pattern
  with a small sd, far from them mean 0 and sd eta; with the correct form eta goes to 0;
* :mod:`.distance` -- a discrepancy that grows with the distance beyond the fitted range, its
  scales learned by scale-out cross-validation (``"discrepancy"``, ``"discrepancy_t"``; after the
  GP: ``"gp_discrepancy"``);
* :mod:`.stacking` -- Bayesian stacking of functional forms (``"stacking"``; with the distance
  discrepancy: ``"stacking_discrepancy"``).

``"none"`` is the plain posterior predictive. Each method's state is computed on first use from
the training runs the fit stores and kept in the fit's explicit cache (``fit.cache``: keys
``"gp"``, ``"distance"``, ``"distance_after_gp"``, ``"stacking"``, ``"unavailable"``), saved with
the fit. **Fallbacks** (each announced once by a warning and recorded in
``fit.cache["unavailable"]``): without training runs the GP methods use the distance
discrepancy with its scales from their prior; the stacking methods skip stacking where it does
not apply (:func:`.stacking.unavailable`); ``"stacking"`` alone then raises. A law with
``widened = False`` (e.g. the isoFLOP law, whose new budgets already draw fresh budget-level
deviations) is not widened.

Evidence (``python benchmarks/calibration.py``, 2x300+300 draws; held-out runs 50/80/90%
coverage, median abs. relative error): on Epoch's points fitted on C <= 1e21 (23 larger runs),
``"none"`` covers 4/30/48% with 0.96% error; ``"gp"`` 65/96/96% with 0.46%;
``"stacking_discrepancy"`` 30/78/91% with 0.79%; ``"discrepancy"`` 22/57/91% with 0.95%. The
held-out errors of the plain fit follow ln(D/N) (correlation 0.89, printed by the benchmark):
the form mis-tilts along tokens per parameter, the training residuals already carry that pattern
(the GP fitted to them has eta 0.009, column ``gp_eta``), and the GP, reading it off them, both
corrects the median and widens where it is unsure; a scale that only grows with the distance
outside the range cannot, since three of those runs lie 0.01 decade outside with 0.6-1.9%
errors (``calibration_points_real.csv``). Porian (two configurations) and Step Law: ``"gp"``
has the lowest or near-lowest error and the best or near-best log predictive density. The
simulated rows (correct form; exponents that bend beyond the fitted range, which no in-range
method can see) are in the benchmark table.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...inference import progress
from . import distance, drift, forms, gp, stacking
from . import stacking as _stacking

METHODS = (
    "model",
    "drift",
    "gp",
    "gp_discrepancy",
    "stacking_discrepancy",
    "discrepancy",
    "discrepancy_t",
    "stacking",
    "none",
)
DEFAULT_METHOD = "gp"  # predict(..., kind="new_run")
FULL_MODEL_METHODS = ("model", "drift")  # applied by posterior.model.ModelView, not widen()
MIN_GP_RUNS = 6  # fewer training residuals cannot set the GP's 4 hyperparameters


CALIBRATING = (
    "learning the extrapolation discrepancy's scales by scale-out refits (NUTS, once per fit; "
    "kept in fit.cache)"
)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"extrapolation must be one of {METHODS}, got {method!r}")
    return method


def cv_cache_key(method: str) -> str | None:
    """The ``fit.cache`` key of the scale-out CV state ``method`` uses (None: no refits)."""
    check_method(method)
    if method == "gp_discrepancy":
        return distance.CACHE_KEYS[True]
    if method in ("discrepancy", "discrepancy_t", "stacking_discrepancy"):
        return distance.CACHE_KEYS[False]
    return None


def prepare(fit, method: str, runs=None, *, seed=None, refits=None, stacking=None) -> None:
    """Compute (and cache in the fit) every state ``method`` needs, from ``runs`` or the fit's
    stored training runs: e.g. before saving a fit, so that later predictions are fast. The GP
    methods fit the GP to ``runs`` when given (>= ``MIN_GP_RUNS`` of them); when it cannot be
    fitted, the scales of the distance discrepancy that :func:`widen` falls back to are learned
    from ``runs``.
    ``refits``, ``stacking``: NUTS settings (chains, warmup, draws) of the scale-out refits and
    of the stacked forms' fits."""
    check_method(method)
    if method in ("model", "drift") and fit.law.widened:
        if gp_unavailable(fit) is None:
            gp.form_state(fit, fit.law, fit.posterior(), "gp")
        elif runs is not None and gp_unavailable(fit, runs) is None:
            gp.gp_state(fit, runs)  # the fit stores too few runs for the GP: the ones given
        if method == "model":
            forms.prepare(fit, runs, seed=seed, **(stacking or {}))
        return
    key = cv_cache_key(method)
    if key is not None and key not in fit.cache:
        gp_cv = key == distance.CACHE_KEYS[True]
        with progress.step(CALIBRATING):
            distance.calibrate(fit, runs, seed=seed, gp=gp_cv, **(refits or {}))
    if method.startswith("gp") and gp_unavailable(fit, runs) is None and "gp" not in fit.cache:
        gp.gp_state(fit, runs)
    fallback = distance.CACHE_KEYS[False]
    if method.startswith("gp") and gp_unavailable(fit) and runs is not None:
        if fallback not in fit.cache:  # widen() falls back to it: its scales from these runs
            with progress.step(CALIBRATING):
                distance.calibrate(fit, runs, seed=seed, **(refits or {}))
    if method.startswith("stacking") and _stacking.unavailable(fit) is None:
        if "stacking" not in fit.cache:
            _stacking.stack(fit, runs, seed=seed, **(stacking or {}))


def _fall_back(fit, component: str, reason: str, what: str, instead: str) -> None:
    """Warn (once per fit) that ``component`` is unavailable and record why in
    ``fit.cache["unavailable"]``."""
    recorded = dict(fit.cache.get("unavailable") or {})
    if component not in recorded:
        warnings.warn(
            f"extrapolation: no {what} ({reason}); widening by {instead} instead", stacklevel=5
        )
        recorded[component] = reason
        fit.cache["unavailable"] = recorded


def gp_unavailable(fit, runs=None) -> str | None:
    """Why the GP discrepancy cannot be fitted for this fit (None when it can): from ``runs``
    (a RunTable) when given, else from the training runs the fit stores."""
    if fit.cache.get("gp"):
        return None
    if runs is not None:
        if len(runs) < MIN_GP_RUNS:
            return (
                f"{len(runs)} runs were given and the GP needs >= {MIN_GP_RUNS} residuals to "
                "set its 4 hyperparameters"
            )
        return None
    runs = fit.record.training_runs
    if not runs:
        return (
            "the fit holds no training runs (bayeslaws.posterior.extrapolation.gp.gp_state(fit, "
            "runs) adds it)"
        )
    n_runs = len(runs.get("loss") or [])
    if n_runs < MIN_GP_RUNS:
        return (
            f"the fit has {n_runs} training runs and the GP needs >= {MIN_GP_RUNS} residuals to "
            "set its 4 hyperparameters; fit more runs for a discrepancy learned from them"
        )
    return None


def widen(fit, query, log_loss, seed: int = 0, method: str = DEFAULT_METHOD):
    """Widen new-run ln-loss draws (S, Q) at query points (columns N, D, C).

    ``"gp"`` (default) adds draws of the GP discrepancy (at every point), ``"gp_discrepancy"``
    also the distance discrepancy learned after it; ``"stacking_discrepancy"`` mixes the stacked
    functional forms' predictives draw by draw beyond the range and adds the distance
    discrepancy; ``"discrepancy"`` adds Normal discrepancy draws, ``"discrepancy_t"`` Student-t
    ones (same CV data), ``"stacking"`` only mixes the forms. ``"model"`` and ``"drift"`` are
    whole models of the loss, not widenings of the law's draws: :class:`bayeslaws.posterior.model
    .ModelView` applies them (ValueError here)."""
    check_method(method)
    if method in FULL_MODEL_METHODS:
        raise ValueError(
            f"widen(): extrapolation {method!r} is applied by bayeslaws.posterior.model.ModelView "
            "(predict(..., extrapolation=...) uses it), not by widening the law's draws"
        )
    if method == "none" or not fit.law.widened:
        return log_loss
    if method.startswith("gp") and gp_unavailable(fit):
        _fall_back(fit, "gp", gp_unavailable(fit), "GP discrepancy", "the distance discrepancy")
        method = "discrepancy"
    if method.startswith("gp"):
        state = fit.cache.get("gp") or gp.gp_state(fit)
        delta = gp.draws(state, query["N"], query["D"], np.shape(log_loss)[0], seed)
        log_loss = log_loss + delta  # everywhere: a smooth correction, ~0 where runs agree
        if method == "gp":
            return log_loss
    d = distance.distance_decades(query["N"], query["D"], query["C"], distance.ranges_of(fit))
    if not np.any(d > 0):
        return log_loss
    if method == "stacking_discrepancy" and stacking.unavailable(fit):
        reason = stacking.unavailable(fit)
        _fall_back(fit, "stacking", reason, "stacking of functional forms", "the discrepancy alone")
        method = "discrepancy"
    if method.startswith("stacking"):
        stacked = stacking.stacked_draws(fit, query, log_loss, seed)
        log_loss = np.where(d[None, :] > 0, stacked, log_loss)
        if method == "stacking":
            return log_loss
    with progress.step(CALIBRATING):
        state = distance.ensure_state(fit, gp=cv_cache_key(method) == distance.CACHE_KEYS[True])
    if method == "discrepancy_t":
        state = distance.variant_state(state, "student_t")
    if state.get("ranges"):
        d = distance.distance_decades(query["N"], query["D"], query["C"], state["ranges"])
    return log_loss + distance.discrepancy_draws(state, d, np.shape(log_loss)[0], seed)


__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "check_method",
    "cv_cache_key",
    "distance",
    "drift",
    "forms",
    "gp",
    "prepare",
    "stacking",
    "widen",
]
