"""Distance from the fitted range: how far (signed decades) each budget and its median N_opt
and D_opt lie outside the fitted range of C, N and D (:func:`outside_columns`), the
:class:`~..outside.ExtrapolationWarning` for answers more than ``WARN_DECADES`` outside it
(:func:`warn_outside_range`; :func:`~..outside.range_stated` silences it)."""

from __future__ import annotations

import warnings

import numpy as np

from ...runs.warn import user_stacklevel
from ..draws import farthest_index
from ..extrapolation.distance import group_ranges, range_words
from ..extrapolation.drift import flops_as_ranged
from ..model import FULL_MODELS
from ..outside import (
    WARN_DECADES,
    ExtrapolationWarning,
    distance_text,
    extrapolation_sentence,
    fitted_text,
)
from ..predict import outside_decades
from .checks import compute_model_of

RANGE_AXES = (("C", "C"), ("N", "N_opt"), ("D", "D_opt"))  # axis, the answer measured on it
NAMED_BUDGETS = 3  # an extrapolation warning names this many budgets
RANGE_COLUMNS = {  # where each caller's answer says how far outside the range it lies
    "optimal_allocation": "columns C_outside_decades, N_outside_decades, D_outside_decades",
    "near_optimal": "the result's outside_decades",
    "fixed_vs_optimal": "columns C_outside_decades, N_outside_decades, D_outside_decades, "
    "N_fixed_outside_decades, D_fixed_outside_decades",
}


def outside_columns(fit, group, C, N_opt, D_opt, compute_model=None) -> dict:
    """``C_outside_decades``, ``N_outside_decades``, ``D_outside_decades``: the signed distance
    in decades (0 inside, +1 = ten times above the largest fitted value, -1 = ten times below
    the smallest) of budgets C (FLOPs under ``compute_model``, (Q,)) and of their median N_opt
    (params, (Q,)) and D_opt (tokens, (Q,)) outside ``fit``'s fitted range (``group``'s own
    for a fitted group, :func:`~.extrapolation.distance.group_ranges`); an axis without a
    recorded range is left out. A budget is measured as the fit's compute model counts its
    optimum's FLOPs when ``compute_model`` (None: the fit's) differs from it, as the drift
    measures it (:func:`~.extrapolation.drift.flops_as_ranged`): the fitted range of C is in
    the fit's FLOPs."""
    model = compute_model_of(fit, compute_model)
    C_ranged = flops_as_ranged(N_opt, D_opt, C, model, fit.compute_model)
    values = {"C": C_ranged, "N": N_opt, "D": D_opt}
    ranges = group_ranges(fit, group) or {}
    return {
        f"{axis}_outside_decades": outside_decades(np.asarray(values[axis], float), *ranges[axis])
        for axis, _ in RANGE_AXES
        if axis in ranges
    }


def interval_note(widened: bool, extrapolation: str) -> str:
    """What an optimum's interval far outside the fitted range holds: the drift, under a method
    that carries it into the optimum (``extrapolation`` "drift" or "model" on a law that is
    ``widened``), else the fitted law's uncertainty alone."""
    if widened and extrapolation in FULL_MODELS:
        return f"its interval carries the {extrapolation!r} drift, which grows with that distance"
    alone = "its interval is the fitted law's uncertainty alone, not the risk that the law bends"
    if widened:
        return f"{alone} out there (extrapolation='drift' or 'model' carries that into it)"
    return f"{alone} out there"


def beyond(outside: dict, far: float = WARN_DECADES) -> np.ndarray:
    """Per budget (Q,) bool: whether its value, median N_opt or median D_opt lies more than
    ``far`` decades outside the fitted range (``outside``: :func:`outside_columns`, (Q,) each;
    a scalar False when it holds no axis)."""
    distances = [
        np.abs(np.asarray(outside[f"{axis}_outside_decades"], float))
        for axis, _ in RANGE_AXES
        if f"{axis}_outside_decades" in outside
    ]
    if not distances:
        return np.asarray(False)
    return np.any([d > far for d in distances], axis=0)


def range_message(
    C,
    outside: dict,
    ranges,
    caller: str = "optimal_allocation",
    note: str = "",
    far: float = WARN_DECADES,
    whose: str = "the fitted range",
) -> str:
    """The sentence for budgets C (FLOPs, (Q,)) whose value, median N_opt or median D_opt lies
    more than ``far`` decades outside the fitted range ``ranges`` (``outside``:
    :func:`outside_columns`, (Q,) each), naming every nonzero distance of the first
    ``NAMED_BUDGETS`` of them and, of any more, how many and, when it lies further out than
    every named one, the farthest (largest distance on any axis; :func:`~..draws.
    farthest_index`), with ``note`` (:func:`interval_note`); ``whose``: what the range is
    (:func:`range_words`); '' when none does."""
    distances = {
        axis: np.asarray(outside[f"{axis}_outside_decades"], float)
        for axis, _ in RANGE_AXES
        if f"{axis}_outside_decades" in outside
    }
    if not distances:
        return ""
    C = np.atleast_1d(np.asarray(C, float))
    hit = np.flatnonzero(beyond(outside, far))
    if not hit.size:
        return ""
    names = dict(RANGE_AXES)

    def where(i):
        parts = [distance_text(d[i], names[axis]) for axis, d in distances.items() if d[i] != 0]
        return f"C = {C[i]:.3g} FLOPs ({', '.join(parts)})"

    named, rest = hit[:NAMED_BUDGETS], hit[NAMED_BUDGETS:]
    shown = "; ".join(where(i) for i in named)
    more = ""
    if rest.size:  # the farthest unnamed budget, when further out than every named one
        size = np.max([np.abs(d) for d in distances.values()], axis=0)  # (Q,) on any axis
        j = farthest_index(size, np.concatenate([[named[np.argmax(size[named])]], rest]))
        farthest = "" if j is None else f", the farthest {where(j)}"
        more = f" and {rest.size} more budgets{farthest}"
    fitted = fitted_text(ranges, distances)
    columns = RANGE_COLUMNS.get(caller, RANGE_COLUMNS["optimal_allocation"])
    return extrapolation_sentence(caller, far, whose, fitted, shown + more, columns, note)


def warn_outside_range(
    fit, C, outside: dict, extrapolation: str, caller: str, group=None
) -> None:
    """An :class:`ExtrapolationWarning` (:func:`range_message`) when any budget, or its median
    optimum, lies more than ``WARN_DECADES`` outside the fit's range (``group``'s own runs' for
    a fitted group, as ``outside`` measures it)."""
    note = interval_note(bool(fit.law.widened), extrapolation)
    ranges, whose = group_ranges(fit, group), range_words(fit, group)
    message = range_message(C, outside, ranges, caller, note, whose=whose)
    if message:
        warnings.warn(message, ExtrapolationWarning, stacklevel=user_stacklevel())
