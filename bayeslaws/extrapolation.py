"""Honest extrapolation: ``kind="new_run"`` intervals that hold beyond the fitted range.

A posterior fitted to small runs is honest about run-to-run noise *inside* the fitted range and
blind to the law bending, or the form being wrong, further out. Three ingredients, compared in
``benchmarks/calibration.py``:

1. **A Gaussian-process model discrepancy** (:mod:`bayeslaws.gp_discrepancy`, method ``"gp"``,
   the default): a GP over (ln N, ln D) fitted to the training runs' residuals against the
   posterior mean of the law, added to every predictive draw (everywhere: near the runs it is the
   smoothed residual pattern with a small sd, far from them mean 0 and sd eta; with the correct
   form eta goes to 0 and nothing changes). Kept in ``fit.spec["gp"]``; fitted on first use from
   the training runs in seconds, no refits.
2. **A distance-growing discrepancy** added to every predictive draw of ln L beyond the range,

       delta ~ Normal(0, s(d)),    s(d)^2 = (tau0 * min(1, d / RAMP))^2 + (tau1 * d)^2

   where ``d`` is the distance of the point outside the range of the training runs, in decades:
   the largest of its distances in N, D and C (0 inside, so there nothing changes). ``tau0`` is
   a step that appears as soon as a run leaves the fitted range (ramped in over ``RAMP`` = 0.1
   decade so the interval is continuous) and ``tau1`` a growth per decade (a slowly drifting
   exponent). A quantile range (``RANGE_QUANTILE`` > 0, the data's bulk) was tried on Epoch's
   points and did worse (90% coverage 78% against 91%): the inner splits then see larger
   distances too and learn a smaller scale.

   Both scales are learned by **scale-out cross-validation on the training runs only**: the law
   is refitted (short NUTS runs, same law, likelihood and priors) on the smaller runs of a few
   inner splits (the runs below a cut in C, and below a cut in N), each refit predicts the runs
   it did not see, and a grid posterior over (tau0, tau1) is computed from those held-out runs,
   with half-normal priors (scale ``PRIOR_SCALE`` each, in ln-loss units). Each held-out run's
   predictive is approximated as Normal(mean, var) of the refit's new-run draws plus s(d)^2;
   runs are treated as independent given the scales. Predictions then draw (tau0, tau1) from
   that grid posterior, one pair per posterior draw. Kept in ``fit.spec["extrapolation"]``
   (``fit.spec["extrapolation_gp"]`` for the scales learned after the GP, each split fitting
   its own GP); computed on first use (four short refits: tens of seconds) or by
   :func:`calibrate`.
3. **Bayesian stacking of functional forms** (Yao et al. 2018): ``STACK_LAWS`` -- Chinchilla,
   Chinchilla with an interaction exponent (:mod:`bayeslaws.laws.chinchilla_gamma`) and Kaplan --
   fitted to the same training runs, with weights from PSIS-LOO (:func:`stack`, which fits the
   other forms once and keeps their draws in ``fit.spec["stacking"]``). Beyond the range each
   predictive draw comes from one form, chosen with the stacking weights.

Methods (``predict(..., extrapolation=...)``):

* ``"gp"`` (default): the GP discrepancy.
* ``"gp_discrepancy"``: the GP plus the distance discrepancy learned after it.
* ``"stacking_discrepancy"``: the stacked mixture plus the distance discrepancy.
* ``"discrepancy"``: the distance discrepancy added to the fit's own form.
* ``"discrepancy_t"``: the same discrepancy with a Student-t shape (``T_NU`` = 3 d.o.f., same
  variance), its scales learned from the same scale-out residuals (no extra refits; the state
  keeps them under ``"cv"``).
* ``"stacking"``: the stacked mixture alone.
* ``"none"``: the plain posterior predictive (widening switched off).

All need the training runs, which :func:`bayeslaws.fit` stores in
``fit.spec["training_data"]``; every state is JSON and saved with the fit. **Fallbacks** (each
announced once by a warning and recorded in ``fit.spec["unavailable"]``): without training runs
the default uses the distance discrepancy with its scales from their prior
(``"source": "prior"``); the stacking methods skip stacking when the fit's law is not one of
``STACK_LAWS``, when it has more than one group, or without training runs; ``"stacking"`` alone
then raises.

Evidence (``python benchmarks/calibration.py``, 2x300+300 draws; held-out runs 50/80/90%
coverage, median abs. relative error): on Epoch's points fitted on C <= 1e21 (23 larger runs),
``"none"`` covers 4/30/48% with 0.96% error; ``"gp"`` 65/96/96% with 0.46%;
``"stacking_discrepancy"`` 30/78/91% with 0.79%; ``"discrepancy"`` 22/57/91% with 0.95%. The
held-out errors of the plain fit follow ln(D/N) (correlation 0.89, printed by the benchmark):
the form mis-tilts along tokens per parameter, the training residuals already carry that pattern
(the GP fitted to them has eta 0.009, column ``gp_eta``), and the GP, reading it off them, both
corrects the median and widens where it is unsure; a scale that only grows with the distance
outside the range cannot, since three of those runs lie 0.01 decade outside with 0.6-1.9%
errors (``calibration_points_real.csv``). Porian (two configurations) and Step Law: ``"gp"``
has the lowest or near-lowest error and the best or near-best log predictive density. The
simulated rows (correct form; exponents that bend beyond the fitted range, which no in-range
method can see) are in the benchmark table.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import MCMC, NUTS
from numpyro.primitives import Messenger
from scipy import stats

from . import gp_discrepancy

METHODS = (
    "gp",
    "gp_discrepancy",
    "stacking_discrepancy",
    "discrepancy",
    "discrepancy_t",
    "stacking",
    "none",
)
DEFAULT_METHOD = "gp"  # predict(..., kind="new_run")
STACK_LAWS = ("chinchilla", "chinchilla_gamma", "kaplan")  # forms averaged by method "stacking"
T_NU = 3.0  # degrees of freedom of the heavy-tailed discrepancy variant "discrepancy_t"
RAMP = 0.1  # decades over which the step tau0 ramps in
PRIOR_SCALE = 0.02  # half-normal scale of tau0 and of tau1 (ln-loss units, per decade for tau1)
GRID_MAX = 0.1
GRID_SIZE = 41
DEFAULT_FOLDS = (("C", 0.15), ("C", 0.3), ("N", 0.15), ("N", 0.3))
MIN_KEEP_FRACTION = 0.4
MIN_HELD_OUT = 3
MIN_LEVELS = 3
RANGE_QUANTILE = 0.0  # reference range quantiles; 0 = the min-max range (see module doc)


def cv_state_key(method: str) -> str | None:
    """The ``fit.spec`` key of the scale-out CV state that ``method`` uses (None: no refits)."""
    check_method(method)
    if method == "gp_discrepancy":
        return "extrapolation_gp"
    if method in ("discrepancy", "discrepancy_t", "stacking_discrepancy"):
        return "extrapolation"
    return None


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"extrapolation must be one of {METHODS}, got {method!r}")
    return method


# ---- distance and the discrepancy scale --------------------------------------------------------
def outside_decades(values, low: float, high: float) -> np.ndarray:
    """Unsigned distance of ``values`` outside [low, high], in decades (0 inside)."""
    values = np.asarray(values, float)
    return np.log10(np.maximum(values / high, 1.0)) - np.log10(np.minimum(values / low, 1.0))


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


def _grid():
    return np.linspace(0.0, GRID_MAX, GRID_SIZE)


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
    the Gaussian predictive with a t discrepancy, exact when the discrepancy dominates)."""
    r = np.asarray(residuals, float)[None, None, :]
    v = np.asarray(variances, float)[None, None, :]
    d = np.asarray(distances, float)[None, None, :]
    g = _grid()
    t0, t1 = np.meshgrid(g, g, indexing="ij")
    s2 = discrepancy_sd(d, t0[..., None], t1[..., None]) ** 2
    total = v + s2
    if shape == "normal":
        loglik = -0.5 * (np.log(2 * np.pi * total) + r**2 / total)
    elif shape == "student_t":
        scale = np.sqrt(total * (T_NU - 2) / T_NU)
        loglik = stats.t.logpdf(r, T_NU, scale=scale)
    else:
        raise ValueError(f"shape must be 'normal' or 'student_t', got {shape!r}")
    logw = loglik.sum(-1) + _log_prior(t0, t1, prior_scale)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean0 = float((w * t0).sum())
    mean1 = float((w * t1).sum())
    return {
        "method": "discrepancy",
        "source": "scale-out cross-validation",
        "ramp": RAMP,
        "prior_scale": prior_scale,
        "grid": g.tolist(),
        "weights": w.tolist(),
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


# ---- training data kept with the fit ------------------------------------------------------------
def training_data(runs) -> dict:
    """JSON-ready copy of the runs a fit used (N, D, C, loss, group), for lazy calibration."""
    df = runs.df
    out = {k: [float(v) for v in df[k].to_numpy(float)] for k in ("N", "D", "C", "loss")}
    if "group" in df:
        out["group"] = [str(g) for g in df["group"]]
    return out


def _runs_from_spec(fit):
    import pandas as pd

    from .runs import load_runs

    data = fit.spec.get("training_data")
    if not data:
        return None
    frame = pd.DataFrame({k: data[k] for k in ("N", "D", "loss")})
    if "group" in data:
        frame["group"] = data["group"]
    runs = load_runs(frame, compute_model=fit.compute_model)
    runs.df["C"] = np.asarray(data["C"], float)  # as fitted (e.g. Porian's budget column)
    return runs


# ---- inner scale-out refits ---------------------------------------------------------------------
class _MaskSite(Messenger):
    """Mask the log density of one sample site (the observations of runs outside a fold)."""

    def __init__(self, site, mask):
        self.site = site
        self.mask = mask
        super().__init__(None)

    def process_message(self, msg):
        if msg["name"] == self.site:
            msg["fn"] = msg["fn"].mask(self.mask)


def _masked_model(x, y, group_index, z_obs, mask, *, law, n_groups, scales, priors, likelihood):
    with _MaskSite("log_loss", mask):
        law.model(x, y, group_index, n_groups, scales, priors, likelihood, z_obs=z_obs)


def fold_masks(df, folds=DEFAULT_FOLDS) -> list[tuple[str, np.ndarray]]:
    """Inner scale-out splits of a training table: for (column, f), keep the runs whose
    log10 value lies below max - f * (max - min) of that column. Splits that keep fewer than
    ``MIN_KEEP_FRACTION`` of the runs, hold out fewer than ``MIN_HELD_OUT``, leave fewer than
    ``MIN_LEVELS`` distinct N or D values, or repeat an earlier split are skipped."""
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


def scale_out_residuals(
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
    range_quantile=RANGE_QUANTILE,
    gp=False,
):
    """Refit on each inner split (masked NUTS, one compiled model) and score the held-out runs.

    Returns (residuals, variances, distances, fold summaries): ln-loss residual of each held-out
    run against its refit's new-run predictive mean, that predictive's variance, and the run's
    distance outside the split's fitted range (decades). With ``gp=True`` each split also fits
    the GP discrepancy (:mod:`bayeslaws.gp_discrepancy`) to its own training residuals and the
    held-out runs are scored against the GP-corrected predictive (mean + GP mean, variance +
    GP variance), so the scales learned from them are what remains after the GP.
    """
    from .likelihoods import observation
    from .runs import RunTable

    if not isinstance(runs, RunTable):
        raise TypeError("runs must be a RunTable")
    model_args, _ = law.prepare(runs)
    df = runs.df
    splits = fold_masks(df, folds)
    model = functools.partial(
        _masked_model,
        law=law,
        n_groups=model_args["n_groups"],
        scales=model_args["scales"],
        priors=priors,
        likelihood=likelihood,
    )
    chains_ok = jax.local_device_count() >= chains and jax.default_backend() == "cpu"
    mcmc = MCMC(
        NUTS(model, dense_mass=True),
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method="parallel" if chains_ok and chains > 1 else "sequential",
        progress_bar=False,
        jit_model_args=True,
    )
    groups = runs.groups
    gidx = np.asarray(model_args["group_index"])
    resid, var, dist_, summaries = [], [], [], []
    for k, (name, keep) in enumerate(splits):
        mcmc.run(
            jax.random.PRNGKey(seed * 1000 + k),
            x=model_args["x"],
            y=model_args["y"],
            group_index=model_args["group_index"],
            z_obs=model_args["z_obs"],
            mask=jnp.asarray(keep),
        )
        post = {kk: np.asarray(v) for kk, v in mcmc.get_samples().items()}
        held = ~keep
        ranges = reference_ranges(df[keep], range_quantile)
        N_all, D_all = df["N"].to_numpy(float), df["D"].to_numpy(float)
        Nh, Dh, Ch = (df[c].to_numpy(float)[held] for c in "NDC")
        y_all = np.log(df["loss"].to_numpy(float))
        yh = y_all[held]
        mu_all = np.empty((post["sigma"].shape[0], len(df)))
        rng = np.random.default_rng(seed + k)
        for g in range(len(groups)):
            sel = gidx == g
            if not sel.any():
                continue
            theta = law.theta_draws(post, priors, g, rng)
            mu_all[:, sel] = np.asarray(
                law.log_loss_draws(
                    theta, jnp.asarray(N_all[sel]), jnp.asarray(D_all[sel]), model_args["scales"]
                )
            )
        mu = mu_all[:, held]
        sigma = jnp.asarray(post["sigma"])[:, None]
        nu = jnp.asarray(post["nu"])[:, None] if "nu" in post else None
        noise = observation(likelihood, jnp.zeros_like(mu), sigma, nu)
        z = mu + np.asarray(noise.sample(jax.random.PRNGKey(seed + 17 * k + 1)))
        r, v = yh - z.mean(0), z.var(0)
        if gp:
            gp_state = gp_discrepancy.fit_gp(
                N_all[keep], D_all[keep], y_all[keep] - mu_all[:, keep].mean(0)
            )
            gp_mean, gp_sd = gp_discrepancy.conditional(gp_state, Nh, Dh)
            r, v = r - gp_mean, v + gp_sd**2
        d = distance_decades(Nh, Dh, Ch, ranges)
        resid.append(r)
        var.append(v)
        dist_.append(d)
        summaries.append(
            {
                "split": name,
                "n_fit": int(keep.sum()),
                "n_held_out": int(held.sum()),
                "max_distance": float(d.max()),
                "rms_residual": float(np.sqrt(np.mean(r**2))),
                "rms_predictive_sd": float(np.sqrt(np.mean(v))),
            }
        )
    if not splits:
        return np.array([]), np.array([]), np.array([]), []
    return np.concatenate(resid), np.concatenate(var), np.concatenate(dist_), summaries


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
    runs (``runs``, or those stored in the fit) and store the state in
    ``fit.spec["extrapolation"]`` (with ``gp=True``: the scales left after the GP discrepancy,
    in ``fit.spec["extrapolation_gp"]``). Returns the state."""
    runs = runs if runs is not None else _runs_from_spec(fit)
    if runs is None:
        state = prior_state(prior_scale, "the fit holds no training data")
    else:
        seed = fit.spec.get("sampler", {}).get("seed", 0) if seed is None else seed
        r, v, d, summaries = scale_out_residuals(
            runs,
            fit.law,
            fit.likelihood,
            fit.priors,
            folds=folds,
            chains=chains,
            warmup=warmup,
            draws=draws,
            seed=seed,
            range_quantile=range_quantile,
            gp=gp,
        )
        if r.size == 0:
            state = prior_state(prior_scale, "the training runs allow no inner scale-out split")
        else:
            state = posterior_state(r, v, d, prior_scale, summaries)
        state["ranges"] = reference_ranges(runs.df, range_quantile)
        state["range_quantile"] = range_quantile
    state["after_gp"] = bool(gp)
    fit.spec["extrapolation_gp" if gp else "extrapolation"] = state
    return state


def ensure_state(fit, gp: bool = False) -> dict:
    """The fit's discrepancy state (``gp``: the one learned after the GP discrepancy), computed
    now (and kept in the spec) if absent."""
    state = fit.spec.get("extrapolation_gp" if gp else "extrapolation")
    if state is None:
        if "training_data" not in fit.spec:
            warnings.warn(
                "this fit holds no training data: extrapolation widening uses the prior over the "
                "discrepancy scales (call bayeslaws.extrapolation.calibrate(fit, runs))",
                stacklevel=3,
            )
        state = calibrate(fit, gp=gp)
    return state


# ---- Gaussian-process discrepancy (bayeslaws.gp_discrepancy) -------------------------------------
def training_residuals(fit, runs) -> np.ndarray:
    """ln L of the training runs minus the posterior mean of the law there (no noise)."""
    from .predict import log_loss_draws

    df = runs.df
    points = df[["N", "D", "C"]].reset_index(drop=True)
    mean = np.empty(len(df))
    groups = df["group"].astype(str).to_numpy() if len(fit.groups) > 1 else None
    for g in fit.groups if groups is not None else [None]:
        sel = np.ones(len(df), bool) if g is None else groups == str(g)
        z = log_loss_draws(fit, points[sel], "mean", group=g, extrapolation="none")
        mean[sel] = np.asarray(z).mean(0)
    return np.log(df["loss"].to_numpy(float)) - mean


def gp_state(fit, runs=None) -> dict:
    """Fit the GP discrepancy to ``fit``'s training residuals (``runs``, or those stored in the
    fit) and keep it in ``fit.spec["gp"]``. Returns the state."""
    runs = runs if runs is not None else _runs_from_spec(fit)
    if runs is None:
        raise ValueError("the GP discrepancy needs the training runs (none given, none stored)")
    state = gp_discrepancy.fit_gp(runs.df["N"], runs.df["D"], training_residuals(fit, runs))
    fit.spec["gp"] = state
    return state


def _ranges_of(fit) -> dict:
    """The reference range of a fit: its state's, else the bulk of its stored training runs,
    else its fitted (min, max) range."""
    state = fit.spec.get("extrapolation") or {}
    if state.get("ranges"):
        return state["ranges"]
    data = fit.spec.get("training_data")
    if data:
        import pandas as pd

        return reference_ranges(pd.DataFrame({c: data[c] for c in ("N", "D", "C")}))
    return fit.spec["ranges"]


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
    for key in ("ranges", "range_quantile"):
        if key in state:
            out[key] = state[key]
    return out


# ---- Bayesian stacking over functional forms ----------------------------------------------------
def _posterior_lists(fit) -> dict:
    draws = fit.draws()
    names = list(fit.law.parameters) + ["sigma"] + (["nu"] if "nu" in draws else [])
    out = {}
    for name in names:
        for key in (name, f"{name}_group", f"{name}_tau"):
            if key in draws:
                out[key] = np.asarray(draws[key], float).tolist()
    return out


def stack(
    fit,
    runs=None,
    *,
    laws=STACK_LAWS,
    chains=2,
    warmup=300,
    draws=300,
    seed=None,
) -> dict:
    """Bayesian stacking (Yao et al. 2018) of functional forms with weights from PSIS-LOO.

    Fits every law in ``laws`` other than the fit's own to its training runs (same likelihood,
    default priors), computes stacking weights with :func:`arviz.compare` (``method="stacking"``)
    and stores in ``fit.spec["stacking"]`` the weights and the other laws' posterior draws (JSON).
    Method ``"stacking"`` then predicts each draw from one form, chosen with those weights.
    Returns the state."""
    import arviz as az

    from .inference import fit as fit_law

    runs = runs if runs is not None else _runs_from_spec(fit)
    if runs is None:
        raise ValueError("stacking needs the training runs (none given, none stored in the fit)")
    seed = fit.spec.get("sampler", {}).get("seed", 0) if seed is None else seed
    fits = {fit.spec["law"]: fit}
    for law in laws:
        if law not in fits:
            fits[law] = fit_law(
                runs,
                law,
                likelihood=fit.likelihood,
                chains=chains,
                warmup=warmup,
                draws=draws,
                seed=seed,
                warn=False,
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pareto-k warnings are reported in the state
        table = az.compare({k: f.idata for k, f in fits.items()}, ic="loo", method="stacking")
    weights = {k: float(table.loc[k, "weight"]) for k in fits}
    state = {
        "method": "stacking",
        "laws": list(fits),
        "weights": weights,
        "elpd_loo": {k: float(table.loc[k, "elpd_loo"]) for k in fits},
        "others": {
            k: {
                "law": k,
                "likelihood": f.likelihood,
                "priors": f.spec["priors"],
                "scales": f.spec["scales"],
                "groups": f.spec["groups"],
                "posterior": _posterior_lists(f),
            }
            for k, f in fits.items()
            if f is not fit
        },
    }
    fit.spec["stacking"] = state
    return state


def _other_law_draws(other: dict, points, n_draws: int, rng) -> np.ndarray:
    """New-run ln-loss draws (n_draws, Q) of a stacked law from its stored posterior."""
    from .laws import get_law
    from .laws.base import Scales
    from .likelihoods import observation
    from .priors import spec_to_priors

    law = get_law(other["law"])
    post = {k: np.asarray(v, float) for k, v in other["posterior"].items()}
    idx = rng.integers(0, post["sigma"].shape[0], n_draws)
    post = {k: v[idx] for k, v in post.items()}
    group = 0 if len(other["groups"]) <= 1 else None
    theta = law.theta_draws(post, spec_to_priors(other["priors"]), group, rng)
    mu = np.asarray(
        law.log_loss_draws(
            theta,
            jnp.asarray(points["N"].to_numpy(float)),
            jnp.asarray(points["D"].to_numpy(float)),
            Scales(**other["scales"]),
        )
    )
    sigma = jnp.asarray(post["sigma"])[:, None]
    nu = jnp.asarray(post["nu"])[:, None] if "nu" in post else None
    noise = observation(other["likelihood"], jnp.zeros_like(mu), sigma, nu)
    key = jax.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))
    return mu + np.asarray(noise.sample(key))


def _fall_back(fit, component: str, reason: str, what: str, instead: str) -> None:
    """Warn (once per fit) that ``component`` is unavailable and record why in
    ``fit.spec["unavailable"]``."""
    recorded = fit.spec.setdefault("unavailable", {})
    if component not in recorded:
        warnings.warn(
            f"extrapolation: no {what} ({reason}); widening by {instead} instead", stacklevel=4
        )
        recorded[component] = reason


def gp_unavailable(fit) -> str | None:
    """Why the GP discrepancy cannot be fitted for this fit (None when it can)."""
    if fit.spec.get("gp") or fit.spec.get("training_data"):
        return None
    return "the fit holds no training data (bayeslaws.extrapolation.gp_state(fit, runs) adds it)"


def stacking_unavailable(fit) -> str | None:
    """Why stacking cannot widen this fit's predictions (None when it can)."""
    if (fit.spec.get("stacking") or {}).get("laws"):
        return None  # already stacked (perhaps with runs passed to stack())
    if fit.spec["law"] not in STACK_LAWS:
        return f"law {fit.spec['law']!r} is not one of the stacked forms {STACK_LAWS}"
    if len(fit.groups) > 1:
        return "the fit has several groups (stacking is for single-group loss surfaces)"
    if not fit.spec.get("training_data"):
        return "the fit holds no training data"
    return None


def stacked_draws(fit, points, log_loss, seed: int = 0) -> np.ndarray:
    """Replace each draw by one of a stacked form with probability its stacking weight."""
    reason = stacking_unavailable(fit)
    if reason:
        raise ValueError(f"extrapolation='stacking' is unavailable: {reason}")
    state = fit.spec.get("stacking") or stack(fit)
    rng = np.random.default_rng([seed, 11])
    log_loss = np.array(log_loss, float)
    n = log_loss.shape[0]
    laws = state["laws"]
    w = np.array([state["weights"][k] for k in laws])
    choice = rng.choice(len(laws), size=n, p=w / w.sum())
    for i, law in enumerate(laws):
        sel = choice == i
        if law == fit.spec["law"] or not sel.any():
            continue
        log_loss[sel] = _other_law_draws(state["others"][law], points, int(sel.sum()), rng)
    return log_loss


def widen(fit, points, log_loss, seed: int = 0, method: str = DEFAULT_METHOD):
    """Widen new-run ln-loss draws (S, Q) at query points (beyond the fitted range only, except
    for the GP methods).

    ``"gp"`` (default) adds draws of the GP discrepancy (at every point, see
    :mod:`bayeslaws.gp_discrepancy`), ``"gp_discrepancy"`` also the distance discrepancy learned
    after it; ``"stacking_discrepancy"`` mixes the stacked functional forms' predictives draw by
    draw and adds the Normal discrepancy (the discrepancy alone where stacking is unavailable,
    see :func:`stacking_unavailable`); ``"discrepancy"`` adds Normal discrepancy draws,
    ``"discrepancy_t"`` Student-t ones (same CV data), ``"stacking"`` only mixes the forms."""
    check_method(method)
    if method == "none":
        return log_loss
    if method.startswith("gp") and gp_unavailable(fit):
        _fall_back(fit, "gp", gp_unavailable(fit), "GP discrepancy", "the distance discrepancy")
        method = "discrepancy"
    if method.startswith("gp"):
        gp = fit.spec.get("gp") or gp_state(fit)
        delta = gp_discrepancy.draws(gp, points["N"], points["D"], np.shape(log_loss)[0], seed)
        log_loss = log_loss + delta  # everywhere: a smooth correction, ~0 where runs agree
        if method == "gp":
            return log_loss
    d = distance_decades(points["N"], points["D"], points["C"], _ranges_of(fit))
    if not np.any(d > 0):
        return log_loss
    if method == "stacking_discrepancy" and stacking_unavailable(fit):
        reason = stacking_unavailable(fit)
        _fall_back(fit, "stacking", reason, "stacking of functional forms", "the discrepancy alone")
        method = "discrepancy"
    if method.startswith("stacking"):
        log_loss = np.where(d[None, :] > 0, stacked_draws(fit, points, log_loss, seed), log_loss)
        if method == "stacking":
            return log_loss
    state = ensure_state(fit, gp=cv_state_key(method) == "extrapolation_gp")
    if method == "discrepancy_t":
        state = variant_state(state, "student_t")
    if state.get("ranges"):
        d = distance_decades(points["N"], points["D"], points["C"], state["ranges"])
    delta = discrepancy_draws(state, d, np.shape(log_loss)[0], seed)
    return log_loss + delta
