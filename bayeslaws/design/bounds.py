"""Confirmation of the Gaussian estimate (``bounds``), from one matrix of log-likelihoods
``log p(y_n | theta_m)`` (outer draws n with outcomes simulated from the law's own noise family,
all S draws as inner samples):

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
  ``1 - sum w^2``). Outer draws whose weights' effective sample size ``1 / sum w^2`` is below
  ``MIN_ESS`` (10) are skipped (counted in ``n_skipped``): their covariance is noise and its
  log would add nats where there are none (skipping the most informative outcomes biases it
  down instead: watch n_skipped). Not a bound (a Gaussian-entropy approximation of the
  target), but it checks the linearisation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..laws.likelihoods import observation
from .candidates import positive_int
from .gaussian import CRITERIA, check_criterion, family_var_factor, setup, unit_gains, unit_rows

MIN_ESS = 10.0  # outer draws with fewer effective inner draws are skipped by ``reweighted``


def loglik_matrix(key, F, sigma, nu, family, nuis_u, valid, outer, has_nuisance):
    """log p(y_n | theta_m): (n_out, S) for one unit, y_n simulated from outer draw ``outer[n]``.

    F (S, m) predictions of the unit's observations; sigma (S, m) their noise scales; valid (m,)
    mask; nuis_u nuisance variance (> 0: Gaussian with the shared cell level integrated out,
    using the family's variance and the unit's first observation's scale).
    """
    S, m = F.shape
    k1, k2 = jax.random.split(key)
    Fo = F[outer]
    if has_nuisance:
        if family == "student_t":
            factor = jnp.where(nu > 2.0, nu / jnp.maximum(nu - 2.0, 1e-9), 1e3)
        else:
            factor = family_var_factor(family)
        var = sigma[:, 0] ** 2 * factor  # (S,)
        level = jnp.sqrt(nuis_u) * jax.random.normal(k1, (len(outer), 1))
        Y = Fo + level + jnp.sqrt(var[outer])[:, None] * jax.random.normal(k2, Fo.shape)
        v = valid.astype(F.dtype)
        mv = v.sum()
        R = (Y[:, None, :] - F[None, :, :]) * v  # (n, S, m)
        vm = var[None, :]
        q = (jnp.sum(R**2, -1) - nuis_u * jnp.sum(R, -1) ** 2 / (vm + mv * nuis_u)) / vm
        logdet = (mv - 1) * jnp.log(vm) + jnp.log(vm + mv * nuis_u)
        return -0.5 * (q + logdet + mv * jnp.log(2 * jnp.pi))
    nu_o = None if nu is None else nu[outer][:, None]
    noise = observation(family, jnp.zeros_like(Fo), sigma[outer], nu_o)
    Y = Fo + noise.sample(k2)
    nu_i = None if nu is None else nu[None, :, None]
    lp = observation(family, F[None, :, :], sigma[None, :, :], nu_i).log_prob(Y[:, None, :])
    return jnp.sum(jnp.where(valid, lp, 0.0), -1)


def reweighted_information(ll, t, criterion: str = "marginal", min_ess: float = MIN_ESS):
    """(value, mean ESS, number of outer draws skipped): the target's information from
    importance weights ``softmax(ll)`` (n_out, S) of the centred target draws t (S, T).

    Per outer draw the unbiased weighted covariance ``(sum w t t' - m m') / (1 - sum w^2)``
    against the prior's ``t't / (S - 1)``: marginal ``sum_j 0.5 ln(prior_jj / post_jj)`` (nats),
    info ``0.5 ln det prior / post`` (nats), v_optimal ``tr prior - tr post``; averaged over the
    outer draws whose ESS ``1 / sum w^2`` is at least ``min_ess`` (NaN when none is)."""
    S, T = t.shape
    w = jax.nn.softmax(ll, axis=1)  # (n, S) posterior weights of the draws given y_n
    w2 = jnp.sum(w**2, axis=1)
    ess = 1.0 / w2
    keep = ess >= min_ess
    mean = w @ t
    cov = jnp.einsum("ns,st,su->ntu", w, t, t) - jnp.einsum("nt,nu->ntu", mean, mean)
    cov = cov / jnp.where(keep, 1.0 - w2, 1.0)[:, None, None]
    prior = (t.T @ t / (S - 1)).reshape(T, T)
    if criterion == "marginal":
        var = jnp.maximum(jnp.diagonal(cov, axis1=1, axis2=2), 1e-300)
        terms = 0.5 * jnp.sum(jnp.log(jnp.diagonal(prior)) - jnp.log(var), axis=1)
    elif criterion == "info":
        jitter = 1e-12 * jnp.trace(prior) * jnp.eye(T)
        terms = 0.5 * (jnp.linalg.slogdet(prior)[1] - jnp.linalg.slogdet(cov + jitter)[1])
    else:  # v_optimal
        terms = jnp.trace(prior) - jnp.trace(cov, axis1=1, axis2=2)
    n_keep = jnp.sum(keep)
    value = jnp.sum(jnp.where(keep, terms, 0.0)) / n_keep
    return value, jnp.mean(ess), ll.shape[0] - n_keep


@functools.partial(jax.jit, static_argnames=("family", "has_nuisance", "criterion"))
def _unit_bounds(
    key, F, sigma, nu, nuis_u, valid, outer, t, *, family, has_nuisance, criterion="marginal"
):
    """(NMC, PCE of I(theta; y), reweighted target information, mean ESS, outer draws skipped;
    the last three NaN without a target) for one unit."""
    S = F.shape[0]
    ll = loglik_matrix(key, F, sigma, nu, family, nuis_u, valid, outer, has_nuisance)
    mask = jnp.arange(S)[None, :] == outer[:, None]
    own = jnp.sum(jnp.where(mask, ll, 0.0), axis=1)
    lse_all = jax.scipy.special.logsumexp(ll, axis=1)
    lse_other = jax.scipy.special.logsumexp(jnp.where(mask, -jnp.inf, ll), axis=1)
    nmc = jnp.mean(own - (lse_other - jnp.log(S - 1)))
    pce = jnp.mean(own - (lse_all - jnp.log(S)))
    if t is None:
        return nmc, pce, jnp.nan, jnp.nan, jnp.nan
    return (nmc, pce, *reweighted_information(ll, t, criterion))


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
    with outcomes simulated from the law's noise family, and every draw as an inner sample.
    Columns: the candidate's columns, unit, n_runs, gaussian_all (linear-Gaussian, all
    parameters, nats), nmc_all, pce_all, and with a target: gaussian (target, through the
    outcome alone), reweighted (the same with the exact predictions and noise family; ess_mean
    the mean effective sample size of its weights, n_skipped the outer draws below
    ``MIN_ESS``) and gaussian_drift (the design value ``info``: plus the drift the unit removes
    by widening the training range, :mod:`.discrepancy`; no bound covers that term). The target
    columns use ``criterion`` (as :func:`~.batch.next_runs`: "marginal", the default, and
    "info" in nats; "v_optimal" a variance reduction). ``model``: the extrapolation method of
    the draws (:func:`.discrepancy.design_method`).
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    p = setup(fit, cands, target, seed, max_draws, group, model)
    check_criterion(p, criterion)
    F, sigma, nu, idx, T = p.obs_mean, p.obs_sigma, p.obs_nu, p.idx, p.n_target
    S = F.shape[0]
    n_out = min(S, 1000) if n_outer is None else min(positive_int("n_outer", n_outer, 2), S)
    outer = np.sort(np.random.default_rng(seed + 1).choice(S, n_out, replace=False))
    out = unit_rows(p)
    key = jax.random.PRNGKey(seed)
    nmc, pce, rew, ess, skipped = [], [], [], [], []
    with jax.enable_x64(True):
        t = None if p.tdraws is None else jnp.asarray(p.tdraws - p.tdraws.mean(axis=0))
        for u in range(len(p.labels)):
            key, sub = jax.random.split(key)
            rows = np.maximum(idx[u], 0)
            stats = _unit_bounds(
                sub,
                jnp.asarray(F[:, rows]),
                jnp.asarray(sigma[:, rows]),
                None if nu is None else jnp.asarray(nu),
                jnp.asarray(float(p.nuis[u])),
                jnp.asarray(idx[u] >= 0),
                jnp.asarray(outer),
                t,
                family=p.family,
                has_nuisance=bool(p.nuis[u] > 0),
                criterion=criterion,
            )
            nmc.append(float(stats[0]))
            pce.append(float(stats[1]))
            rew.append(float(stats[2]))
            ess.append(float(stats[3]))
            skipped.append(float(stats[4]))
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
    out["gaussian_all"] = gaussian_all
    out["nmc_all"] = nmc
    out["pce_all"] = pce
    if T:
        out["gaussian"] = gaussian_t
        out["reweighted"] = rew
        out["ess_mean"] = ess
        out["n_skipped"] = np.asarray(skipped).astype(int)
        out["gaussian_drift"] = gaussian_drift
    return out
