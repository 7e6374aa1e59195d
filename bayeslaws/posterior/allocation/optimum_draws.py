"""Posterior draws of the compute-optimal allocation (:func:`allocation_draws`: N_opt, D_opt,
L_opt per draw and budget, through the law's contract) and of the irreducible loss of the
model they come from (:func:`floor_draws`): what the allocation tables and the near-optimal
band summarise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..draws import check_fit, check_range, check_seed
from ..extrapolation import DEFAULT_METHOD
from ..model import ModelView
from .checks import budget_array, compute_model_of
from .edges import refuse_below_one


def allocation_draws(
    fit,
    C,
    compute_model=None,
    group=None,
    seed: int = 0,
    method="auto",
    extrapolation: str = DEFAULT_METHOD,
    *,
    positions: bool = True,
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
    positions : name the budgets' positions in C in the warning for a budget far outside the
        fitted range (False for one budget asked alone, e.g. by :func:`~.band.near_optimal`, which
        has no positions to name).

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
    C = budget_array(C)
    # warns when C looks like it is not in FLOPs (a fitted group: against its own runs' range)
    check_range(fit, pd.DataFrame({"C": C}), positions=positions, group=group)
    if method not in ("auto", "closed_form", "numerical"):
        raise ValueError(f"method must be 'auto', 'closed_form' or 'numerical', got {method!r}")
    model = compute_model_of(fit, compute_model)
    view = ModelView.of(fit, extrapolation, check_seed(seed))
    draws = view.allocation(C, model, group=group, method=method)
    refuse_below_one(C, draws, (fit.record.ranges or {}).get("C"))
    return draws


def floor_draws(fit, group, seed, extrapolation) -> np.ndarray | None:
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
