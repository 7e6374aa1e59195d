"""Honest extrapolation: ``kind="new_run"`` intervals that hold beyond the fitted range.

A posterior fitted to small runs is honest about run-to-run noise *inside* the fitted range and
blind to the law bending, or the form being wrong, further out. One module per widening:

* :mod:`.gp` -- a Gaussian-process model discrepancy over (ln N, ln D) fitted to the training
  runs' residuals (method ``"gp"``, the default): near the runs the smoothed residual pattern
  with a small sd, far from them mean 0 and sd eta; with the correct form eta stays small but
  not 0 (a fraction of the noise sd: intervals far away come out a few % wider, :mod:`.gp`);
* :mod:`.distance` -- a discrepancy that grows with the distance beyond the fitted range, its
  scales learned by scale-out cross-validation (``"discrepancy"``, ``"discrepancy_t"``; after the
  GP: ``"gp_discrepancy"``);
* :mod:`.stacking` -- Bayesian stacking of functional forms (``"stacking"``; with the distance
  discrepancy: ``"stacking_discrepancy"``).

``"none"`` is the plain posterior predictive. Each method's state is computed on first use from
the training runs the fit stores and kept in the fit's explicit cache (``fit.cache``: keys
``"gp"``, ``"distance"``, ``"distance_after_gp"``, ``"stacking"``, ``"unavailable"``), saved with
the fit. **Runs**: every state fitted from runs (the GP, the distance and drift discrepancies'
scale-out refits and reference range, stacking, form averaging) reads the fit's own stored
training runs; runs passed to :func:`prepare` (or to those states' functions) must hold them
and their other rows, e.g. runs held out of the fit, are not used (an ``UnusedRunsWarning``
says so, :func:`.stacking.runs_for`); only a fit that stores no training runs takes the runs
given. **Fallbacks** (each announced once by a warning and recorded in
``fit.cache["unavailable"]``): without training runs the GP methods use the distance
discrepancy; the distance discrepancy's scales come from their prior without training runs or
when no inner scale-out split passes its rules (:func:`.distance.calibrate`); the stacking
methods skip stacking where it does not apply (:func:`.stacking.unavailable`); ``"stacking"``
alone then raises (ValueError, for queries in the range as beyond it). A GP whose fitted noise
sd collapsed (or whose search did not converge) is warned and noted in its state
(:func:`.gp.noise_note`), its numbers kept. A law with
``widened = False`` (e.g. the isoFLOP law, whose new budgets already draw fresh budget-level
deviations) is not widened.

**Grouped fits**: the GP is fitted per group, on each group's own residuals, and a prediction
for a fitted group uses its group's GP, which reads no other group's residuals (other groups'
runs still reach it through the law's partially pooled parameters, as under ``"none"``). A group
with fewer than ``MIN_GP_RUNS`` runs has no GP: its predictions fall back to the distance
discrepancy (component ``"gp[<group>]"``). A new, unseen group (``group=None``) has no residuals:
its discrepancy is the GP's prior, mean 0 and sd the largest fitted group's eta (component
``"gp[new group]"``). Forms and stacking refuse grouped fits (``"stacking"`` raises, in the
range and beyond it alike); the distance discrepancy's scale-out refits
(``"gp_discrepancy"``'s after-GP ones included) are of the whole fit, but the after-GP ones
correct each held-out run by its own group's GP, fitted to that group's runs of the split, as
predictions do (:func:`.distance.split_gp`), and the distance the discrepancy grows with is
measured from the queried group's own runs' range (:func:`.distance.group_ranges`; a new
group: the range of all the runs).

**Read the intervals knowing**: (1) inside the fitted range ``"gp"``'s new-run intervals
over-cover: the law's run-to-run noise sigma, fitted without the GP, already holds part of the
residual pattern that the GP adds again (README, "Predict"; ``benchmarks/gp_inrange.py``,
``benchmarks/output/gp_inrange.txt``); it is left so because removing the double count would
also narrow the intervals beyond the range, where this default was chosen. (2) New-run bounds
are quantiles of Monte Carlo draws drawn for the whole query at once (the noise and discrepancy
draws are one (S, Q) array), so a point's bounds move with the other points asked alongside it,
by Monte Carlo error, which shrinks as 1/sqrt(draws).

Evidence (``benchmarks/output/calibration.csv``, written by ``python benchmarks/calibration.py``;
rows with quantity ``loss``: ``cov50``/``cov80``/``cov90`` the share of the held-out runs inside
the 50/80/90% new-run intervals, ``error`` their median absolute relative error). Part
``selection``, dataset ``epoch``, split ``C>1e+21`` (fitted on C <= 1e21; 23 larger runs held
out): ``"none"`` 0.043/0.304/0.522 with error 0.94%, ``"gp"`` 0.652/0.957/0.957 with 0.42%.
Pooled over the 14 selection splits (``benchmarks/output/calibration_choice.txt``): 90% coverage
0.671 (none) against 0.910 (gp), error 1.6% against 0.8%. Part ``confirmation`` (Marin comma,
DCLM and Nemotron at their largest budget, Llama-3 above 1e21; 12-15 runs each): ``"gp"``'s 90%
intervals hold 0.917-1.0 of the runs with errors 0.33-0.81% (``"none"``: 0.25-0.53, 1.0-1.7%).
In the same runs' points (``benchmarks/output/calibration_points_selection.csv``, Epoch,
``C>1e+21``, method ``none``) ln(actual / median) correlates -0.90 with ln(D/N) (D = C / 6N):
the form mis-tilts along tokens per parameter, the training residuals carry that pattern, and
the GP, reading it off them, both corrects the median and widens where it is unsure. Part
``simulation``: with the correct form (``sim correct``) or exponents that bend only beyond the
fitted range (``sim bend``, which no in-range method can see) ``"gp"``'s error is within 0.07
points of ``"none"``'s (2 seeds each). The other widenings (``"gp_discrepancy"``,
``"stacking_discrepancy"``, ``"discrepancy"``, ``"discrepancy_t"``, ``"stacking"``) have no rows
in that file; the full model's variants do (``model``, ``model_tl``, ``model_cv``: README,
"Predict").
"""

from __future__ import annotations

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
MIN_GP_RUNS = gp.MIN_RUNS  # fewer training residuals cannot set the GP's 4 hyperparameters


CALIBRATING = (
    "learning the extrapolation discrepancy's scales by scale-out refits (NUTS, once per fit; "
    "kept in fit.cache)"
)


def check_method(method: str, name: str = "extrapolation") -> str:
    """``method`` if it is one of :data:`METHODS`; else a ValueError naming ``name``."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"{name} must be one of {METHODS}, got {method!r}")
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
    """Compute (and cache in the fit) every state ``method`` needs, from the fit's stored
    training runs: e.g. before saving a fit, so that later predictions are fast. ``runs`` is
    used only by a fit that stores no training runs (the GP is then fitted to them when there
    are >= ``MIN_GP_RUNS``, and when it cannot be, the scales of the distance discrepancy that
    :func:`widen` falls back to are learned from them). Given to a fit that stores its training
    runs, ``runs`` must hold them (ValueError naming the missing rows), and its other rows
    (e.g. runs held out of the fit) are not used, with an ``UnusedRunsWarning``
    (:func:`.stacking.runs_for`, the rule of every state fitted from the runs).
    ``refits``, ``stacking``: NUTS settings (chains, warmup, draws) of the scale-out refits and
    of the stacked forms' fits."""
    check_method(method)
    runs = _stacking.runs_for(fit, runs, f"prepare({method!r})")
    if method in ("model", "drift") and fit.law.widened:
        if gp_unavailable(fit) is None:
            gp.form_state(fit, fit.law, fit.posterior(), "gp")
        elif runs is not None and gp_unavailable(fit, runs) is None:
            gp.gp_state(fit, runs)  # the fit stores no runs for the GP: the ones given
        if method == "model":
            forms.prepare(fit, runs, seed=seed, **(stacking or {}))
        return
    key = cv_cache_key(method)
    if key is not None and key not in fit.cache:
        gp_cv = key == distance.CACHE_KEYS[True]
        with progress.step(CALIBRATING):
            distance.calibrate(fit, runs, seed=seed, gp=gp_cv, **(refits or {}))
    if method.startswith("gp") and gp_unavailable(fit, runs) is None:
        current_gp(fit, runs)
    fallback = distance.CACHE_KEYS[False]
    gaps = method.startswith("gp") and (gp_unavailable(fit) or groups_without_gp(fit))
    if gaps and runs is not None:
        if fallback not in fit.cache:  # widen() falls back to it: its scales from these runs
            with progress.step(CALIBRATING):
                distance.calibrate(fit, runs, seed=seed, **(refits or {}))
    if method.startswith("stacking") and _stacking.unavailable(fit) is None:
        if "stacking" not in fit.cache:
            _stacking.stack(fit, runs, seed=seed, **(stacking or {}))


def _fall_back(fit, component: str, reason: str, what: str, instead: str) -> None:
    """Warn (once per fit) that ``component`` is unavailable and record why in
    ``fit.cache["unavailable"]`` (:func:`.distance.fall_back`)."""
    distance.fall_back(fit, component, reason, what, instead)


def gp_unavailable(fit, runs=None) -> str | None:
    """Why the GP discrepancy cannot be fitted for this fit (None when it can): from ``runs``
    (a RunTable) when given to a fit that stores no training runs, else from the training runs
    the fit stores (those are what the GP is fitted to: :func:`.gp.gp_state`)."""
    if gp.is_current(fit, fit.cache.get("gp")):
        return None
    if runs is not None and not fit.record.training_runs:
        if len(runs) < MIN_GP_RUNS:
            return (
                f"{len(runs)} runs were given and the GP needs >= {MIN_GP_RUNS} residuals to "
                "set its 4 hyperparameters"
            )
        return None
    runs = fit.record.training_runs
    if not runs and fit.cache.get("gp"):
        return (
            "the GP state saved with this grouped fit pools every group's residuals (saved before "
            "one GP per group) and the fit holds no training runs to refit it per group "
            "(bayeslaws.posterior.extrapolation.gp.gp_state(fit, runs) does)"
        )
    if not runs:
        return (
            "the fit holds no training runs (bayeslaws.posterior.extrapolation.gp.gp_state(fit, "
            "runs) adds it)"
        )
    n_runs = len(runs.get("loss") or [])
    if n_runs < MIN_GP_RUNS:
        return gp.too_few_reason(n_runs)
    return None


def current_gp(fit, runs=None) -> dict:
    """The fit's GP state (``fit.cache["gp"]``), fitted now from ``runs`` (or the stored training
    runs) when absent or of the wrong kind (a pooled state saved with a grouped fit)."""
    state = fit.cache.get("gp")
    return state if gp.is_current(fit, state) else gp.gp_state(fit, runs)


def groups_without_gp(fit) -> list[str]:
    """The fitted groups whose cached GP state has no GP (too few runs): labels."""
    state = fit.cache.get("gp") or {}
    return sorted(state.get("too_few") or {}) if gp.is_current(fit, state) else []


def gp_component(group) -> str:
    """The ``fit.cache["unavailable"]`` key of the GP of ``group`` (None: a new group)."""
    return "gp[new group]" if group is None else f"gp[{group}]"


def widen(fit, query, log_loss, seed: int = 0, method: str = DEFAULT_METHOD, group=None):
    """Widen new-run ln-loss draws (S, Q) at query points (columns N, D, C) for ``group`` (a
    fitted group's label; None: a new group of a grouped fit, or a fit without groups).

    ``"gp"`` (default) adds draws of the GP discrepancy (at every point; on a grouped fit the
    group's own GP, :mod:`.gp`), ``"gp_discrepancy"``
    also the distance discrepancy learned after it; ``"stacking_discrepancy"`` mixes the stacked
    functional forms' predictives draw by draw beyond the range (their share ramped in over
    the first ``distance.RAMP`` decades) and adds the distance discrepancy; ``"discrepancy"``
    adds Normal discrepancy draws, ``"discrepancy_t"`` Student-t ones (same CV data),
    ``"stacking"`` only mixes the forms. ``"model"`` and ``"drift"`` are
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
    if method == "stacking" and stacking.unavailable(fit):
        # refused whatever the query: in the range as beyond it (stacked_draws' own message)
        raise ValueError(f"extrapolation='stacking' is unavailable: {stacking.unavailable(fit)}")
    if method.startswith("gp") and gp_unavailable(fit):
        _fall_back(fit, "gp", gp_unavailable(fit), "GP discrepancy", "the distance discrepancy")
        method = "discrepancy"
    state = None
    if method.startswith("gp"):
        state, note = gp.for_group(fit, current_gp(fit), group)
        if state is None:
            _fall_back(fit, gp_component(group), note, "GP discrepancy", "the distance discrepancy")
            method = "discrepancy"
        elif note:
            prior = f"the GP's prior (mean 0, sd {state['eta']:.3g}, the largest group eta)"
            _fall_back(fit, gp_component(group), note, "learned GP pattern", prior)
    if state is not None:
        delta = gp.draws(state, query["N"], query["D"], np.shape(log_loss)[0], seed)
        log_loss = log_loss + delta  # everywhere: a smooth correction, ~0 where runs agree
        if method == "gp":
            return log_loss
    # distances from the queried group's own runs (a new group, or no groups: the pooled range)
    ranges = distance.ranges_of(fit, group)
    d = distance.distance_decades(query["N"], query["D"], query["C"], ranges)
    if not np.any(d > 0):
        return log_loss
    if method == "stacking_discrepancy" and stacking.unavailable(fit):
        reason = stacking.unavailable(fit)
        _fall_back(fit, "stacking", reason, "stacking of functional forms", "the discrepancy alone")
        method = "discrepancy"
    if method.startswith("stacking"):
        # the other forms ramp in over RAMP decades, as the discrepancy's step (continuous at
        # the edge; inside the range, share 0, the draws are the fit's own)
        share = np.minimum(1.0, d / distance.RAMP)
        log_loss = stacking.stacked_draws(fit, query, log_loss, seed, share=share)
        if method == "stacking":
            return log_loss
    with progress.step(CALIBRATING):
        state = distance.ensure_state(fit, gp=cv_cache_key(method) == distance.CACHE_KEYS[True])
    if method == "discrepancy_t":
        state = distance.variant_state(state, "student_t")
    if state.get("ranges"):
        ranges = distance.ranges_of(fit, group, state)
        d = distance.distance_decades(query["N"], query["D"], query["C"], ranges)
    return log_loss + distance.discrepancy_draws(state, d, np.shape(log_loss)[0], seed)


__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "check_method",
    "current_gp",
    "cv_cache_key",
    "distance",
    "drift",
    "forms",
    "gp",
    "gp_component",
    "gp_unavailable",
    "groups_without_gp",
    "prepare",
    "stacking",
    "widen",
]
