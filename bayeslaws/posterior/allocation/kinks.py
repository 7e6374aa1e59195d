"""Draws of N_opt held at a kink of the drift, where the isoFLOP line leaves the fitted range
of N or D and the drift switches on (:func:`drift_kink_share`), and the
:class:`~.categories.SearchEdgeWarning` that names them (:func:`kink_message`,
:func:`kink_warning`, :func:`warn_at_kink`)."""

from __future__ import annotations

import warnings

import numpy as np

from ...runs.warn import user_stacklevel
from ..extrapolation.distance import group_ranges, range_words
from ..extrapolation.drift import axis_distances, flops_as_ranged
from ..model import FULL_MODELS
from .categories import SearchEdgeWarning
from .checks import compute_model_of

KINK_LN = 1e-3  # an N_opt within this (ln N) of a kink of the drift sits at that kink
KINK_SHARE = 0.05  # above this share of draws at a kink: warned (a smooth posterior puts ~1% there)
# the kink warning's advice to optimal_allocation's and near_optimal's callers (their argument)
KINK_REMEDY = "(extrapolation='gp' or 'none' gives the fitted law's optimum)"


def drift_kink_share(fit, C, N_opt, compute_model, group=None) -> np.ndarray:
    """Per budget C (FLOPs, (Q,)), the share of the draws N_opt (params, (S, Q)) that sit at a
    kink of the drift (:mod:`~bayeslaws.posterior.extrapolation.drift`): where the isoFLOP line
    crosses the edge of the fitted range of N or D and an axis's distance switches on (the
    distances on either side, N e^-KINK_LN and N e^KINK_LN, differ in which are > 0). The range
    is the drift's: ``group``'s own runs' for a fitted group, else the pooled one
    (:func:`~.extrapolation.distance.group_ranges`)."""
    ranges = group_ranges(fit, group)
    N_opt = np.asarray(N_opt, float)
    C = np.broadcast_to(np.asarray(C, float)[None, :], N_opt.shape)
    if not {"N", "D", "C"} <= set(ranges):
        return np.zeros(N_opt.shape[1])
    sides = []
    for step in (-KINK_LN, KINK_LN):
        N = N_opt * np.exp(step)
        D = compute_model.tokens(N, C)
        C_ranged = flops_as_ranged(N, D, C, compute_model, fit.compute_model)
        sides.append(axis_distances(N, D, C_ranged, ranges) > 0)
    return (sides[0] != sides[1]).any(axis=-1).mean(axis=0)


def kink_message(
    C,
    share,
    extrapolation: str,
    caller: str = "optimal_allocation",
    whose: str = "the fitted range",
    *,
    remedy: str | None = None,
) -> str:
    """The sentence for N_opt draws held at a kink of the drift (``share`` per budget ``C``,
    only those above KINK_SHARE named); ``whose``: the range the drift starts at
    (:func:`range_words`: a fitted group's own); '' when none is. ``remedy``: the closing
    advice in the caller's own argument's words (e.g. the design's ``model=``); None: the
    allocation's, :data:`KINK_REMEDY` (``extrapolation=``)."""
    hit = [(float(c), float(p)) for c, p in zip(np.atleast_1d(C), share, strict=True)]
    hit = [(c, p) for c, p in hit if p > KINK_SHARE]
    if not hit:
        return ""
    where = "; ".join(f"{p:.0%} of draws at C = {c:.3g} FLOPs" for c, p in hit)
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}N_opt sits at a kink of the drift in {where}, under extrapolation "
        f"{extrapolation!r}: where the isoFLOP line leaves {whose} of N or D, the drift "
        "(0 inside, linear beyond, a random slope per draw) turns on, and its kink, not the data, "
        "holds those draws there; the interval is shaped by the drift's piecewise-linear form"
        + (f" {KINK_REMEDY}" if remedy is None else f"; {remedy}")
    )


def kink_warning(
    fit, C, N_opt, compute_model, extrapolation: str, caller: str, group=None, *, remedy=None
) -> str:
    """:func:`kink_message` for N_opt draws (S, Q) at budgets C under ``extrapolation`` (of
    ``group``: a fitted group's drift starts at its own runs' range; ``remedy``: as there);
    '' for a method or law without a drift (only "drift" and "model" have one)."""
    if extrapolation not in FULL_MODELS or not fit.law.widened:
        return ""
    model = compute_model_of(fit, compute_model)
    share = drift_kink_share(fit, C, N_opt, model, group)
    return kink_message(C, share, extrapolation, caller, range_words(fit, group), remedy=remedy)


def warn_at_kink(
    fit,
    C,
    N_opt,
    compute_model,
    extrapolation: str,
    caller: str,
    group=None,
) -> None:
    """A :class:`SearchEdgeWarning` (:func:`kink_warning`) when a budget's share of N_opt draws
    (of ``group``) at a kink of the drift exceeds KINK_SHARE."""
    message = kink_warning(fit, C, N_opt, compute_model, extrapolation, caller, group)
    if message:
        warnings.warn(message, SearchEdgeWarning, stacklevel=user_stacklevel())
