"""Compute-optimal allocation from a posterior: N_opt(C), D_opt(C), L_opt(C) per draw.

For a loss surface L(N, D) and a compute model ``C = flops_per_token(N) * D``, the
compute-optimal size at budget C minimises L(N, D(N, C)) along the isoFLOP line. Every
posterior draw gives one optimum, so the optimum has a posterior too. The law computes it
(:meth:`~bayeslaws.laws.contract.Law.allocation`): in closed form where it has one (Chinchilla
under C = k N D), else by a vectorised numerical search along the isoFLOP lines
(:mod:`bayeslaws.laws.optimum`); the isoFLOP law gives each budget's vertex (a fitted
budget its own, a new budget the trend k C^a plus the budget-to-budget scatter).

Units: N in parameters, D in tokens, C in FLOPs, L in the fit's loss units.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..laws.optimum import coarse_step, search_range
from ..runs.checks import check_integer, check_positive
from ..runs.compute import as_compute_model
from ..runs.warn import user_stacklevel
from .draws import (
    check_fit,
    check_range,
    check_seed,
    labelled,
    positive_array,
    shared_index,
    warn_new_group,
)
from .extrapolation import DEFAULT_METHOD
from .extrapolation.distance import group_ranges, range_words
from .extrapolation.drift import axis_distances, flops_as_ranged
from .model import FULL_MODELS, ModelView
from .predict import (  # noqa: F401 (NOMINAL_RTOL re-exported: callers import it from here)
    NOMINAL_RTOL,
    NominalComputeWarning,
    check_ci,
    nominal_flops_ratio,
    outside_decades,
)


class SearchEdgeWarning(UserWarning):
    """A share of the posterior draws of N_opt (or a near-optimal band) sits at the edge of the
    range searched, so an interval's end there is the search range's edge, not the data's."""


class ExtrapolationWarning(UserWarning):
    """A budget, or the optimum it gives, lies far (``WARN_DECADES``) outside the fitted range
    of C, N or D: the answer rests on the law holding that far out (columns
    ``<axis>_outside_decades`` say how far, nearer too)."""


class UnbracketedVertexWarning(UserWarning):
    """A fitted budget's runs do not bracket its vertex (more than ``UNBRACKETED_SHARE`` of the
    draws of N_opt lie outside the sizes run at that budget, e.g. its loss rises monotonically
    in N): the vertex, and its interval, come from the curvature and trend pooled over the
    other budgets, not from that budget's own runs (column ``vertex_outside_sampled``)."""


# ---- input checks ------------------------------------------------------------------------------
def _budgets(C, name: str = "C") -> np.ndarray:
    if C is None:
        raise ValueError(f"{name} is required: one or more compute budgets in FLOPs")
    return positive_array(name, C)  # names the argument on strings, NaN, <= 0, empty


def _check_sizes(fit, N, C: float, model, group=None) -> None:
    """Candidate sizes N (params) on the isoFLOP line of C FLOPs: each must leave at least one
    token (else ValueError naming them); sizes far outside the fitted range (``group``'s own
    runs' for a fitted group) warn (:func:`~.draws.check_range`)."""
    tokens = np.asarray(model.tokens(N, C), float)
    short = np.flatnonzero(~(tokens >= 1))
    if short.size:
        raise ValueError(
            f"N = {N[short[0]]:.3g} at C = {C:.3g} FLOPs leaves {tokens[short[0]]:.3g} tokens "
            f"(sorted positions {short.tolist()[:10]}): C is in FLOPs (about 6 N D), N in "
            "parameters"
        )
    sizes = pd.DataFrame({"N": N, "D": tokens})
    check_range(fit, sizes, group=group)


def _compute_model(fit, compute_model):
    if compute_model is not None:
        return as_compute_model(compute_model)
    return fit.compute_model


def allocation_draws(
    fit,
    C,
    compute_model=None,
    group=None,
    seed: int = 0,
    method="auto",
    extrapolation: str = DEFAULT_METHOD,
) -> dict:
    """Posterior draws of the compute-optimal allocation at budgets C.

    Parameters
    ----------
    fit : a fit whose law defines an allocation (loss surfaces, isoFLOP laws).
    C : budgets in FLOPs (number or 1-d sequence).
    compute_model : override the fit's compute model (a ComputeModel, k for C = kND, a callable).
    group : a fitted group's label; None with a grouped fit means a new group.
    seed : seeds new-group, form and discrepancy draws.
    method : "auto" (closed form where it exists), "closed_form" or "numerical".
    extrapolation : the model uncertainty carried into the optimum
        (:mod:`bayeslaws.posterior.model`): only "model" and "drift" carry form and discrepancy
        uncertainty into N_opt, D_opt and L_opt; every other method, the default "gp"
        included, gives the fitted law's optimum (the same draws as "none").

    Returns
    -------
    dict of arrays (S, Q): ``N_opt``, ``D_opt``, ``L_opt``, ``at_boundary`` (bool), and
    ``method`` (a string); a law that searches for the optimum (loss surfaces) also gives
    ``search_lo``, ``search_hi`` (params: the range it searched, :func:`searched_bounds`); a
    law whose budgets scatter about its power laws (isoflop: a new budget's vertex is the trend
    plus the fitted scatter) also gives the trend alone,
    ``N_opt_trend``, ``D_opt_trend``, ``L_opt_trend`` (what :func:`allocation_laws` regresses)
    and ``fitted_budget`` (bool: a budget it was fitted on, answered by its own vertex).
    """
    check_fit(fit)
    C = _budgets(C)
    # warns when C looks like it is not in FLOPs (a fitted group: against its own runs' range)
    check_range(fit, pd.DataFrame({"C": C}), group=group)
    if method not in ("auto", "closed_form", "numerical"):
        raise ValueError(f"method must be 'auto', 'closed_form' or 'numerical', got {method!r}")
    model = _compute_model(fit, compute_model)
    view = ModelView.of(fit, extrapolation, check_seed(seed))
    draws = view.allocation(C, model, group=group, method=method)
    refuse_below_one(C, draws, (fit.record.ranges or {}).get("C"))
    return draws


UNITS_HINT = "C is in FLOPs (about 6 N D; 1 PF-day = 8.64e19 FLOPs), not PF-days or 1e18 units"


def refuse_below_one(C, draws: dict, fitted_C=None) -> None:
    """ValueError when a budget's median N_opt or D_opt is below one parameter or token, or its
    median N_opt is pinned at the whole isoFLOP search's floor, 10 parameters
    (:func:`floor_pinned` with ``whole_floor``), while the budget lies more than
    ``WARN_DECADES`` below the fitted budgets ``fitted_C`` ((low, high) FLOPs; None: not
    known, the floor alone decides): C (FLOPs, (Q,)) was surely given in other units
    (PF-days, 1e18 FLOPs), as predict refuses such a query. The floor check is needed because
    a searched N_opt is held to the floor, never below one; a draw held at a law's narrowed
    floor (Farseer: its fitted sizes / 100) says only that its optimum lies below that size,
    not below one parameter, and is left to the :class:`SearchEdgeWarning`."""
    for name, what in (("N_opt", "parameter"), ("D_opt", "token")):
        median = np.median(np.asarray(draws[name], float), axis=0)
        bad = np.flatnonzero(median < 1)
        if bad.size:
            shown = ", ".join(f"{C[i]:.3g}" for i in bad[:5])
            raise ValueError(
                f"C = {shown} give a median {name} below one {what} ({median[bad[0]]:.3g}): "
                + UNITS_HINT
            )
    share = floor_pinned(C, draws, whole_floor=True)
    below = np.ones(len(C), bool) if fitted_C is None else C < fitted_C[0] * 10**-WARN_DECADES
    bad = np.flatnonzero((share > 0.5) & below)
    if bad.size:
        floor = float(np.exp(search_range(C[bad[0]])[0]))
        shown = ", ".join(f"{C[i]:.3g}" for i in bad[:5])
        fitted = (
            ""
            if fitted_C is None
            else f", more than {WARN_DECADES:g} decades below the fitted budgets "
            f"({fitted_C[0]:.3g} FLOPs and up)"
        )
        raise ValueError(
            f"C = {shown} give a median N_opt at the smallest size searched, {floor:.3g} "
            f"parameters (the optimum lies at or below it in {share[bad[0]]:.0%} of the draws; "
            f"D_opt {np.median(draws['D_opt'][:, bad[0]]):.3g} tokens){fitted}: " + UNITS_HINT
        )


def searched_bounds(C, draws: dict) -> tuple[np.ndarray, np.ndarray]:
    """ln N bounds (lo, hi), each (S, Q), of the isoFLOP search behind each draw of N_opt at
    budgets C (FLOPs, (Q,)): the range the law searched (its allocation's ``search_lo``,
    ``search_hi``, params; a law may narrow it, Farseer to its fitted sizes +- 2 decades),
    else (a law that gives none) the whole :func:`~bayeslaws.laws.optimum.search_range`."""
    shape = np.shape(draws["N_opt"])
    if "search_lo" in draws:
        lo = np.log(np.asarray(draws["search_lo"], float))
        return lo, np.log(np.asarray(draws["search_hi"], float))
    lo, hi = search_range(np.asarray(C, float))
    return np.broadcast_to(lo, shape), np.broadcast_to(hi, shape)


def searched_range(C, draws: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per budget C (FLOPs, (Q,)): the range of N searched (low, high), params, (Q,) each
    (:func:`searched_bounds`), of the draws at the search edge there (``at_boundary``; of all
    draws at a budget with none); where their ranges differ (forms averaged, each searching
    its own) the widest, from the lowest floor to the highest top."""
    lo, hi = searched_bounds(C, draws)
    edge = np.asarray(draws["at_boundary"], bool)
    pick = edge | ~edge.any(axis=0, keepdims=True)
    return np.exp(np.where(pick, lo, np.inf).min(axis=0)), np.exp(
        np.where(pick, hi, -np.inf).max(axis=0)
    )


def floor_pinned(C, draws: dict, whole_floor: bool = False) -> np.ndarray:
    """Per budget C (FLOPs, (Q,)), the share of the draws whose N_opt sits at the lower edge of
    the isoFLOP search range the law searched (:func:`searched_bounds`; flagged ``at_boundary``
    with ln N_opt within a coarse step of the floor): there the optimum is at or below the
    floor, how far below unknown. ``whole_floor``: only draws whose floor is the whole
    range's, 10 parameters (:func:`~bayeslaws.laws.optimum.search_range`), not a law's
    narrowed one."""
    lo, hi = searched_bounds(C, draws)
    low = np.log(np.asarray(draws["N_opt"], float)) <= lo + coarse_step(C, (lo, hi))
    pinned = np.asarray(draws["at_boundary"], bool) & low
    if whole_floor:  # 1e-9: the law's floor in params, back in ln N, to rounding
        pinned &= lo <= search_range(np.asarray(C, float))[0] + 1e-9
    return pinned.mean(axis=0)


def edge_message(
    C, share, extrapolation: str, caller: str = "optimal_allocation", searched=None
) -> str:
    """The sentence for N_opt draws at the isoFLOP search range's edge: budgets ``C`` (FLOPs)
    and each one's share of draws at the edge (``share``, fractions; only those > 0 are
    named), under ``extrapolation``, prefixed by ``caller`` (the function, or '' for none);
    '' when no share is > 0. ``searched``: (low, high) params per budget, the range the law
    searched (:func:`searched_range` of its draws); None: the whole
    :func:`~bayeslaws.laws.optimum.search_range`."""
    C, share = np.atleast_1d(C), np.atleast_1d(share)
    if searched is None:
        searched = np.exp(search_range(np.asarray(C, float)))
    low, high = (np.broadcast_to(np.asarray(b, float), C.shape) for b in searched)
    rows = zip(C, share, low, high, strict=True)
    hit = [(float(c), float(p), a, b) for c, p, a, b in rows if p > 0]
    if not hit:
        return ""
    where = "; ".join(
        f"{p:.1%} of draws at C = {c:.3g} FLOPs (searched N {a:.3g} to {b:.3g} params)"
        for c, p, a, b in hit
    )
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}N_opt sits at the edge of the isoFLOP search range in {where}, under "
        f"extrapolation {extrapolation!r}: in those draws the loss at the edge is lower than "
        "at any interior optimum (the law has none there, or the extrapolation's drift, growing "
        "with the distance from the data, pulls the loss down far outside it), so the "
        "interval's end on that side is the search range's edge, not the data's (column "
        "at_boundary; extrapolation='none' gives the fitted law's optimum alone)"
    )


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
    model = _compute_model(fit, compute_model)
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


# a fitted budget with more than this share of its N_opt draws outside the sizes run at it warns.
# A budget whose runs bracket the vertex has ~0 (every budget of Llama-3's and Marin-nemotron's
# isoFLOP fits but one: 0.000); a vertex at the last size run ~0.5; Marin-nemotron's 1.8e18
# (3 sizes, the lowest loss at the largest, no interior minimum of its own) 0.25; Llama-3's
# 1e20 cut to sizes above its vertex 1.0. Below a fifth the interval's tail alone goes past
# the runs, which the column shows without a warning.
UNBRACKETED_SHARE = 0.2


def unbracketed_message(C, draws: dict, caller: str = "optimal_allocation") -> str:
    """The sentence for fitted budgets C (FLOPs, (Q,)) whose share of vertex draws outside the
    sizes run at them (``draws["vertex_outside_sampled"]``, (S, Q), NaN for a new budget; with
    ``N_sampled_low``, ``N_sampled_high``) exceeds ``UNBRACKETED_SHARE``, naming each budget,
    its share and its sampled sizes; '' when none does (or the law gives no such draws)."""
    if "vertex_outside_sampled" not in draws:
        return ""
    share = np.asarray(draws["vertex_outside_sampled"], float).mean(axis=0)  # NaN: a new budget
    hit = np.flatnonzero(np.nan_to_num(share) > UNBRACKETED_SHARE)
    if not hit.size:
        return ""
    C = np.atleast_1d(np.asarray(C, float))
    low = np.asarray(draws["N_sampled_low"], float)[0]
    high = np.asarray(draws["N_sampled_high"], float)[0]
    median = np.median(np.asarray(draws["N_opt"], float), axis=0)
    where = "; ".join(
        f"C = {C[q]:.3g} FLOPs: {share[q]:.0%} of draws (median N_opt {median[q]:.3g}) outside "
        f"the sizes run there, N {low[q]:.3g} to {high[q]:.3g} params"
        for q in hit[:NAMED_BUDGETS]
    )
    more = f" and {hit.size - NAMED_BUDGETS} more budgets" if hit.size > NAMED_BUDGETS else ""
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}the runs of a fitted budget do not bracket its vertex ({where}{more}; more "
        f"than {UNBRACKETED_SHARE:.0%} of draws outside warns): that budget's runs do not "
        "show its loss turning up on both sides of N_opt, so its vertex and interval are set "
        "by the curvature and trend pooled over the other budgets, not by that budget's own "
        "runs. Run sizes "
        "on the vertex's other side at that budget, or read its N_opt as the trend's (column "
        "vertex_outside_sampled)"
    )


def warn_unbracketed(C, draws: dict, caller: str) -> None:
    """An :class:`UnbracketedVertexWarning` (:func:`unbracketed_message`) when a fitted
    budget's vertex draws lie mostly outside the sizes run at it."""
    message = unbracketed_message(C, draws, caller)
    if message:
        warnings.warn(message, UnbracketedVertexWarning, stacklevel=user_stacklevel())


def warn_at_edge(C, draws: dict, extrapolation: str, caller: str) -> None:
    """A :class:`SearchEdgeWarning` (:func:`edge_message`) when any budget's share of the
    allocation ``draws`` at the search edge (their ``at_boundary``, (S, Q) bool) is > 0, naming
    the range the law searched (:func:`searched_range`)."""
    share = np.asarray(draws["at_boundary"], bool).mean(axis=0)
    message = edge_message(C, share, extrapolation, caller, searched_range(C, draws))
    if message:
        warnings.warn(message, SearchEdgeWarning, stacklevel=user_stacklevel())


# ---- distance from the fitted range ------------------------------------------------------------
RANGE_AXES = (("C", "C", "FLOPs"), ("N", "N_opt", "params"), ("D", "D_opt", "tokens"))
NAMED_BUDGETS = 3  # an extrapolation warning names this many budgets
# a budget or optimum more than this many decades (100x) outside the fitted range warns; nearer
# ones, the everyday use of a scaling law (the next decade of compute), show in the columns
# alone, as predict's do. 2 decades is also where a setting is off what a sweep has seen
# (draws.FAR_DECADES)
WARN_DECADES = 2.0
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
    model = _compute_model(fit, compute_model)
    C_ranged = flops_as_ranged(N_opt, D_opt, C, model, fit.compute_model)
    values = {"C": C_ranged, "N": N_opt, "D": D_opt}
    ranges = group_ranges(fit, group) or {}
    return {
        f"{axis}_outside_decades": outside_decades(np.asarray(values[axis], float), *ranges[axis])
        for axis, _, _ in RANGE_AXES
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
        for axis, _, _ in RANGE_AXES
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
    :func:`outside_columns`, (Q,) each), naming every nonzero distance of those budgets, with
    ``note`` (:func:`interval_note`); ``whose``: what the range is (:func:`range_words`); ''
    when none does."""
    distances = {
        axis: np.asarray(outside[f"{axis}_outside_decades"], float)
        for axis, _, _ in RANGE_AXES
        if f"{axis}_outside_decades" in outside
    }
    if not distances:
        return ""
    C = np.atleast_1d(np.asarray(C, float))
    hit = np.flatnonzero(beyond(outside, far))
    if not hit.size:
        return ""
    names = {axis: name for axis, name, _ in RANGE_AXES}
    units = {axis: unit for axis, _, unit in RANGE_AXES}

    def where(i):
        parts = [
            f"{names[axis]} {abs(d[i]):.2g} decades {'above' if d[i] > 0 else 'below'}"
            for axis, d in distances.items()
            if d[i] != 0
        ]
        return f"C = {C[i]:.3g} FLOPs ({', '.join(parts)})"

    shown = "; ".join(where(i) for i in hit[:NAMED_BUDGETS])
    more = f" and {hit.size - NAMED_BUDGETS} more budgets" if hit.size > NAMED_BUDGETS else ""
    fitted = ", ".join(
        f"{axis} [{ranges[axis][0]:.3g}, {ranges[axis][1]:.3g}] {units[axis]}" for axis in distances
    )
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}extrapolating more than {far:g} decades outside {whose} "
        f"({fitted}): {shown}{more}. The answer rests on the law holding that far out"
        f"{'; ' + note if note else ''} "
        f"({RANGE_COLUMNS.get(caller, RANGE_COLUMNS['optimal_allocation'])})"
    )


@contextlib.contextmanager
def range_stated():
    """Within it, no :class:`ExtrapolationWarning`: for callers that state each answer's
    distance outside the fitted range themselves (a report's numbers, a figure's bands) or
    have warned once already (a plan's later calls at the same budget)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        yield


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


# ---- draws far outside the data ---------------------------------------------------------------
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
    :func:`_floor_draws`; all False for None, a law without a floor)."""
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


# ---- nominal budgets ---------------------------------------------------------------------------
# NOMINAL_RTOL, nominal_flops_ratio and NominalComputeWarning live in .predict (predict warns on
# nominal budgets too, and imports nothing from here)


def nominal_message(fit, compute_model, caller: str = "optimal_allocation") -> str:
    """The sentence for a fit whose budgets are nominal (:func:`nominal_flops_ratio`): D_opt is
    the compute model's C / flops_per_token(N_opt), not the runs' tokens; '' otherwise."""
    ratio = nominal_flops_ratio(fit, compute_model)
    if ratio is None:
        return ""
    name = getattr(compute_model, "name", None) or "the compute model"
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}the fit's budgets are nominal: its runs' C is {ratio[0]:.3g}-{ratio[1]:.3g} x "
        f"the compute model's FLOPs of their N and D ({name}), so D_opt (and tokens_per_param, "
        f"a near-optimal band's D) is C / flops_per_token(N_opt) under {name}, not the tokens "
        f"a run at that nominal budget trains on (the fitted runs trained on {1 / ratio[1]:.3g}-"
        f"{1 / ratio[0]:.3g} x C / flops_per_token(N) tokens); N_opt and L_opt are the fitted "
        "law's at the nominal budget"
    )


def warn_nominal(fit, compute_model, caller: str) -> None:
    """A :class:`NominalComputeWarning` (:func:`nominal_message`) when the fit's budgets are
    nominal under ``compute_model``."""
    message = nominal_message(fit, compute_model, caller)
    if message:
        warnings.warn(message, NominalComputeWarning, stacklevel=user_stacklevel())


def _quantiles(x, ci):
    lo, med, hi = np.quantile(x, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
    return med, lo, hi


def optimal_allocation(
    fit,
    C,
    ci: float = 0.9,
    compute_model=None,
    group=None,
    seed: int = 0,
    method="auto",
    extrapolation: str = DEFAULT_METHOD,
    *,
    _new_group_noted: bool = False,
) -> pd.DataFrame:
    """Compute-optimal model size, tokens and loss per budget, with credible intervals.

    ``bl.optimal_allocation(fit, C=[1e21, 1e22, 1e24])``

    Parameters
    ----------
    fit : a fitted loss surface (chinchilla, kaplan, ..., the joint sweep law) or isoFLOP law.
    C : budget(s) in FLOPs; a pandas Series keeps its row labels (the answer's index).
    ci : central credible-interval mass (0.9 -> 5% and 95% quantiles).
    compute_model : override the fit's compute model, e.g.
        ``bayeslaws.compute.video_dit(n_ctx, d_model)`` or any ``custom(callable)``.
    group, seed, method : see :func:`allocation_draws`; ``group=None`` on a grouped fit
        answers for a new, unseen group (wider; warned once per fit).
    extrapolation : see :func:`allocation_draws`: only "model" and "drift" carry form and
        discrepancy uncertainty into the optimum; the default "gp", like "none", gives the
        fitted law's optimum.
    _new_group_noted : private: the caller tells its user itself that ``group=None`` answers
        for a new group (no warning).

    Returns
    -------
    DataFrame, one row per budget (indexed like a Series C, else 0..Q-1): group (the
    ``group`` asked for, as :func:`~.predict.predict` gives it; only when one is); C; N_opt,
    N_opt_lower, N_opt_upper (params); D_opt, ... (tokens); L_opt, ... (loss: the law's
    noise-free loss at N_opt, i.e. the median loss of a new run there; its interval is the
    posterior's uncertainty of that mean alone, without the run-to-run noise sigma, so single
    runs, and the best of several at a budget most of all, often lie below it: compare runs
    with ``predict(..., kind="new_run")``; for an isoFLOP law at a budget it was not fitted on,
    the interval also holds the fitted budget-to-budget scatter); tokens_per_param (median
    D_opt / N_opt); ci; method;
    at_boundary (share of draws whose optimum hit the search range's edge; any share > 0
    issues a :class:`SearchEdgeWarning`: the interval's end there is the search range's edge,
    not the data's); far_outside (share of draws whose N_opt lies more than ``WARN_DECADES``
    outside the fitted range of N, a fitted group's own, or whose L_opt lies below the law's
    floor, :func:`far_draws`: under extrapolation "drift" or "model" the drift can pull a
    draw's optimum there at a budget inside the data; at a budget whose median answer lies
    within ``WARN_DECADES`` of the range a share above ``FAR_SHARE``, 1%, issues an
    :class:`ExtrapolationWarning`: those draws stretch the interval toward them, and set its
    end once their share on a side passes (1 - ci) / 2); for an isoFLOP law also
    fitted_budget (True: a budget the law was fitted on, answered by that budget's own fitted
    vertex, so its interval is narrower than a nearby new budget's, which carries the
    budget-to-budget scatter) and vertex_outside_sampled (the
    share of a fitted budget's N_opt draws outside the sizes run at it, NaN for a new budget;
    above ``UNBRACKETED_SHARE``, 20%, an :class:`UnbracketedVertexWarning` says that budget's
    vertex is set by the pooled curvature and trend, not by its own runs); C_outside_decades,
    N_outside_decades, D_outside_decades: how far the budget and its median N_opt and D_opt
    lie outside the fitted range (signed decades, 0 inside, as :func:`~.predict.predict`
    gives: for a fitted group of a grouped fit, that group's own runs' range; any beyond
    ``WARN_DECADES``, 100x, issues one :class:`ExtrapolationWarning` per call). On a fit of
    nominal budgets (the runs' C is not the compute model's FLOPs of their N and D, e.g.
    Marin's isoFLOP runs) a :class:`NominalComputeWarning` says that D_opt is the compute
    model's C / flops_per_token(N_opt), not the tokens such a run trains on.
    """
    check_fit(fit)
    ci = check_ci(ci)
    index = shared_index(C=C)
    C = _budgets(C)
    draws = allocation_draws(fit, C, compute_model, group, seed, method, extrapolation)
    warn_at_edge(C, draws, extrapolation, "optimal_allocation")
    warn_at_kink(
        fit, C, draws["N_opt"], compute_model, extrapolation, "optimal_allocation", group=group
    )
    out = {"C": C}
    for name in ("N_opt", "D_opt", "L_opt"):
        med, lo, hi = _quantiles(draws[name], ci)
        out[name], out[f"{name}_lower"], out[f"{name}_upper"] = med, lo, hi
    out["tokens_per_param"] = np.median(draws["D_opt"] / draws["N_opt"], axis=0)
    out["ci"] = ci
    out["method"] = draws["method"]
    out["at_boundary"] = np.asarray(draws["at_boundary"]).mean(axis=0)
    far = far_draws(fit, draws, _floor_draws(fit, group, seed, extrapolation), group)
    out["far_outside"] = far_share(far)
    if "fitted_budget" in draws:  # a law whose fitted budgets answer with their own vertex
        out["fitted_budget"] = np.asarray(draws["fitted_budget"]).all(axis=0)
    if "vertex_outside_sampled" in draws:  # share of vertex draws outside the sizes run there
        out["vertex_outside_sampled"] = np.asarray(draws["vertex_outside_sampled"]).mean(axis=0)
    warn_unbracketed(C, draws, "optimal_allocation")
    outside = outside_columns(fit, group, C, out["N_opt"], out["D_opt"], compute_model)
    out.update(outside)
    warn_outside_range(fit, C, outside, extrapolation, "optimal_allocation", group=group)
    warn_far_draws(fit, C, far, outside, extrapolation, "optimal_allocation", group=group)
    warn_nominal(fit, _compute_model(fit, compute_model), "optimal_allocation")
    warn_new_group(
        fit, group, "optimal_allocation", noted=_new_group_noted
    )
    table = pd.DataFrame(out)
    if group is not None:  # which group answers, as predict says it
        table.insert(0, "group", group)
    return labelled(table, index)


def allocation_laws(
    fit,
    C_range=None,
    ci: float = 0.9,
    compute_model=None,
    group=None,
    n_budgets: int = 9,
    seed: int = 0,
    extrapolation: str = DEFAULT_METHOD,
    *,
    _new_group_noted: bool = False,
) -> pd.DataFrame:
    """The fitted power laws N_opt = k C^a, D_opt = k C^a and L_opt = k C^a, with intervals.

    Each posterior draw's allocation at ``n_budgets`` log-spaced budgets across ``C_range``
    (default: the fitted runs' range of C) is regressed in log-log, giving a (k, a) per draw.
    For the Chinchilla form under C = k N D the N_opt and D_opt laws are exact power laws (any
    range gives the same answer); L_opt is not (it has the floor E), so its (k, a) is the
    best power law over ``C_range`` — Liang et al.'s form. For a law whose budgets scatter
    about its power laws (isoflop) the draws' trend without the scatter is regressed
    (``N_opt_trend`` etc.), i.e. the fitted k C^a itself.

    Returns a DataFrame indexed by quantity (N_opt, D_opt, L_opt) with columns coef,
    coef_lower, coef_upper, exponent, exponent_lower, exponent_upper, C_low, C_high, ci and
    far_outside (the largest share, over the ``n_budgets`` budgets, of draws whose optimum lies
    far outside the data, :func:`far_draws`; the same for every row). Draws whose N_opt sits
    at the search range's edge at any of the budgets bend the regression: a
    :class:`SearchEdgeWarning` says so, as :func:`optimal_allocation` does; so do draws far
    outside the data, and budgets or median optima beyond ``WARN_DECADES`` of the fitted
    range: an :class:`ExtrapolationWarning` names them, as :func:`optimal_allocation` does.
    ``group=None`` on a grouped fit answers for a new, unseen group (wider; warned once per
    fit). ``extrapolation``: as for :func:`optimal_allocation` (only "model" and "drift" widen
    the optima beyond the fitted law's).
    """
    check_fit(fit)
    ci = check_ci(ci)
    if C_range is None:
        C_range = fit.record.ranges.get("C")
        if C_range is None:
            raise ValueError("C_range is required for this fit (it records no fitted range of C)")
    lo_hi = _budgets(C_range, "C_range")
    if lo_hi.size != 2 or lo_hi[0] >= lo_hi[1]:
        raise ValueError(f"C_range must be (low, high) with low < high, got {C_range!r}")
    n_budgets = check_integer("n_budgets", n_budgets, 2)
    C = np.geomspace(lo_hi[0], lo_hi[1], n_budgets)
    draws = allocation_draws(fit, C, compute_model, group, seed, extrapolation=extrapolation)
    warn_at_edge(C, draws, extrapolation, "allocation_laws")
    warn_at_kink(
        fit, C, draws["N_opt"], compute_model, extrapolation, "allocation_laws", group=group
    )
    far = far_draws(fit, draws, _floor_draws(fit, group, seed, extrapolation), group)
    median_N, median_D = (np.median(draws[name], axis=0) for name in ("N_opt", "D_opt"))
    outside = outside_columns(fit, group, C, median_N, median_D, compute_model)
    warn_outside_range(fit, C, outside, extrapolation, "allocation_laws", group=group)
    warn_far_draws(fit, C, far, outside, extrapolation, "allocation_laws", group=group)
    lc = np.log(C)
    lc_c = lc - lc.mean()
    rows = []
    for name in ("N_opt", "D_opt", "L_opt"):
        # a law with budget-level scatter (isoflop) also returns its trend: the power law
        ly = np.log(draws.get(f"{name}_trend", draws[name]))
        slope = (ly - ly.mean(axis=1, keepdims=True)) @ lc_c / (lc_c @ lc_c)
        log_coef = ly.mean(axis=1) - slope * lc.mean()
        a_med, a_lo, a_hi = _quantiles(slope, ci)
        k_med, k_lo, k_hi = _quantiles(np.exp(log_coef), ci)
        rows.append(
            {
                "quantity": name,
                "coef": k_med,
                "coef_lower": k_lo,
                "coef_upper": k_hi,
                "exponent": a_med,
                "exponent_lower": a_lo,
                "exponent_upper": a_hi,
                "C_low": lo_hi[0],
                "C_high": lo_hi[1],
                "ci": ci,
                "far_outside": float(far_share(far).max()),
            }
        )
    warn_new_group(
        fit, group, "allocation_laws", noted=_new_group_noted
    )
    return pd.DataFrame(rows).set_index("quantity")


# ---- near-optimal band -----------------------------------------------------------------------
DEFAULT_TOLERANCE = 0.05  # of the reducible loss (relative_to="reducible"), when none is given
RELATIVE_TO = ("reducible", "total")


@dataclass
class NearOptimal:
    """Which model sizes stay within ``tolerance`` of the optimal loss at budget C.

    Attributes
    ----------
    C, tolerance, prob : the budget (FLOPs), the relative loss tolerance and the probability
        threshold that defines the band.
    relative_to : what the tolerance is a fraction of: "reducible" (L_opt minus the law's
        irreducible loss, per draw; the whole L_opt for a law without a floor) or "total"
        (L_opt).
    table : DataFrame per candidate N: N, D, prob_within (posterior probability that the
        excess loss is within the tolerance), excess (median relative excess loss L(N)/L_opt -
        1), excess_lower, excess_upper, excess_mean, excess_reducible (median (L(N) - L_opt) /
        (L_opt - floor)) with _lower, _upper, loss, loss_lower, loss_upper.
    N_opt : posterior median of the optimal size; N_opt_lower, N_opt_upper its interval.
    band : (N_low, N_high), the range of N with prob_within >= prob (None if empty; a warning
        says when sizes inside it fall short, i.e. the sizes that pass are not one interval;
        :attr:`band_at_edge` says when it reaches the first or last size searched, beyond which
        it extends by an unknown amount).
    smallest : dict for the smallest N in the band: N, D, size_vs_optimal (N / median N_opt
        - 1, e.g. -0.4 = a 40% smaller model), loss and both excesses with intervals (None if
        empty).
    floor : (median, lower, upper) of the irreducible loss, or None (the law has no floor: its
        reducible loss is the whole loss, so "reducible" and "total" coincide,
        :attr:`floorless_note`).
    reducible_share : (median, lower, upper) of (L_opt - floor) / L_opt, the reducible share of
        the optimal loss (1 without a floor).
    outside_decades : {"C": ..., "N_opt": ..., "D_opt": ...}: how far the budget and the
        median N_opt and D_opt lie outside the fitted range (signed decades, 0 inside; the
        axes with a recorded range; for a fitted group of a grouped fit, that group's own
        runs' range); :attr:`range_note` and the repr name any that are not 0.
    range_of : what ``outside_decades`` is measured from, in words
        (:func:`range_words`: "the fitted range", or "group 'a''s fitted range").
    far_outside : the share of the draws of N_opt more than ``WARN_DECADES`` outside the
        fitted range of N, or whose L_opt lies below the law's floor (:func:`far_draws`; at a
        budget whose median lies within ``WARN_DECADES`` of that range, a share above
        ``FAR_SHARE``, 1%, warns, :class:`ExtrapolationWarning`).
    """

    C: float
    tolerance: float
    prob: float
    ci: float
    table: pd.DataFrame
    N_opt: float
    N_opt_lower: float
    N_opt_upper: float
    band: tuple | None
    smallest: dict | None
    relative_to: str = "total"
    floor: tuple | None = None
    reducible_share: tuple = (1.0, 1.0, 1.0)
    outside_decades: dict = field(default_factory=dict)
    range_of: str = "the fitted range"
    far_outside: float = 0.0

    @property
    def range_note(self) -> str:
        """'' when C and the median N_opt and D_opt lie inside the fitted range (``range_of``;
        or no range is known); else how far outside it each lies, in signed decades."""
        far = {k: v for k, v in self.outside_decades.items() if v != 0}
        if not far:
            return ""
        parts = ", ".join(f"{k} {v:+.2g}" for k, v in far.items())
        return f"outside {self.range_of} by {parts} decades"

    @property
    def short_inside(self) -> pd.DataFrame:
        """The rows of ``table`` inside ``band`` whose prob_within falls short of ``prob``: the
        sizes that make the band not one interval (empty when it is one, or there is none)."""
        t = self.table
        if self.band is None or t.empty:
            return t.iloc[:0]
        inside = (t["N"] >= self.band[0]) & (t["N"] <= self.band[1])
        return t[inside & (t["prob_within"] < self.prob)]

    @property
    def gap_note(self) -> str:
        """'' when the sizes within tolerance are one interval (``band``); else the sentence
        naming the first size inside the band that falls short (:attr:`short_inside`)."""
        short = self.short_inside
        if short.empty:
            return ""
        first = short.iloc[0]
        others = f" (and {len(short) - 1} more size(s))" if len(short) > 1 else ""
        return (
            f"the sizes within tolerance at C = {self.C:.3g} are not one interval: N = "
            f"{first['N']:.4g}, inside the band [{self.band[0]:.4g}, {self.band[1]:.4g}], has "
            f"prob_within {first['prob_within']:.2f} < {self.prob:g}{others} (see .table for "
            "every size)"
        )

    @property
    def band_at_edge(self) -> tuple[bool, bool]:
        """(low, high): whether the band reaches the smallest / largest size of ``table`` (the
        sizes searched); on that side the band extends beyond them by an unknown amount, so its
        end there is the search's edge, not the tolerance's."""
        if self.band is None or self.table.empty:
            return (False, False)
        N = self.table["N"].to_numpy(float)
        return (bool(self.band[0] <= N[0]), bool(self.band[1] >= N[-1]))

    @property
    def tolerance_total(self) -> float:
        """The tolerance as a fraction of the total optimal loss (median reducible share)."""
        if self.relative_to == "total":
            return self.tolerance
        return self.tolerance * self.reducible_share[0]

    @property
    def tolerance_reducible(self) -> float:
        """The tolerance as a fraction of the reducible loss (median reducible share)."""
        if self.relative_to == "reducible":
            return self.tolerance
        return self.tolerance / self.reducible_share[0]

    @property
    def floorless_note(self) -> str:
        """'' for a law with a floor; else the sentence that its reducible loss is the whole
        loss, so a tolerance of the reducible loss is one of the total (near_optimal)."""
        if self.floor is not None:
            return ""
        return (
            "the law declares no floor (irreducible loss; floor=None), so its reducible loss is "
            "the whole loss: a tolerance of the reducible loss is one of the total, far looser "
            "than the same tolerance on a law with a floor"
        )

    def __repr__(self) -> str:
        note = f"; {self.floorless_note}" if self.floorless_note else ""
        where = f", {self.range_note}" if self.range_note else ""
        head = (
            f"NearOptimal(C={self.C:.3g} FLOPs{where}, tolerance={self.tolerance:.3g} of the "
            f"{self.relative_to} loss (= {100 * self.tolerance_total:.3g}% of the total, "
            f"{100 * self.tolerance_reducible:.3g}% of the reducible{note}), "
            f"prob>={self.prob:g}): "
            f"N_opt {self.N_opt:.4g} [{self.N_opt_lower:.4g}, {self.N_opt_upper:.4g}]"
        )
        if self.band is None:
            return head + "; no N is within tolerance with that probability"
        s = self.smallest
        return (
            f"{head}; band N in [{self.band[0]:.4g}, {self.band[1]:.4g}]; smallest N "
            f"{s['N']:.4g} ({100 * s['size_vs_optimal']:+.1f}% vs N_opt) costs "
            f"{100 * s['excess']:.3g}% loss [{100 * s['excess_lower']:.3g}, "
            f"{100 * s['excess_upper']:.3g}] = {100 * s['excess_reducible']:.3g}% of the "
            f"reducible loss [{100 * s['excess_reducible_lower']:.3g}, "
            f"{100 * s['excess_reducible_upper']:.3g}]"
        )


def _profile_log_loss(fit, C, N, model, group, seed, extrapolation):
    """ln L along one isoFLOP line for every draw: (S, G)."""
    view = ModelView.of(fit, extrapolation, check_seed(seed))
    return view.isoflop_profile(C, N, model, group=group)


def _floor_draws(fit, group, seed, extrapolation) -> np.ndarray | None:
    """The irreducible loss per draw (S,) of the model the draws come from (each draw's own
    functional form, :meth:`~bayeslaws.laws.contract.Law.irreducible_loss`); 0 for draws of a
    form without a floor; None when no form has one."""
    view = ModelView.of(fit, extrapolation, check_seed(seed))
    out = np.zeros(view.S)
    found = False
    # the allocation's stream (ModelView.allocation): a new group is the one its L_opt is of
    rng = view.group_rng(6, group)
    for part in view.parts:
        floor = part.law.irreducible_loss(part.post, group=group, rng=rng)
        if floor is not None:
            out[part.rows] = np.asarray(floor, float)
            found = True
    return out if found else None


def near_optimal(
    fit,
    C,
    tolerance: float | None = None,
    *,
    relative_to: str | None = None,
    prob: float = 0.9,
    N=None,
    n_grid: int = 241,
    span_decades: float = 1.5,
    ci: float = 0.9,
    compute_model=None,
    group=None,
    seed: int = 0,
    extrapolation: str = DEFAULT_METHOD,
    _new_group_noted: bool = False,
) -> NearOptimal:
    """The sizes within ``tolerance`` of the optimal loss at budget C, and the smallest of them.

    For each candidate N on the isoFLOP line of budget C (D from the compute model) and each
    posterior draw, the model is near-optimal if its excess loss L(N) - L_opt is at most
    ``tolerance`` times the reducible loss L_opt - E (``relative_to="reducible"``; E the law's
    irreducible loss in that draw, :meth:`~bayeslaws.laws.contract.Law.irreducible_loss`, 0
    for a law without a floor) or times the total L_opt (``"total"``). The posterior
    probability of that, per N, defines the band (prob >= ``prob``); its smallest N is the
    cheapest model to serve at (nearly) the optimal loss.

    A tolerance of the total loss misleads when the floor dominates: with L_opt = 0.4945 and
    E = 0.488, 1% of the total is 75% of what can still be gained. Hence the default.

    A law without a floor (kaplan; isoflop without ``loss_floor``) calls its whole loss
    reducible, so there "reducible" IS "total": the default 5% is 5% of the whole L_opt, a far
    wider band than 5% of the reducible part gives a law with a floor on the same runs (often
    10-30% of L_opt). The result says so (``floor`` None; its repr names it).

    Parameters
    ----------
    fit : loss-surface or isoflop fit.
    C : one budget in FLOPs.
    tolerance : relative loss tolerance, a fraction in (0, 1] (0.05 = 5%); default
        ``DEFAULT_TOLERANCE`` (5%) of the reducible loss.
    relative_to : "reducible" or "total"; default "reducible" when ``tolerance`` is not given
        and "total" when it is (the meaning a bare number had before).
    prob : probability threshold for the band.
    N : candidate sizes (params); default ``n_grid`` log-spaced sizes within ``span_decades``
        of the posterior median N_opt. A band that reaches that default grid's edge warns
        (:class:`SearchEdgeWarning`: the band extends beyond it; a wider ``span_decades`` or a
        smaller ``tolerance``); with ``N`` given the band is the sizes given that pass.
    ci : interval mass for the reported intervals.
    compute_model, group, seed, extrapolation : as in :func:`optimal_allocation`
        (``group=None`` on a grouped fit: a new, unseen group, whose floor and optimum are
        drawn together; wider; warned once per fit). A budget, or its median N_opt or D_opt,
        more than ``WARN_DECADES`` outside the fitted range warns
        (:class:`ExtrapolationWarning`; the result's
        ``outside_decades`` says how far), and draws of N_opt far outside the data at a budget
        near it (the result's ``far_outside``), nominal budgets, and a fitted budget whose runs
        do not bracket its vertex (:class:`UnbracketedVertexWarning`), warn as there.
    _new_group_noted : private: the caller tells its user itself that ``group=None`` answers
        for a new group (no warning).
    """
    C_arr = _budgets(C)
    if C_arr.size != 1:
        raise ValueError(f"C must be a single budget for near_optimal, got {C_arr.size} values")
    C = float(C_arr[0])
    if tolerance is not None:
        tolerance = check_positive("tolerance", tolerance, "a relative loss")
        if tolerance > 1:  # 5 meant as 5% would be 500%: a band over the whole search range
            raise ValueError(
                f"near_optimal: tolerance is a fraction of the loss in (0, 1] (0.05 = 5%), got "
                f"{tolerance:g}"
            )
    if relative_to is None and tolerance is not None:
        warnings.warn(
            f"near_optimal: tolerance={tolerance!r} without relative_to is read as a fraction "
            "of the TOTAL loss (its meaning before relative_to existed), while the default "
            "tolerance is 5% of the REDUCIBLE loss; pass relative_to='total' or 'reducible' to "
            "say which (the result states the tolerance on both scales)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    if relative_to is None:
        relative_to = "reducible" if tolerance is None else "total"
    if relative_to not in RELATIVE_TO:
        raise ValueError(f"relative_to must be one of {RELATIVE_TO}, got {relative_to!r}")
    if tolerance is None:
        tolerance = DEFAULT_TOLERANCE
    prob = check_ci(prob, "prob")
    ci = check_ci(ci)
    # the fit after the scalar arguments (a tolerance of 5 is refused whatever the fit), and
    # before its first use
    check_fit(fit)
    model = _compute_model(fit, compute_model)
    alloc = allocation_draws(fit, C_arr, model, group, seed, extrapolation=extrapolation)
    warn_at_edge(C_arr, alloc, extrapolation, "near_optimal")
    warn_unbracketed(C_arr, alloc, "near_optimal")
    warn_at_kink(fit, C_arr, alloc["N_opt"], model, extrapolation, "near_optimal", group=group)
    medians = [np.median(alloc[name], axis=0) for name in ("N_opt", "D_opt")]
    outside = outside_columns(fit, group, C_arr, *medians, model)
    warn_outside_range(fit, C_arr, outside, extrapolation, "near_optimal", group=group)
    floor = _floor_draws(fit, group, seed, extrapolation)
    far = far_draws(fit, alloc, floor, group)
    warn_far_draws(fit, C_arr, far, outside, extrapolation, "near_optimal", group=group)
    warn_nominal(fit, model, "near_optimal")
    searched = N is None  # the default grid around N_opt, whose edge the band may reach
    n_opt = alloc["N_opt"][:, 0]
    log_L_opt = np.log(alloc["L_opt"][:, 0])
    N_med, N_lo, N_hi = _quantiles(n_opt, ci)
    if N is None:
        n_grid = check_integer("n_grid", n_grid, 3)
        span_decades = check_positive("span_decades", span_decades, "decades each side of N_opt")
        N = np.geomspace(N_med * 10**-span_decades, N_med * 10**span_decades, n_grid)
    else:
        N = np.sort(_budgets(N, "N"))
        _check_sizes(fit, N, C, model, group)
    log_L = _profile_log_loss(fit, C, N, model, group, seed, extrapolation)
    # the grid may straddle the optimum: never count a draw's L below its own optimum
    log_L_opt = np.minimum(log_L_opt, log_L.min(axis=1))
    excess = np.exp(log_L - log_L_opt[:, None]) - 1.0
    L_opt = np.exp(log_L_opt)
    # a draw whose optimum sits at (or, with the discrepancy, below) its floor has nothing
    # left to gain: any excess is then outside every tolerance of the reducible loss
    reducible = np.maximum(L_opt - (0.0 if floor is None else floor), 1e-12 * L_opt)
    excess_red = excess * (L_opt / reducible)[:, None]
    within = (excess_red if relative_to == "reducible" else excess) <= tolerance
    p = within.mean(axis=0)
    e_med, e_lo, e_hi = _quantiles(excess, ci)
    r_med, r_lo, r_hi = _quantiles(excess_red, ci)
    loss = np.exp(log_L)
    l_med, l_lo, l_hi = _quantiles(loss, ci)
    D = np.asarray(model.tokens(N, C))
    table = pd.DataFrame(
        {
            "N": N,
            "D": D,
            "prob_within": p,
            "excess": e_med,
            "excess_lower": e_lo,
            "excess_upper": e_hi,
            "excess_mean": excess.mean(axis=0),
            "excess_reducible": r_med,
            "excess_reducible_lower": r_lo,
            "excess_reducible_upper": r_hi,
            "loss": l_med,
            "loss_lower": l_lo,
            "loss_upper": l_hi,
        }
    )
    ok = np.where(p >= prob)[0]
    band = smallest = None
    if ok.size:
        band = (float(N[ok[0]]), float(N[ok[-1]]))
        j = ok[0]
        smallest = {
            "N": float(N[j]),
            "D": float(D[j]),
            "prob_within": float(p[j]),
            "size_vs_optimal": float(N[j] / N_med - 1.0),
            "loss": float(l_med[j]),
            "loss_lower": float(l_lo[j]),
            "loss_upper": float(l_hi[j]),
            "excess": float(e_med[j]),
            "excess_lower": float(e_lo[j]),
            "excess_upper": float(e_hi[j]),
            "excess_reducible": float(r_med[j]),
            "excess_reducible_lower": float(r_lo[j]),
            "excess_reducible_upper": float(r_hi[j]),
        }
    floor_ci = None if floor is None else tuple(float(v) for v in _quantiles(floor, ci))
    share = tuple(float(v) for v in _quantiles(reducible / L_opt, ci))
    result = NearOptimal(
        C,
        float(tolerance),
        prob,
        ci,
        table,
        float(N_med),
        float(N_lo),
        float(N_hi),
        band,
        smallest,
        relative_to,
        floor_ci,
        share,
        {
            name: float(outside[f"{axis}_outside_decades"][0])
            for axis, name, _ in RANGE_AXES
            if f"{axis}_outside_decades" in outside
        },
        range_words(fit, group),
        float(far_share(far)[0]),
    )
    if result.gap_note:
        warnings.warn(f"near_optimal: {result.gap_note}", UserWarning, stacklevel=user_stacklevel())
    message = band_edge_message(result, span_decades) if searched else ""
    if message:
        warnings.warn(message, SearchEdgeWarning, stacklevel=user_stacklevel())
    warn_new_group(
        fit, group, "near_optimal", noted=_new_group_noted
    )
    return result


def band_edge_message(near: NearOptimal, span_decades: float | None = None) -> str:
    """The sentence for a near-optimal band that reaches the edge of the sizes searched
    (:attr:`NearOptimal.band_at_edge`): the band extends beyond it, by an unknown amount;
    ``span_decades``: the default grid's half-width in decades, for the remedy. '' otherwise."""
    low, high = near.band_at_edge
    if not (low or high):
        return ""
    N = near.table["N"].to_numpy(float)
    ends = (("lower", "smallest", N[0]), ("upper", "largest", N[-1]))
    sides = [
        f"its {side} end, N = {n:.4g} params, is the {edge} size searched"
        for hit, (side, edge, n) in zip((low, high), ends, strict=True)
        if hit
    ]
    wider = f"a span_decades above {span_decades:g}" if span_decades is not None else "more sizes"
    return (
        f"near_optimal: the band at C = {near.C:.3g} FLOPs reaches the edge of the sizes searched "
        f"({'; '.join(sides)}): the band extends beyond the search by an unknown amount, so "
        f"{'those ends are' if low and high else 'that end is'} the search's edge, not the "
        f"tolerance's ({near.tolerance:g} of the {near.relative_to} loss; search {wider} or use "
        "a smaller tolerance)"
    )
