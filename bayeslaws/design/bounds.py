"""Confirmation of the Gaussian estimate (``bounds``), from one matrix of log-likelihoods
``log p(y_n | theta_m)`` (outer draws n with outcomes simulated from the law's own noise family,
all S draws as inner samples).

The noise is the one the Gaussian value assumes: known, the law's family (Student-t at the
posterior median of nu) at the scale whose information-equivalent variance
(:func:`~.gaussian.info_equivalent_var_factor`) is each observation's ``Problem.obs_var``, the
variance the Gaussian value uses. So NMC and PCE estimate the same
``I(f(theta, d); y_d | noise)`` as ``gaussian_all`` and bracket it (up to Monte Carlo error)
when the predictions are near Gaussian; drawing the noise scale per draw made them the
information about (theta, sigma) jointly, above the Gaussian value (0.16 against 0.09 nats).

* ``nmc``: nested Monte Carlo of ``I(theta; y_d)``, the inner sum excluding the outer draw: an
  **upper bound** in expectation (Rainforth et al. 2018). By data processing it also bounds the
  information the *outcome* carries about any target from above (the ``gaussian`` column, for
  one component or the joint criterion "info"; the default "marginal" sums T components'
  informations, each bounded, so up to T times it). It does not bound the design value
  ``info`` of :func:`~.batch.next_runs` under a drift model: that adds the drift a unit removes
  by widening the training range (``gaussian_drift``), which no outcome carries and no bound
  here covers.
* ``pce``: prior contrastive estimation (Foster et al. 2020), inner sum including the outer draw:
  a **lower bound** on ``I(theta; y_d)`` (not on a target's information).
* ``reweighted``: the outcome's information about the target with the exact (nonlinear)
  predictions and noise family, under the same criterion as ``gaussian`` (marginal: ``E_y[sum_j
  0.5 log Var t_j / Var(t_j | y)]``; info: the log det; v_optimal: the summed variance
  reduction), the posterior covariance of ``t`` given each simulated outcome by importance
  weights ``p(y_n | theta_m)`` over the draws (the unbiased weighted covariance, divided by
  ``1 - sum w^2``). As in ``gaussian``, ``t`` is the target without its drift beyond the
  training range (no outcome carries it; its heavy-tailed draws, kurtosis ~25, only added
  noise: 0.003 +- 0.004 nats for an outcome independent of the target), and the drift's
  variance is added back in closed form before and after. Outer draws whose weights' effective
  sample size ``1 / sum w^2`` is below ``MIN_ESS`` (10) are skipped (counted in ``n_skipped``):
  their covariance is noise and its log would add nats where there are none (skipping the most
  informative outcomes biases it down instead: watch n_skipped). Not a bound (a
  Gaussian-entropy approximation of the target), but it checks the linearisation.

Each estimate comes with its Monte Carlo standard error over the outer draws (``*_se``; nats).
On the same seed PCE - NMC is at most ``ln(S / (S - 1))`` by construction (PCE's inner sum adds
the outer draw's own term, which only lowers it, and divides by S instead of S - 1); NMC - PCE
is unbounded, and a large gap (PCE near its ceiling ``ln S``) flags too few draws for the
information, not a small Monte Carlo error.

A unit's observations carry the unknown levels the law gives them (``Problem.levels``: one per
new (N, D) cell), integrated out in closed form: their noise covariance is ``diag(var) +
sum_l nu_l 1_l 1_l^T`` over the unit's levels l, the one the Gaussian value uses.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..laws.likelihoods import observation
from ..runs.warn import user_stacklevel
from .candidates import positive_int
from .gaussian import (
    CRITERIA,
    DesignWarning,
    Problem,
    check_criterion,
    info_equivalent_var_factor,
    setup,
    unit_gains,
    unit_rows,
)

MIN_ESS = 10.0  # outer draws with fewer effective inner draws are skipped by ``reweighted``
LOW_ESS = 20.0  # a value whose weights' mean ESS is below this is flagged (DesignWarning)
SKIPPED_SHARE = 0.5  # ... or one that skips more than this share of its outer draws


def known_noise(p: Problem) -> tuple[np.ndarray, float | None]:
    """(scale (R,), nu or None): the fixed noise the Gaussian value assumes, in the family's
    parametrisation: nu the posterior median (Student-t), the scale whose
    information-equivalent variance ``scale**2 * info_equivalent_var_factor(family, nu)`` is
    ``p.obs_var`` (:func:`~.gaussian.info_equivalent_var_factor`), so the family's noise there
    carries the Fisher information about each observation's location the Gaussian value gives
    it."""
    nu = None if p.obs_nu is None else float(np.median(p.obs_nu))
    factor = float(info_equivalent_var_factor(p.family, nu))
    return np.sqrt(p.obs_var / factor), nu


def unit_member(p: Problem, u: int) -> tuple[np.ndarray, np.ndarray]:
    """(member (m, L), nu (L,)): which of unit u's observations (padded rows included) carry
    each of its L >= 1 unknown levels (1.0 or 0.0; :attr:`~.gaussian.Problem.levels`) and the
    levels' variances (0 for a unit without any)."""
    levels = p.levels[u]
    L = max(int(levels.max()) + 1, 1)
    member = (levels[:, None] == np.arange(L)[None, :]).astype(float)
    return member, p.level_var[u, :L].astype(float)


def _levels(nuis_u, member, m: int):
    """(nu (L,), member (m, L)): ``nuis_u`` a variance () and ``member`` None is one level
    carried by all m observations."""
    nuis_u = jnp.asarray(nuis_u)
    if member is None:
        return nuis_u.reshape(1), jnp.ones((m, 1))
    return nuis_u.reshape(-1), member


def simulate_outcomes(key, F, scale, nu, family, nuis_u, valid, outer, has_nuisance, member=None):
    """Outcomes y_n (n_out, m) of one unit simulated from outer draws ``outer`` (n_out,): the
    predictions F[outer] (S, m) plus the known noise (:func:`loglik_matrix`'s arguments); a
    unit with unknown levels (``has_nuisance``) adds each level l, drawn with variance
    ``nuis_u[l]`` per outcome, to the observations ``member[:, l]`` marks."""
    k1, k2 = jax.random.split(key)
    Fo = F[outer]
    if has_nuisance:
        var = scale**2 * info_equivalent_var_factor(family, nu)  # (m,): obs_var
        nus, member = _levels(nuis_u, member, Fo.shape[1])
        level = 0.0
        for lev in range(member.shape[1]):  # level 0 keeps the one-level draws of k1
            k = k1 if lev == 0 else jax.random.fold_in(k1, lev)
            z = jnp.sqrt(nus[lev]) * jax.random.normal(k, (len(outer), 1))
            level = level + z * member[None, :, lev]
        return Fo + level + jnp.sqrt(var)[None, :] * jax.random.normal(k2, Fo.shape)
    noise = observation(family, jnp.zeros_like(Fo), scale[None, :], nu)
    return Fo + noise.sample(k2)


def outcome_loglik(Y, F, scale, nu, family, nuis_u, valid, has_nuisance, member=None):
    """log p(y_n | theta_m): (n_out, S) of outcomes Y (n_out, m) under every draw's predictions
    F (S, m) (:func:`loglik_matrix`'s arguments). Memory n_out x S x m floats per level.

    With unknown levels: Gaussian with covariance ``diag(var) + sum_l nu_l 1_l 1_l^T``, each
    level integrated out in closed form (Woodbury; the levels' observations are disjoint, so
    the likelihood factorises over them)."""
    if has_nuisance:
        v = valid.astype(F.dtype)
        var = scale**2 * info_equivalent_var_factor(family, nu)  # (m,): obs_var
        prec = v / var  # padded observations carry nothing
        R = Y[:, None, :] - F[None, :, :]  # (n, S, m)
        nus, member = _levels(nuis_u, member, Y.shape[1])
        q = jnp.sum(R**2 * prec, -1)
        logdet = jnp.sum(jnp.where(valid, jnp.log(var), 0.0))
        for lev in range(member.shape[1]):
            p_l = prec * member[:, lev]
            tot = 1.0 + nus[lev] * jnp.sum(p_l)
            q = q - nus[lev] * jnp.sum(R * p_l, -1) ** 2 / tot
            logdet = logdet + jnp.log(tot)
        return -0.5 * (q + logdet + jnp.sum(v) * jnp.log(2 * jnp.pi))
    lp = observation(family, F[None, :, :], scale[None, None, :], nu).log_prob(Y[:, None, :])
    return jnp.sum(jnp.where(valid, lp, 0.0), -1)


def loglik_matrix(key, F, scale, nu, family, nuis_u, valid, outer, has_nuisance, member=None):
    """log p(y_n | theta_m): (n_out, S) for one unit, y_n simulated from outer draw ``outer[n]``.

    F (S, m) predictions of the unit's observations; scale (m,) their known noise scale
    (:func:`known_noise`) and nu the Student-t dof (a number) or None; valid (m,) mask; nuis_u
    (L,) the variances of the unit's unknown levels and member (m, L) the observations each
    level is added to (:func:`unit_member`; None: one level ``nuis_u`` () added to all m).
    ``has_nuisance``: Gaussian with the levels integrated out, each observation with the
    information-equivalent variance ``scale**2 * info_equivalent_var_factor(family, nu)``
    (``Problem.obs_var``, as the Gaussian value).
    """
    Y = simulate_outcomes(key, F, scale, nu, family, nuis_u, valid, outer, has_nuisance, member)
    return outcome_loglik(Y, F, scale, nu, family, nuis_u, valid, has_nuisance, member)


def mean_and_se(terms, keep=None):
    """(mean, Monte Carlo standard error) of per-outer-draw terms (n,), over ``keep`` (mask)."""
    keep = jnp.ones(terms.shape, bool) if keep is None else keep
    n = jnp.sum(keep)
    mean = jnp.sum(jnp.where(keep, terms, 0.0)) / n
    var = jnp.sum(jnp.where(keep, (terms - mean) ** 2, 0.0)) / jnp.maximum(n - 1, 1)
    return mean, jnp.sqrt(var / n)


def reweighted_terms(ll, t, criterion: str = "marginal", extra=None, extra_after=None):
    """Per outer draw (terms (n_out,), ESS (n_out,), posterior variances (n_out, T)): the
    target's information given outcome n from importance weights ``softmax(ll)`` (n_out, S) of
    the centred target draws t (S, T) (:func:`reweighted_information`, without the average).
    ``extra`` (T, T) is added to the prior covariance, ``extra_after`` (T, T; None: ``extra``)
    to each posterior one (e.g. the drift left after the runs, which no outcome changes)."""
    S, T = t.shape
    extra = jnp.zeros((T, T)) if extra is None else extra
    extra_after = extra if extra_after is None else extra_after
    w = jax.nn.softmax(ll, axis=1)  # (n, S) posterior weights of the draws given y_n
    w2 = jnp.sum(w**2, axis=1)
    ess = 1.0 / w2
    mean = w @ t
    cov = jnp.einsum("ns,st,su->ntu", w, t, t) - jnp.einsum("nt,nu->ntu", mean, mean)
    cov = cov / jnp.maximum(1.0 - w2, 1e-12)[:, None, None] + extra_after[None]
    prior = (t.T @ t / (S - 1)).reshape(T, T) + extra
    var = jnp.maximum(jnp.diagonal(cov, axis1=1, axis2=2), 1e-300)
    if criterion == "marginal":
        terms = 0.5 * jnp.sum(jnp.log(jnp.diagonal(prior)) - jnp.log(var), axis=1)
    elif criterion == "info":
        jitter = 1e-12 * jnp.trace(prior) * jnp.eye(T)
        terms = 0.5 * (jnp.linalg.slogdet(prior)[1] - jnp.linalg.slogdet(cov + jitter)[1])
    else:  # v_optimal
        terms = jnp.trace(prior) - jnp.trace(cov, axis1=1, axis2=2)
    return terms, ess, var


def reweighted_information(
    ll, t, criterion: str = "marginal", min_ess: float = MIN_ESS, extra=None
):
    """(value, mean ESS, number of outer draws skipped, Monte Carlo standard error): the
    target's information from importance weights ``softmax(ll)`` (n_out, S) of the centred
    target draws t (S, T).

    Per outer draw the unbiased weighted covariance ``(sum w t t' - m m') / (1 - sum w^2)``
    against the prior's ``t't / (S - 1)``, both plus ``extra`` (T, T; e.g. the drift's
    covariance, which no outcome changes; None: 0): marginal ``sum_j 0.5 ln(prior_jj /
    post_jj)`` (nats), info ``0.5 ln det prior / post`` (nats), v_optimal ``tr prior - tr post``;
    averaged over the outer draws whose ESS ``1 / sum w^2`` is at least ``min_ess`` (NaN when
    none is)."""
    terms, ess, _ = reweighted_terms(ll, t, criterion, extra)
    keep = ess >= min_ess
    value, se = mean_and_se(terms, keep)
    return value, jnp.mean(ess), ll.shape[0] - jnp.sum(keep), se


@functools.partial(jax.jit, static_argnames=("family", "has_nuisance", "criterion"))
def _unit_bounds(
    key,
    F,
    scale,
    nu,
    nuis_u,
    valid,
    outer,
    t,
    extra=None,
    member=None,
    *,
    family,
    has_nuisance,
    criterion="marginal",
):
    """One unit's estimates (nats), a dict: nmc, pce of I(theta; y) and their Monte Carlo
    standard errors nmc_se, pce_se; with a target t (S, T; None: all parameters) reweighted,
    reweighted_se, ess_mean, n_skipped (:func:`reweighted_information`, ``extra`` its added
    covariance), else NaN. F (S, m), scale (m,), nu, nuis_u, member as :func:`loglik_matrix`."""
    S = F.shape[0]
    ll = loglik_matrix(key, F, scale, nu, family, nuis_u, valid, outer, has_nuisance, member)
    mask = jnp.arange(S)[None, :] == outer[:, None]
    own = jnp.sum(jnp.where(mask, ll, 0.0), axis=1)
    lse_all = jax.scipy.special.logsumexp(ll, axis=1)
    lse_other = jax.scipy.special.logsumexp(jnp.where(mask, -jnp.inf, ll), axis=1)
    nmc, nmc_se = mean_and_se(own - (lse_other - jnp.log(S - 1)))
    pce, pce_se = mean_and_se(own - (lse_all - jnp.log(S)))
    out = {"nmc": nmc, "nmc_se": nmc_se, "pce": pce, "pce_se": pce_se}
    if t is None:
        nan = jnp.asarray(jnp.nan)
        return {**out, "reweighted": nan, "reweighted_se": nan, "ess_mean": nan, "n_skipped": nan}
    value, ess, skipped, se = reweighted_information(ll, t, criterion, MIN_ESS, extra)
    return {**out, "reweighted": value, "reweighted_se": se, "ess_mean": ess, "n_skipped": skipped}


ESTIMATE_COLUMNS = {  # bounds() column: the _unit_bounds key
    "nmc_all": "nmc",
    "nmc_all_se": "nmc_se",
    "pce_all": "pce",
    "pce_all_se": "pce_se",
}
TARGET_COLUMNS = {"reweighted": "reweighted", "reweighted_se": "reweighted_se"}


def bounds(
    fit,
    cands,
    target=None,
    *,
    seed: int = 0,
    max_draws=None,
    n_outer=None,
    group=None,
    model: str | None = None,
    criterion: str = "marginal",
) -> pd.DataFrame:
    """Nested Monte Carlo (upper bound), PCE (lower bound) of the information about all
    parameters, and the reweighted target estimate, for each candidate unit (alone).

    Uses one log-likelihood matrix per unit: outer draws (``n_outer``, default min(S, 1000))
    with outcomes simulated from the law's noise family with the known noise the Gaussian value
    assumes (:func:`known_noise`), and every draw as an inner sample. Columns: the unit's
    columns (:func:`.gaussian.unit_rows`: a setting its runs differ in NaN, with its min, max
    and number of values), unit, n_runs, gaussian_all (linear-Gaussian, all parameters,
    nats), nmc_all, nmc_all_se, pce_all, pce_all_se (each estimate and its Monte Carlo
    standard error, nats;
    ``pce_all - 3 * pce_all_se <= gaussian_all <= nmc_all + 3 * nmc_all_se`` is expected when
    the predictions are near Gaussian), and with a target: gaussian (target, through the
    outcome alone), reweighted and reweighted_se (the same with the exact predictions and noise
    family; ess_mean the mean effective sample size of its weights, n_skipped the outer draws
    below ``MIN_ESS``) and gaussian_drift (the design value ``info``: plus the drift the unit
    removes by widening the training range, :mod:`.discrepancy`; no bound covers that term).
    The target columns use ``criterion`` (as :func:`~.batch.next_runs`: "marginal", the
    default, and "info" in nats; "v_optimal" a variance reduction). ``model``: the
    extrapolation method of the draws (:func:`.discrepancy.design_method`).
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    p = setup(fit, cands, target, seed, max_draws, group, model)
    check_criterion(p, criterion)
    F, idx, T = p.obs_mean, p.idx, p.n_target
    S = F.shape[0]
    n_out = min(S, 1000) if n_outer is None else min(positive_int("n_outer", n_outer, 2), S)
    outer = np.sort(np.random.default_rng(seed + 1).choice(S, n_out, replace=False))
    scale, nu = known_noise(p)
    out = unit_rows(p)
    key = jax.random.PRNGKey(seed)
    stats = []
    with jax.enable_x64(True):
        t, extra = None, None
        if T:
            t = jnp.asarray(p.A[:, :T] * np.sqrt(S - 1))  # centred, without the drift
            DP, _ = p.drift_terms([])
            extra = jnp.asarray(p.slope_var * DP.T @ DP)  # the drift's, in closed form
        for u in range(len(p.labels)):
            key, sub = jax.random.split(key)
            rows = np.maximum(idx[u], 0)
            member, nus = unit_member(p, u)
            res = _unit_bounds(
                sub,
                jnp.asarray(F[:, rows]),
                jnp.asarray(scale[rows]),
                None if nu is None else jnp.asarray(nu),
                jnp.asarray(nus),
                jnp.asarray(idx[u] >= 0),
                jnp.asarray(outer),
                t,
                extra,
                jnp.asarray(member),
                family=p.family,
                has_nuisance=bool(np.any(nus > 0)),
                criterion=criterion,
            )
            stats.append({k: float(v) for k, v in res.items()})
        args = (jnp.asarray(np.maximum(idx, 0)), jnp.asarray(p.noise_row), jnp.asarray(p.nuis))
        A_obs = jnp.asarray(p.A[:, p.head :])
        none = (jnp.zeros((0, 0)), jnp.zeros((len(p.labels), 0, 0)), jnp.asarray(0.0))
        zeros = jnp.zeros((1, A_obs.shape[1]))
        gaussian_all = np.asarray(unit_gains(A_obs, zeros, *args, *none, n_target=0)[0])
        if T:
            A = jnp.asarray(p.A)
            DP, MU = (jnp.asarray(x) for x in p.drift_terms([]))
            v = jnp.asarray(p.slope_var)
            W0 = jnp.zeros((1, A.shape[1]))
            opts = {"n_target": T, "criterion": criterion}
            gaussian_t = np.asarray(unit_gains(A, W0, *args, DP, 0 * MU, v, **opts)[0])
            gaussian_drift = np.asarray(unit_gains(A, W0, *args, DP, MU, v, **opts)[0])
    table = pd.DataFrame(stats)
    out["gaussian_all"] = gaussian_all
    for col, k in ESTIMATE_COLUMNS.items():
        out[col] = table[k].to_numpy()
    if T:
        out["gaussian"] = gaussian_t
        for col, k in TARGET_COLUMNS.items():
            out[col] = table[k].to_numpy()
        out["ess_mean"] = table["ess_mean"].to_numpy()
        out["n_skipped"] = table["n_skipped"].to_numpy().astype(int)
        out["gaussian_drift"] = gaussian_drift
        _warn_few_draws(out, n_out, S)
    return out


def _warn_few_draws(out: pd.DataFrame, n_out: int, S: int) -> None:
    """A :class:`DesignWarning` naming the units of :func:`bounds` whose ``reweighted`` value
    rests on a mean ESS below ``LOW_ESS`` or skips more than ``SKIPPED_SHARE`` of the ``n_out``
    outer draws (NaN when it skips them all), as ``rank_candidates(estimator="reweighted")``
    warns."""
    ess, skipped = out["ess_mean"].to_numpy(float), out["n_skipped"].to_numpy(float)
    bad = np.flatnonzero((ess < LOW_ESS) | (skipped > SKIPPED_SHARE * n_out) | np.isnan(ess))
    if not len(bad):
        return
    labels = out["unit"].to_list()
    named = "; ".join(
        f"{labels[i]}: mean ESS {ess[i]:.1f}, {int(skipped[i])} of {n_out} outcomes skipped"
        + (" (reweighted is NaN)" if skipped[i] >= n_out else "")
        for i in bad[:5]
    )
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    warnings.warn(
        f"the reweighted value of {len(bad)} unit(s) rests on few effective posterior draws "
        f"({named}{more}; of {S} draws): outcomes whose weights' ESS is below {MIN_ESS:g} are "
        "skipped, which biases the value down and leaves it noisy (see reweighted_se), and a "
        "unit with every outcome skipped has no value (NaN); use more posterior draws (a "
        "longer fit, or max_draws=None)",
        DesignWarning,
        stacklevel=user_stacklevel(),
    )


# ---- the reweighted design estimator (next_runs / rank_candidates, estimator="reweighted") ----
OUTER_CHUNK = 64  # outer draws per likelihood block: memory OUTER_CHUNK x S x m floats


@functools.partial(jax.jit, static_argnames=("family", "has_nuisance"))
def _unit_loglik(Y, F, scale, nu, nuis_u, valid, member=None, *, family, has_nuisance):
    """:func:`outcome_loglik` (n_out, S) in blocks of ``OUTER_CHUNK`` outer draws."""

    def block(y):
        return outcome_loglik(
            y[None], F, scale, nu, family, nuis_u, valid, has_nuisance, member
        )[0]

    return jax.lax.map(block, Y, batch_size=OUTER_CHUNK)


@functools.partial(jax.jit, static_argnames=("criterion",))
def _joint_value(base_terms, base_keep, ll, t, extra, after, *, criterion):
    """One unit's value given the picks: the information of picks + unit (log-likelihoods
    ``ll``, (n_out, S), summed over them) minus the picks' (``base_terms`` (n_out,), kept where
    ``base_keep``), per outer draw, averaged over the outer draws kept by both (ESS >=
    MIN_ESS; NaN when none is). Returns (value, se, mean ESS, n skipped, the components'
    geometric-mean posterior variance (T,))."""
    terms, ess, var = reweighted_terms(ll, t, criterion, extra, after)
    keep = (ess >= MIN_ESS) & base_keep  # none kept: NaN (the draws cannot value it)
    value, se = mean_and_se(terms - base_terms, keep)
    n_keep = jnp.sum(keep)
    post = jnp.exp(jnp.sum(jnp.where(keep[:, None], jnp.log(var), 0.0), 0) / n_keep)
    return value, se, jnp.mean(ess), ll.shape[0] - n_keep, post


class JointReweighting:
    """Design values by importance reweighting of the posterior draws (``estimator=
    "reweighted"`` of :func:`~.batch.next_runs` and :func:`~.batch.rank_candidates`).

    ``n_outer`` outer draws (default min(S, 1000)) each simulate one outcome of EVERY unit (the
    law's noise family with the known noise, :func:`known_noise`; fixed for the whole batch).
    A set of units is valued by the target's information (``criterion``, as
    :func:`reweighted_information`) given their outcomes jointly (log-likelihoods summed over
    the units: they are independent given the draw); a unit given the picks by the information
    of picks + unit minus that of the picks on the same outcomes, so a duplicate of a pick is
    worth little. The drift beyond the training range (loss surfaces) is added in closed form
    before and after, as :func:`~.gaussian.unit_gains` does. The joint weights of several
    informative units are sharper than each unit's: outcomes whose ESS falls below MIN_ESS are
    skipped, which biases the value of an informative unit given informative picks down (the
    ``info_ess`` column and a :class:`~.batch.DesignWarning` say when). More draws reduce it,
    slowly (benchmarks/design_reweighted_draws.py, a SIMULATED LR x batch sweep: a sweep's value
    alone 0.244, 0.285, 0.326 nats at S = 1000, 3000, 30000 draws, skipping 82%, 66%, 47% of the
    outcomes; given an earlier sweep, up to 90% still skipped at 30000, and the values at 1000
    draws off those at 30000 by -0.27 to +0.20 nats): rank on the first pick's values, and read
    later picks' as rough, biased either way.

    Cost: each unit's value is n_outer x S x m likelihood terms (m its runs; S the draws after
    ``max_draws`` thinning), ~S^2 m for S <= 1000, and its weights n_outer x S floats; a
    greedy batch of k costs k x U of them (U units), ranking U. Thin with ``max_draws`` (the
    cost falls as S^2), at the price of a lower ESS.
    """

    def __init__(self, p: Problem, seed: int = 0, criterion: str = "marginal", n_outer=None):
        T = p.n_target
        if T == 0:
            raise ValueError(
                "estimator='reweighted' needs a target (it reweights the target's draws); for "
                "all parameters use estimator='gaussian' (and bounds() for NMC / PCE)"
            )
        S = p.obs_mean.shape[0]  # posterior draws
        n_out = min(S, 1000) if n_outer is None else min(positive_int("n_outer", n_outer, 2), S)
        self.outer = np.sort(np.random.default_rng(seed + 1).choice(S, n_out, replace=False))
        self.p, self.criterion, self.S = p, criterion, S
        scale, nu = known_noise(p)
        self.nu = None if nu is None else jnp.asarray(nu)
        self.t = jnp.asarray(p.A[:, :T] * np.sqrt(S - 1))  # centred, without the drift
        DP0, _ = p.drift_terms([])
        self.extra = jnp.asarray(p.slope_var * DP0.T @ DP0)  # the drift's, in closed form
        self._key, self._scale = jax.random.PRNGKey(seed), scale
        self.units: dict = {}  # unit -> (Y, args, nuisance): simulated when first valued
        self._picked: list = []
        self._base = jnp.zeros((n_out, S))

    def _unit(self, u: int) -> tuple:
        """Unit u's simulated outcomes, its arguments and whether it has nuisance runs, made on
        first use (key ``fold_in(key, u)``: the same outcomes whichever units are valued, and
        no work for the units never valued, e.g. the shortlist of ``next_runs``' check)."""
        if u not in self.units:
            p = self.p
            rows = np.maximum(p.idx[u], 0)
            member, nus = unit_member(p, u)
            args = {
                "F": jnp.asarray(p.obs_mean[:, rows]),
                "scale": jnp.asarray(self._scale[rows]),
                "nu": self.nu,
                "nuis_u": jnp.asarray(nus),
                "valid": jnp.asarray(p.idx[u] >= 0),
                "member": jnp.asarray(member),
            }
            nuisance = bool(np.any(nus > 0))
            Y = simulate_outcomes(
                jax.random.fold_in(self._key, u), args["F"], args["scale"], self.nu, p.family,
                args["nuis_u"], args["valid"], jnp.asarray(self.outer), nuisance, args["member"],
            )  # fmt: skip
            self.units[u] = (Y, args, nuisance)
        return self.units[u]

    def loglik(self, u: int):
        """log p(y_n,u | theta_m) (n_out, S) of unit u's simulated outcomes."""
        Y, a, nuisance = self._unit(u)
        return _unit_loglik(
            Y, a["F"], a["scale"], a["nu"], a["nuis_u"], a["valid"], a["member"],
            family=self.p.family, has_nuisance=nuisance,
        )  # fmt: skip

    def _base_loglik(self, picked: list):
        """The picks' summed log-likelihoods (n_out, S), updated incrementally."""
        if list(picked[: len(self._picked)]) != self._picked:
            self._picked, self._base = [], jnp.zeros_like(self._base)
        for u in picked[len(self._picked) :]:
            self._base = self._base + self.loglik(u)
            self._picked.append(u)
        return self._base

    def values(self, picked, DP, MU, units=None) -> dict:
        """Each unit's value given the ``picked`` units (nats; a variance reduction for
        "v_optimal"), with DP (K, T), MU (U, K, T) the drift left after the picks and that each
        unit removes (:meth:`~.gaussian.Problem.drift_terms`). ``units``: the units to value
        (None: all). A dict of (U,) arrays (NaN for units not valued): value, se (Monte Carlo
        standard error), ess (mean effective sample size of the joint weights), n_skipped
        (outer draws below MIN_ESS), n_outer (their number), and post_var (U, T): each
        component's geometric-mean posterior variance after picks + unit, drift included (ln
        units squared)."""
        U, T = len(self.p.labels), self.p.n_target
        units = range(U) if units is None else units
        out = {k: np.full(U, np.nan) for k in ("value", "se", "ess", "n_skipped")}
        out["post_var"] = np.full((U, T), np.nan)
        out["n_outer"] = len(self.outer)
        v = self.p.slope_var
        DP, MU = np.asarray(DP), np.asarray(MU)
        base = self._base_loglik(list(picked))
        terms, ess, _ = reweighted_terms(base, self.t, self.criterion, self.extra,
                                         jnp.asarray(v * DP.T @ DP))  # fmt: skip
        base_keep = ess >= MIN_ESS
        for u in units:
            left = DP - MU[u]
            res = _joint_value(
                terms, base_keep, base + self.loglik(u), self.t, self.extra,
                jnp.asarray(v * left.T @ left), criterion=self.criterion,
            )  # fmt: skip
            for key, r in zip(("value", "se", "ess", "n_skipped"), res[:4], strict=True):
                out[key][u] = float(r)
            out["post_var"][u] = np.asarray(res[4])
        return out
