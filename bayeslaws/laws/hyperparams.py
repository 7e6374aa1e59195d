"""Hyperparameter laws: the optimal learning rate and batch size as a hierarchical model over
every run of an LR x batch sweep (law name ``"hyperparams"``).

Within each cell c = (N, D, group) the log loss of a run is a bowl around the cell's optimum::

    ln L = l_c + k_lr(u) u^2 + k_batch v^2 + k_cross u v,
    u = ln lr - ln eta*_c,   v = ln B - ln B*_c          (B in tokens)

    k_lr(u) = k_lr for u <= 0 and k_lr * exp(lr_asym) for u > 0  (bowl "asymmetric"/"full")
    k_cross = 2 rho sqrt(min(k_lr(-), k_lr(+)) k_batch), |rho| < 1  (bowl "cross"/"full"),

so the bowl is convex with its minimum exactly at (eta*_c, B*_c), and the centre follows power
laws in N and D with cell-level scatter (non-centred, partial pooling)::

    ln eta*_c = ln lr_ref + lr_int + lr_N x_c + lr_D y_c + lr_scatter z_lr_c
    ln B*_c   = ln B_ref + batch_int + batch_N x_c + batch_D y_c + batch_scatter z_batch_c

with x = ln N - ln N_ref, y = ln D - ln D_ref (N params, D tokens) and the reference scales at the
data's geometric centre (``ln lr_ref``, ``ln B_ref`` the mean log lr / batch of the sweep).
``eta_opt(N, D)`` and ``B_opt(N, D)`` are the law (the median optimum of a new cell), i.e.
``B_opt = c * T^x * N^y`` in the papers' notation, see :meth:`HyperparamsLaw.law_table`.

The loss at a cell's optimum ``l_c = ln L*_c - ln L_ref`` is either free per cell
(``loss_level="free"``, prior Normal(0, 1)) or tied to the Chinchilla loss surface with cell
scatter (``loss_level="surface"``: ``l_c ~ Normal(chinchilla(x_c, y_c), level_scatter)``),
which is what lets :func:`predict` give the loss at the optimum of an unseen (N, D).

Likelihood: on the log loss (``bayeslaws.likelihoods``: gaussian, student_t, huber).

``bowl_scale``: the bowl above is in log loss (``"log"``, default: the curvature is relative, the
same fraction of the loss in every cell). ``"loss"`` puts it in loss units, as the simulator's
truth does (``loss = L* + bowl``): ``ln L = ln(L*_c + L_ref * bowl)``, i.e. the relative curvature
scales as L_ref / L*_c (with L*_c taken as the cell's mean loss, ~1% above its optimum, so the
level stays a plain shift). The optimum's location is the same under both; they differ only in
how the curvature changes between cells whose losses differ (on the simulated sweep L* spans
0.516-0.547, 6%; on Step Law 2.12-2.62, 20%). PSIS-LOO (bowl "full"): Step Law prefers "log" by
33.6 elpd (dse 4.7); the simulated sweep prefers "loss" by 5.3 (dse 2.7), with every exponent
within 0.004 of the "log" fit. Hence the default "log".

Diverged runs (NaN loss, loss above ``divergence_threshold``, or a true ``diverged`` column) are
either censored (``divergence="censor"``: the run's log loss is at least ln(threshold); without a
threshold, at least the largest loss of a run that did not diverge) or excluded
(``divergence="exclude"``, recorded by ``RunTable.exclude``). The count is stored in
``fit.spec["divergence"]`` and in ``fit.spec["notes"]``, and a warning says it at fit time.

Default priors (centred scales; "log" = natural log):

* lr_int, batch_int ~ Normal(0, 2): the optimum at the data's centre lies within a factor
  e^4 ~ 55 of the sweep's geometric-mean lr / batch;
* lr_N, lr_D, batch_N, batch_D ~ Normal(0, 1): exponents of eta_opt and B_opt in N and D
  (published values lie in [-0.8, 0.9]);
* lr_scatter, batch_scatter ~ HalfNormal(0.3): cell deviations from the law, in log units
  (a sqrt(2) grid step is 0.35);
* k_lr, k_batch ~ LogNormal(ln 0.003, 2): curvature of the log loss per squared log unit
  (video DiT ~ 0.001-0.003, Step Law ~ 0.005-0.02);
* lr_asym ~ Normal(0, 1): log ratio of the curvature above / below the optimal lr;
* rho ~ Uniform(-1, 1): the normalised cross term (rho < 0: larger batches want larger lr);
* level_mean ~ Normal(0, 1): each cell's mean (centred) log loss over its converged runs; the
  level at the optimum is ``level = level_mean - mean bowl of the cell`` (this parametrisation
  removes the strong level-curvature correlation). With ``loss_level="surface"`` the levels are
  also tied to Chinchilla's surface, ``level ~ Normal(chinchilla(x_c, y_c), level_scatter)``,
  with Chinchilla's priors on alpha, beta, a, b, e and level_scatter ~ HalfNormal(0.02);
* with groups: lr_int_tau, batch_int_tau ~ HalfNormal(0.3) (group offsets of the intercepts).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from jax.scipy.special import ndtr
from jax.scipy.stats import norm
from numpyro.distributions import constraints

from ..likelihoods import HUBER_DELTA, default_noise_priors, observation, sample_noise_params
from ..runs import RunTable, RunTableError
from . import chinchilla

BOWLS = ("symmetric", "cross", "asymmetric", "full")
LOSS_LEVELS = ("free", "surface")
BOWL_SCALES = ("log", "loss")
DIVERGENCE = ("censor", "exclude")
SURFACE_PARAMS = chinchilla.LAW.parameters  # alpha, beta, a, b, e
UNIT_WORDS = {"ones": 1.0, "thousands": 1e3, "millions": 1e6, "billions": 1e9, "trillions": 1e12}


class DivergenceWarning(UserWarning):
    """Diverged runs were found and censored or excluded (the count is in the fit's spec)."""


@dataclass(frozen=True)
class HPScales:
    """Reference scales (natural logs) of the hyperparameter model."""

    log_N_ref: float
    log_D_ref: float
    log_L_ref: float
    log_lr_ref: float
    log_B_ref: float

    def to_dict(self) -> dict:
        return asdict(self)


# ---- censored likelihood ---------------------------------------------------------------------
def log_survival(family: str, value, mu, sigma, nu=None):
    """ln P(X >= value) for the observation family of log loss (censored runs)."""
    t = (value - mu) / sigma
    if family == "gaussian":
        return norm.logsf(t)
    if family == "student_t":
        sf = dist.StudentT(nu, 0.0, 1.0).cdf(-t)
        return jnp.log(jnp.clip(sf, 1e-30, 1.0))
    if family == "huber":
        d = HUBER_DELTA
        core = jnp.sqrt(2 * jnp.pi) * (2 * ndtr(d) - 1)
        tail = 2 * jnp.exp(-0.5 * d**2) / d
        log_z = jnp.log(core + tail)
        t_hi = jnp.maximum(t, d)
        upper = -(d * t_hi - 0.5 * d**2) - jnp.log(d) - log_z
        t_mid = jnp.clip(t, -d, d)
        middle = jnp.log(0.5 * tail + jnp.sqrt(2 * jnp.pi) * (ndtr(d) - ndtr(t_mid))) - log_z
        t_lo = jnp.maximum(-t, d)
        lower = jnp.log1p(-jnp.exp(-(d * t_lo - 0.5 * d**2) - jnp.log(d) - log_z))
        return jnp.where(t > d, upper, jnp.where(t >= -d, middle, lower))
    raise ValueError(f"unknown likelihood {family!r}")


class CensoredObservation(dist.Distribution):
    """The observation family, with ``censored`` runs contributing ln P(log loss >= value)."""

    arg_constraints = {}
    support = constraints.real

    def __init__(self, family, mu, sigma, nu, censored, *, validate_args=None):
        self.family, self.mu, self.sigma, self.nu = family, mu, sigma, nu
        self.censored = censored
        self.base = observation(family, mu, sigma, nu)
        super().__init__(batch_shape=jnp.shape(mu), validate_args=validate_args)

    def log_prob(self, value):
        exact = self.base.log_prob(value)
        at_least = log_survival(self.family, value, self.mu, self.sigma, self.nu)
        return jnp.where(self.censored, at_least, exact)

    def sample(self, key, sample_shape=()):
        return self.base.sample(key, sample_shape)


# ---- the law ---------------------------------------------------------------------------------
class HyperparamsLaw:
    """Optimal learning rate and batch size: a bowl per (N, D) cell, centres on power laws.

    Parameters
    ----------
    bowl : "full" (tilted and asymmetric in lr; default), "cross" (tilted, symmetric in lr),
        "symmetric" or "asymmetric" (steeper or flatter above the optimal lr, no tilt). Chosen by
        PSIS-LOO (huber; benchmarks/steplaw_fit.py --compare; tables in
        paper_repro/results/hyperparams_loo.md): on Step Law (runs within 3% of each cell's best)
        "full" beats "cross" by 185 elpd (dse 22; lr_asym 1.22: 3.4x steeper above the optimal
        lr); on the simulated sweep (truth: 1.5x steeper above) the two tie (cross ahead by 1.2,
        dse 0.6: its narrow LR grid cannot resolve the asymmetry, lr_asym -0.14 +- 0.28).
    loss_level : "free" (one level per cell; default) or "surface" (the loss at the optimum on
        the Chinchilla surface with cell scatter; gives the loss at the optimum of unseen (N, D)
        but samples badly (divergences) when the surface fits the cells almost exactly).
    divergence : "censor" (default) or "exclude".
    divergence_threshold : a loss above this counts as diverged (None: only NaN losses and a true
        ``diverged`` column count).
    far_above : runs whose loss exceeds their cell's best converged run by more than this
        fraction are "far above the bowl" and handled like diverged runs (censored at
        best * (1 + far_above), or excluded). The bowl is a local (quadratic) model: on Step Law
        the losses blow up towards high lr / small batch and a quadratic fitted to every run
        misplaces the optimum. None (default): every converged run is fitted.
    bowl_scale : "log" (the bowl in log loss; default) or "loss" (in loss units, as the
        simulator's truth); see the module docstring.
    """

    name = "hyperparams"
    description = "per-cell bowl in (ln lr, ln B); centre ln eta*, ln B* power laws in N, D"
    required_columns = ("lr", "batch_size")
    # diagonal mass matrix: on the simulated sweep a dense one (adapted in 300 warmup steps)
    # took 3x more leapfrog steps per draw and mixed worse
    default_dense_mass = False

    def __init__(
        self,
        bowl: str = "full",
        loss_level: str = "free",
        divergence: str = "censor",
        divergence_threshold: float | None = None,
        far_above: float | None = None,
        bowl_scale: str = "log",
    ):
        for value, allowed, what in (
            (bowl, BOWLS, "bowl"),
            (bowl_scale, BOWL_SCALES, "bowl_scale"),
            (loss_level, LOSS_LEVELS, "loss_level"),
            (divergence, DIVERGENCE, "divergence"),
        ):
            if value not in allowed:
                raise ValueError(f"{what} must be one of {allowed}, got {value!r}")
        if divergence_threshold is not None:
            divergence_threshold = float(divergence_threshold)
            if not np.isfinite(divergence_threshold) or divergence_threshold <= 0:
                raise ValueError("divergence_threshold must be a positive number or None")
        self.bowl = bowl
        self.bowl_scale = bowl_scale
        self.loss_level = loss_level
        self.divergence = divergence
        self.divergence_threshold = divergence_threshold
        if far_above is not None and not (0 < float(far_above) < 10):
            raise ValueError("far_above must be a positive fraction (e.g. 0.03) or None")
        self.far_above = None if far_above is None else float(far_above)

    @property
    def options(self) -> dict:
        return {
            "bowl": self.bowl,
            "loss_level": self.loss_level,
            "divergence": self.divergence,
            "divergence_threshold": self.divergence_threshold,
            "far_above": self.far_above,
            "bowl_scale": self.bowl_scale,
        }

    def configure(self, **options) -> HyperparamsLaw:
        """A copy with some options changed (``bl.fit(..., law_options={...})`` calls this)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise ValueError(
                f"unknown option(s) {sorted(unknown)} for law 'hyperparams'; options are "
                f"{sorted(self.options)}"
            )
        return HyperparamsLaw(**{**self.options, **options})

    @classmethod
    def from_fit(cls, fit) -> HyperparamsLaw:
        return cls(**fit.spec.get("law_options", {}))

    def log_excess(self, bowl, level):
        """ln L - ln L*: the bowl itself (``bowl_scale="log"``), or ln(1 + bowl / L*) with the
        bowl in units of L_ref and ``level`` = ln(L* / L_ref) (``bowl_scale="loss"``)."""
        if self.bowl_scale == "log":
            return bowl
        return jnp.log1p(bowl * jnp.exp(-level))

    @property
    def has_asym(self) -> bool:
        return self.bowl in ("asymmetric", "full")

    @property
    def has_cross(self) -> bool:
        return self.bowl in ("cross", "full")

    # ---- priors ------------------------------------------------------------------------------
    def default_priors(self) -> dict:
        priors = {
            "lr_int": dist.Normal(0.0, 2.0),
            "lr_N": dist.Normal(0.0, 1.0),
            "lr_D": dist.Normal(0.0, 1.0),
            "lr_scatter": dist.HalfNormal(0.3),
            "batch_int": dist.Normal(0.0, 2.0),
            "batch_N": dist.Normal(0.0, 1.0),
            "batch_D": dist.Normal(0.0, 1.0),
            "batch_scatter": dist.HalfNormal(0.3),
            "k_lr": dist.LogNormal(float(np.log(0.003)), 2.0),
            "k_batch": dist.LogNormal(float(np.log(0.003)), 2.0),
            "group_sd": dist.HalfNormal(0.3),
        }
        if self.has_asym:
            priors["lr_asym"] = dist.Normal(0.0, 1.0)
        if self.has_cross:
            priors["rho"] = dist.Uniform(-1.0, 1.0)
        priors["level_mean"] = dist.Normal(0.0, 1.0)
        if self.loss_level == "surface":
            priors.update(chinchilla.LAW.default_priors())
            priors["level_scatter"] = dist.HalfNormal(0.02)
        return priors

    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        priors = {**self.default_priors(), **default_noise_priors(likelihood)}
        allowed = set(priors) | {"lr_int_tau", "batch_int_tau"}
        for key, value in (overrides or {}).items():
            if key not in allowed:
                raise ValueError(
                    f"prior given for {key!r}, which law 'hyperparams' ({self.bowl} bowl, "
                    f"{self.loss_level} loss level, {likelihood}) does not have; its parameters "
                    f"are {sorted(allowed)}"
                )
            if not isinstance(value, dist.Distribution):
                raise TypeError(f"prior for {key!r} must be a numpyro distribution, got {value!r}")
            priors[key] = value
        return priors

    # ---- the math ----------------------------------------------------------------------------
    def curvatures(self, theta: dict):
        """(k_lr below, k_lr above, k_batch, k_cross) from parameter values (broadcast)."""
        k_lo = theta["k_lr"]
        k_hi = k_lo * jnp.exp(theta["lr_asym"]) if self.has_asym else k_lo
        k_b = theta["k_batch"]
        if self.has_cross:
            k_x = 2.0 * theta["rho"] * jnp.sqrt(jnp.minimum(k_lo, k_hi) * k_b)
        else:
            k_x = jnp.zeros_like(k_b)
        return k_lo, k_hi, k_b, k_x

    def bowl_value(self, theta: dict, u, v):
        """Excess log loss over the cell's optimum at (u, v) = (ln lr/eta*, ln B/B*); >= 0."""
        k_lo, k_hi, k_b, k_x = self.curvatures(theta)
        k_u = jnp.where(u > 0, k_hi, k_lo)
        return k_u * u**2 + k_b * v**2 + k_x * u * v

    def centre_law(self, theta: dict, x, y):
        """(ln eta*, ln B*) - (ln lr_ref, ln B_ref) of the law at centred logs (x, y)."""
        m_lr = theta["lr_int"] + theta["lr_N"] * x + theta["lr_D"] * y
        m_b = theta["batch_int"] + theta["batch_N"] * x + theta["batch_D"] * y
        return m_lr, m_b

    def model(
        self,
        p,
        q,
        cell_index,
        x_cell,
        y_cell,
        cell_group,
        n_groups,
        censored,
        priors,
        likelihood,
        z_obs=None,
    ):
        """Every run: z = l_cell + bowl(p - m_lr_cell, q - m_batch_cell) + noise."""
        n_cells = x_cell.shape[0]
        theta = {}
        for name in ("lr_int", "lr_N", "lr_D", "batch_int", "batch_N", "batch_D"):
            theta[name] = numpyro.sample(name, priors[name])
        for name in ("k_lr", "k_batch") + ("lr_asym",) * self.has_asym + ("rho",) * self.has_cross:
            theta[name] = numpyro.sample(name, priors[name])
        lr_scatter = numpyro.sample("lr_scatter", priors["lr_scatter"])
        batch_scatter = numpyro.sample("batch_scatter", priors["batch_scatter"])
        m_lr, m_b = self.centre_law(theta, x_cell, y_cell)
        if n_groups > 1:
            tau_lr = numpyro.sample("lr_int_tau", priors.get("lr_int_tau", priors["group_sd"]))
            tau_b = numpyro.sample("batch_int_tau", priors.get("batch_int_tau", priors["group_sd"]))
            with numpyro.plate("groups", n_groups):
                g_lr = numpyro.sample("lr_int_z", dist.Normal(0.0, 1.0))
                g_b = numpyro.sample("batch_int_z", dist.Normal(0.0, 1.0))
            m_lr = m_lr + tau_lr * g_lr[cell_group]
            m_b = m_b + tau_b * g_b[cell_group]
        with numpyro.plate("cells", n_cells):
            z_lr = numpyro.sample("z_lr", dist.Normal(0.0, 1.0))
            z_b = numpyro.sample("z_batch", dist.Normal(0.0, 1.0))
            level_mean = numpyro.sample("level_mean", priors["level_mean"])
        m_lr = m_lr + lr_scatter * z_lr
        m_b = m_b + batch_scatter * z_b
        u = p - m_lr[cell_index]
        v = q - m_b[cell_index]
        bowl = self.bowl_value(theta, u, v)
        if self.bowl_scale == "loss":
            # the bowl in loss units (L_ref): ln L = ln(L*_c + bowl), with L*_c approximated by
            # the cell's level_mean (its mean loss, ~1% above L*) so the level stays a shift
            bowl = self.log_excess(bowl, level_mean[cell_index])
        # sampled: each cell's mean log loss over its (converged) runs, which the data pin down
        # whatever the bowl; the level at the optimum is that minus the cell's mean bowl
        # (a shift, unit Jacobian). This removes the level-curvature correlation.
        weight = jnp.ones_like(p) if censored is None else 1.0 - censored
        mean_bowl = jax.ops.segment_sum(weight * bowl, cell_index, n_cells) / jax.ops.segment_sum(
            weight, cell_index, n_cells
        )
        level = numpyro.deterministic("level", level_mean - mean_bowl)
        if self.loss_level == "surface":
            surface = {name: numpyro.sample(name, priors[name]) for name in SURFACE_PARAMS}
            level_scatter = numpyro.sample("level_scatter", priors["level_scatter"])
            on_surface = chinchilla.LAW.log_loss(surface, x_cell, y_cell, None)
            numpyro.factor(
                "level_tie", dist.Normal(on_surface, level_scatter).log_prob(level).sum()
            )
        mu = level[cell_index] + bowl
        sigma, nu = sample_noise_params(likelihood, priors)
        with numpyro.plate("runs", p.shape[0]):
            if censored is None:
                obs_dist = observation(likelihood, mu, sigma, nu)
            else:
                obs_dist = CensoredObservation(likelihood, mu, sigma, nu, censored)
            numpyro.sample("log_loss", obs_dist, obs=z_obs)

    # ---- data in -----------------------------------------------------------------------------
    def _diverged_mask(self, df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        loss = df["loss"].to_numpy(float)
        reasons = []
        mask = np.isnan(loss)
        if mask.any():
            reasons.append(f"{int(mask.sum())} with a missing (NaN) loss")
        if self.divergence_threshold is not None:
            above = ~np.isnan(loss) & (loss > self.divergence_threshold)
            if above.any():
                reasons.append(f"{int(above.sum())} with loss > {self.divergence_threshold:g}")
            mask |= above
        if "diverged" in df:
            flag = df["diverged"].fillna(False).astype(bool).to_numpy()
            if (flag & ~mask).any():
                reasons.append(f"{int((flag & ~mask).sum())} more flagged in column 'diverged'")
            mask |= flag
        return mask, reasons

    def _far_mask(self, df: pd.DataFrame, diverged: np.ndarray):
        """Runs more than ``far_above`` above their cell's best converged run, and the bound
        best * (1 + far_above) per run (NaN where no bound applies)."""
        loss = df["loss"].to_numpy(float)
        if self.far_above is None:
            return np.zeros(len(df), bool), np.full(len(df), np.nan)
        keys = [c for c in ("group", "N", "D") if c in df]
        clean = pd.Series(np.where(diverged, np.nan, loss), index=df.index)
        best = clean.groupby([df[k] for k in keys]).transform("min").to_numpy(float)
        bound = best * (1.0 + self.far_above)
        far = ~diverged & (loss > bound)
        return far, bound

    def preprocess(self, runs: RunTable) -> RunTable:
        """Check the columns and apply ``divergence="exclude"`` (recorded on the run table)."""
        for column in self.required_columns:
            if column not in runs.df:
                raise RunTableError(
                    f"law 'hyperparams' needs column {column!r} "
                    f"({'learning rate' if column == 'lr' else 'batch size in tokens'}), which "
                    f"the run table lacks; its columns are {list(runs.df.columns)} (pass "
                    f"{column}='your column name' to load_runs)"
                )
        if self.divergence != "exclude":
            return runs
        mask, reasons = self._diverged_mask(runs.df)
        far, _ = self._far_mask(runs.df, mask)
        if far.any():
            reasons.append(f"{int(far.sum())} more than {self.far_above:g} above the cell's best")
            mask = mask | far
        if not mask.any():
            return runs
        warnings.warn(
            f"{int(mask.sum())} diverged runs excluded ({'; '.join(reasons)}); "
            "divergence='exclude'",
            DivergenceWarning,
            stacklevel=3,
        )
        return runs.exclude(mask, f"diverged runs ({'; '.join(reasons)}), divergence='exclude'")

    def prepare(self, runs: RunTable) -> tuple[dict, dict]:
        """Model arguments (centred logs, cell indices, censoring) and the JSON-ready facts."""
        runs = self.preprocess(runs)  # idempotent: a no-op after fit()'s own call
        df = runs.df
        mask, reasons = self._diverged_mask(df)
        far, far_bound = self._far_mask(df, mask)
        if far.any():
            reasons.append(f"{int(far.sum())} more than {self.far_above:g} above the cell's best")
        mask = mask | far
        ok = ~mask
        if ok.sum() == 0:
            raise RunTableError("law 'hyperparams': every run diverged; nothing to fit")
        for column in ("lr", "batch_size"):
            levels = df.loc[ok, column].nunique()
            if levels < 3:
                raise RunTableError(
                    f"law 'hyperparams' needs at least 3 distinct values of {column!r} to place a "
                    f"bowl; the run table has {levels}"
                )
        groups = runs.groups
        group_of = (
            np.zeros(len(df), dtype=int)
            if groups == [None]
            else np.array([groups.index(g) for g in df["group"]])
        )
        keys = pd.DataFrame({"g": group_of, "N": df["N"].to_numpy(), "D": df["D"].to_numpy()})
        cells = keys.drop_duplicates().sort_values(["g", "N", "D"]).reset_index(drop=True)
        n_cells = len(cells)
        if n_cells < 3:
            raise RunTableError(
                f"law 'hyperparams' needs at least 3 (N, D) cells to fit power laws in N and D; "
                f"the run table has {n_cells} (columns 'N' and 'D' take the values "
                f"{sorted(set(df['N']))[:5]} and {sorted(set(df['D']))[:5]})"
            )
        for column in ("N", "D"):
            if cells[column].nunique() < 2:
                raise RunTableError(
                    f"law 'hyperparams' needs at least 2 distinct values of {column!r} across its "
                    f"(N, D) cells to fit an exponent in {column}; the run table has one "
                    f"({cells[column].iloc[0]:g})"
                )
        cell_index = (
            keys.merge(cells.reset_index(), on=["g", "N", "D"], how="left")["index"]
            .to_numpy()
            .astype(np.int32)
        )
        loss = df["loss"].to_numpy(float)
        scales = HPScales(
            log_N_ref=float(np.mean(np.log(cells["N"]))),
            log_D_ref=float(np.mean(np.log(cells["D"]))),
            log_L_ref=float(np.mean(np.log(loss[ok]))),
            log_lr_ref=float(np.mean(np.log(df["lr"]))),
            log_B_ref=float(np.mean(np.log(df["batch_size"]))),
        )
        n_div = int(mask.sum())
        bound = None
        z = np.log(np.where(ok, loss, 1.0)) - scales.log_L_ref
        censored = None
        if n_div:
            # divergence == "censor" (exclude already removed them)
            bound = (
                self.divergence_threshold
                if self.divergence_threshold is not None
                else float(np.max(loss[ok]))
            )
            run_bound = np.where(far, far_bound, bound)
            z = np.where(ok, z, np.log(run_bound) - scales.log_L_ref)
            censored = jnp.asarray(mask)
            warnings.warn(
                f"{n_div} diverged runs censored: loss >= {bound:.4g} ({'; '.join(reasons)}); "
                "divergence='censor'",
                DivergenceWarning,
                stacklevel=3,
            )
        n_excluded = sum(e.count for e in runs.exclusions if e.reason.startswith("diverged runs"))
        x_cell = np.log(cells["N"].to_numpy(float)) - scales.log_N_ref
        y_cell = np.log(cells["D"].to_numpy(float)) - scales.log_D_ref
        model_args = {
            "p": jnp.asarray(np.log(df["lr"].to_numpy(float)) - scales.log_lr_ref),
            "q": jnp.asarray(np.log(df["batch_size"].to_numpy(float)) - scales.log_B_ref),
            "cell_index": jnp.asarray(cell_index),
            "x_cell": jnp.asarray(x_cell),
            "y_cell": jnp.asarray(y_cell),
            "cell_group": jnp.asarray(cells["g"].to_numpy().astype(np.int32)),
            "n_groups": len(groups),
            "censored": censored,
            "z_obs": jnp.asarray(z),
        }
        divergence = {
            "mode": self.divergence,
            "threshold": self.divergence_threshold,
            "n_censored": n_div,
            "n_far_above": int(far.sum()),
            "censored_at_loss": bound,
            "n_excluded": int(n_excluded),
        }
        if n_div:
            note = f"{n_div} diverged runs censored (loss >= {bound:.4g})"
            if far.any():
                note += f", of which {int(far.sum())} far above the bowl (> {self.far_above:g})"
        elif n_excluded:
            note = f"{n_excluded} diverged runs excluded"
        else:
            note = "no diverged runs"
        info = {
            "law_options": self.options,
            "scales": scales.to_dict(),
            "groups": [None if g is None else str(g) for g in groups],
            "cells": {
                "N": cells["N"].astype(float).tolist(),
                "D": cells["D"].astype(float).tolist(),
                "group": cells["g"].astype(int).tolist(),
            },
            "ranges": {
                c: [float(df[c].min()), float(df[c].max())]
                for c in ("N", "D", "C", "lr", "batch_size")
            },
            "divergence": divergence,
            "notes": [note],
        }
        return model_args, info

    def summary_names(self, n_groups: int, likelihood: str) -> list[str]:
        names = ["lr_int", "lr_N", "lr_D", "lr_scatter", "batch_int", "batch_N", "batch_D"]
        names += ["batch_scatter", "k_lr", "k_batch"]
        names += ["lr_asym"] * self.has_asym + ["rho"] * self.has_cross
        if self.loss_level == "surface":
            names += list(SURFACE_PARAMS) + ["level_scatter"]
        names += ["sigma"] + (["nu"] if likelihood == "student_t" else [])
        if n_groups > 1:
            names += ["lr_int_tau", "batch_int_tau"]
        return names

    def group_dims(self) -> dict:
        return {"lr_int_z": ["group"], "batch_int_z": ["group"]}

    # ---- draws out ---------------------------------------------------------------------------
    @staticmethod
    def _scales(fit) -> HPScales:
        return HPScales(**fit.spec["scales"])

    def _group_offsets(self, fit, post, group, rng):
        """Intercept offsets (lr, batch) per draw for a fitted group, or a new group."""
        from ..predict import group_index

        S = post["lr_int"].shape[0]
        g = group_index(fit, group)
        if len(fit.spec["groups"]) <= 1:
            return np.zeros(S), np.zeros(S)
        if g is None:  # a new group
            z = rng.standard_normal((2, S))
            return post["lr_int_tau"] * z[0], post["batch_int_tau"] * z[1]
        return (
            post["lr_int_tau"] * post["lr_int_z"][:, g],
            post["batch_int_tau"] * post["batch_int_z"][:, g],
        )

    def optimum_draws(self, fit, N, D, kind="mean", group=None, seed=0) -> dict:
        """Draws (S, Q) of ln eta_opt, ln B_opt and ln L at the optimum for query points.

        ``kind="mean"``: the law (median optimum of a new cell); ``kind="new_run"``: a new cell,
        with the fitted cell scatter around the law (the optimum a new sweep would show).
        A fitted cell's own draws are used for the loss level under ``loss_level="free"``
        (elsewhere the free level is unknown: NaN).
        """
        if kind not in ("mean", "new_run"):
            raise ValueError(f"kind must be 'mean' or 'new_run', got {kind!r}")
        post = fit.draws()
        sc = self._scales(fit)
        rng = np.random.default_rng(seed)
        N = np.asarray(N, float)
        D = np.asarray(D, float)
        x = np.log(N) - sc.log_N_ref
        y = np.log(D) - sc.log_D_ref
        theta = {k: np.asarray(post[k])[:, None] for k in post if np.ndim(post[k]) == 1}
        m_lr, m_b = self.centre_law(theta, x[None, :], y[None, :])
        m_lr, m_b = np.asarray(m_lr), np.asarray(m_b)
        off_lr, off_b = self._group_offsets(fit, post, group, rng)
        m_lr = m_lr + off_lr[:, None]
        m_b = m_b + off_b[:, None]
        S, Q = m_lr.shape
        if kind == "new_run":
            m_lr = m_lr + theta["lr_scatter"] * rng.standard_normal((S, Q))
            m_b = m_b + theta["batch_scatter"] * rng.standard_normal((S, Q))
        if self.loss_level == "surface":
            level = np.asarray(chinchilla.LAW.log_loss(theta, x[None, :], y[None, :], None))
            if kind == "new_run":
                level = level + theta["level_scatter"] * rng.standard_normal((S, Q))
        else:
            level = np.full((S, Q), np.nan)
            cells = fit.spec["cells"]
            for j in range(Q):
                for c, (cn, cd) in enumerate(zip(cells["N"], cells["D"], strict=True)):
                    if np.isclose(cn, N[j], rtol=1e-6) and np.isclose(cd, D[j], rtol=1e-6):
                        level[:, j] = post["level"][:, c]
                        break
        return {
            "log_eta": m_lr + sc.log_lr_ref,
            "log_B": m_b + sc.log_B_ref,
            "log_L": level + sc.log_L_ref,
            "theta": theta,
        }

    def predict(self, fit, N=None, D=None, C=None, *, ci=0.9, kind="mean", group=None, seed=0):
        """eta_opt, B_opt (tokens) and the loss at the optimum per query point, with intervals.

        Columns: N, D, C, then for eta_opt, B_opt and loss_opt: ``_median``, ``_lower``,
        ``_upper`` (central ``ci`` interval); ci, kind, N_outside_decades, D_outside_decades.
        ``loss_opt`` is NaN under ``loss_level="free"`` except at fitted cells.
        """
        from ..predict import outside_decades, query_points

        if not 0 < ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {ci}")
        points = query_points(fit, N, D, C)
        draws = self.optimum_draws(fit, points["N"], points["D"], kind, group, seed)
        out = points.copy()
        qs = [(1 - ci) / 2, 0.5, (1 + ci) / 2]
        for name, key in (("eta_opt", "log_eta"), ("B_opt", "log_B"), ("loss_opt", "log_L")):
            values = np.exp(draws[key])
            if np.isnan(values).any(axis=0).all():
                lo = med = hi = np.full(len(points), np.nan)
            else:
                lo, med, hi = np.quantile(values, qs, axis=0)
            out[f"{name}_median"] = med
            out[f"{name}_lower"] = lo
            out[f"{name}_upper"] = hi
        ranges = fit.spec["ranges"]
        out["ci"] = ci
        out["kind"] = kind
        out["N_outside_decades"] = outside_decades(points["N"], *ranges["N"])
        out["D_outside_decades"] = outside_decades(points["D"], *ranges["D"])
        if group is not None:
            out.insert(0, "group", group)
        return out

    def loss_penalty(
        self, fit, N, D, lr, batch_size, *, ci=0.9, kind="new_run", group=None, seed=0
    ):
        """Expected loss cost of training at (lr, batch_size) instead of the optimum.

        Per query point: ``rel_penalty`` = L(lr, B) / L_opt - 1 (a fraction; the bowl is on the
        log loss) and ``penalty`` = L(lr, B) - L_opt in loss units (NaN under
        ``loss_level="free"`` away from a fitted cell): mean, median, lower, upper. ``kind``:
        "new_run" (default) includes the fitted scatter of a new cell's optimum around the law.
        """
        if not 0 < ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {ci}")
        arrays = {}
        for name, values in (("N", N), ("D", D), ("lr", lr), ("batch_size", batch_size)):
            arr = np.atleast_1d(np.asarray(values, dtype=float))
            if arr.ndim != 1 or np.any(~np.isfinite(arr)) or np.any(arr <= 0):
                raise ValueError(f"{name} must be positive finite numbers (scalar or 1-d)")
            arrays[name] = arr
        try:
            b = np.broadcast_arrays(*arrays.values())
        except ValueError:
            raise ValueError("N, D, lr and batch_size have incompatible lengths") from None
        N, D, lr, batch_size = b
        draws = self.optimum_draws(fit, N, D, kind, group, seed)
        u = np.log(lr)[None, :] - draws["log_eta"]
        v = np.log(batch_size)[None, :] - draws["log_B"]
        theta = {k: v_ for k, v_ in draws["theta"].items()}
        excess = np.asarray(self.bowl_value(theta, u, v))
        if self.bowl_scale == "loss":
            level = draws["log_L"] - self._scales(fit).log_L_ref
            # free level away from a fitted cell: L* unknown, take L_ref (the sweep's mean loss)
            excess = np.log1p(excess * np.exp(-np.where(np.isnan(level), 0.0, level)))
        rel = np.expm1(excess)
        absolute = rel * np.exp(draws["log_L"])
        qs = [(1 - ci) / 2, 0.5, (1 + ci) / 2]
        out = pd.DataFrame({"N": N, "D": D, "lr": lr, "batch_size": batch_size})
        for name, values in (("rel_penalty", rel), ("penalty", absolute)):
            lo, med, hi = np.quantile(values, qs, axis=0)
            out[f"{name}_mean"] = values.mean(axis=0)
            out[f"{name}_median"] = med
            out[f"{name}_lower"] = lo
            out[f"{name}_upper"] = hi
        out["ci"] = ci
        out["kind"] = kind
        return out

    def law_table(self, fit, units="billions", ci=0.9) -> pd.DataFrame:
        """The fitted laws in the papers' notation, with central ``ci`` intervals:

        ``eta_opt = c * T^x * N^y`` and ``B_opt = c * T^x * N^y`` (B in tokens), with N and T
        (= D, training tokens) in ``units`` ("billions" as Yin et al., "ones" as Step Law, or a
        number). One row per (quantity, parameter): c, exponent of T, exponent of N.
        """
        unit = units_factor(units)
        post = fit.draws()
        sc = self._scales(fit)
        qs = [(1 - ci) / 2, 0.5, (1 + ci) / 2]
        rows = []
        for quantity, prefix, log_ref in (
            ("eta_opt", "lr", sc.log_lr_ref),
            ("B_opt", "batch", sc.log_B_ref),
        ):
            eN, eD = post[f"{prefix}_N"], post[f"{prefix}_D"]
            log_c = (
                log_ref
                + post[f"{prefix}_int"]
                - eN * (sc.log_N_ref - np.log(unit))
                - eD * (sc.log_D_ref - np.log(unit))
            )
            for param, values in (("c", np.exp(log_c)), ("exp_T", eD), ("exp_N", eN)):
                lo, med, hi = np.quantile(values, qs)
                rows.append(
                    {
                        "quantity": quantity,
                        "parameter": param,
                        "median": med,
                        "lower": lo,
                        "upper": hi,
                    }
                )
        table = pd.DataFrame(rows).set_index(["quantity", "parameter"])
        table["ci"] = ci
        m = table["median"]
        table.attrs["units"] = f"N, T in units of {unit:g} (parameters, tokens); B in tokens"
        table.attrs["formulas"] = {
            q: f"{q} = {m[(q, 'c')]:.3g} * T^{m[(q, 'exp_T')]:.3f} * N^{m[(q, 'exp_N')]:.3f}"
            for q in ("eta_opt", "B_opt")
        }
        return table


def units_factor(units) -> float:
    if isinstance(units, str):
        try:
            return UNIT_WORDS[units.lower()]
        except KeyError:
            raise ValueError(f"units must be a number or one of {sorted(UNIT_WORDS)}") from None
    factor = float(units)
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"units must be a positive number, got {units!r}")
    return factor


def loss_penalty(fit, N, D, lr, batch_size, *, ci=0.9, kind="new_run", group=None, seed=0):
    """Expected loss cost of training at (lr, batch_size tokens) at (N params, D tokens) instead
    of at the optimum, with a central ``ci`` interval (see :meth:`HyperparamsLaw.loss_penalty`)."""
    if fit.spec.get("law") != LAW.name or fit.spec.get("method") == "two_stage":
        raise ValueError(
            "loss_penalty() needs a fit of law 'hyperparams' by NUTS (the two-stage baseline has "
            "no bowl)"
        )
    law = HyperparamsLaw.from_fit(fit)
    return law.loss_penalty(fit, N, D, lr, batch_size, ci=ci, kind=kind, group=group, seed=seed)


class _Dispatch(HyperparamsLaw):
    """The registered instance: reads each fit's own options before predicting."""

    def predict(self, fit, **kw):
        return HyperparamsLaw.predict(HyperparamsLaw.from_fit(fit), fit, **kw)

    def law_table(self, fit, **kw):
        return HyperparamsLaw.law_table(HyperparamsLaw.from_fit(fit), fit, **kw)

    def loss_penalty(self, fit, *args, **kw):
        return HyperparamsLaw.loss_penalty(HyperparamsLaw.from_fit(fit), fit, *args, **kw)


LAW = _Dispatch()
