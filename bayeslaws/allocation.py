"""Compute-optimal allocation from a posterior: N_opt(C), D_opt(C), L_opt(C) per draw.

For a loss surface L(N, D) and a compute model ``C = flops_per_token(N) * D``, the
compute-optimal size at budget C minimises L(N, D(N, C)) along the isoFLOP line. Every
posterior draw gives one optimum, so the optimum has a posterior too.

* Chinchilla form under ``C = k N D`` (k = 6 by default, Yin et al.'s video count is also
  linear in N): closed form, with ``a = beta / (alpha + beta)``::

      ln N_opt = [ln(alpha A / (beta B)) + beta ln(C / k)] / (alpha + beta)

* Any other law or compute model (Kaplan form, a user callable): a numerical minimisation of
  ln L along the isoFLOP line in ln N, vectorised in JAX over draws and budgets (a coarse grid,
  three zoomed grids around each draw's minimum, then parabolic interpolation; ~1e-5 in ln N).
  Draws whose optimum lies at the edge of the search range are counted in ``at_boundary``.
* The isoFLOP law (``law="isoflop"``) carries N_opt = k C^a itself; its draws are used as is.

Units: N in parameters, D in tokens, C in FLOPs, L in the fit's loss units.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .compute import as_compute_model
from .predict import group_index

COARSE_POINTS = 512
ZOOM_POINTS = 33
ZOOM_ROUNDS = 3


# ---- input checks ------------------------------------------------------------------------------
def _budgets(C, name: str = "C") -> np.ndarray:
    if C is None:
        raise ValueError(f"{name} is required: one or more compute budgets in FLOPs")
    arr = np.atleast_1d(np.asarray(C, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a number or a non-empty 1-d sequence, got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(
            f"{name} must be finite and positive (FLOPs); bad at positions {np.where(bad)[0]}"
        )
    return arr


def _check_ci(ci: float, name: str = "ci") -> float:
    if not isinstance(ci, int | float) or not 0 < ci < 1:
        raise ValueError(f"{name} must be in (0, 1), got {ci!r}")
    return float(ci)


def _linear_k(model) -> float | None:
    """k if the compute model is C = k N D, else None."""
    k = getattr(model.flops_per_token, "flops_per_param_token", None)
    return None if k is None else float(k)


def _compute_model(fit, compute_model):
    if compute_model is not None:
        return as_compute_model(compute_model)
    return fit.compute_model


# ---- draws -------------------------------------------------------------------------------------
def _surface_parts(fit, group, seed):
    from .laws.base import Scales

    law = fit.law
    if "scales" not in fit.spec or not hasattr(law, "log_loss"):
        raise ValueError(f"law {fit.spec['law']!r} is not a loss surface L(N, D)")
    rng = np.random.default_rng(seed)
    theta = law.theta_draws(fit.draws(), fit.priors, group_index(fit, group), rng)
    theta = {k: np.asarray(v, float) for k, v in theta.items()}
    return law, theta, Scales(**fit.spec["scales"])


def _surface_log_loss(law, theta, scales, model, C, u):
    """ln L along isoFLOP lines: u = ln N of shape (S, Q, G), C of shape (Q,).

    Evaluated in float64: near the optimum ln L is flat, and float32 rounding (~1e-7) would
    limit the located optimum to ~0.5% in N.
    """
    N = np.exp(np.asarray(u, float))
    D = model.tokens(N, np.asarray(C, float)[None, :, None])
    with jax.enable_x64(True):
        x = jnp.asarray(np.log(N)) - scales.log_N_ref
        y = jnp.asarray(np.log(D)) - scales.log_D_ref
        th = {k: jnp.asarray(np.asarray(v, float))[:, None, None] for k, v in theta.items()}
        return np.asarray(law.log_loss(th, x, y, scales) + scales.log_L_ref)


def _search_range(C):
    """ln N search bounds per budget: 10 parameters up to 1e6 * sqrt(C)."""
    lo = np.full_like(C, np.log(10.0))
    hi = 0.5 * np.log(C) + np.log(1e6)
    return lo, hi


def _minimise(f, C, S):
    """Minimise f(u) (u: (S, Q, G) -> values (S, Q, G)) over u per draw and budget.

    Returns (u_opt (S, Q), f(u_opt) (S, Q), at_boundary (S, Q) bool).
    """
    Q = len(C)
    lo, hi = _search_range(C)
    grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, COARSE_POINTS)[None, :]
    u = np.broadcast_to(grid[None], (S, Q, COARSE_POINTS))
    vals = np.asarray(f(u))
    i = np.argmin(vals, axis=-1)
    at_boundary = (i == 0) | (i == COARSE_POINTS - 1)
    step = (hi - lo)[None, :] / (COARSE_POINTS - 1) * np.ones((S, 1))
    centre = np.take_along_axis(u, i[..., None], -1)[..., 0]
    offsets = np.linspace(-1.0, 1.0, ZOOM_POINTS)
    for _ in range(ZOOM_ROUNDS):
        u = centre[..., None] + step[..., None] * offsets
        vals = np.asarray(f(u))
        i = np.clip(np.argmin(vals, axis=-1), 1, ZOOM_POINTS - 2)
        centre = np.take_along_axis(u, i[..., None], -1)[..., 0]
        step = step * 2.0 / (ZOOM_POINTS - 1)
    # parabolic interpolation through the three points around the minimum
    h = step  # spacing of the last grid
    fm = np.take_along_axis(vals, (i - 1)[..., None], -1)[..., 0]
    f0 = np.take_along_axis(vals, i[..., None], -1)[..., 0]
    fp = np.take_along_axis(vals, (i + 1)[..., None], -1)[..., 0]
    denom = fm - 2 * f0 + fp
    shift = np.where(denom > 0, 0.5 * h * (fm - fp) / np.where(denom > 0, denom, 1.0), 0.0)
    u_opt = centre + np.clip(shift, -h, h)
    f_opt = np.asarray(f(u_opt[..., None]))[..., 0]
    return u_opt, np.minimum(f_opt, f0), at_boundary


def allocation_draws(fit, C, compute_model=None, group=None, seed: int = 0, method="auto") -> dict:
    """Posterior draws of the compute-optimal allocation at budgets C.

    Parameters
    ----------
    fit : a loss-surface fit (chinchilla, kaplan, ...) or an isoflop fit.
    C : budgets in FLOPs (number or 1-d sequence).
    compute_model : override the fit's compute model (a ComputeModel, k for C = kND, a callable).
    group : a fitted group's label; None with a grouped fit means a new group.
    seed : seeds new-group draws.
    method : "auto" (closed form where it exists), "closed_form" or "numerical".

    Returns
    -------
    dict of arrays (S, Q): ``N_opt``, ``D_opt``, ``L_opt``, ``at_boundary`` (bool), and
    ``method`` (a string).
    """
    C = _budgets(C)
    if method not in ("auto", "closed_form", "numerical"):
        raise ValueError(f"method must be 'auto', 'closed_form' or 'numerical', got {method!r}")
    model = _compute_model(fit, compute_model)
    law = fit.law
    if hasattr(law, "allocation_draws"):
        return law.allocation_draws(fit, C, compute_model=model, group=group, seed=seed)
    law, theta, scales = _surface_parts(fit, group, seed)
    k = _linear_k(model)
    closed = law.name == "chinchilla" and k is not None
    if method == "closed_form" and not closed:
        raise ValueError(
            "method='closed_form' needs the chinchilla law and a compute model C = k N D; "
            f"got law {law.name!r} and compute model {model.name!r}"
        )
    S = len(next(iter(theta.values())))
    f = lambda u: _surface_log_loss(law, theta, scales, model, C, u)  # noqa: E731
    if closed and method != "numerical":
        al, be = theta["alpha"][:, None], theta["beta"][:, None]
        lc = np.log(C / k)[None, :]
        u = (
            np.log(al / be)
            + theta["a"][:, None]
            - theta["b"][:, None]
            + al * scales.log_N_ref
            + be * (lc - scales.log_D_ref)
        ) / (al + be)
        log_L = np.asarray(f(u[..., None]))[..., 0]
        at_boundary = np.zeros(u.shape, bool)
        used = "closed_form"
    else:
        u, log_L, at_boundary = _minimise(f, C, S)
        used = "numerical"
    N_opt = np.exp(u)
    return {
        "N_opt": N_opt,
        "D_opt": np.asarray(model.tokens(N_opt, C[None, :])),
        "L_opt": np.exp(log_L),
        "at_boundary": at_boundary,
        "method": used,
    }


def _quantiles(x, ci):
    lo, med, hi = np.quantile(x, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
    return med, lo, hi


def optimal_allocation(
    fit, C, ci: float = 0.9, compute_model=None, group=None, seed: int = 0, method="auto"
) -> pd.DataFrame:
    """Compute-optimal model size, tokens and loss per budget, with credible intervals.

    ``bl.optimal_allocation(fit, C=[1e21, 1e22, 1e24])``

    Parameters
    ----------
    fit : a fitted loss surface (chinchilla, kaplan, ...) or isoFLOP law.
    C : budget(s) in FLOPs.
    ci : central credible-interval mass (0.9 -> 5% and 95% quantiles).
    compute_model : override the fit's compute model, e.g.
        ``bayeslaws.compute.video_dit(n_ctx, d_model)`` or any ``custom(callable)``.
    group, seed, method : see :func:`allocation_draws`.

    Returns
    -------
    DataFrame, one row per budget: C; N_opt, N_opt_lower, N_opt_upper (params); D_opt, ...
    (tokens); L_opt, ... (loss); tokens_per_param (median D_opt / N_opt); ci; method;
    at_boundary (share of draws whose optimum hit the search range's edge: > 0 means widen
    the search or distrust the upper tail).
    """
    ci = _check_ci(ci)
    C = _budgets(C)
    draws = allocation_draws(fit, C, compute_model, group, seed, method)
    out = {"C": C}
    for name in ("N_opt", "D_opt", "L_opt"):
        med, lo, hi = _quantiles(draws[name], ci)
        out[name], out[f"{name}_lower"], out[f"{name}_upper"] = med, lo, hi
    out["tokens_per_param"] = np.median(draws["D_opt"] / draws["N_opt"], axis=0)
    out["ci"] = ci
    out["method"] = draws["method"]
    out["at_boundary"] = np.asarray(draws["at_boundary"]).mean(axis=0)
    return pd.DataFrame(out)


def allocation_laws(
    fit,
    C_range=None,
    ci: float = 0.9,
    compute_model=None,
    group=None,
    n_budgets: int = 9,
    seed: int = 0,
) -> pd.DataFrame:
    """The fitted power laws N_opt = k C^a, D_opt = k C^a and L_opt = k C^a, with intervals.

    Each posterior draw's allocation at ``n_budgets`` log-spaced budgets across ``C_range``
    (default: the fitted runs' range of C) is regressed in log-log, giving a (k, a) per draw.
    For the Chinchilla form under C = k N D the N_opt and D_opt laws are exact power laws (any
    range gives the same answer); L_opt is not (it has the floor E), so its (k, a) is the
    best power law over ``C_range`` — Liang et al.'s form.

    Returns a DataFrame indexed by quantity (N_opt, D_opt, L_opt) with columns coef,
    coef_lower, coef_upper, exponent, exponent_lower, exponent_upper, C_low, C_high, ci.
    """
    ci = _check_ci(ci)
    if C_range is None:
        C_range = fit.spec.get("ranges", {}).get("C")
        if C_range is None:
            raise ValueError("C_range is required for this fit (it records no fitted range of C)")
    lo_hi = _budgets(C_range, "C_range")
    if lo_hi.size != 2 or lo_hi[0] >= lo_hi[1]:
        raise ValueError(f"C_range must be (low, high) with low < high, got {C_range!r}")
    if not isinstance(n_budgets, int) or n_budgets < 2:
        raise ValueError(f"n_budgets must be an integer >= 2, got {n_budgets!r}")
    C = np.geomspace(lo_hi[0], lo_hi[1], n_budgets)
    draws = allocation_draws(fit, C, compute_model, group, seed)
    lc = np.log(C)
    lc_c = lc - lc.mean()
    rows = []
    for name in ("N_opt", "D_opt", "L_opt"):
        ly = np.log(draws[name])
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
            }
        )
    return pd.DataFrame(rows).set_index("quantity")


# ---- near-optimal band -----------------------------------------------------------------------
@dataclass
class NearOptimal:
    """Which model sizes stay within ``tolerance`` of the optimal loss at budget C.

    Attributes
    ----------
    C, tolerance, prob : the budget (FLOPs), the relative loss tolerance and the probability
        threshold that defines the band.
    table : DataFrame per candidate N: N, D, prob_within (posterior probability that
        L(N) <= (1 + tolerance) L_opt), excess (median relative excess loss L(N)/L_opt - 1),
        excess_lower, excess_upper, loss, loss_lower, loss_upper.
    N_opt : posterior median of the optimal size; N_opt_lower, N_opt_upper its interval.
    band : (N_low, N_high), the range of N with prob_within >= prob (None if empty).
    smallest : dict for the smallest N in the band: N, D, size_vs_optimal (N / median N_opt
        - 1, e.g. -0.4 = a 40% smaller model), loss and excess with intervals (None if empty).
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

    def __repr__(self) -> str:
        head = (
            f"NearOptimal(C={self.C:.3g} FLOPs, tolerance={self.tolerance:.3g}, "
            f"prob>={self.prob:g}): N_opt {self.N_opt:.4g} "
            f"[{self.N_opt_lower:.4g}, {self.N_opt_upper:.4g}]"
        )
        if self.band is None:
            return head + "; no N is within tolerance with that probability"
        s = self.smallest
        return (
            f"{head}; band N in [{self.band[0]:.4g}, {self.band[1]:.4g}]; smallest N "
            f"{s['N']:.4g} ({100 * s['size_vs_optimal']:+.1f}% vs N_opt) costs "
            f"{100 * s['excess']:.3g}% loss [{100 * s['excess_lower']:.3g}, "
            f"{100 * s['excess_upper']:.3g}]"
        )


def _profile_log_loss(fit, C, N, model, group, seed):
    """ln L(N, C) along one isoFLOP line for every draw: (S, G)."""
    law = fit.law
    if hasattr(law, "profile_log_loss_draws"):
        return law.profile_log_loss_draws(fit, C, N, group=group, seed=seed)
    law, theta, scales = _surface_parts(fit, group, seed)
    u = np.log(N)[None, None, :]
    S = len(next(iter(theta.values())))
    return np.asarray(
        _surface_log_loss(
            law, theta, scales, model, np.array([C]), np.broadcast_to(u, (S, 1, len(N)))
        )
    )[:, 0, :]


def near_optimal(
    fit,
    C,
    tolerance: float = 0.01,
    *,
    prob: float = 0.9,
    N=None,
    n_grid: int = 241,
    span_decades: float = 1.5,
    ci: float = 0.9,
    compute_model=None,
    group=None,
    seed: int = 0,
) -> NearOptimal:
    """The sizes within ``tolerance`` of the optimal loss at budget C, and the smallest of them.

    For each candidate N on the isoFLOP line of budget C (D from the compute model) and each
    posterior draw, the model is near-optimal if L(N) <= (1 + tolerance) * L_opt, L_opt that
    draw's optimal loss. The posterior probability of that, per N, defines the band (prob >=
    ``prob``); its smallest N is the cheapest model to serve at (nearly) the optimal loss.

    Parameters
    ----------
    fit : loss-surface or isoflop fit.
    C : one budget in FLOPs.
    tolerance : relative loss tolerance (0.01 = within 1% of the optimal loss).
    prob : probability threshold for the band.
    N : candidate sizes (params); default ``n_grid`` log-spaced sizes within ``span_decades``
        of the posterior median N_opt.
    ci : interval mass for the reported intervals.
    compute_model, group, seed : as in :func:`optimal_allocation`.
    """
    C_arr = _budgets(C)
    if C_arr.size != 1:
        raise ValueError(f"C must be a single budget for near_optimal, got {C_arr.size} values")
    C = float(C_arr[0])
    if not isinstance(tolerance, int | float) or not tolerance > 0 or not np.isfinite(tolerance):
        raise ValueError(f"tolerance must be a positive number (relative loss), got {tolerance!r}")
    prob = _check_ci(prob, "prob")
    ci = _check_ci(ci)
    model = _compute_model(fit, compute_model)
    alloc = allocation_draws(fit, C_arr, model, group, seed)
    n_opt = alloc["N_opt"][:, 0]
    log_L_opt = np.log(alloc["L_opt"][:, 0])
    N_med, N_lo, N_hi = _quantiles(n_opt, ci)
    if N is None:
        if not isinstance(n_grid, int) or n_grid < 3:
            raise ValueError(f"n_grid must be an integer >= 3, got {n_grid!r}")
        N = np.geomspace(N_med * 10**-span_decades, N_med * 10**span_decades, n_grid)
    else:
        N = np.sort(_budgets(N, "N"))
    log_L = _profile_log_loss(fit, C, N, model, group, seed)
    # the grid may straddle the optimum: never count a draw's L below its own optimum
    log_L_opt = np.minimum(log_L_opt, log_L.min(axis=1))
    excess = np.exp(log_L - log_L_opt[:, None]) - 1.0
    within = excess <= tolerance
    p = within.mean(axis=0)
    e_med, e_lo, e_hi = _quantiles(excess, ci)
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
        }
    return NearOptimal(
        C, float(tolerance), prob, ci, table, float(N_med), float(N_lo), float(N_hi), band, smallest
    )
