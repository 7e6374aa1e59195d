"""A model discrepancy that grows with the distance beyond the fitted range (methods
``"discrepancy"``, ``"discrepancy_t"``, ``"gp_discrepancy"`` and the discrepancy part of
``"stacking_discrepancy"``).

Added to every predictive draw of ln L beyond the range::

    delta ~ Normal(0, s(d)),    s(d)^2 = (tau0 * min(1, d / RAMP))^2 + (tau1 * d)^2

where ``d`` is the distance of the point outside the range of the training runs, in decades:
the largest of its distances in N, D and C (0 inside, so there nothing changes). C is measured
as a query's is (:func:`as_queried`): for a loss surface of (N, D) the compute model's FLOPs of
the runs' N and D, also where their C is a nominal budget (Marin's). ``tau0`` is a
step that appears as soon as a run leaves the fitted range (ramped in over ``RAMP`` = 0.1 decade
so the interval is continuous) and ``tau1`` a growth per decade (a slowly drifting exponent). A
quantile range (``RANGE_QUANTILE`` > 0, the data's bulk) was tried on Epoch's points and did
worse (90% coverage 78% against 91%): the inner splits then see larger distances too and learn
a smaller scale.

Both scales are learned by **scale-out cross-validation on the training runs only**: the law is
refitted (short NUTS runs, same law, likelihood and priors) on the smaller runs of a few inner
splits (the runs below a cut in C, and below a cut in N), each refit predicts the runs it did not
see, and a grid posterior over (tau0, tau1) is computed from those held-out runs, with
half-normal priors (scale ``PRIOR_SCALE`` each, in ln-loss units), on a grid over
[0, ``GRID_MAX``] doubled while more than ``EDGE_MASS`` of the posterior lies on its top edge
(up to ``GRID_WIDENINGS`` times; still there then: warned, :func:`posterior_state`). Each
held-out run's predictive is approximated as Normal(mean, var) of the refit's new-run draws
plus s(d)^2; runs are treated as independent given the scales. Predictions then draw
(tau0, tau1) from that grid posterior, one pair per posterior draw. Kept in
``fit.cache["distance"]`` (``"distance_after_gp"`` for the scales learned after the GP
discrepancy, each split fitting its own GP, one per group on a grouped fit as predictions do:
:func:`split_gp`); computed on first use (four short refits: tens of seconds) or by
:func:`calibrate`.

Every refit is checked as a fit is (:func:`~bayeslaws.inference.diagnostics.check`: R-hat,
ESS, divergences, tree depth, with the bars of its own draws); the figures of each split are kept
in the state (``"refit_diagnostics"``) and one ``SamplerWarning`` names the splits that failed:
scales learned from unconverged refits are not to be trusted.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import MCMC, NUTS

from ...inference.deferred import arviz
from ...inference.diagnostics import SamplerWarning
from ...inference.diagnostics import check as check_sampler
from ...inference.nuts import choose_chain_method, fitted_sites
from ...inference.padding import masked_model
from ...laws.contract import Posterior, group_label
from ...runs import RunTable, decades_outside
from ...runs.checks import ArgumentTypeError, UnknownNameError
from ...runs.warn import user_stacklevel, warn_user
from . import gp as gp_discrepancy
from .stacking import runs_for

T_NU = 3.0  # degrees of freedom of the heavy-tailed discrepancy variant "discrepancy_t"
RAMP = 0.1  # decades over which the step tau0 ramps in
PRIOR_SCALE = 0.02  # half-normal scale of tau0 and of tau1 (ln-loss units, per decade for tau1)
GRID_MAX = 0.1  # top of the (tau0, tau1) grid, ln-loss units (per decade for tau1) ...
GRID_SIZE = 41
# ... doubled (up to GRID_WIDENINGS times) while more than EDGE_MASS of the grid posterior lies
# on its top row or column (tau0 or tau1 at the top): the data then ask for larger scales than
# the grid holds. Below EDGE_MASS the grid stays [0, GRID_MAX], as before the widening existed.
EDGE_MASS = 0.01
GRID_WIDENINGS = 5  # GRID_MAX x 2^5 = 3.2 at most: larger scales are cut off there, warned
DEFAULT_FOLDS = (("C", 0.15), ("C", 0.3), ("N", 0.15), ("N", 0.3))
MIN_KEEP_FRACTION = 0.4
MIN_HELD_OUT = 3
MIN_LEVELS = 3
RANGE_QUANTILE = 0.0  # reference range quantiles; 0 = the min-max range (see module doc)
# runs' C within this relative tolerance of the compute model's FLOPs of their N and D: C is
# those FLOPs (the ranges keep the runs' own C); further off it is nominal (e.g. Marin's budgets)
SAME_FLOPS_RTOL = 1e-6


def fit_compute_model(fit):
    """The fit's compute model, or None when it used a user compute model that was not saved
    (:attr:`bayeslaws.inference.Fit.compute_model` raises ValueError for it)."""
    try:
        return fit.compute_model
    except ValueError:
        return None


def queried_flops(law, compute_model, N, D, C) -> np.ndarray | None:
    """The C (FLOPs) a query at runs (N params, D tokens) of ``law`` is measured at, where it
    is not their own ``C``; else None. A law that does not take C (a loss surface of (N, D))
    is asked at C = ``compute_model.flops(N, D)`` (:func:`~bayeslaws.posterior.draws
    .query_frame`), so runs whose C is off those FLOPs by more than ``SAME_FLOPS_RTOL``
    (nominal budgets, e.g. Marin's 0.74-1.07 x 6ND) get them: (n,). None for a law that takes
    C (e.g. isoflop: its budgets are the runs' own C), for runs whose C is those FLOPs, and
    without a compute model."""
    if "C" in law.inputs or compute_model is None or len(np.atleast_1d(N)) == 0:
        return None
    C = np.asarray(C, float)
    flops = np.asarray(compute_model.flops(N, D), float)
    if np.allclose(C, flops, rtol=SAME_FLOPS_RTOL, atol=0.0):
        return None
    return flops


def as_queried(df, law, compute_model):
    """``df`` (runs: N, D, C columns) with C as a query of ``law`` measures it
    (:func:`queried_flops`): the same frame when that is the runs' own C, else a copy with C
    the compute model's FLOPs of N and D. The distances beyond the range compare a query's C
    with the range of this C."""
    flops = queried_flops(law, compute_model, df["N"], df["D"], df["C"])
    return df if flops is None else df.assign(C=flops)


def fall_back(fit, component: str, reason: str, what: str, instead: str) -> None:
    """Warn (once per fit; UserWarning at the user's line) that ``component`` is unavailable
    and record why in ``fit.cache["unavailable"]``: the fallbacks of
    :mod:`bayeslaws.posterior.extrapolation`."""
    recorded = dict(fit.cache.get("unavailable") or {})
    if component not in recorded:
        warn_user(
            f"extrapolation: no {what} ({reason}); widening by {instead} instead", UserWarning
        )
        recorded[component] = reason
        fit.cache["unavailable"] = recorded


def outside_decades(values, low: float, high: float) -> np.ndarray:
    """Unsigned distance of ``values`` outside [low, high], in decades (0 inside)."""
    above, below = decades_outside(values, low, high)
    return above + below


def reference_ranges(df, q: float = RANGE_QUANTILE) -> dict:
    """Per column N, D, C: the (q, 1 - q) quantiles of the training runs (the data's bulk)."""
    return {
        c: [float(v) for v in np.exp(np.quantile(np.log(df[c].to_numpy(float)), [q, 1 - q]))]
        for c in ("N", "D", "C")
    }


def distance_decades(N, D, C, ranges: dict) -> np.ndarray:
    """Distance outside a fitted range: the largest of the N, D and C distances, in decades."""
    parts = [outside_decades(v, *ranges[k]) for k, v in (("N", N), ("D", D), ("C", C))]
    return np.max(np.stack(parts), axis=0)


def discrepancy_sd(d, tau0, tau1):
    """s(d) for distances ``d`` (decades) and scales ``tau0``, ``tau1`` (broadcast)."""
    d = np.asarray(d, float)
    ramp = np.minimum(1.0, d / RAMP)
    return np.sqrt((tau0 * ramp) ** 2 + (tau1 * d) ** 2)


def _grid(grid_max: float = GRID_MAX):
    return np.linspace(0.0, grid_max, GRID_SIZE)


def edge_mass(weights) -> float:
    """The share of a (tau0, tau1) grid posterior ``weights`` (G, G) on the grid's top row or
    column (tau0 or tau1 at the grid's top value)."""
    w = np.asarray(weights, float)
    return float(w[-1, :].sum() + w[:, -1].sum() - w[-1, -1])


def _log_prior(t0, t1, prior_scale):
    return -0.5 * (t0 / prior_scale) ** 2 - 0.5 * (t1 / prior_scale) ** 2


def prior_state(prior_scale: float = PRIOR_SCALE, reason: str = "") -> dict:
    """Grid state holding only the prior over (tau0, tau1)."""
    g = _grid()
    t0, t1 = np.meshgrid(g, g, indexing="ij")
    logw = _log_prior(t0, t1, prior_scale)
    w = np.exp(logw - logw.max())
    return {
        "method": "discrepancy",
        "source": "prior",
        "reason": reason,
        "ramp": RAMP,
        "prior_scale": prior_scale,
        "grid": g.tolist(),
        "weights": (w / w.sum()).tolist(),
        "folds": [],
    }


def posterior_state(
    residuals, variances, distances, prior_scale=PRIOR_SCALE, folds=(), shape="normal"
) -> dict:
    """Grid posterior over (tau0, tau1) from held-out residuals (ln-loss, observed - predictive
    mean), predictive variances and distances (decades).

    ``shape`` "normal": each residual ~ Normal(0, v + s(d)^2); "student_t": ~ Student-t with
    ``T_NU`` degrees of freedom and the same variance (an approximation of the convolution of
    the Gaussian predictive with a t discrepancy, exact when the discrepancy dominates).

    The grid spans [0, ``GRID_MAX``] in both scales; where more than ``EDGE_MASS`` of the
    posterior lies on its top row or column (:func:`edge_mass`: the residuals ask for larger
    scales) the span is doubled, up to ``GRID_WIDENINGS`` times. Kept in the state:
    ``"grid_max"`` (the span used), ``"edge_mass"`` (the share on its top edge) and
    ``"edge_note"`` (None, or why the scales are cut off: their posterior still piles up at
    the widest grid's edge, which is warned, a ``SamplerWarning`` as for unreliable refits)."""
    if shape not in ("normal", "student_t"):
        raise ValueError(f"shape must be 'normal' or 'student_t', got {shape!r}")
    r = np.asarray(residuals, float)[None, None, :]
    v = np.asarray(variances, float)[None, None, :]
    d = np.asarray(distances, float)[None, None, :]
    grid_max = GRID_MAX
    for widening in range(GRID_WIDENINGS + 1):
        g, w = _grid_posterior(r, v, d, prior_scale, shape, grid_max)
        edge = edge_mass(w)
        if edge <= EDGE_MASS or widening == GRID_WIDENINGS:
            break
        grid_max *= 2
    t0, t1 = np.meshgrid(g, g, indexing="ij")
    mean0 = float((w * t0).sum())
    mean1 = float((w * t1).sum())
    note = None
    if edge > EDGE_MASS:
        note = (
            f"{edge:.1%} of the posterior of the distance discrepancy's scales (tau0, tau1) lies "
            f"on the top edge of its grid ({grid_max:g} ln-loss units, per decade for tau1; the "
            f"grid widened {GRID_WIDENINGS} times from {GRID_MAX:g}): the {np.size(residuals)} "
            "held-out runs of the scale-out refits miss by more than the grid holds, so the "
            "scales, and the intervals they widen beyond the fitted range, are cut off there "
            "(too narrow)"
        )
        warnings.warn(note, SamplerWarning, stacklevel=user_stacklevel())
    return {
        "method": "discrepancy",
        "source": "scale-out cross-validation",
        "ramp": RAMP,
        "prior_scale": prior_scale,
        "grid": g.tolist(),
        "weights": w.tolist(),
        "grid_max": grid_max,
        "edge_mass": edge,
        "edge_note": note,
        "tau0_mean": mean0,
        "tau1_mean": mean1,
        "n_held_out": int(np.size(residuals)),
        "folds": list(folds),
        "shape": shape,
        # the scale-out CV data, so that variants (another shape) need no refits
        "cv": {
            "residuals": np.ravel(residuals).tolist(),
            "variances": np.ravel(variances).tolist(),
            "distances": np.ravel(distances).tolist(),
        },
    }


def _grid_posterior(r, v, d, prior_scale, shape, grid_max) -> tuple[np.ndarray, np.ndarray]:
    """The grid (G,) over [0, ``grid_max``] and the normalised posterior weights (G, G) over
    (tau0, tau1) of held-out residuals ``r``, variances ``v`` and distances ``d`` (each
    (1, 1, m)) under ``shape`` (:func:`posterior_state`)."""
    g = _grid(grid_max)
    t0, t1 = np.meshgrid(g, g, indexing="ij")
    s2 = discrepancy_sd(d, t0[..., None], t1[..., None]) ** 2
    total = v + s2
    if shape == "normal":
        loglik = -0.5 * (np.log(2 * np.pi * total) + r**2 / total)
    else:
        from scipy import stats  # imported on use: scipy.stats takes ~0.5 s to import

        scale = np.sqrt(total * (T_NU - 2) / T_NU)
        loglik = stats.t.logpdf(r, T_NU, scale=scale)
    logw = loglik.sum(-1) + _log_prior(t0, t1, prior_scale)
    w = np.exp(logw - logw.max())
    return g, w / w.sum()


def sample_scales(state: dict, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draws of (tau0, tau1) from a state's grid weights, jittered within grid cells."""
    g = np.asarray(state["grid"])
    w = np.asarray(state["weights"]).ravel()
    idx = rng.choice(w.size, size=size, p=w / w.sum())
    i0, i1 = np.unravel_index(idx, (g.size, g.size))
    step = g[1] - g[0]
    jitter = rng.uniform(-0.5, 0.5, size=(2, size)) * step
    return np.abs(g[i0] + jitter[0]), np.abs(g[i1] + jitter[1])


def discrepancy_draws(state: dict, distances, n_draws: int, seed: int = 0) -> np.ndarray:
    """Additive ln-loss draws, shape (n_draws, Q): delta ~ Normal(0, s(d)) per draw and point
    (for a ``"student_t"`` state: a Student-t with ``T_NU`` d.o.f. and standard deviation s(d))."""
    rng = np.random.default_rng([seed, 7])
    tau0, tau1 = sample_scales(state, n_draws, rng)
    sd = discrepancy_sd(np.asarray(distances, float)[None, :], tau0[:, None], tau1[:, None])
    if state.get("shape", "normal") == "student_t":
        t = rng.standard_t(T_NU, size=sd.shape) * np.sqrt((T_NU - 2) / T_NU)
        return sd * t
    return sd * rng.standard_normal(sd.shape)


# ---- inner scale-out refits ---------------------------------------------------------------------
REFIT_FIELDS = ("diverging", "num_steps")  # NUTS extra fields the refit diagnostics read


def refit_diagnostics(mcmc: MCMC, names: list[str], dense_mass: bool | None = None) -> dict:
    """Sampler diagnostics of a finished refit (run with ``extra_fields=REFIT_FIELDS``) for its
    sites ``names``: :meth:`Diagnostics.to_dict` (max R-hat, min bulk and tail ESS,
    divergences, draws, problems, the bars, the share of draws at the maximum tree depth),
    computed as for a fit and not warned; ``dense_mass``: the refit's mass matrix, for the
    tree-depth advice. JSON-able (R-hat NaN with one chain)."""
    posterior = {
        k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items() if k in names
    }
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {"diverging": np.asarray(extra["diverging"]), "n_steps": np.asarray(extra["num_steps"])}
    idata = arviz().from_dict(posterior=posterior, sample_stats=stats)
    return check_sampler(
        idata, names, warn=False, dense_mass=dense_mass, warmup=mcmc.num_warmup
    ).to_dict()


def refit_trouble(split_diagnostics: list[dict], purpose: str) -> str | None:
    """The warning text for the refits that failed their checks (``split_diagnostics``: one
    dict per split, ``"split"`` plus :func:`refit_diagnostics`), or None when all passed."""
    failed = [d for d in split_diagnostics if d["problems"]]
    if not failed:
        return None
    return (
        f"{purpose}: {len(failed)} of {len(split_diagnostics)} scale-out refits did not converge "
        f"({'; '.join(map(_refit_line, failed))}), so the learned scales rest on unreliable "
        "refits; give the refits more draws (warmup=, draws=). Figures kept in the state's "
        "'refit_diagnostics'"
    )


def _refit_line(d: dict) -> str:
    """One failed refit for the warning: its split, R-hat, bulk ESS and divergences."""
    r_hat = (
        f"{d['max_r_hat']:.3g} (bar {d['rhat_bar']:.3g})"
        if np.isfinite(d["max_r_hat"])
        else "n/a (one chain)"
    )
    return (
        f"split {d['split']}: max R-hat {r_hat}, min bulk ESS "
        f"{d['min_ess_bulk']:.0f} (bar {d['ess_bar']:.0f}), {d['divergences']} divergences of "
        f"{d['n_draws']} draws"
    )


def fold_masks(df, folds=DEFAULT_FOLDS) -> list[tuple[str, np.ndarray]]:
    """Inner scale-out splits of a training table: for (column, f), keep the runs whose
    log10 value lies below max - f * (max - min) of that column. Splits that keep fewer than
    ``MIN_KEEP_FRACTION`` of the runs, hold out fewer than ``MIN_HELD_OUT``, leave fewer than
    ``MIN_LEVELS`` distinct N or D values, or repeat an earlier split are skipped. ``folds``:
    (column, fraction) pairs, each column one of the table's (UnknownNameError naming
    ``folds`` otherwise)."""
    for fold in folds:
        if not (isinstance(fold, tuple | list) and len(fold) == 2):
            raise ValueError(f"folds: each entry must be a (column, fraction) pair, got {fold!r}")
        if fold[0] not in df.columns:
            raise UnknownNameError(
                f"folds: column {fold[0]!r} is not a column of the runs (they have "
                f"{', '.join(map(str, df.columns))}); the scale-out splits cut N, D or C"
            )
    out, seen = [], set()
    for column, fraction in folds:
        logv = np.log10(df[column].to_numpy(float))
        cut = logv.max() - fraction * (logv.max() - logv.min())
        keep = logv <= cut + 1e-9
        key = keep.tobytes()
        if key in seen:
            continue
        if keep.mean() < MIN_KEEP_FRACTION or (~keep).sum() < MIN_HELD_OUT:
            continue
        if df["N"][keep].nunique() < MIN_LEVELS or df["D"][keep].nunique() < MIN_LEVELS:
            continue
        seen.add(key)
        out.append((f"{column}<=10^{cut:.2f}", keep))
    return out


def scale_out_splits(
    runs,
    law,
    likelihood,
    priors,
    *,
    folds=DEFAULT_FOLDS,
    chains=2,
    warmup=300,
    draws=300,
    seed=0,
    gp=False,
    purpose="extrapolation widening",
) -> list[dict]:
    """Refit on each inner split (masked NUTS, one compiled model) and score the held-out runs.

    Returns one dict per split: ``name``; ``keep`` (bool mask of the fitted runs); ``held_out``
    (DataFrame of the held-out runs: N, D, C, loss); ``residuals`` (ln loss minus the refit's
    new-run predictive mean), ``variances`` (that predictive's variance) and ``draws``
    (its ln-loss draws, (S, m)); ``ranges`` (column -> [min, max] of the fitted runs). With
    ``gp=True`` each split also fits the GP discrepancy (:mod:`.gp`) to its own training
    residuals and the held-out runs are scored against the GP-corrected predictive (mean + GP
    mean, variance + GP variance), so what remains is what the GP does not explain; on a
    grouped fit, as a prediction does, one GP per group on that group's own fitted runs, each
    held-out run corrected by its own group's GP (none below ``gp.MIN_RUNS``: uncorrected),
    :func:`split_gp`.
    ``diagnostics``: the refit's sampler checks (``"split"`` plus :func:`refit_diagnostics`);
    one ``SamplerWarning`` naming ``purpose`` (what the scales serve) and every failed split
    is given after the refits when any failed.
    """
    if not isinstance(runs, RunTable):
        raise ArgumentTypeError("runs must be a RunTable")
    prepared = law.prepare(runs)
    df = prepared.runs.df
    where = as_queried(df, law, prepared.runs.compute_model)  # C as a query measures it
    splits = fold_masks(df, folds)
    static = {**prepared.static, "priors": priors, "likelihood": likelihood}
    model = functools.partial(masked_model, law=law, static=static)
    mcmc = MCMC(
        NUTS(model, dense_mass=law.default_dense_mass),
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method=choose_chain_method(chains),  # as bl.fit: vectorized on an accelerator
        progress_bar=False,
        jit_model_args=True,
    )
    labels = df["group"].astype(str).to_numpy() if len(prepared.groups) > 1 else None
    y_all = np.log(df["loss"].to_numpy(float))
    out = []
    for k, (name, keep) in enumerate(splits):
        mcmc.run(
            jax.random.PRNGKey(seed * 1000 + k),
            mask=jnp.asarray(keep),
            extra_fields=REFIT_FIELDS,
            **prepared.data,
        )
        samples = {kk: np.asarray(v) for kk, v in mcmc.get_samples().items()}
        names = fitted_sites(law.checked_names(prepared.groups, likelihood), samples)
        diagnostics = {
            "split": name, **refit_diagnostics(mcmc, names, law.default_dense_mass)
        }
        post = Posterior(
            samples, prepared.scales, prepared.groups, prepared.state, likelihood, priors
        )
        held = ~keep
        rng = np.random.default_rng(seed + k)
        z = np.empty((post.n_draws, int(held.sum())))
        for g in prepared.groups if labels is not None else [None]:
            in_group = np.ones(len(df), bool) if g is None else labels == str(g)
            rows = (in_group & held)[held]
            if rows.any():
                new_run = law.draws(post, df[in_group & held], kind="new_run", group=g, rng=rng)[
                    "loss"
                ]
                z[:, rows] = np.log(new_run)
        r, v = y_all[held] - z.mean(0), z.var(0)
        held_out = where.loc[held, ["N", "D", "C", "loss"]]
        if gp:
            gp_mean, gp_sd = split_gp(law, post, df, keep, held_out, labels, prepared.groups)
            r, v = r - gp_mean, v + gp_sd**2
            z = z + gp_mean[None, :]
        fitted = where.loc[keep]  # C as a query measures it
        ranges = {c: [float(fitted[c].min()), float(fitted[c].max())] for c in "NDC"}
        out.append(
            {
                "name": name,
                "keep": keep,
                "held_out": held_out,
                "residuals": r,
                "variances": v,
                "draws": z,
                "ranges": ranges,
                "diagnostics": diagnostics,
            }
        )
    trouble = refit_trouble([s["diagnostics"] for s in out], purpose)
    if trouble:
        warnings.warn(trouble, SamplerWarning, stacklevel=user_stacklevel())
    return out


def split_gp(law, post, df, keep, held_out, labels, groups) -> tuple[np.ndarray, np.ndarray]:
    """The GP discrepancy of one scale-out split at its held-out runs: mean and sd (m,), ln-loss
    units, m = len(``held_out``) (the rows of ``df`` where ``keep`` is False, in order).

    Fitted as a prediction's is (:mod:`.gp`) to the split's fitted runs (``keep``) and their
    residuals against the refit ``post``'s law mean: one GP over all of them for a fit without
    groups (``labels`` None); on a grouped fit one per group, on that group's own fitted runs
    (:func:`.gp.group_states`; none for a group with fewer than ``gp.MIN_RUNS`` of them), each
    held-out run conditioned on its own group's GP only, and a held-out run whose group has
    none left uncorrected (mean 0, sd 0)."""
    kept = df[keep]
    residuals = np.log(kept["loss"].to_numpy(float)) - law.fitted_log_mean(post, kept)
    N, D = held_out["N"].to_numpy(float), held_out["D"].to_numpy(float)
    if labels is None:
        state = gp_discrepancy.fit_gp(kept["N"], kept["D"], residuals)
        return gp_discrepancy.conditional(state, N, D)
    states = gp_discrepancy.group_states(
        kept["N"], kept["D"], residuals, labels[keep], groups
    )["groups"]
    mean, sd = np.zeros(len(held_out)), np.zeros(len(held_out))
    held_labels = labels[~keep]
    for group, state in states.items():
        own = held_labels == group
        if state is not None and own.any():
            mean[own], sd[own] = gp_discrepancy.conditional(state, N[own], D[own])
    return mean, sd


def pooled_splits(splits: list[dict], df, range_quantile=RANGE_QUANTILE):
    """Scale-out ``splits`` of the training table ``df`` pooled: (residuals, variances,
    distances, fold summaries), each held-out run's distance (decades) outside its split's
    fitted range (its ``range_quantile`` bulk). ``df``'s C: as a query measures it
    (:func:`as_queried`), as the splits' held-out runs carry it."""
    if not splits:
        return np.array([]), np.array([]), np.array([]), []
    resid, var, dist_, summaries = [], [], [], []
    for split in splits:
        h = split["held_out"]
        ranges = reference_ranges(df[split["keep"]], range_quantile)
        d = distance_decades(h["N"], h["D"], h["C"], ranges)
        r, v = split["residuals"], split["variances"]
        resid.append(r)
        var.append(v)
        dist_.append(d)
        summaries.append(
            {
                "split": split["name"],
                "n_fit": int(split["keep"].sum()),
                "n_held_out": len(h),
                "max_distance": float(d.max()),
                "rms_residual": float(np.sqrt(np.mean(r**2))),
                "rms_predictive_sd": float(np.sqrt(np.mean(v))),
            }
        )
    return np.concatenate(resid), np.concatenate(var), np.concatenate(dist_), summaries


CACHE_KEYS = {False: "distance", True: "distance_after_gp"}  # fit.cache key by ``gp``
PURPOSES = {  # what the scales of each cache key serve, for the refits' warning
    False: 'discrepancy scales of methods "discrepancy", "discrepancy_t", '
    '"stacking_discrepancy" (and of the GP methods\' fallback)',
    True: 'discrepancy scales of method "gp_discrepancy"',
}


def calibrate(
    fit,
    runs=None,
    *,
    folds=DEFAULT_FOLDS,
    prior_scale=PRIOR_SCALE,
    chains=2,
    warmup=300,
    draws=300,
    seed=None,
    range_quantile=RANGE_QUANTILE,
    gp=False,
) -> dict:
    """Learn the discrepancy scales of ``fit`` by scale-out cross-validation on its training
    runs and keep the state in ``fit.cache["distance"]`` (with ``gp=True``: the scales left
    after the GP discrepancy, ``"distance_after_gp"``), with each refit's sampler diagnostics
    (``"refit_diagnostics"``, one dict per split, see :func:`scale_out_splits`) and the
    reference range the distances are measured from (``"ranges"``; C as a query measures it,
    :func:`as_queried`). The runs: the fit's own stored training runs whenever it stores them
    (``runs``, when given, must then hold them, and its other rows, e.g. held-out runs, are
    not used: :func:`.stacking.runs_for`); ``runs`` as given only for a fit that stores none.
    Without runs, or when no inner split passes :func:`fold_masks`' rules, the scales are
    their prior: warned once per fit and recorded in ``fit.cache["unavailable"]`` under the
    cache key (:func:`fall_back`). Returns the state."""
    runs = runs_for(fit, runs, "the distance discrepancy's scale-out refits")
    key = CACHE_KEYS[bool(gp)]
    if runs is None:
        state = prior_state(
            prior_scale,
            "the fit holds no training runs; bayeslaws.posterior.extrapolation.distance."
            "calibrate(fit, runs) learns the scales from runs given",
        )
    else:
        seed = fit.record.sampler.seed if seed is None else seed
        splits = scale_out_splits(
            runs,
            fit.law,
            fit.likelihood,
            fit.priors,
            folds=folds,
            chains=chains,
            warmup=warmup,
            draws=draws,
            seed=seed,
            gp=gp,
            purpose=PURPOSES[bool(gp)],
        )
        model = fit_compute_model(fit) or runs.compute_model  # the one queries' C is counted in
        where = as_queried(runs.df, fit.law, model)
        r, v, d, summaries = pooled_splits(splits, where, range_quantile)
        if r.size == 0:
            state = prior_state(prior_scale, no_split_reason(len(runs.df), folds))
        else:
            state = posterior_state(r, v, d, prior_scale, summaries)
        state["ranges"] = reference_ranges(where, range_quantile)
        state["range_quantile"] = range_quantile
        state["refit_diagnostics"] = [s["diagnostics"] for s in splits]
    state["after_gp"] = bool(gp)
    fit.cache[key] = state
    if state["source"] == "prior":
        instead = f"the scales' prior (half-normal, scale {prior_scale:g} each)"
        fall_back(fit, key, state["reason"], f"learned discrepancy scales ({key!r})", instead)
    return state


def no_split_reason(n_runs: int, folds) -> str:
    """Why ``n_runs`` training runs gave no inner scale-out split of ``folds``."""
    splits = ", ".join(f"{c} below the top {f:g} of its log range" for c, f in folds)
    return (
        f"the {n_runs} training runs allow no inner scale-out split: each split ({splits}) "
        f"keeps fewer than {MIN_KEEP_FRACTION:g} of the runs, holds out fewer than "
        f"{MIN_HELD_OUT}, leaves fewer than {MIN_LEVELS} distinct N or D, or repeats another; "
        "runs over a wider range of N and C let it learn them"
    )


def ensure_state(fit, gp: bool = False) -> dict:
    """The fit's discrepancy state (``gp``: the one learned after the GP discrepancy), computed
    now (and kept in the fit's cache) if absent (:func:`calibrate`: its fallback to the prior
    is warned and recorded there)."""
    state = fit.cache.get(CACHE_KEYS[bool(gp)])
    return calibrate(fit, gp=gp) if state is None else state


def fitted_label(fit, group) -> str | None:
    """The fit's own label for ``group`` (:func:`~bayeslaws.laws.contract.group_label`: 10,
    10.0 and "10.0" name the group "10"), or None for ``group=None``, a fit of one group or
    none, and a label the fit does not know."""
    if len(fit.record.groups) <= 1:
        return None
    try:
        return group_label(fit.record.groups, group)
    except ValueError:
        return None


def own_group_rows(fit, group) -> np.ndarray | None:
    """Which stored training runs (``fit.record.training_runs``) are ``group``'s own: a bool
    mask (n_runs,) for a fitted group of a grouped fit (named in any spelling the law accepts:
    :func:`fitted_label`); None for a fit without groups, for ``group=None`` (a new, unseen
    group), for a label none of the stored runs carries, and for a fit that stores no
    training runs."""
    runs = fit.record.training_runs or {}
    label = fitted_label(fit, group)
    if label is None or "group" not in runs:
        return None
    mine = np.asarray(runs["group"]).astype(str) == label
    return mine if mine.any() else None


def group_ranges(fit, group=None) -> dict:
    """The training range that distances beyond the fitted range are measured from, for
    ``group``: column -> [min, max] (N params, D tokens, C FLOPs, and every other column of
    ``fit.record.ranges``, e.g. lr and batch_size).

    For a fitted group of a grouped fit, the range of that group's own stored training runs
    (a column they hold no finite positive value of keeps the pooled range). For a fit without
    groups, for ``group=None`` (a NEW, unseen group: it has no runs of its own, and every
    group's runs inform it through the groups' spread) and for a fit that stores no training
    runs (:func:`own_group_rows` is None): the pooled range over every group,
    ``fit.record.ranges``, itself. C is measured as a query's is: for a law of (N, D) whose
    runs' C is nominal (not the compute model's FLOPs of their N and D, e.g. Marin's budgets)
    the range of those FLOPs (:func:`queried_flops`), since a query's C is its FLOPs; the runs'
    own C otherwise (a law of C, e.g. isoflop; C equal to the FLOPs)."""
    pooled = fit.record.ranges or {}
    runs = fit.record.training_runs or {}
    flops = stored_queried_flops(fit)
    mine = own_group_rows(fit, group)
    if mine is None:
        if flops is None or "C" not in pooled:
            return pooled
        return {**pooled, "C": [float(flops.min()), float(flops.max())]}
    out = {}
    for column, bounds in pooled.items():
        if column == "C" and flops is not None:
            values = flops[mine]
        else:
            values = np.asarray(runs.get(column, [None] * len(mine)), float)[mine]
        values = values[np.isfinite(values) & (values > 0)]
        out[column] = [float(values.min()), float(values.max())] if values.size else list(bounds)
    return out


def stored_queried_flops(fit) -> np.ndarray | None:
    """:func:`queried_flops` of the fit's stored training runs under its compute model: (n,)
    FLOPs, or None (C is the runs' own, or the fit stores no runs with N, D and C)."""
    runs = fit.record.training_runs or {}
    if not {"N", "D", "C"} <= set(runs):
        return None
    N, D, C = (np.asarray(runs[k], float) for k in ("N", "D", "C"))
    return queried_flops(fit.law, fit_compute_model(fit), N, D, C)


def range_words(fit, group=None) -> str:
    """What :func:`group_ranges` measures ``group`` from, in words:
    "group 'a''s fitted range" for a fitted group of a grouped fit, else "the fitted range"
    (pooled over every group)."""
    if own_group_rows(fit, group) is None:
        return "the fitted range"
    return f"group {fitted_label(fit, group)!r}'s fitted range"


def ranges_of(fit, group=None, state=None) -> dict:
    """The reference range (N, D, C -> [min, max]) of the distance discrepancy: for a fitted
    group of a grouped fit, that group's own runs' range (:func:`group_ranges`); otherwise
    (no groups, or ``group=None``, a new group) the discrepancy ``state``'s (default
    ``fit.cache["distance"]``), else the bulk of the training runs, else the fitted (min, max)
    range."""
    if own_group_rows(fit, group) is not None:
        return {c: v for c, v in group_ranges(fit, group).items() if c in ("N", "D", "C")}
    state = (fit.cache.get("distance") if state is None else state) or {}
    if state.get("ranges"):
        return state["ranges"]
    runs = fit.record.training_runs
    if runs:
        import pandas as pd

        frame = pd.DataFrame({c: runs[c] for c in ("N", "D", "C")})
        return reference_ranges(as_queried(frame, fit.law, fit_compute_model(fit)))
    return group_ranges(fit)


def variant_state(state: dict, shape: str) -> dict:
    """The discrepancy state refitted with another shape from the same scale-out CV data."""
    if state.get("shape", "normal") == shape:
        return state
    cv = state.get("cv")
    if not cv:
        out = dict(state, shape=shape)
        return out
    out = posterior_state(
        cv["residuals"],
        cv["variances"],
        cv["distances"],
        state.get("prior_scale", PRIOR_SCALE),
        state.get("folds", ()),
        shape=shape,
    )
    for key in ("ranges", "range_quantile", "refit_diagnostics"):
        if key in state:
            out[key] = state[key]
    return out
