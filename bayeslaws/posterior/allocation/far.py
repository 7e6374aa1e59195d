"""Draws far outside the data: per draw, whether N_opt lies more than ``WARN_DECADES`` outside
the fitted range of N or L_opt below the law's floor (:func:`far_draws`, :func:`far_share`),
and the :class:`~..outside.ExtrapolationWarning` for budgets with more than ``FAR_SHARE`` of
such draws whose median answer lies near the data (:func:`far_message`,
:func:`warn_far_draws`)."""

from __future__ import annotations

import warnings

import numpy as np

from ...runs.warn import user_stacklevel
from ..extrapolation.distance import group_ranges, range_words
from ..model import FULL_MODELS
from ..outside import WARN_DECADES, ExtrapolationWarning
from ..predict import outside_decades
from .distance import NAMED_BUDGETS, beyond

# a budget with more than this share of its draws far outside the data warns (a convention, not
# tuned: one draw in a hundred barely moves a 90% interval's end); smaller shares show in the
# column far_outside alone
FAR_SHARE = 0.01


def far_draws(fit, draws: dict, floor=None, group=None) -> dict:
    """Per draw and budget, (S, Q) bool each, of the allocation ``draws``: ``"below"`` and
    ``"above"``, N_opt (params) more than ``WARN_DECADES`` below or above the fitted range of
    N (``group``'s own runs' for a fitted group, :func:`group_ranges`, as the
    ``*_outside_decades`` columns measure; all False when no range of N is recorded), and
    ``"floor"``, L_opt below that draw's irreducible loss ``floor`` ((S,) loss units,
    :func:`floor_draws`; all False for None, a law without a floor)."""
    N_opt = np.asarray(draws["N_opt"], float)
    N_range = group_ranges(fit, group).get("N")
    distance = np.zeros(N_opt.shape) if N_range is None else outside_decades(N_opt, *N_range)
    below_floor = np.zeros(N_opt.shape, bool)
    if floor is not None:
        below_floor = np.asarray(draws["L_opt"], float) < np.asarray(floor, float)[:, None]
    return {
        "below": distance < -WARN_DECADES,
        "above": distance > WARN_DECADES,
        "floor": below_floor,
    }


def far_share(far: dict) -> np.ndarray:
    """Per budget (Q,): the share of draws far outside the data (:func:`far_draws`: N_opt more
    than ``WARN_DECADES`` outside the fitted range of N, or L_opt below the law's floor); the
    allocation's column ``far_outside``."""
    return (far["below"] | far["above"] | far["floor"]).mean(axis=0)


def far_reason(widened: bool, extrapolation: str) -> str:
    """Why draws' optima lie far outside the data under ``extrapolation``: the drift's pull (a
    method that carries it into the optimum, "drift" or "model", on a ``widened`` law), else
    the fitted law's posterior itself; and what those draws do to the interval."""
    stretch = (
        "stretch the interval toward them on that side (N_opt_lower or N_opt_upper, "
        "L_opt_lower) and set its end once their share there passes the interval's tail, "
        "(1 - ci) / 2"
    )
    if widened and extrapolation in FULL_MODELS:
        return (
            "its drift (0 inside the data, growing with the distance from it, a random slope "
            "per draw) lowers the loss far outside the data, so in those draws it pulls the "
            "optimum out there, to sizes the runs never saw or losses below the law's floor; "
            f"those draws, not the runs, {stretch}: there the interval reflects the drift "
            "model, not the data. extrapolation='none' gives the fitted law's optimum alone; "
            "compare the two"
        )
    return (
        "the fitted law's posterior itself puts those draws' optimum far outside the data (the "
        f"runs, or for a new group the spread between groups, do not pin it there); they {stretch}"
    )


def far_message(
    C,
    far: dict,
    skip,
    extrapolation: str,
    reason: str,
    N_range=None,
    caller: str = "optimal_allocation",
    whose: str = "the fitted range",
) -> str:
    """The sentence for budgets C (FLOPs, (Q,)) with draws far outside the data (``far``:
    :func:`far_draws`) above ``FAR_SHARE``, naming each one's share (:func:`far_share`) and
    its parts, under ``extrapolation``, with ``reason`` (:func:`far_reason`); budgets ``skip``
    ((Q,) bool, or a scalar: those whose median answer lies beyond ``WARN_DECADES`` already,
    :func:`beyond`, which their own warning names) are left out. ``N_range``: the fitted
    (low, high) params (None: none recorded); ``whose``: what the range is
    (:func:`range_words`); '' when no budget is named."""
    C = np.atleast_1d(np.asarray(C, float))
    share = far_share(far)
    named = (share > FAR_SHARE) & ~np.broadcast_to(np.asarray(skip, bool), share.shape)
    hit = np.flatnonzero(named)
    if not hit.size:
        return ""

    def where(q):
        shares = {k: far[k][:, q].mean() for k in ("below", "above", "floor")}
        sides = [f"{k} it in {shares[k]:.1%}" for k in ("below", "above") if shares[k] > 0]
        said = [f"N_opt more than {WARN_DECADES:g} decades {' and '.join(sides)}"] if sides else []
        if shares["floor"] > 0:
            said.append(f"L_opt below the law's floor in {shares['floor']:.1%}")
        return f"{share[q]:.1%} of draws at C = {C[q]:.3g} FLOPs ({', '.join(said)})"

    shown = "; ".join(where(q) for q in hit[:NAMED_BUDGETS])
    more = f" and {hit.size - NAMED_BUDGETS} more budgets" if hit.size > NAMED_BUDGETS else ""
    fitted = "" if N_range is None else f", N [{N_range[0]:.3g}, {N_range[1]:.3g}] params"
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}some posterior draws put the optimum far outside the data ({whose}{fitted}) "
        f"at budgets whose median answer lies within {WARN_DECADES:g} decades of it: "
        f"{shown}{more}, under extrapolation {extrapolation!r}: {reason} (column far_outside)"
    )


def warn_far_draws(
    fit,
    C,
    far: dict,
    outside: dict,
    extrapolation: str,
    caller: str,
    group=None,
) -> None:
    """An :class:`ExtrapolationWarning` (:func:`far_message`) when more than ``FAR_SHARE`` of
    the draws of a budget whose median answer lies within ``WARN_DECADES`` of the fitted range
    (``outside``: :func:`outside_columns`) put the optimum far outside the data (``far``:
    :func:`far_draws`, of ``group``)."""
    reason = far_reason(bool(fit.law.widened), extrapolation)
    N_range = group_ranges(fit, group).get("N")
    whose = range_words(fit, group)
    message = far_message(C, far, beyond(outside), extrapolation, reason, N_range, caller, whose)
    if message:
        warnings.warn(message, ExtrapolationWarning, stacklevel=user_stacklevel())
