"""The linear-Gaussian estimate of expected information, on posterior draws (JAX, float64).

The draws of the target ``t`` and of the candidates' predicted observations ``f`` are treated as
jointly Gaussian (their sample covariance), the noise as Gaussian with the posterior-mean
variance of the law's noise family. For a target ``I(t; y_d) = 0.5 log det Sigma_t /
Sigma_t|y`` (``-0.5 log(1 - rho^2)`` for a scalar t), for all parameters
``I(theta; y_d) = 0.5 log det (Var_post[f(theta, d)] + noise) / noise``. :func:`unit_gains`
scores every candidate unit at once; :func:`condition_rows` conditions the joint Gaussian on
the observations of a picked unit (greedy batches, :mod:`.batch`).

A :class:`Problem` holds one design problem: the candidates grouped into units, the target
draws and the law's predicted observations (:meth:`~bayeslaws.laws.contract.Law.observations`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .candidates import check_candidates, positive_int, unit_codes
from .targets import AllParameters, target_draws

PAD_NOISE = 1e12  # noise variance of padded observations: they carry no information


def family_var_factor(family: str, nu=None):
    """Variance of the family's unit-scale noise (per draw for Student-t)."""
    if family == "gaussian":
        return 1.0
    if family == "student_t":
        nu = np.asarray(nu, float)
        return np.where(nu > 2.0, nu / np.maximum(nu - 2.0, 1e-9), 1e3)
    return huber_var()


@functools.lru_cache(maxsize=1)
def huber_var() -> float:
    from jax.scipy.special import ndtr

    from ..laws.likelihoods import HUBER_DELTA

    d = HUBER_DELTA
    u = np.linspace(-60, 60, 240001)
    dens = np.exp(-np.where(np.abs(u) <= d, 0.5 * u**2, d * np.abs(u) - 0.5 * d**2))
    dens /= float(np.sqrt(2 * np.pi) * (2 * ndtr(d) - 1) + 2 * np.exp(-0.5 * d**2) / d)
    return float(np.trapezoid(u**2 * dens, u))


# ---- Gaussian estimator (JAX, float64) ---------------------------------------------------------
def _logdet(a):
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(a), axis1=-2, axis2=-1)), -1)


@functools.partial(jax.jit, static_argnums=(5,))
def unit_gains(A, W, idx, noise_row, nuis, n_target):
    """Gaussian information of every unit given the conditioning rows W.

    A (S, T + R): centred draws / sqrt(S - 1) of [target | predictions]; W (K, T + R) low-rank
    conditioning; idx (U, m) row indices (into R; padded rows point to row 0 with huge noise);
    noise_row (U, m); nuis (U,) nuisance level variance. n_target: T (0 -> all parameters).
    Returns (gains (U,), posterior target variances after each unit alone (U, T) or zeros).
    """
    Fa = A[:, n_target:][:, idx]  # (S, U, m)
    Fw = W[:, n_target:][:, idx]  # (K, U, m)
    m = idx.shape[1]
    B = jnp.einsum("sui,suj->uij", Fa, Fa) - jnp.einsum("kui,kuj->uij", Fw, Fw)
    noise = jax.vmap(jnp.diag)(noise_row) + nuis[:, None, None] * jnp.ones((m, m))
    B = B + noise
    if n_target == 0:
        gains = 0.5 * (_logdet(B) - _logdet(noise))
        return gains, jnp.zeros((idx.shape[0], 1))
    Ta, Tw = A[:, :n_target], W[:, :n_target]
    St = Ta.T @ Ta - Tw.T @ Tw  # (T, T)
    Cx = jnp.einsum("st,sui->uti", Ta, Fa) - jnp.einsum("kt,kui->uti", Tw, Fw)  # (U, T, m)
    L = jnp.linalg.cholesky(B)
    Z = jax.scipy.linalg.solve_triangular(L, jnp.swapaxes(Cx, 1, 2), lower=True)  # (U, m, T)
    post = St[None] - jnp.einsum("umt,ums->uts", Z, Z)
    gains = 0.5 * (_logdet(St) - _logdet(post))
    return gains, jnp.diagonal(post, axis1=1, axis2=2)


@jax.jit
def condition_rows(A, W, rows, noise, nuis):
    """New low-rank rows (m, T + R) after observing candidate rows at columns ``rows`` of A
    (row index + T)."""
    Ar, Wr = A[:, rows], W[:, rows]  # (S, m), (K, m)
    G = A.T @ Ar - W.T @ Wr  # (T + R, m): Cov(everything, f_rows)
    m = rows.shape[0]
    B = Ar.T @ Ar - Wr.T @ Wr + jnp.diag(noise) + nuis * jnp.ones((m, m))
    L = jnp.linalg.cholesky(B)
    return jax.scipy.linalg.solve_triangular(L, G.T, lower=True)  # (m, T + R)


def centred(x):
    x = np.asarray(x, float)
    return (x - x.mean(axis=0)) / np.sqrt(max(len(x) - 1, 1))


@dataclass
class Problem:
    """One design problem.

    cands : the checked candidate rows (N, D, C, ..., unit).
    labels : (U,) unit labels; row_unit (R_c,) each candidate row's unit index.
    tdraws, tlabels : target draws (S, T) on the log scale (None: all parameters) and labels.
    obs_mean, obs_sigma, obs_nu, family : the predicted observations (S, R), their noise scale
        (S, R), Student-t dof (S,) or None, and noise family.
    idx : (U, m) observation indices per unit, padded with -1.
    A : centred draws / sqrt(S - 1) of [target | observations]: (S, T + R).
    noise_row : (U, m) noise variance of each unit's observations (PAD_NOISE for padding).
    nuis : (U,) the unit's shared-level (nuisance) variance.
    """

    cands: pd.DataFrame
    labels: np.ndarray
    row_unit: np.ndarray
    tdraws: np.ndarray | None
    tlabels: list
    obs_mean: np.ndarray
    obs_sigma: np.ndarray
    obs_nu: np.ndarray | None
    family: str
    idx: np.ndarray
    A: np.ndarray
    noise_row: np.ndarray
    nuis: np.ndarray

    @property
    def n_target(self) -> int:
        return 0 if self.tdraws is None else self.tdraws.shape[1]

    @property
    def obs_var(self) -> np.ndarray:
        """(R,) posterior-mean noise variance of each observation."""
        factor = family_var_factor(
            self.family, None if self.obs_nu is None else self.obs_nu[:, None]
        )
        return np.mean(self.obs_sigma**2 * factor, axis=0)


def setup(fit, cands, target, seed: int, max_draws=None, group=None) -> Problem:
    """Check the candidates, draw the target and the law's predicted observations."""
    df = check_candidates(fit, cands)
    labels, row_unit = unit_codes(df)
    target = AllParameters() if target is None else target
    tdraws, tlabels = target_draws(fit, target, seed)
    rng = np.random.default_rng(seed)
    obs = fit.law.observations(fit.posterior(), df, group=group, rng=rng)
    mean = np.asarray(obs.mean, float)
    S, R = mean.shape
    sigma = np.broadcast_to(np.asarray(obs.sigma, float).reshape(S, -1), (S, R)).copy()
    nu = None if obs.nu is None else np.asarray(obs.nu, float)
    if max_draws is not None:
        positive_int("max_draws", max_draws, 2)
        if S > max_draws:
            sel = np.random.default_rng(seed).choice(S, max_draws, replace=False)
            mean, sigma = mean[sel], sigma[sel]
            nu = None if nu is None else nu[sel]
            tdraws = None if tdraws is None else tdraws[sel]
    # observations grouped by the candidates' units
    label_index = {label: u for u, label in enumerate(labels)}
    try:
        obs_unit = np.array([label_index[u] for u in obs.unit])
    except KeyError as err:
        raise ValueError(
            f"law {fit.law.name!r} returned an observation of unknown unit {err}"
        ) from None
    U = len(labels)
    sizes = np.bincount(obs_unit, minlength=U)
    idx = -np.ones((U, max(int(sizes.max()), 1)), dtype=np.int64)
    fill = np.zeros(U, dtype=np.int64)
    for r, u in enumerate(obs_unit):
        idx[u, fill[u]] = r
        fill[u] += 1
    A = centred(mean if tdraws is None else np.concatenate([tdraws, mean], axis=1))
    problem = Problem(
        cands=df,
        labels=labels,
        row_unit=row_unit,
        tdraws=tdraws,
        tlabels=tlabels,
        obs_mean=mean,
        obs_sigma=sigma,
        obs_nu=nu,
        family=obs.family,
        idx=idx,
        A=A,
        noise_row=np.zeros(idx.shape),
        nuis=np.zeros(U),
    )
    var = problem.obs_var
    nuisance = np.asarray(obs.nuisance, float)
    problem.noise_row = np.where(idx >= 0, var[np.maximum(idx, 0)], PAD_NOISE)
    problem.nuis = np.array([nuisance[r[r >= 0]].max() if (r >= 0).any() else 0.0 for r in idx])
    return problem


def unit_rows(p: Problem) -> pd.DataFrame:
    """Each unit's first candidate row, with ``unit`` and ``n_runs`` (its candidate rows)."""
    first = np.array([np.argmax(p.row_unit == u) for u in range(len(p.labels))])
    out = p.cands.iloc[first].reset_index(drop=True)
    out["unit"] = p.labels
    out["n_runs"] = np.bincount(p.row_unit, minlength=len(p.labels))
    return out


def widths(tdraws, ci):
    """Central ``ci`` interval widths (natural scale) of each target component, or None."""
    if tdraws is None:
        return None
    lo, hi = np.quantile(np.exp(tdraws), [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    return hi - lo
