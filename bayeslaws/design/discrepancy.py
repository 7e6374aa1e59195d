"""Model discrepancy in the design value: what a run beyond the training range buys.

Under the full models (:mod:`bayeslaws.posterior.model`, methods ``"model"`` and ``"drift"``)
a loss surface's prediction carries, per posterior draw s, a drift beyond the training range::

    delta_s(p) = sum_k g_sk d_k(p; R),     d_k = decades outside the range R along axis k
                                           (N above / below, D above / below, C above),

with slopes g_s shared by every query point (:mod:`bayeslaws.posterior.extrapolation.drift`).
No outcome inside the range tells anything about g, so the linear-Gaussian information of a
candidate about the target ignores the drift, and a run that moves the range towards the target
would look no better than a cheap one inside it. But after that run is trained and the law is
refitted, R includes it and the target's drift shrinks. The design models this explicitly:

* each target component j has a point p_j (its own (N, D) for a loss; the median N_opt on its
  isoFLOP line for N_opt) and a drift sensitivity per axis, ``beta_jk`` (ln target per decade,
  per unit slope), from a least-squares regression of the target draws on the slopes over the
  draws (for a loss 1 per decade up to the Monte Carlo error of the regression: the loss's drift
  is one slope per decade exactly, but its other parts correlate with the slopes by chance over
  finitely many draws, e.g. 0.96-1.0 on a simulated fit of 400 draws; the tilt of the isoFLOP
  minimum for N_opt), so that the target's drift under a range R' is
  ``sum_k g_k beta_jk d_k(p_j; R')``;
* adding a candidate u to the range R_P (the range after the runs already picked) changes the
  target by ``-sum_k g_k M_ujk`` with ``M_ujk = beta_jk (d_k(p_j; R_P) - d_k(p_j; R_P + u))``:
  that part of the target's variance is removed when u is picked (the greedy batch recomputes
  it after every pick). For a target whose draws minimise along a line (N_opt) this overstates
  a run's value: the draws' minimum feels the drift along the whole isoFLOP line, most of which
  stays beyond the widened range; the design warns (:func:`.gaussian.line_drift_message`);
* the candidates' predicted observations are the model's own draws at them (form averaging and
  GP pattern included, so runs that tell the forms apart are worth more) minus their drift (it
  is what the refit absorbs and what the range term above accounts for).

The target, the slopes and the observations are one set of draws (same ModelView seed), so the
whole design value stays one joint Gaussian over the draws (:mod:`.gaussian`); only the GP's
draws at the candidates' points are independent of the target's (:func:`observation_means`:
the design credits no GP correlation between a target and any candidate). For laws without
a drift (hyperparameter and isoFLOP laws, or the method ``"none"``) there are no slopes and the
design value is the plain linear-Gaussian information.

Units: N params, D tokens, C FLOPs, distances in decades, target and observations in ln loss
(or ln of the target quantity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..posterior.extrapolation import DEFAULT_METHOD, check_method, drift
from ..posterior.extrapolation.distance import fitted_label, group_ranges, own_group_rows
from ..posterior.extrapolation.drift import axis_distances, flops_as_ranged
from ..posterior.model import DRAWS_STREAM, FULL_MODELS, ModelView
from ..runs.compute import same_compute_model

AXIS_COLUMNS = ("N", "N", "D", "D", "C")  # the column each drift axis measures
OBSERVATION_POINT_STREAM = 7  # the candidates' GP draws (:func:`observation_means`): not the
# target's (:data:`~bayeslaws.posterior.model.POINT_STREAM`)


def design_method(model: str | None, fit=None) -> str:
    """The extrapolation method of the design's draws: ``model`` if given; by default the
    package default when it models the discrepancy of the true loss surface (``"model"``,
    ``"drift"``), else ``"drift"`` (a default that widens only new-run intervals, such as
    ``"gp"``, would leave the design blind to the distance to the target); ``"none"`` by
    default for a ``fit`` whose law is not widened (its new points carry their own scatter:
    every method gives the same draws there)."""
    if model is not None:
        return check_method(model)
    if fit is not None and not fit.law.widened:
        return "none"
    return DEFAULT_METHOD if DEFAULT_METHOD in FULL_MODELS else "drift"


DRIFT_CALIBRATION = {"chains": 2, "warmup": 150, "draws": 150}  # NUTS of the scale-out refits


def calibrate(fit, seed: int | None = None, **sampler):
    """``fit`` with its drift rate updated (kept in ``fit.cache``, saved with the fit) by its own
    scale-out splits (:func:`bayeslaws.posterior.extrapolation.drift.calibrate`: the shipped
    population of the rate, a prior, times the likelihood of the fit's larger runs as predicted
    by refits on its smaller ones), so the design and the reported intervals draw the drift at
    the rate this table shows rather than the corpus's. A law without a drift (not widened) is
    returned as it is. ``sampler``: NUTS settings of the refits (default
    ``DRIFT_CALIBRATION``).

    The refits' warnings reach the caller: refits that fail their sampler checks give one
    :class:`~bayeslaws.inference.diagnostics.SamplerWarning` at the caller's line naming the
    failed splits (:func:`~bayeslaws.posterior.extrapolation.distance.scale_out_splits`), for
    a drift rate resting on unconverged refits is not to be trusted (their figures:
    ``fit.cache["drift"]["refit_diagnostics"]``); nothing is silenced here."""
    if fit.law.widened:
        drift.calibrate(fit, seed=seed, **{**DRIFT_CALIBRATION, **sampler})
    return fit


def view(fit, method: str, seed: int):
    """The ModelView the target draws came from (same method and seed)."""
    return ModelView.of(fit, method, seed)


def slopes_of(model_view) -> np.ndarray | None:
    """Drift slopes (S, 5) per draw (ln loss per decade), or None when the method has none."""
    return None if model_view.slopes is None else np.asarray(model_view.slopes, float)


def sensitivities(tdraws, slopes, d_now) -> np.ndarray:
    """beta (T, 5): the target's drift per decade and unit slope, by least squares of the target
    draws (S, T) on the slopes (S, 5), divided by the distances ``d_now`` (T, 5); 0 on axes
    where the target lies inside the range."""
    g = slopes - slopes.mean(axis=0)
    t = tdraws - tdraws.mean(axis=0)
    coef, *_ = np.linalg.lstsq(g, t, rcond=None)  # (5, T): ln target per unit slope
    inside = d_now.T <= 0
    beta = np.where(inside, 0.0, coef / np.where(inside, 1.0, d_now.T))
    return beta.T


def in_fit_flops(fit, frame: pd.DataFrame, model) -> pd.DataFrame:
    """``frame`` (rows of N params, D tokens, C FLOPs, ...) with C counted by the fit's compute
    model: the unit of the fit's training range, of its law's C input and of its drift along C.
    ``model``: the compute model ``frame``'s C was counted with (candidates may bring their own,
    e.g. 12ND, which then only costs them). The same object when ``model`` is the fit's."""
    if same_compute_model(model, fit.compute_model):
        return frame
    out = frame.copy()
    N, D = out["N"].to_numpy(float), out["D"].to_numpy(float)
    out["C"] = flops_as_ranged(N, D, out["C"].to_numpy(float), model, fit.compute_model)
    return out


def target_ranges(fit, groups) -> dict:
    """The training range each target component's drift is measured from, stacked: column (N,
    D, C) -> [lows (T,), highs (T,)] (params, tokens, FLOPs), component j's being
    :func:`~bayeslaws.posterior.extrapolation.distance.group_ranges` of its group ``groups[j]``
    (a fitted group's own runs; None, a new group, or a fit without groups: the pooled range),
    as the draws' drift measures it."""
    per = [group_ranges(fit, g) for g in groups]
    return {
        c: [np.array([r[c][0] for r in per], float), np.array([r[c][1] for r in per], float)]
        for c in ("N", "D", "C")
        if per and all(c in r for r in per)
    }


def widened_by(fit, groups, cands_group) -> np.ndarray:
    """(T,) bool: whether runs of ``cands_group`` (the candidates' group, None a new one)
    widen the range target component j is measured from (:func:`target_ranges`): always for
    the pooled range (a new group's target, or a fit without groups); for a fitted group's own
    range only when the candidates are that group's runs (labels read as the fit's:
    :func:`~bayeslaws.posterior.extrapolation.distance.fitted_label`, 2.0 is the group "2")."""
    cands_label = fitted_label(fit, cands_group)
    return np.array(
        [own_group_rows(fit, g) is None or fitted_label(fit, g) == cands_label for g in groups],
        bool,
    )


def expanded(ranges: dict, rows: pd.DataFrame, widens=None) -> dict:
    """The training range (column -> [min, max], scalars or (T,) arrays per target component,
    :func:`target_ranges`) widened to include ``rows`` (N, D, C; C in the fit's compute model,
    as the range: :func:`in_fit_flops`); ``widens`` (T,) bool: the components whose range the
    rows widen (:func:`widened_by`; default all)."""
    out = {k: [v[0], v[1]] for k, v in ranges.items()}
    for col in ("N", "D", "C"):
        values = rows[col].to_numpy(float)
        if len(values):
            low = np.minimum(out[col][0], values.min())
            high = np.maximum(out[col][1], values.max())
            if widens is not None:
                low = np.where(widens, low, out[col][0])
                high = np.where(widens, high, out[col][1])
            out[col] = [low, high]
    return out


def point_distances(points: pd.DataFrame, ranges: dict) -> np.ndarray:
    """Decades outside ``ranges`` (column -> [min, max], scalars or (T,) arrays: one range per
    point) of target points along each drift axis: (T, 5)."""
    return axis_distances(points["N"], points["D"], points["C"], ranges)


def unit_reductions(points, beta, ranges_now: dict, unit_bounds, widens=None) -> np.ndarray:
    """M (U, 5, T): the drift coefficients each unit removes from the target when added to the
    range ``ranges_now`` (scalars or (T,) arrays per component, :func:`target_ranges`).
    ``unit_bounds`` (U, 3, 2): each unit's [min, max] of N, D, C (C in the fit's compute
    model, as the range). ``widens`` (T,) bool: the components whose range a unit widens
    (:func:`widened_by`; default all): the others keep their drift (no reduction)."""
    d_now = point_distances(points, ranges_now)  # (T, 5)
    T = d_now.shape[0]
    logs = {c: np.log10(points[c].to_numpy(float)) for c in ("N", "D", "C")}
    lo = {c: np.broadcast_to(np.log10(ranges_now[c][0]), (T,)) for c in ("N", "D", "C")}
    hi = {c: np.broadcast_to(np.log10(ranges_now[c][1]), (T,)) for c in ("N", "D", "C")}
    widen = np.ones(T, bool) if widens is None else np.asarray(widens, bool)
    b = np.log10(np.asarray(unit_bounds, float))  # (U, 3, 2)
    col = {"N": 0, "D": 1, "C": 2}
    U = b.shape[0]
    d_new = np.empty((U,) + d_now.shape)
    for k, c in enumerate(AXIS_COLUMNS):
        if k in (0, 2, 4):  # above the range: the new upper edge is max(hi, the unit's max)
            edge = np.maximum(hi[c][None, :], b[:, col[c], 1][:, None])  # (U, T)
            edge = np.where(widen[None, :], edge, hi[c][None, :])
            d_new[:, :, k] = np.maximum(0.0, logs[c][None, :] - edge)
        else:  # below the range
            edge = np.minimum(lo[c][None, :], b[:, col[c], 0][:, None])
            edge = np.where(widen[None, :], edge, lo[c][None, :])
            d_new[:, :, k] = np.maximum(0.0, edge - logs[c][None, :])
    shrink = d_now[None, :, :] - d_new  # (U, T, 5) >= 0
    return np.swapaxes(shrink * beta[None, :, :], 1, 2)  # (U, 5, T)


def observation_rng(model_view, seed: int, group):
    """The rng of the law's predicted observations of candidates in ``group``
    (:meth:`~bayeslaws.laws.contract.Law.observations`): for a new group of a grouped fit the
    stream the target's draws took that group's deviation from
    (:meth:`~bayeslaws.posterior.model.ModelView.group_rng`), so target and candidates are one
    new group whatever the method; else ``default_rng(seed)`` (as for a fitted group)."""
    if model_view.new_group(group):
        return model_view.group_rng(DRAWS_STREAM, group)
    return np.random.default_rng(seed)


def observation_means(
    fit, cands: pd.DataFrame, model_view, slopes, group=None
) -> np.ndarray | None:
    """The model's own draws of the candidates' centred ln loss (S, R) without their drift, for
    laws whose loss carries a model discrepancy (``law.widened``); None otherwise (the law's
    :meth:`~bayeslaws.laws.contract.Law.observations` are used). ``cands``: C in the fit's
    compute model (:func:`in_fit_flops`). ``group``: the candidates' group (a fitted group's
    label, or None: a new group, or the fit's only one), whose range the drift the draws carry
    is measured from (:func:`~bayeslaws.posterior.extrapolation.distance.group_ranges`).

    Their GP draws come from ``OBSERVATION_POINT_STREAM``, not the target's stream: the model
    draws the GP independently at each point, so a candidate at a target's own (N, D) shared
    the target's draw while one 0.01% away shared none (its value jumped ~4.7x at the point,
    though the GP's correlation there is ~1); now no candidate shares the target's GP draw,
    and a candidate's value is continuous in its position."""
    law = fit.law
    if slopes is None or not law.widened or "loss" not in law.quantities:
        return None
    query = cands[["N", "D", "C"]].reset_index(drop=True)
    draws = model_view.draws(
        query, kind="mean", group=group, point_stream=OBSERVATION_POINT_STREAM
    )
    loss = np.asarray(draws["loss"], float)
    drift = slopes @ point_distances(query, group_ranges(fit, group)).T
    return np.log(loss) - drift - fit.record.scales["loss"]
