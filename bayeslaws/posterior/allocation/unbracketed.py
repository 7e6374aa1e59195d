"""Fitted budgets whose runs do not bracket their vertex (an isoFLOP law's share of vertex
draws outside the sizes run at a budget) and the :class:`~.categories.UnbracketedVertexWarning`
that names them (:func:`unbracketed_message`, :func:`warn_unbracketed`)."""

from __future__ import annotations

import warnings

import numpy as np

from ...runs.warn import user_stacklevel
from .categories import UnbracketedVertexWarning
from .distance import NAMED_BUDGETS

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
