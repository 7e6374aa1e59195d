"""A Gaussian-process model discrepancy learned from a fit's own training residuals.

When a functional form is slightly wrong, its residuals on the training runs are not noise: they
vary smoothly over (ln N, ln D) (on Epoch's Chinchilla points, the largest fitted runs are
over-predicted at low tokens-per-parameter and under-predicted at high), and the runs just beyond
the fitted range carry the same pattern, larger. This module models that pattern as

    ln L(N, D) = law(N, D) + delta(N, D) + noise,
    delta ~ GP(0, eta^2 exp(-|u - u'|^2_ell / 2)),    u = standardised (ln N, ln D)

(Kennedy & O'Hagan 2001), fitted post hoc: the residuals r_i = ln L_i - E[law(N_i, D_i)] of the
training runs (posterior mean of the law, no noise) are a GP draw plus independent noise, and the
hyperparameters (eta, ell_N, ell_D, noise sd) are their maximum a posteriori values under weak
priors (eta ~ HalfNormal(``ETA_PRIOR_SCALE``), ln ell ~ Normal(0, 1) in units of the training
runs' standard deviation; the search is over ln eta, with its Jacobian). A prediction then adds,
to every draw, a draw of delta from the GP conditional on the residuals: it shifts the
prediction by the smoothed residual pattern near the data and reverts to mean 0 and sd eta far
from it, so the interval widens where the training runs say nothing. With the correct form the
residuals carry no pattern, but eta does not go to 0: the Jacobian term +ln eta of the search
keeps it off zero, at a fraction of the noise sd, so intervals far from the runs come out
somewhat wider than the law's alone, and near the runs
the conditional mean is ~0 (``tests/test_calibration.py`` checks eta < 0.01 on a simulated fit
of the correct form). The estimator is left so: the validated numbers of
``benchmarks/calibration.py`` were computed with it.

**Grouped fits** get one GP per fitted group, each fitted on that group's own training runs and
residuals (against that group's law): group a's GP reads none of group b's residuals (b's runs
still reach a's predictions through the law's partially pooled parameters, as under ``"none"``),
and a prediction for a fitted group uses its group's GP (the state is ``{"method": "gp_groups",
"groups": {label: state or None}, "too_few": {label: reason}}``). A group with fewer than
``MIN_RUNS`` runs has none (``predict`` then falls back as for a fit with too few runs, saying
so once). A new, unseen group (``group=None`` on a grouped fit) has no residuals, so no learned
pattern: its discrepancy is the GP's prior, mean 0 and sd the largest of the fitted groups' eta
(:func:`prior_state`; warned once per fit). A pooled state saved with a grouped fit before this
(one GP over every group's residuals) is refitted per group from the fit's stored training runs.

Approximations, stated: the hyperparameters are point estimates (their uncertainty is not
propagated), and the residuals are taken against the posterior mean of the law rather than
jointly with it. A new run's draw is the law's new-run draw (its noise sigma, fitted without the
GP, already holds part of the pattern) plus delta: inside the fitted range the pattern is counted
twice and the intervals over-cover (``benchmarks/gp_inrange.py``; the coverage that chose this
default is beyond the range, ``benchmarks/calibration.py``). The delta draws are independent
across query points (each point's interval is exact; joint statements across points are not the
aim). The MAP noise sd can collapse towards 0, the GP then interpolating the noise: on
SIMULATED pure-noise residuals (sd 0.01) it fell below 1e-3 in 3 of 40 seeds on an 8 x 6 grid of
48 runs, 7/40 at 10 and 4/40 at 20 random runs, 0/40 at 40 and at 150
(``benchmarks/gp_noise_collapse.py``, ``benchmarks/output/gp_noise_collapse.txt``). Such a
fit (or one whose search did not converge) is warned and noted in its state (``"noise_note"``,
:func:`noise_note`), its numbers left as they are. The state (inputs, residuals,
hyperparameters) is JSON and travels with the fit in ``fit.cache["gp"]`` (:func:`gp_state`),
fitted to the fit's own training runs.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ...inference import progress
from ...runs.warn import warn_user
from .stacking import runs_for

# BLAS threads during the hyperparameter search: its thousands of small (<= 300 x 300)
# Cholesky factorisations gain nothing from threads and contend for the cores with them (on 2
# shared cores, at load 14.5-17.2, the search of a SIMULATED 1,000-run fit took 307-345 s with
# OpenBLAS's default 2 threads, 30-38 s with one: benchmarks/faults.py --gp-threads,
# benchmarks/output/gp_threads.txt).
SEARCH_THREADS = 1
ETA_PRIOR_SCALE = 0.02  # half-normal scale of the GP amplitude (ln-loss units)
MAX_FIT_RUNS = 300  # hyperparameters from at most this many runs (each search step is O(n^3))
MIN_RUNS = 6  # fewer training residuals cannot set the GP's 4 hyperparameters
JITTER = 1e-10
# a scaled distance |u - u'| / ell above this has kernel exp(-d^2 / 2) = 0 to float64 already;
# capped there, a search step to a tiny lengthscale squares it without overflow
SCALED_DISTANCE_CAP = 1e100
GROUPED = "gp_groups"  # the "method" of a grouped fit's state: one GP per fitted group
# a fitted noise sd below this share of the residuals' robust sd is suspect: the GP may be
# interpolating the run-to-run noise (on SIMULATED pure-noise residuals of sd 0.01 it fell below
# 1e-3 in 3 of 40 seeds on an 8 x 6 grid of 48 runs, 7/40 at 10 random runs, 4/40 at 20, 0/40 at
# 40 and 150: benchmarks/gp_noise_collapse.py, benchmarks/output/gp_noise_collapse.txt; on
# Epoch's and Marin's real runs it is 0.4-0.8 of their robust sd)
NOISE_FLOOR = 0.1
# the negative log posterior of a step to absurd hyperparameters (a kernel matrix that
# overflows or is not positive definite, a non-finite value or gradient): the search backs off
BACK_OFF = 1e25


def standardise(N, D, centre=None, scale=None):
    """Inputs u = ((ln N, ln D) - centre) / scale, shape (Q, 2), and the centre and scale used."""
    U = np.column_stack([np.log(np.asarray(N, float)), np.log(np.asarray(D, float))])
    centre = U.mean(0) if centre is None else np.asarray(centre, float)
    scale = U.std(0) if scale is None else np.asarray(scale, float)
    scale = np.where(scale > 0, scale, 1.0)
    return (U - centre) / scale, centre, scale


def kernel(A, B, eta: float, lengthscales) -> np.ndarray:
    """Squared-exponential kernel eta^2 exp(-0.5 sum((a - b) / ell)^2): (len(A), len(B))."""
    diff = (A[:, None, :] - B[None, :, :]) / np.asarray(lengthscales, float)
    return eta**2 * np.exp(-0.5 * (diff**2).sum(-1))


def _neg_log_posterior(log_params, U, r):
    """Negative log posterior of the hyperparameters (ln eta, ln ell_N, ln ell_D, ln noise)
    and its gradient (4,): the GP marginal likelihood of the residuals ``r`` (n,) at inputs
    ``U`` (n, 2), the priors, and the Jacobian of the log-parametrisation of eta."""
    from scipy import linalg  # on use: keeps `import bayeslaws.posterior` light

    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        value, grad = _log_posterior_terms(log_params, U, r, linalg)
    if not (np.isfinite(value) and np.all(np.isfinite(grad))):
        return BACK_OFF, np.zeros(4)
    return value, grad


def _log_posterior_terms(log_params, U, r, linalg):
    """:func:`_neg_log_posterior`'s value and gradient, computed as they come (non-finite for
    absurd hyperparameters, e.g. exp(ln ell) = 0); scaled distances are capped at
    ``SCALED_DISTANCE_CAP``, where the kernel is 0 already, so that a tiny lengthscale gives
    the kernel's limits (0, and 0 gradient) rather than overflow (inf * 0 = NaN)."""
    eta, ell_n, ell_d, noise = np.exp(log_params)
    scaled = (U[:, None, :] - U[None, :, :]) / np.array([ell_n, ell_d])
    sq = np.minimum(scaled**2, SCALED_DISTANCE_CAP**2)  # (n, n, 2)
    K_se = eta**2 * np.exp(-0.5 * sq.sum(-1))
    K = K_se + (noise**2 + JITTER) * np.eye(len(U))
    if not np.all(np.isfinite(K)):
        return BACK_OFF, np.zeros(4)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return BACK_OFF, np.zeros(4)
    a = linalg.solve_triangular(L, r, lower=True)
    log_lik = -0.5 * a @ a - np.log(np.diag(L)).sum()
    log_prior = -0.5 * (eta / ETA_PRIOR_SCALE) ** 2
    log_prior -= 0.5 * (np.log(ell_n) ** 2 + np.log(ell_d) ** 2)
    value = -(log_lik + log_prior + np.log(eta))
    # d(-log_lik)/dp = 0.5 tr((K^-1 - alpha alpha^T) dK/dp), alpha = K^-1 r
    K_inv = linalg.cho_solve((L, True), np.eye(len(U)))
    alpha = K_inv @ r
    M = K_inv - np.outer(alpha, alpha)
    dK = (2 * K_se, K_se * sq[..., 0], K_se * sq[..., 1])
    grad = [0.5 * np.sum(M * d) for d in dK] + [noise**2 * np.trace(M)]
    grad[0] += (eta / ETA_PRIOR_SCALE) ** 2 - 1.0
    grad[1] += np.log(ell_n)
    grad[2] += np.log(ell_d)
    return value, np.asarray(grad)


def fit_gp(N, D, residuals, max_fit_runs: int = MAX_FIT_RUNS) -> dict:
    """MAP GP hyperparameters for ``residuals`` (ln-loss units) at runs (N params, D tokens).

    The search is L-BFGS with the analytic gradient from four starts (it lands where the
    earlier Nelder-Mead search did, to ~1e-4 relative, 12-25x sooner) on at most
    ``max_fit_runs`` runs (a fixed random subset: each step is O(n^3)); predictions condition on
    every run. Returns the JSON-ready state: inputs, residuals, centre/scale, eta,
    lengthscales, noise, and how many runs set the hyperparameters."""
    from scipy import optimize

    r = np.asarray(residuals, float)
    if r.ndim != 1 or r.size < 3:
        raise ValueError(f"the GP discrepancy needs >= 3 residuals, got shape {r.shape}")
    shapes = {"N": np.shape(N), "D": np.shape(D)}
    if any(shape != r.shape for shape in shapes.values()):
        raise ValueError(
            "fit_gp: N, D and residuals must hold one value per run, got shapes "
            f"N {shapes['N']}, D {shapes['D']}, residuals {r.shape}"
        )
    U, centre, scale = standardise(N, D)
    sd = max(float(r.std()), 1e-6)
    subset = np.arange(r.size)
    if r.size > max_fit_runs:
        subset = np.sort(np.random.default_rng(0).choice(r.size, max_fit_runs, replace=False))
    starts = [np.log([e, ell, ell, sd]) for e in (0.3 * sd, sd) for ell in (0.3, 1.0)]
    message = (
        f"fitting the GP model discrepancy to {r.size} training residuals (hyperparameters from "
        f"{subset.size} runs; once per fit, kept in fit.cache)"
    )
    with progress.step(message), threadpool_limits(limits=SEARCH_THREADS):
        best = min(
            (
                optimize.minimize(
                    _neg_log_posterior,
                    x0,
                    args=(U[subset], r[subset]),
                    jac=True,
                    method="L-BFGS-B",
                    options={"maxiter": 500, "gtol": 1e-6},
                )
                for x0 in starts
            ),
            key=lambda o: o.fun,
        )
    eta, ell_n, ell_d, noise = (float(v) for v in np.exp(best.x))
    return {
        "method": "gp",
        "eta": eta,
        "lengthscales": [ell_n, ell_d],
        "noise": noise,
        "centre": centre.tolist(),
        "scale": scale.tolist(),
        "inputs": U.tolist(),
        "residuals": r.tolist(),
        "residual_sd": float(r.std()),
        "hyperparameter_runs": int(subset.size),
        "converged": bool(best.success),
    }


def robust_sd(values) -> float:
    """1.4826 x the median absolute deviation of ``values`` (the sd of normal values)."""
    v = np.asarray(values, float)
    return float(1.4826 * np.median(np.abs(v - np.median(v)))) if v.size else float("nan")


def noise_note(state: dict) -> str | None:
    """Why a fitted GP ``state`` (:func:`fit_gp`) may be interpolating noise (None: no sign of
    it): its noise sd below ``NOISE_FLOOR`` of its residuals' robust sd, or a hyperparameter
    search that did not converge. Reads the state only; changes nothing."""
    spread = robust_sd(state["residuals"])
    signs = []
    if state["noise"] < NOISE_FLOOR * spread:
        signs.append(
            f"its noise sd is below {NOISE_FLOOR:g} x the robust sd {spread:.3g} of its "
            f"{len(state['residuals'])} residuals"
        )
    if state.get("converged") is False:
        signs.append("its hyperparameter search (L-BFGS) did not converge")
    if not signs:
        return None
    ell = ", ".join(f"{v:.3g}" for v in state["lengthscales"])
    return (
        f"{' and '.join(signs)} (its fitted noise sd {state['noise']:.3g}, eta {state['eta']:.3g}, "
        f"lengthscales (ln N, ln D) {ell} in sd units): the GP may be interpolating run-to-run "
        "noise as a pattern, shifting predictions near the runs by it and narrowing their sd"
    )


def conditional(state: dict, N, D) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (Q,) of the discrepancy (ln-loss units) at query points given the training
    residuals (a :func:`prior_state`: mean 0, sd eta)."""
    U = np.asarray(state["inputs"], float)
    r = np.asarray(state["residuals"], float)
    V, _, _ = standardise(N, D, state["centre"], state["scale"])
    eta, ell = state["eta"], state["lengthscales"]
    if r.size == 0:  # a prior state (:func:`prior_state`): no runs to condition on
        return np.zeros(len(V)), np.full(len(V), float(eta))
    K = kernel(U, U, eta, ell) + (state["noise"] ** 2 + JITTER) * np.eye(len(U))
    Ks = kernel(U, V, eta, ell)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, r))
    W = np.linalg.solve(L, Ks)
    mean = Ks.T @ alpha
    var = np.maximum(eta**2 - (W**2).sum(0), 0.0)
    return mean, np.sqrt(var)


def draws(state: dict, N, D, n_draws: int, seed: int = 0) -> np.ndarray:
    """Discrepancy draws (n_draws, Q) at query points (independent across points: the marginal
    intervals per point are exact; joint statements across points are not the aim here)."""
    mean, sd = conditional(state, N, D)
    rng = np.random.default_rng([seed, 13])
    return mean[None, :] + sd[None, :] * rng.standard_normal((n_draws, mean.size))


def training_residuals(fit, runs) -> np.ndarray:
    """ln L of the training runs minus the law's posterior mean there (no noise): (n,); on a
    grouped fit each run against its own group's law."""
    mean = fit.law.fitted_log_mean(fit.posterior(), runs.df)
    return np.log(runs.df["loss"].to_numpy(float)) - mean


def is_grouped(fit) -> bool:
    """Whether ``fit`` has several groups (then it gets one GP per group)."""
    return len(fit.groups) > 1


def is_current(fit, state) -> bool:
    """Whether a cached ``state`` is of the kind ``fit`` uses: one GP per group on a grouped fit
    (a pooled state saved before that is not), one GP otherwise."""
    return bool(state) and (state.get("method") == GROUPED) == is_grouped(fit)


def too_few_reason(n_runs: int, group=None) -> str:
    """Why ``n_runs`` residuals (of ``group``, when given) set no GP."""
    whose = f"group {group!r} has" if group is not None else "the fit has"
    return (
        f"{whose} {n_runs} training runs and the GP needs >= {MIN_RUNS} residuals to set its 4 "
        "hyperparameters; fit more runs for a discrepancy learned from them"
    )


def fit_state(fit, runs, residuals, what: str = "the GP discrepancy") -> dict:
    """The GP state of ``residuals`` (n,) at ``runs`` (a RunTable): one GP for a fit without
    groups (:func:`fit_gp`); for a grouped fit one per fitted group, on that group's own runs
    (column ``group``), None with a reason for a group of fewer than ``MIN_RUNS`` runs. A GP
    that may be interpolating noise (:func:`noise_note`) is warned (naming ``what``, and the
    group) and its note kept in its state (``"noise_note"``; None when there is no sign)."""
    df = runs.df
    N, D = df["N"].to_numpy(float), df["D"].to_numpy(float)
    r = np.asarray(residuals, float)
    if not is_grouped(fit):
        return noted(fit_gp(N, D, r), what)
    return group_states(N, D, r, df["group"], fit.groups, what)


def group_states(N, D, residuals, labels, groups, what: str | None = None) -> dict:
    """One GP per group of ``groups`` (labels, compared as text): each fitted (:func:`fit_gp`)
    on the runs whose ``labels`` (n,) name it alone, its ``residuals`` (n,) at (N params, D
    tokens), None with a reason for a group of fewer than ``MIN_RUNS`` runs. The grouped state
    ``{"method": GROUPED, "groups": {label: state or None}, "too_few": {label: reason}}``.
    ``what``: a GP that may be interpolating noise is warned naming it (and the group) and its
    note kept (:func:`noted`); None: neither (the scale-out refits' GPs,
    :func:`.distance.scale_out_splits`)."""
    N, D = np.asarray(N, float), np.asarray(D, float)
    r = np.asarray(residuals, float)
    labels = np.asarray(labels).astype(str)
    states, too_few = {}, {}
    for group in (str(g) for g in groups):
        own = labels == group
        if own.sum() < MIN_RUNS:
            states[group] = None
            too_few[group] = too_few_reason(int(own.sum()), group)
            continue
        state = fit_gp(N[own], D[own], r[own])
        states[group] = state if what is None else noted(state, f"{what} of group {group!r}")
    return {"method": GROUPED, "groups": states, "too_few": too_few}


def noted(state: dict, what: str) -> dict:
    """``state`` with its :func:`noise_note` kept (``"noise_note"``), warned (UserWarning
    naming ``what``) when there is one."""
    note = noise_note(state)
    state["noise_note"] = note
    if note:
        warn_user(f"{what}: {note}", UserWarning)
    return state


def prior_state(eta: float) -> dict:
    """A GP state with no runs to condition on: mean 0 and sd ``eta`` (ln-loss units) at every
    point (a new group's discrepancy)."""
    return {
        "method": "gp_prior",
        "eta": float(eta),
        "lengthscales": [1.0, 1.0],
        "noise": 0.0,
        "centre": [0.0, 0.0],
        "scale": [1.0, 1.0],
        "inputs": [],
        "residuals": [],
    }


def for_group(fit, state: dict, group) -> tuple[dict | None, str | None]:
    """The one-GP state a prediction for ``group`` uses, and a note when it is not a pattern
    learned from that group's runs: ``(state, None)`` for a fit without groups or a fitted
    group with its own GP; ``(None, reason)`` for a group with too few runs; for a new group
    (``group=None`` on a grouped fit) ``(prior_state(max eta), note)``, or ``(None, reason)``
    when no group has a GP."""
    from ...laws.contract import group_label

    if state.get("method") != GROUPED:
        return state, None
    label = group_label(fit.groups, group)
    if label is not None:
        own = state["groups"].get(label)
        return own, None if own else state["too_few"].get(label, f"group {label!r} has no GP")
    etas = {g: s["eta"] for g, s in state["groups"].items() if s}
    if not etas:
        return None, "a new, unseen group, and no fitted group has runs enough for a GP"
    note = "group=None asks for a new, unseen group, which has no residuals of its own"
    return prior_state(max(etas.values())), note


def gp_state(fit, runs=None) -> dict:
    """Fit the GP discrepancy to ``fit``'s training residuals and keep it in
    ``fit.cache["gp"]`` (one GP per group on a grouped fit, :func:`fit_state`). Its runs: the
    fit's own stored training runs whenever it stores them (``runs``, when given, must then
    hold them, and its other rows, e.g. held-out runs, are not used: :func:`.stacking.runs_for`);
    ``runs`` as given only for a fit that stores none. Returns the state."""
    runs = runs_for(fit, runs, "the GP discrepancy")
    if runs is None:
        raise ValueError("the GP discrepancy needs the training runs (none given, none stored)")
    state = fit_state(fit, runs, training_residuals(fit, runs))
    fit.cache["gp"] = state
    return state


def form_state(fit, law, post, key: str) -> dict | None:
    """The GP discrepancy of one functional form's training residuals (``law`` with posterior
    ``post``; per group on a grouped fit), kept in ``fit.cache[key]``; None when the fit holds
    no training runs (and no current state is cached)."""
    if is_current(fit, fit.cache.get(key)):
        return fit.cache[key]
    runs = fit.training_runs()
    if runs is None:
        return None
    residuals = np.log(runs.df["loss"].to_numpy(float)) - law.fitted_log_mean(post, runs.df)
    what = "the GP discrepancy" if key == "gp" else f"the GP discrepancy of form {key[3:]!r}"
    state = fit_state(fit, runs, residuals, what)
    fit.cache[key] = state
    return state


__all__ = [
    "GROUPED",
    "MIN_RUNS",
    "conditional",
    "draws",
    "fit_gp",
    "fit_state",
    "for_group",
    "form_state",
    "group_states",
    "gp_state",
    "is_current",
    "is_grouped",
    "kernel",
    "noise_note",
    "prior_state",
    "standardise",
    "training_residuals",
]
