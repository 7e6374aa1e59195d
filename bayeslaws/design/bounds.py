"""Confirmation of the Gaussian estimate (``bounds``), from one matrix of log-likelihoods
``log p(y_n | theta_m)`` (outer draws n with outcomes simulated from the law's own noise family,
all S draws as inner samples):

* ``nmc``: nested Monte Carlo of ``I(theta; y_d)``, the inner sum excluding the outer draw: an
  **upper bound** in expectation (Rainforth et al. 2018). By data processing it also bounds the
  information about any target from above.
* ``pce``: prior contrastive estimation (Foster et al. 2020), inner sum including the outer draw:
  a **lower bound** on ``I(theta; y_d)`` (not on a target's information).
* ``reweighted``: the target's information with the exact (nonlinear) predictions and noise
  family: ``E_y[0.5 log det Sigma_t / Sigma_t|y]``, the posterior covariance of ``t`` given each
  simulated outcome by importance weights ``p(y_n | theta_m)`` over the draws. Not a bound (a
  Gaussian-entropy approximation of the target), but it checks the linearisation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..laws.likelihoods import observation
from .candidates import positive_int
from .gaussian import family_var_factor, setup, unit_gains, unit_rows


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


@functools.partial(jax.jit, static_argnames=("family", "has_nuisance"))
def _unit_bounds(key, F, sigma, nu, nuis_u, valid, outer, t, *, family, has_nuisance):
    """(NMC, PCE of I(theta; y), reweighted target information or NaN) for one unit."""
    S = F.shape[0]
    ll = loglik_matrix(key, F, sigma, nu, family, nuis_u, valid, outer, has_nuisance)
    mask = jnp.arange(S)[None, :] == outer[:, None]
    own = jnp.sum(jnp.where(mask, ll, 0.0), axis=1)
    lse_all = jax.scipy.special.logsumexp(ll, axis=1)
    lse_other = jax.scipy.special.logsumexp(jnp.where(mask, -jnp.inf, ll), axis=1)
    nmc = jnp.mean(own - (lse_other - jnp.log(S - 1)))
    pce = jnp.mean(own - (lse_all - jnp.log(S)))
    if t is None:
        return nmc, pce, jnp.nan
    T = t.shape[1]
    w = jax.nn.softmax(ll, axis=1)  # (n, S) posterior weights of the draws given y_n
    mean = w @ t
    cov = jnp.einsum("ns,st,su->ntu", w, t, t) - jnp.einsum("nt,nu->ntu", mean, mean)
    prior = (t.T @ t / (S - 1)).reshape(T, T)
    jitter = 1e-12 * jnp.trace(prior) * jnp.eye(T)
    ld_post = jnp.linalg.slogdet(cov + jitter)[1]
    return nmc, pce, 0.5 * (jnp.linalg.slogdet(prior)[1] - jnp.mean(ld_post))


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
) -> pd.DataFrame:
    """Nested Monte Carlo (upper bound), PCE (lower bound) of the information about all
    parameters, and the reweighted target estimate, for each candidate unit (alone).

    Uses one log-likelihood matrix per unit: outer draws (``n_outer``, default min(S, 1000))
    with outcomes simulated from the law's noise family, and every draw as an inner sample.
    Columns: the candidate's columns, unit, n_runs, gaussian_all (linear-Gaussian, all
    parameters), nmc_all, pce_all, and with a target: gaussian (target, through the outcome
    alone), reweighted (the same with the exact predictions and noise family) and
    gaussian_drift (the design value: plus the drift the unit removes by widening the training
    range, :mod:`.discrepancy`). ``model``: the extrapolation method of the draws
    (:func:`.discrepancy.design_method`).
    """
    p = setup(fit, cands, target, seed, max_draws, group, model)
    F, sigma, nu, idx, T = p.obs_mean, p.obs_sigma, p.obs_nu, p.idx, p.n_target
    S = F.shape[0]
    n_out = min(S, 1000) if n_outer is None else min(positive_int("n_outer", n_outer, 2), S)
    outer = np.sort(np.random.default_rng(seed + 1).choice(S, n_out, replace=False))
    out = unit_rows(p)
    key = jax.random.PRNGKey(seed)
    nmc, pce, rew = [], [], []
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
            )
            nmc.append(float(stats[0]))
            pce.append(float(stats[1]))
            rew.append(float(stats[2]))
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
            gaussian_t = np.asarray(unit_gains(A, W0, *args, DP, 0 * MU, v, n_target=T)[0])
            gaussian_drift = np.asarray(unit_gains(A, W0, *args, DP, MU, v, n_target=T)[0])
    out["gaussian_all"] = gaussian_all
    out["nmc_all"] = nmc
    out["pce_all"] = pce
    if T:
        out["gaussian"] = gaussian_t
        out["reweighted"] = rew
        out["gaussian_drift"] = gaussian_drift
    return out
