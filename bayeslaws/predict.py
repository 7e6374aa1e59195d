"""Posterior predictions of the loss at query points, with credible intervals.

``kind="mean"`` gives the uncertainty of the law itself; ``kind="new_run"`` adds the fitted
run-to-run noise (the likelihood family's own draws), i.e. what one new training run would show.

``kind="new_run"`` also adds a model discrepancy: by default a Gaussian process over (ln N, ln D)
fitted to the training runs' residuals (``extrapolation="gp"``; see :mod:`bayeslaws.extrapolation`
and :mod:`bayeslaws.gp_discrepancy`), which is ~0 with sd ~0 where the form fits, follows the
residual pattern near the runs and widens far from them. Pass ``extrapolation="none"`` for the
plain posterior predictive.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .extrapolation import DEFAULT_METHOD
from .likelihoods import observation
from .results import Fit
from .runs import RunTableError

KINDS = ("mean", "new_run")


def _as_positive_array(name: str, values) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-d sequence, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and positive; bad at positions {np.where(bad)[0]}")
    return arr


def query_points(fit: Fit, N=None, D=None, C=None) -> pd.DataFrame:
    """Complete (N, D, C) for query points given any two of them (scalars broadcast)."""
    given = {k: _as_positive_array(k, v) for k, v in {"N": N, "D": D, "C": C}.items()}
    present = [k for k, v in given.items() if v is not None]
    if len(present) != 2:
        raise ValueError(f"give exactly two of N, D, C; got {present or 'none'}")
    try:
        arrays = np.broadcast_arrays(*(given[k] for k in present))
    except ValueError:
        shapes = {k: given[k].shape for k in present}
        raise ValueError(f"query arrays have incompatible lengths {shapes}") from None
    q = dict(zip(present, arrays, strict=True))
    model = fit.compute_model
    if "C" not in q:
        q["C"] = model.flops(q["N"], q["D"])
    elif "D" not in q:
        q["D"] = model.tokens(q["N"], q["C"])
    else:
        q["N"] = model.params_for(q["D"], q["C"])
    return pd.DataFrame({k: q[k] for k in ("N", "D", "C")})


def summarise_draws(points, loss, ci: float, kind: str, ranges: dict, axes) -> pd.DataFrame:
    """``points`` plus median, mean, lower, upper of ``loss`` draws (S, Q), and for each column
    in ``axes`` its signed distance in decades outside the fitted range
    (``<axis>_outside_decades``)."""
    lower, median, upper = np.quantile(loss, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
    out = points.assign(
        median=median, mean=loss.mean(axis=0), lower=lower, upper=upper, ci=ci, kind=kind
    )
    for axis in axes:
        out[f"{axis}_outside_decades"] = outside_decades(points[axis], *ranges[axis])
    return out


def outside_decades(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Signed distance outside [low, high] in decades: 0 inside, > 0 above, < 0 below."""
    values = np.asarray(values, float)
    above = np.log10(np.maximum(values / high, 1.0))
    below = np.log10(np.minimum(values / low, 1.0))
    return above + below


def group_index(fit: Fit, group):
    """Index of a fitted group; 0 without groups; None for a new group of a grouped fit."""
    groups = fit.groups
    if len(groups) <= 1:
        if group is not None and groups != [group]:
            raise ValueError(f"group={group!r}: this fit was fitted without groups")
        return 0
    if group is None:
        return None  # a new, unseen group
    if group not in groups:
        raise ValueError(f"group={group!r} is not one of the fit's groups {groups}")
    return groups.index(group)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _draws(law, family, new_run, theta, N, D, scales, sigma, nu, key):
    """ln L draws (S, Q), compiled once per law, family and shapes; plus run noise if new_run."""
    mu = law.log_loss_draws(theta, N, D, scales)
    if new_run:
        noise = observation(
            family, jnp.zeros_like(mu), sigma[:, None], None if nu is None else nu[:, None]
        )
        mu = mu + noise.sample(key)
    return mu


def log_loss_draws(
    fit: Fit,
    points: pd.DataFrame,
    kind: str = "mean",
    group=None,
    seed=0,
    extrapolation: str = DEFAULT_METHOD,
):
    """Posterior draws of ln L at the query points: array (S, Q).

    ``extrapolation`` applies to ``kind="new_run"`` only (see :mod:`bayeslaws.extrapolation`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    from .extrapolation import check_method, widen

    check_method(extrapolation)
    from .laws.base import Scales

    law = fit.law
    posterior = fit.draws()
    rng = np.random.default_rng(seed)
    theta = law.theta_draws(posterior, fit.priors, group_index(fit, group), rng)
    scales = Scales(**fit.spec["scales"])
    sigma = jnp.asarray(posterior["sigma"])
    nu = jnp.asarray(posterior["nu"]) if "nu" in posterior else None
    mu = _draws(
        law,
        fit.likelihood,
        kind == "new_run",
        {k: jnp.asarray(v) for k, v in theta.items()},
        jnp.asarray(points["N"].to_numpy()),
        jnp.asarray(points["D"].to_numpy()),
        scales,
        sigma,
        nu,
        jax.random.PRNGKey(seed),
    )
    if kind == "new_run":
        if extrapolation != "none":
            mu = widen(fit, points, np.asarray(mu), seed=seed, method=extrapolation)
    return mu


def predict(
    fit: Fit,
    N=None,
    D=None,
    C=None,
    *,
    ci: float = 0.9,
    kind: str = "mean",
    group=None,
    seed: int = 0,
    extrapolation: str = DEFAULT_METHOD,
) -> pd.DataFrame:
    """Predicted loss at query points: one row per point.

    Parameters
    ----------
    fit : a loss-surface :class:`~bayeslaws.results.Fit`.
    N, D, C : any two of model size (params), training tokens and compute (FLOPs); scalars or
        1-d sequences (broadcast).
    ci : central credible-interval mass (0.9 -> 5% and 95% quantiles).
    kind : "mean" (the law's uncertainty) or "new_run" (plus run-to-run noise).
    group : a fitted group's label; None with a grouped fit predicts for a new group.
    seed : seeds the noise and new-group draws.
    extrapolation : "gp" (default) adds to ``new_run`` draws a Gaussian-process model
        discrepancy fitted to the training runs' residuals (fitted on first use in seconds and
        kept in ``fit.spec``; without stored training runs, the distance discrepancy from its
        prior, with a warning; see :mod:`bayeslaws.extrapolation`). "none" gives the plain
        posterior predictive. Alternatives, compared in ``benchmarks/calibration.py``:
        "gp_discrepancy", "stacking_discrepancy", "discrepancy", "discrepancy_t", "stacking".
        Ignored for ``kind="mean"``.

    Returns
    -------
    DataFrame with columns N, D, C, median, mean, lower, upper (loss units), ci, kind, and
    N_outside_decades / D_outside_decades: how far each point lies outside the fitted range
    (0 inside, +1 = ten times larger than the largest fitted value).
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    law = fit.law
    if hasattr(law, "predict"):  # laws whose prediction is not a loss surface (hyperparameters)
        return law.predict(fit, N=N, D=D, C=C, ci=ci, kind=kind, group=group, seed=seed)
    from .extrapolation import check_method

    check_method(extrapolation)
    if "scales" not in fit.spec:
        raise RunTableError(f"law {fit.spec['law']!r} does not predict a loss surface")
    points = query_points(fit, N, D, C)
    loss = np.exp(np.asarray(log_loss_draws(fit, points, kind, group, seed, extrapolation)))
    out = summarise_draws(points, loss, ci, kind, fit.spec["ranges"], axes=("N", "D"))
    if group is not None:
        out.insert(0, "group", group)
    return out
