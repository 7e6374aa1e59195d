"""A model discrepancy that drifts with the distance beyond the training runs, its rate learned
across a corpus of real sweeps (method ``"drift"``, and part of the full model ``"model"``;
neither is the default, ``"gp"``: :data:`bayeslaws.posterior.extrapolation.DEFAULT_METHOD`).

Beyond the fitted range a law is wrong in a way its own runs cannot show: its exponents drift.
The discrepancy here is a random function of the query's distance outside the range of the
training runs, in decades, along each axis::

    delta(N, D) = sum over axes k of  g_k * d_k(N, D),     g_k ~ Normal(0, tau^2) per draw,

    d_N+ = max(0, log10 N - log10 N_max),   d_N- = max(0, log10 N_min - log10 N),
    d_D+, d_D- likewise for tokens D,       d_C+ = max(0, log10 C - log10 C_max),

so it is 0 inside the range and grows linearly beyond it, with a random slope per axis that
each posterior draw shares across all query points (a whole function per draw, not independent
noise per point). Along an isoFLOP line beyond the range, ln N rises as ln D falls, so the drift
tilts the curve and moves its minimum: N_opt and L_opt inherit the uncertainty
(:func:`line_term`). The sd at a point is tau * sqrt(sum d_k^2): about tau per decade.

**tau is learned across a corpus** (``benchmarks/learn_drift.py``, from ``../shared/data``):
on every selection data set the law is refitted on inner scale-out splits (the smaller runs),
each split's held-out runs give residuals r (against the refit's predictive mean, after the GP
discrepancy fitted to that split's own residuals) with predictive variances v and distances
d_k, and the split's residual vector is MultivariateNormal(0, diag(v) + tau^2 sum_k d_k d_k^T)
(its slopes are shared by the split's held-out runs). Per data set tau_j, and across data sets
``ln tau_j ~ Normal(MU, S)``, (MU, S) at their maximum marginal likelihood (a grid over tau_j per
data set). A new table draws tau from that population, one per posterior draw: the rate a
user's ten runs cannot measure is borrowed from thousands of runs. ``calibrate_drift`` updates
it with the table's own scale-out splits when asked.

The shipped (MU, S) below were written by ``python benchmarks/learn_drift.py`` (output
``benchmarks/output/learn_drift.csv``); the selection data sets are listed in
``docs/calibration_protocol.md``; no confirmation data were used.
"""

from __future__ import annotations

import numpy as np

from ...runs import decades_outside
from ...runs.compute import same_compute_model

# Population of ln tau (tau in ln-loss units per decade), learned by benchmarks/learn_drift.py.
LOG_TAU_MEAN = -2.4925  # from benchmarks/output/learn_drift_population.json
LOG_TAU_SD = 1.1000
TAU_GRID = np.geomspace(1e-4, 1.0, 161)  # ln-loss per decade
AXES = ("N+", "N-", "D+", "D-", "C+")
# How the axes share their slope sd: one tau for all ("isotropic"), or one for the axes that tilt
# the law along isoFLOP lines (N and D) and one for the level along compute ("tilt_level").
GROUPINGS = {
    "isotropic": {"all": AXES},
    "tilt_level": {"tilt": ("N+", "N-", "D+", "D-"), "level": ("C+",)},
}
GRID_2D = np.geomspace(1e-4, 1.0, 41)  # per-group tau grid of the two-group model
CV_FOLDS = (("C", 0.15), ("C", 0.3), ("N", 0.15), ("N", 0.3), ("D", 0.15), ("D", 0.3))


def axis_distances(N, D, C, ranges: dict) -> np.ndarray:
    """Decades outside the training range along each of ``AXES``: array (..., 5), 0 inside.
    N params, D tokens, C FLOPs; ``ranges`` column -> [min, max]."""
    parts = []
    for column, values in (("N", N), ("D", D), ("C", C)):
        above, below = decades_outside(values, *ranges[column])
        parts += [above, below] if column != "C" else [above]
    return np.stack(np.broadcast_arrays(*parts), axis=-1)


CACHE_KEY = "drift"


def population_state(mean=None, sd=None, groups: dict | None = None) -> dict:
    """The state that draws tau from a learned population: one LogNormal(mean, sd) for every
    axis (isotropic), or ``groups`` = {group: {"mean": ..., "sd": ...}} of a grouping in
    ``GROUPINGS`` (e.g. tilt and level): its keys all of one grouping's groups, each with
    ``"mean"`` and ``"sd"`` of ln tau (ValueError naming ``groups`` otherwise)."""
    if groups is not None:
        grouping = next((g for g, spec in GROUPINGS.items() if set(spec) == set(groups)), None)
        if grouping is None:
            accepted = "; ".join(f"{g}: {sorted(spec)}" for g, spec in GROUPINGS.items())
            raise ValueError(
                f"population_state: groups must name every group of one grouping ({accepted}), "
                f"got {sorted(map(str, groups))}"
            )
        for name, spec in groups.items():
            if not isinstance(spec, dict) or not {"mean", "sd"} <= set(spec):
                raise ValueError(
                    f"population_state: groups[{name!r}] must be a dict with 'mean' and 'sd' "
                    f"(of ln tau), got {spec!r}"
                )
        return {"source": "population", "grouping": grouping, "groups": groups}
    mean = LOG_TAU_MEAN if mean is None else float(mean)
    sd = LOG_TAU_SD if sd is None else float(sd)
    if not (np.isfinite(mean) and np.isfinite(sd)):
        raise RuntimeError("the drift population is not learned yet (benchmarks/learn_drift.py)")
    return {"source": "population", "log_tau_mean": mean, "log_tau_sd": sd}


def grouping_of(state: dict) -> dict:
    """{group: axes} of a state (isotropic unless it names its grouping)."""
    return GROUPINGS[state.get("grouping", "isotropic")]


def axis_taus(state: dict, n_draws: int, rng) -> np.ndarray:
    """tau per draw and axis (n_draws, 5) from a state: a population (LogNormal per group) or
    a grid posterior (over one tau, or over the groups' taus jointly)."""
    groups = grouping_of(state)
    names = list(groups)
    if state.get("weights") is not None:
        grid = np.asarray(state["grid"], float)
        w = np.asarray(state["weights"], float)
        flat = rng.choice(w.size, size=n_draws, p=(w / w.sum()).ravel())
        idx = np.unravel_index(flat, w.shape)
        step = np.log(grid[1] / grid[0])
        per_group = [grid[i] * np.exp(rng.uniform(-0.5, 0.5, n_draws) * step) for i in idx]
    elif "groups" in state:
        per_group = [
            np.exp(
                state["groups"][g]["mean"] + state["groups"][g]["sd"] * rng.standard_normal(n_draws)
            )
            for g in names
        ]
    else:
        per_group = [
            np.exp(state["log_tau_mean"] + state["log_tau_sd"] * rng.standard_normal(n_draws))
        ]
    out = np.empty((n_draws, len(AXES)))
    for g, taus in zip(names, per_group, strict=True):
        for axis in groups[g]:
            out[:, AXES.index(axis)] = taus
    return out


def state_of(fit) -> dict:
    """The fit's drift state: ``fit.cache["drift"]`` when set (the population updated by the
    fit's own scale-out splits, :func:`calibrate`, or another population), else the shipped
    population."""
    return fit.cache.get(CACHE_KEY) or population_state()


def calibrate(fit, runs=None, *, folds=None, seed=None, prior=None, **sampler) -> dict:
    """Update the population of tau (``prior``, default the shipped one) with the fit's own
    inner scale-out splits (refits of its law on the smaller runs,
    :func:`.distance.scale_out_splits` with the GP discrepancy) and keep the grid posterior in
    ``fit.cache["drift"]``. The runs: the fit's own stored training runs whenever it stores
    them (``runs``, when given, must then hold them, and its other rows, e.g. held-out runs,
    are not used: :func:`.stacking.runs_for`); ``runs`` as given only for a fit that stores
    none (neither: the prior is kept). Returns the state."""
    from . import distance
    from .stacking import runs_for

    runs = runs_for(fit, runs, "the drift rate's scale-out refits")
    prior = population_state() if prior is None else prior
    if runs is None:
        fit.cache[CACHE_KEY] = prior
        return prior
    seed = fit.record.sampler.seed if seed is None else seed
    sampler = {"chains": 2, "warmup": 300, "draws": 300, **sampler}
    splits = distance.scale_out_splits(
        runs,
        fit.law,
        fit.likelihood,
        fit.priors,
        folds=folds or CV_FOLDS,
        seed=seed,
        gp=True,
        purpose='the drift rate of methods "drift" and "model"',
        **sampler,
    )
    triples = []
    for s in splits:
        h = s["held_out"]
        triples.append(
            (s["residuals"], s["variances"], axis_distances(h["N"], h["D"], h["C"], s["ranges"]))
        )
    state = prior_update(prior, triples)
    state["splits"] = [s["name"] for s in splits]
    state["refit_diagnostics"] = [s["diagnostics"] for s in splits]  # checked, warned: distance
    fit.cache[CACHE_KEY] = state
    return state


def sample_slopes(taus: np.ndarray, rng) -> np.ndarray:
    """Random slopes g (S, 5): Normal(0, tau^2) per draw and axis (ln loss per decade); ``taus``
    is (S,) (one tau per draw) or (S, 5) (per axis, :func:`axis_taus`)."""
    taus = np.asarray(taus, float)
    taus = taus[:, None] * np.ones(len(AXES)) if taus.ndim == 1 else taus
    return taus * rng.standard_normal(taus.shape)


def point_term(slopes: np.ndarray, N, D, C, ranges: dict) -> np.ndarray:
    """delta at query points for every draw: (S, Q) ln-loss units. ``ranges``: the training
    range the distances are measured from (column -> [min, max]); on a grouped fit the queried
    group's own, :func:`.distance.group_ranges` (a new group: the pooled range)."""
    d = axis_distances(N, D, C, ranges)  # (Q, 5)
    return slopes @ d.T


def line_term(
    slopes: np.ndarray, ranges: dict, compute_model, C, u, range_model=None
) -> np.ndarray:
    """delta along isoFLOP lines: u = ln N of shape (S, Q, G), budgets C (Q,) FLOPs; D from the
    compute model. Returns (S, Q, G), the same function as :func:`point_term` (``ranges``: the
    queried group's own on a grouped fit, as there). ``range_model``: the compute model
    ``ranges`` count C in (the fit's; default: ``compute_model``)."""
    N = np.exp(np.asarray(u, float))
    Cq = np.asarray(C, float)[None, :, None]
    D = compute_model.tokens(N, Cq)
    d = axis_distances(N, D, flops_as_ranged(N, D, Cq, compute_model, range_model), ranges)
    return np.einsum("sqgk,sk->sqg", d, slopes)


def flops_as_ranged(N, D, C, compute_model, range_model=None) -> np.ndarray:
    """C (FLOPs under ``compute_model``) of runs (N params, D tokens) as ``range_model`` (the
    fit's, whose training range measures the drift along C) counts them, broadcast to N's
    shape: C itself when the two models agree (or no ``range_model`` is given)."""
    N = np.asarray(N, float)
    if range_model is None or same_compute_model(compute_model, range_model):
        return np.broadcast_to(np.asarray(C, float), N.shape)
    return np.broadcast_to(np.asarray(range_model.flops(N, D), float), N.shape)


def prior_update(prior: dict, triples) -> dict:
    """The grid posterior of tau (per group) given inner scale-out splits ``triples`` (each a
    (residuals, variances, distances) triple) and a population ``prior``."""
    names = list(grouping_of(prior))
    if len(names) == 1:
        grid = TAU_GRID
        loglik = dataset_log_likelihood(triples)
        mean, sd = prior.get("log_tau_mean"), prior.get("log_tau_sd")
        if mean is None:
            mean, sd = prior["groups"][names[0]]["mean"], prior["groups"][names[0]]["sd"]
        logw = loglik - 0.5 * ((np.log(grid) - mean) / sd) ** 2
    else:
        grid = GRID_2D
        loglik = dataset_log_likelihood_groups(triples, prior["grouping"], grid)
        logw = loglik.copy()
        for axis, g in enumerate(names):
            p = prior["groups"][g]
            lp = -0.5 * ((np.log(grid) - p["mean"]) / p["sd"]) ** 2
            logw = logw + np.expand_dims(lp, [i for i in range(len(names)) if i != axis])
    w = np.exp(logw - logw.max())
    state = {
        **{k: v for k, v in prior.items() if k != "source"},
        "source": "population updated by the fit's own scale-out splits",
        "grid": grid.tolist(),
        "weights": (w / w.sum()).tolist(),
        "n_held_out": int(sum(len(t[0]) for t in triples)),
    }
    return state


# ---- learning tau ------------------------------------------------------------------------------
def split_log_likelihood(residuals, variances, distances, taus=TAU_GRID) -> np.ndarray:
    """ln p(r | tau) of one split's held-out residual vector for each tau: (len(taus),).

    r ~ MultivariateNormal(0, diag(v) + tau^2 sum_k d_k d_k^T); r, v: (m,); distances (m, 5)."""
    r = np.asarray(residuals, float)
    v = np.asarray(variances, float)
    d = np.asarray(distances, float)
    out = np.empty(len(taus))
    base = np.diag(v)
    ddT = d @ d.T
    for i, tau in enumerate(taus):
        cov = base + tau**2 * ddT
        sign, logdet = np.linalg.slogdet(cov)
        out[i] = -0.5 * (logdet + r @ np.linalg.solve(cov, r) + len(r) * np.log(2 * np.pi))
    return out


def dataset_log_likelihood(splits, taus=TAU_GRID) -> np.ndarray:
    """Sum over a data set's splits (each a (residuals, variances, distances) triple)."""
    total = np.zeros(len(taus))
    for r, v, d in splits:
        if len(r):
            total += split_log_likelihood(r, v, d, taus)
    return total


def dataset_log_likelihood_groups(triples, grouping: str, grid=GRID_2D) -> np.ndarray:
    """ln p(data | tau per group) on the product grid: shape (len(grid),) * groups. Each split's
    residual vector is MultivariateNormal(0, diag(v) + sum_g tau_g^2 D_g D_g^T), D_g its
    distances along the group's axes."""
    groups = GROUPINGS[grouping]
    G = len(groups)
    total = np.zeros((len(grid),) * G)
    mesh = np.meshgrid(*([grid] * G), indexing="ij")
    for r, v, d in triples:
        if not len(r):
            continue
        d = np.asarray(d, float)
        blocks = []
        for axes in groups.values():
            cols = [AXES.index(a) for a in axes]
            blocks.append(d[:, cols] @ d[:, cols].T)
        base = np.diag(np.asarray(v, float))
        out = np.empty(total.shape)
        for idx in np.ndindex(total.shape):
            cov = base + sum(mesh[g][idx] ** 2 * blocks[g] for g in range(G))
            _, logdet = np.linalg.slogdet(cov)
            out[idx] = -0.5 * (logdet + r @ np.linalg.solve(cov, r) + len(r) * np.log(2 * np.pi))
        total += out
    return total


def population_fit_groups(loglik: np.ndarray, grouping: str, grid=GRID_2D) -> dict:
    """Maximum marginal likelihood of independent LogNormal populations of each group's tau:
    {group: {"mean", "sd"}} and the log marginal likelihood. ``loglik``: (J, grid...)."""
    from scipy import optimize

    names = list(GROUPINGS[grouping])
    G = len(names)
    lt = np.log(grid)
    w = np.log(np.gradient(lt))

    def negative(params):
        total_prior = np.zeros((len(grid),) * G)
        for g in range(G):
            m, log_s = params[2 * g], params[2 * g + 1]
            s_ = np.exp(log_s)
            lp = -0.5 * ((lt - m) / s_) ** 2 - np.log(s_ * np.sqrt(2 * np.pi)) + w
            total_prior = total_prior + np.expand_dims(lp, [i for i in range(G) if i != g])
        joint = loglik + total_prior[None]
        flat = joint.reshape(joint.shape[0], -1)
        return -np.sum(_logsumexp(flat, axis=1))

    start = []
    for g in range(G):
        best = np.array([lt[np.unravel_index(np.argmax(L), L.shape)[g]] for L in loglik])
        start += [float(best.mean()), float(np.log(max(best.std(), 0.2)))]
    # bounded: means inside the grid, sds in [0.05, 3] (an unbounded search ran off to a
    # degenerate population whose sd absorbed data sets at the grid's edge)
    bounds = [(lt[0], lt[-1]), (np.log(0.05), np.log(3.0))] * G
    start = [float(np.clip(x, *b)) for x, b in zip(start, bounds, strict=True)]
    res = optimize.minimize(negative, start, method="Powell", bounds=bounds)
    return {
        "groups": {
            names[g]: {"mean": float(res.x[2 * g]), "sd": float(np.exp(res.x[2 * g + 1]))}
            for g in range(G)
        },
        "log_marginal": float(-res.fun),
    }


def population_fit(loglik: np.ndarray, taus=TAU_GRID, means=None, sds=None) -> dict:
    """Maximum marginal likelihood (mean, sd) of ln tau across data sets.

    ``loglik``: (J, len(taus)) ln p(data_j | tau) on the grid ``taus``. The population density
    of ln tau is integrated over the grid (trapezoid in ln tau). Returns mean, sd, the marginal
    log likelihood and each data set's posterior median tau under the fitted population."""
    loglik = np.atleast_2d(np.asarray(loglik, float))
    lt = np.log(taus)
    means = np.linspace(np.log(1e-3), np.log(0.2), 61) if means is None else means
    sds = np.linspace(0.05, 2.0, 40) if sds is None else sds
    w = np.gradient(lt)
    best = (-np.inf, None, None)
    for m in means:
        for s in sds:
            logprior = -0.5 * ((lt - m) / s) ** 2 - np.log(s * np.sqrt(2 * np.pi)) + np.log(w)
            total = np.sum(_logsumexp(loglik + logprior[None, :], axis=1))
            if total > best[0]:
                best = (total, m, s)
    total, m, s = best
    logprior = -0.5 * ((lt - m) / s) ** 2
    post = loglik + logprior[None, :]
    post = np.exp(post - post.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    medians = [float(taus[np.searchsorted(np.cumsum(p), 0.5)]) for p in post]
    return {"mean": float(m), "sd": float(s), "log_marginal": float(total), "tau_median": medians}


def _logsumexp(a, axis):
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))
