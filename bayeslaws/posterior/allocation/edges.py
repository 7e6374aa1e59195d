"""The isoFLOP search range behind each draw of N_opt: the range searched
(:func:`searched_bounds`, :func:`searched_range`), draws pinned at its floor
(:func:`floor_pinned`) and the refusal of budgets surely not in FLOPs
(:func:`refuse_below_one`), and the :class:`~.categories.SearchEdgeWarning` for draws at its
edge (:func:`edge_message`, :func:`warn_at_edge`)."""

from __future__ import annotations

import warnings

import numpy as np

from ...laws.optimum import coarse_step, search_range
from ...runs.warn import user_stacklevel
from ..outside import WARN_DECADES
from .categories import SearchEdgeWarning

UNITS_HINT = "C is in FLOPs (about 6 N D; 1 PF-day = 8.64e19 FLOPs), not PF-days or 1e18 units"


def refuse_below_one(C, draws: dict, fitted_C=None) -> None:
    """ValueError when a budget's median N_opt or D_opt is below one parameter or token, or its
    median N_opt is pinned at the whole isoFLOP search's floor, 10 parameters
    (:func:`floor_pinned` with ``whole_floor``), while the budget lies more than
    ``WARN_DECADES`` below the fitted budgets ``fitted_C`` ((low, high) FLOPs; None: not
    known, the floor alone decides): C (FLOPs, (Q,)) was surely given in other units
    (PF-days, 1e18 FLOPs), as predict refuses such a query. A median D_opt below one token
    whose draws mostly sit at the top of the search says so (:func:`top_edge_words`: the
    law's loss still falls at the largest size searched, so the budget may be in FLOPs after
    all). The floor check is needed because a searched N_opt is held to the floor, never
    below one; a draw held at a law's narrowed floor (Farseer: its fitted sizes / 100) says
    only that its optimum lies below that size, not below one parameter, and is left to the
    :class:`SearchEdgeWarning`."""
    for name, what in (("N_opt", "parameter"), ("D_opt", "token")):
        median = np.median(np.asarray(draws[name], float), axis=0)
        bad = np.flatnonzero(median < 1)
        if bad.size:
            shown = ", ".join(f"{C[i]:.3g}" for i in bad[:5])
            edge = top_edge_words(C, draws, int(bad[0])) if name == "D_opt" else ""
            raise ValueError(
                f"C = {shown} give a median {name} below one {what} ({median[bad[0]]:.3g})"
                f"{edge}: " + UNITS_HINT
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


def top_pinned(C, draws: dict) -> np.ndarray:
    """Per budget C (FLOPs, (Q,)), the share of the draws whose N_opt sits at the upper edge of
    the isoFLOP search range the law searched (:func:`searched_bounds`; flagged
    ``at_boundary`` with ln N_opt within a coarse step of the top): there the loss still falls
    at the largest size searched, how far beyond it unknown."""
    lo, hi = searched_bounds(C, draws)
    high = np.log(np.asarray(draws["N_opt"], float)) >= hi - coarse_step(C, (lo, hi))
    return (np.asarray(draws["at_boundary"], bool) & high).mean(axis=0)


def top_edge_words(C, draws: dict, q: int) -> str:
    """'' or why budget ``q`` of C (FLOPs, (Q,)) gives a median D_opt below one token when
    most of its draws sit at the top of the search (:func:`top_pinned`): the law's loss still
    falls at the largest size searched, whose tokens at that budget are below one; the
    budget itself may be in FLOPs (the units hint that follows is then not the cause)."""
    share = float(top_pinned(C, draws)[q])
    if share <= 0.5:
        return ""
    top = float(np.exp(np.median(searched_bounds(C, draws)[1][:, q])))  # params
    return (
        f", because in {share:.0%} of the draws the law's loss still falls at the largest size "
        f"searched, N = {top:.3g} params, where the compute model leaves under one token: the law "
        "has no optimum with a token to train on at this budget (one far below the fitted "
        "budgets, or not in FLOPs)"
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


def warn_at_edge(C, draws: dict, extrapolation: str, caller: str) -> None:
    """A :class:`SearchEdgeWarning` (:func:`edge_message`) when any budget's share of the
    allocation ``draws`` at the search edge (their ``at_boundary``, (S, Q) bool) is > 0, naming
    the range the law searched (:func:`searched_range`)."""
    share = np.asarray(draws["at_boundary"], bool).mean(axis=0)
    message = edge_message(C, share, extrapolation, caller, searched_range(C, draws))
    if message:
        warnings.warn(message, SearchEdgeWarning, stacklevel=user_stacklevel())
