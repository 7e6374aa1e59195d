"""The allocation tables: the compute-optimal N_opt, D_opt and L_opt per budget with credible
intervals (:func:`optimal_allocation`) and the power laws k C^a fitted to them
(:func:`allocation_laws`), each issuing the allocation's warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...runs.checks import check_integer
from ..draws import check_fit, labelled, shared_index, warn_new_group
from ..extrapolation import DEFAULT_METHOD
from ..extrapolation.distance import fitted_label
from ..predict import check_ci
from .checks import budget_array, compute_model_of
from .distance import outside_columns, warn_outside_range
from .edges import searched_range, warn_at_edge
from .far import far_draws, far_share, warn_far_draws
from .kinks import warn_at_kink
from .nominal import warn_nominal
from .optimum_draws import allocation_draws, floor_draws
from .unbracketed import warn_unbracketed


def median_interval(x, ci):
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
    ``group`` asked for, as :func:`~..predict.predict` gives it; only when one is); C; N_opt,
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
    end once their share on a side passes (1 - ci) / 2); for a law that searches for the
    optimum (loss surfaces) N_searched_low, N_searched_high (params: the range of N searched at
    the budget, whose edge at_boundary flags; a law may narrow it, Farseer to its fitted sizes
    +- 2 decades; the SearchEdgeWarning names the same, :func:`~.edges.searched_range`); for an
    isoFLOP law also
    fitted_budget (True: a budget the law was fitted on, answered by that budget's own fitted
    vertex, so its interval is narrower than a nearby new budget's, which carries the
    budget-to-budget scatter) and vertex_outside_sampled (the
    share of a fitted budget's N_opt draws outside the sizes run at it, NaN for a new budget;
    above ``UNBRACKETED_SHARE``, 20%, an :class:`UnbracketedVertexWarning` says that budget's
    vertex is set by the pooled curvature and trend, not by its own runs); C_outside_decades,
    N_outside_decades, D_outside_decades: how far the budget and its median N_opt and D_opt
    lie outside the fitted range (signed decades, 0 inside, as :func:`~..predict.predict`
    gives: for a fitted group of a grouped fit, that group's own runs' range; any beyond
    ``WARN_DECADES``, 100x, issues one :class:`ExtrapolationWarning` per call). On a fit of
    nominal budgets (the runs' C is not the compute model's FLOPs of their N and D, e.g.
    Marin's isoFLOP runs) a :class:`NominalComputeWarning` says that D_opt is the compute
    model's C / flops_per_token(N_opt), not the tokens such a run trains on.
    """
    check_fit(fit)
    ci = check_ci(ci)
    index = shared_index(C=C)
    C = budget_array(C)
    draws = allocation_draws(fit, C, compute_model, group, seed, method, extrapolation)
    warn_at_edge(C, draws, extrapolation, "optimal_allocation")
    warn_at_kink(
        fit, C, draws["N_opt"], compute_model, extrapolation, "optimal_allocation", group=group
    )
    out = {"C": C}
    for name in ("N_opt", "D_opt", "L_opt"):
        med, lo, hi = median_interval(draws[name], ci)
        out[name], out[f"{name}_lower"], out[f"{name}_upper"] = med, lo, hi
    out["tokens_per_param"] = np.median(draws["D_opt"] / draws["N_opt"], axis=0)
    out["ci"] = ci
    out["method"] = draws["method"]
    out["at_boundary"] = np.asarray(draws["at_boundary"]).mean(axis=0)
    far = far_draws(fit, draws, floor_draws(fit, group, seed, extrapolation), group)
    out["far_outside"] = far_share(far)
    if "search_lo" in draws:  # a law that searches: the range whose edge at_boundary flags
        out["N_searched_low"], out["N_searched_high"] = searched_range(C, draws)
    if "fitted_budget" in draws:  # a law whose fitted budgets answer with their own vertex
        out["fitted_budget"] = np.asarray(draws["fitted_budget"]).all(axis=0)
    if "vertex_outside_sampled" in draws:  # share of vertex draws outside the sizes run there
        out["vertex_outside_sampled"] = np.asarray(draws["vertex_outside_sampled"]).mean(axis=0)
    warn_unbracketed(C, draws, "optimal_allocation")
    outside = outside_columns(fit, group, C, out["N_opt"], out["D_opt"], compute_model)
    out.update(outside)
    warn_outside_range(fit, C, outside, extrapolation, "optimal_allocation", group=group)
    warn_far_draws(fit, C, far, outside, extrapolation, "optimal_allocation", group=group)
    warn_nominal(fit, compute_model_of(fit, compute_model), "optimal_allocation")
    warn_new_group(
        fit, group, "optimal_allocation", noted=_new_group_noted
    )
    table = pd.DataFrame(out)
    if group is not None:  # which group answers, by the fit's label, as predict says it
        label = fitted_label(fit, group)
        table.insert(0, "group", group if label is None else label)
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
    lo_hi = budget_array(C_range, "C_range")
    if lo_hi.size != 2 or lo_hi[0] >= lo_hi[1]:
        raise ValueError(f"C_range must be (low, high) with low < high, got {C_range!r}")
    n_budgets = check_integer("n_budgets", n_budgets, 2)
    C = np.geomspace(lo_hi[0], lo_hi[1], n_budgets)
    draws = allocation_draws(fit, C, compute_model, group, seed, extrapolation=extrapolation)
    warn_at_edge(C, draws, extrapolation, "allocation_laws")
    warn_at_kink(
        fit, C, draws["N_opt"], compute_model, extrapolation, "allocation_laws", group=group
    )
    far = far_draws(fit, draws, floor_draws(fit, group, seed, extrapolation), group)
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
        a_med, a_lo, a_hi = median_interval(slope, ci)
        k_med, k_lo, k_hi = median_interval(np.exp(log_coef), ci)
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
