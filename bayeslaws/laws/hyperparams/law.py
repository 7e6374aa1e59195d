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
``B_opt = c * T^x * N^y`` in the papers' notation, see :meth:`HyperparamsLaw.law_table`; at a
fitted cell predictions use that cell's own optimum (eta*_c, B*_c) and level
(:func:`.optima.optimum_draws`).

Files: this module is the math (options, priors, bowl, model); :mod:`.data` turns a sweep into
model arguments (cells, censoring of diverged runs); :mod:`.optima` is the posterior of the
optima (per cell and for new (N, D)); :mod:`.two_stage` is the published best-cell baseline.

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
0.516-0.547, 6%; on Step Law 2.12-2.62, 20%). PSIS-LOO (bowl "full";
paper_repro/hyperparams_loo.py, tables in paper_repro/results/hyperparams_loo.md): Step Law
prefers "log" by 33.9 elpd (dse 4.7); the simulated sweep prefers "loss" by 5.2 (dse 2.7), with
every exponent within 0.004 of the "log" fit. Hence the default "log".

Diverged runs (NaN loss, loss above ``divergence_threshold`` -- without one, above 3x the
sweep's median loss, so that e.g. a loss of 1e6 never counts as converged -- or a true
``diverged`` column) are either censored (``divergence="censor"``: the run's log loss is at
least ln(threshold); without a threshold, at least the largest loss of a run that did not
diverge) or excluded
(``divergence="exclude"``, recorded by ``RunTable.exclude``). The count and the rows
(``diverged_rows``, ``far_above_rows``, ``fenced_rows``, with ``row_note``: what the labels
count) are stored in the fit's law state (``fit.record.law_state["divergence"]``); the notes
and a warning at fit time name them. A cell none of whose runs converged has no level or bowl
to fit (the mean bowl over its converged runs would be 0/0): it is left out, its runs excluded
and recorded, and counted in the law state (``n_cells_without_converged_run``) and the
notes. Runs whose N (or D) agree within ``runs.cells.CELL_RTOL`` (relative) are one cell
(:func:`~bayeslaws.runs.cells.cell_table`); N (or D) values within ``NEAR_RTOL`` (~1%) of each
other at one D (resp. N), further apart, make separate cells and are warned about (a D computed
per run), as are cells whose converged runs vary lr or batch size over fewer than 3 values
(their optima are the laws') (:func:`.data.warn_split_cells`, :func:`.data.warn_thin_cells`).

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

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import betaln, ndtr
from jax.scipy.stats import norm
from numpyro.distributions import constraints

from .. import chinchilla
from ..contract import OBSERVED_SITE, Law
from ..likelihoods import HUBER_DELTA, observation, sample_noise_params
from . import data, optima

BOWLS = ("symmetric", "cross", "asymmetric", "full")
LOSS_LEVELS = ("free", "surface")
BOWL_SCALES = ("log", "loss")
DIVERGENCE = ("censor", "exclude")
SURFACE_PARAMS = chinchilla.LAW.parameters  # alpha, beta, a, b, e
CELL_SITES = ("z_lr", "z_batch", "level_mean", "level")  # per cell, read by predictions there
GROUP_SITES = ("lr_int_z", "batch_int_z")  # per group (fits with groups)


# ---- censored likelihood ---------------------------------------------------------------------
SERIES_X = 0.25  # the Student-t tail series is used where x = nu / (nu + t^2) is below this,
SF_FLOOR = 1e-30  # or where the distribution's own survival falls below this (large nu)
SERIES_TERMS = 200  # its terms: the n-th is about x^n, below 1e-9 for x up to 0.9


def student_t_logsf(t, nu):
    """ln P(T >= t) of a standard Student-t with ``nu`` degrees of freedom, exact far in the
    tail (its survival underflows float32 near 1e-38, where ln of a clipped value is flat).

    For t > 0 with x = nu / (nu + t^2) < SERIES_X, or a survival below SF_FLOOR:
    P(T >= t) = I_x(a, 1/2) / 2 with a = nu / 2, and I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) *
    sum_n (a + b)_n / (a + 1)_n x^n (the hypergeometric series of the incomplete beta
    function), summed in log space; elsewhere the distribution's own cdf."""
    x = nu / (nu + t**2)
    student = dist.StudentT(nu, 0.0, 1.0)
    tiny = jax.lax.stop_gradient(student.cdf(-t)) < SF_FLOOR
    tail = (t > 0) & ((x < SERIES_X) | tiny)
    x_tail = jnp.where(tail, x, 0.5 * SERIES_X)  # keeps the unused branch's gradient finite
    a, b = 0.5 * nu, 0.5

    def add_term(n, carry):
        term, total = carry
        term = term * (a + b + n) / (a + 1 + n) * x_tail
        return term, total + term

    ones = jnp.ones_like(x_tail)
    _, total = jax.lax.fori_loop(0, SERIES_TERMS, add_term, (ones, ones))
    log_tail = (
        a * jnp.log(x_tail) + b * jnp.log1p(-x_tail) - jnp.log(a) - betaln(a, b)
        + jnp.log(total) - jnp.log(2.0)
    )
    sf = student.cdf(-jnp.where(tail, 0.0, t))
    return jnp.where(tail, log_tail, jnp.log(sf))


def log_survival(family: str, value, mu, sigma, nu=None):
    """ln P(X >= value) for the observation family of log loss (censored runs)."""
    t = (value - mu) / sigma
    if family == "gaussian":
        return norm.logsf(t)
    if family == "student_t":
        return student_t_logsf(t, nu)
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
class HyperparamsLaw(Law):
    """Optimal learning rate and batch size: a bowl per (N, D) cell, centres on power laws.

    Parameters
    ----------
    bowl : "full" (tilted and asymmetric in lr; default), "cross" (tilted, symmetric in lr),
        "symmetric" or "asymmetric" (steeper or flatter above the optimal lr, no tilt). Chosen by
        PSIS-LOO (huber; paper_repro/hyperparams_loo.py, tables in
        paper_repro/results/hyperparams_loo.md): on Step Law (runs within 3% of each cell's best)
        "full" beats "cross" by 186 elpd (dse 21.5; lr_asym 1.22: 3.4x steeper above the optimal
        lr); on the simulated sweep (truth: 1.5x steeper above) the two tie (cross ahead by 0.6,
        dse 0.5: its narrow LR grid cannot resolve the asymmetry, lr_asym -0.14, 90% interval
        [-0.58, 0.31], truth 0.41).
    loss_level : "free" (one level per cell; default) or "surface" (the loss at the optimum on
        the Chinchilla surface with cell scatter; gives the loss at the optimum of unseen (N, D)
        but samples badly (divergences) when the surface fits the cells almost exactly).
    divergence : "censor" (default) or "exclude".
    divergence_threshold : a loss above this counts as diverged (None: NaN losses, a true
        ``diverged`` column and losses above 3x the sweep's median loss count).
    far_above : runs whose loss exceeds their cell's best converged run by more than this
        fraction are "far above the bowl" and handled like diverged runs (censored at
        best * (1 + far_above), or excluded). The bowl is a local (quadratic) model: on Step Law
        the losses blow up towards high lr / small batch and a quadratic fitted to every run
        misplaces the optimum. None (default): no such cut (the fence below still applies). A
        fraction below 1: 0.03 is 3% (``far_above=3`` is refused).
    fence : Tukey multiplier of the far-out fence (None, the default: no fence; law
        ``sweep``'s rule, 3, on request): in cells with at least ``FENCE_MIN_RUNS`` (12)
        converged runs, converged runs with ln loss above Q3 + fence x IQR of their cell's
        converged ln losses; in the smaller cells, the same rule on each run's ln loss above its
        cell's best, with the quartiles pooled over the sweep's converged runs
        (:func:`.data.pooled_fence_mask`). Both are excluded (recorded on the run table, in the
        notes and in ``law_state["divergence"]["n_fenced"]``, of which ``n_fenced_pooled``
        beyond the pooled fence). Off by default: on Step Law it excludes few runs
        and leaves eta_opt about as far off as without it (the cliff's runs fill a cell's
        upper quartile); ``far_above`` is what places the optimum there, and without it the
        fit warns when most cells are cliff-heavy (:func:`.data.warn_cliff`).
    bowl_scale : "log" (the bowl in log loss; default) or "loss" (in loss units, as the
        simulator's truth); see the module docstring.
    """

    name = "hyperparams"
    description = "per-cell bowl in (ln lr, ln B); centre ln eta*, ln B* power laws in N, D"
    run_columns = ("N", "D", "lr", "batch_size")
    # given lr and batch_size also loss (of a run trained at that setting), rel_penalty and
    # penalty (:func:`.optima.quantity_draws`)
    quantities = ("eta_opt", "B_opt", "loss_opt")
    primary = None
    # with them: the loss of a run trained there and the penalty of training there
    optional_inputs = ("lr", "batch_size")
    # diagonal mass matrix: on the simulated sweep a dense one (adapted in 300 warmup steps)
    # took 3x more leapfrog steps per draw and mixed worse
    default_dense_mass = False
    # runs with a missing loss are diverged runs, censored or excluded and recorded
    accepts_missing_loss = True
    # a run's ln loss is a bowl about eta_opt, B_opt: the design checks its linear values
    nonlinear_optima = True
    # with loss_level="free" the loss (at the optimum, and at a setting) is defined only at the
    # fitted (N, D) cells: NaN elsewhere
    missing_values_hint = (
        "with loss_level='free' (the default) the loss is known only at the fitted (N, D) "
        "cells; for it at other cells fit the sweep with a loss surface (Python: "
        "bl.fit(runs, law='sweep') or law_options={'loss_level': 'surface'}; command line: "
        "--law sweep or --option loss_level=surface)"
    )

    def __init__(
        self,
        bowl: str = "full",
        loss_level: str = "free",
        divergence: str = "censor",
        divergence_threshold: float | None = None,
        far_above: float | None = None,
        bowl_scale: str = "log",
        fence: float | None = None,
    ):
        for value, allowed, what in (
            (bowl, BOWLS, "bowl"),
            (bowl_scale, BOWL_SCALES, "bowl_scale"),
            (loss_level, LOSS_LEVELS, "loss_level"),
            (divergence, DIVERGENCE, "divergence"),
        ):
            if value not in allowed:
                raise ValueError(f"{what} must be one of {allowed}, got {value!r}")
        divergence_threshold = data.positive_option("divergence_threshold", divergence_threshold)
        self.bowl = bowl
        self.bowl_scale = bowl_scale
        self.loss_level = loss_level
        self.divergence = divergence
        self.divergence_threshold = divergence_threshold
        far_above = data.positive_option("far_above", far_above, "a fraction, e.g. 0.03")
        if far_above is not None and far_above >= 1:
            raise ValueError(
                f"law option 'far_above' is a fraction of the cell's best loss (0.03 = 3%), "
                f"below 1; got {far_above!r} (for {far_above:g}% give {far_above / 100:g})"
            )
        self.far_above = far_above
        fence = data.positive_option("fence", fence, "IQRs")
        self.fence = None if fence is None else float(fence)

    @property
    def has_floor(self) -> bool:
        return self.loss_level == "surface"  # the levels follow a Chinchilla surface (its E)

    @property
    def options(self) -> dict:
        return {
            "bowl": self.bowl,
            "loss_level": self.loss_level,
            "divergence": self.divergence,
            "divergence_threshold": self.divergence_threshold,
            "far_above": self.far_above,
            "bowl_scale": self.bowl_scale,
            "fence": self.fence,
        }

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
        priors = {**optima.optimum_bowl_priors(), "group_sd": dist.HalfNormal(0.3)}
        if self.has_asym:
            priors["lr_asym"] = dist.Normal(0.0, 1.0)
        if self.has_cross:
            priors["rho"] = dist.Uniform(-1.0, 1.0)
        priors["level_mean"] = dist.Normal(0.0, 1.0)
        if self.loss_level == "surface":
            priors.update(chinchilla.LAW.default_priors())
            priors["level_scatter"] = dist.HalfNormal(0.02)
        return priors

    def extra_prior_names(self) -> set:
        return {"lr_int_tau", "batch_int_tau"}

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
        *,
        p,
        q,
        cell_index,
        x_cell,
        y_cell,
        cell_group,
        censored,
        n_groups,
        priors,
        likelihood,
        obs=None,
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
            numpyro.sample(OBSERVED_SITE, obs_dist, obs=obs)

    def recentred(self, draw, old, new, priors) -> dict:
        """The contract's :meth:`~..contract.Law.recentred` for :meth:`model`: one draw centred
        on the reference logs ``old`` (N, D: the cells' geometric centre; lr, batch_size, loss:
        the runs') as the sampled sites on ``new``, keeping what the draw says in natural units:

        * the optima's laws, ``ln eta*(N, D) = ln lr_ref + lr_int + lr_N x + lr_D y`` (and
          ``ln B*``): ``lr_int`` moves by ``-(d ln lr_ref) + lr_N d ln N_ref + lr_D d ln D_ref``
          (``d``: new minus old), ``batch_int`` likewise; the exponents, scatters, group
          offsets and cell deviations (``z_lr``, ``z_batch``) as they are;
        * each cell's mean log loss: ``level_mean`` moves by ``-d ln L_ref``; the bowl (in log
          loss, ``bowl_scale="log"``) as it is; with ``bowl_scale="loss"`` the bowl is in units
          of L_ref, so ``k_lr`` and ``k_batch`` are multiplied by ``exp(-d ln L_ref)`` (the
          curvature in loss units kept; ``rho`` and ``lr_asym`` are ratios, kept);
        * with ``loss_level="surface"`` Chinchilla's ``a``, ``b``, ``e`` as its own
          :meth:`~..chinchilla.Chinchilla.recentred_parameters` moves them, ``level_scatter``
          kept; the noise (``sigma``, ``nu``: of the log loss) kept.

        Every run's predicted ln L (loss units) and each cell's level at its optimum are then
        the old draw's on the same cells. A cell's ``level_mean`` is its mean log loss over
        the runs it had: new runs in a cell move that mean, so there the start is near, not at,
        the draw (a per-cell site whose shape changed, a new cell, is not carried: the update
        starts it as a cold fit would). A value outside its prior's support (a user's
        truncated prior) is left out; no reference log for a column: nothing (the default)."""
        if old == new:
            return dict(draw)
        columns = ("N", "D", "loss", "lr", "batch_size")
        if not all(c in old and c in new for c in columns):
            return super().recentred(draw, old, new, priors)
        d = {c: new[c] - old[c] for c in columns}  # new minus old reference logs
        value = {k: np.asarray(v, float) for k, v in draw.items()}
        out = dict(value)
        for prefix, column in (("lr", "lr"), ("batch", "batch_size")):
            if f"{prefix}_int" in value:
                out[f"{prefix}_int"] = (
                    value[f"{prefix}_int"] - d[column]
                    + value[f"{prefix}_N"] * d["N"] + value[f"{prefix}_D"] * d["D"]
                )
        if "level_mean" in value:
            out["level_mean"] = value["level_mean"] - d["loss"]
        if self.bowl_scale == "loss":
            for name in ("k_lr", "k_batch"):
                if name in value:
                    out[name] = value[name] * np.exp(-d["loss"])
        if self.loss_level == "surface" and all(p in value for p in SURFACE_PARAMS):
            surface = {p: value[p] for p in SURFACE_PARAMS}
            out.update(chinchilla.LAW.recentred_parameters(surface, old, new))
        return {
            name: v for name, v in out.items()
            if name not in priors or bool(np.all(priors[name].support(v)))
        }

    # ---- the contract: data in, draws out (see .data and .optima) ---------------------------
    def prepare(self, runs):
        return data.prepare(self, runs)

    def observation_rows(self, prepared) -> list:
        """Every run of the sweep; None for the censored (diverged or far-above) ones."""
        censored = prepared.data.get("censored")
        flags = np.zeros(len(prepared.runs), bool) if censored is None else np.asarray(censored)
        labels = prepared.runs.df.index
        return [None if c else label for label, c in zip(labels, flags, strict=True)]

    def known_misfits(self, prepared, rows) -> dict:
        """The flagged runs on the high-LR cliff its cliff warning concerns
        (:func:`.data.cliff_misfits`)."""
        return data.cliff_misfits(self, prepared, rows)

    def summary_names(self, groups, likelihood: str) -> list[str]:
        names = ["lr_int", "lr_N", "lr_D", "lr_scatter", "batch_int", "batch_N", "batch_D"]
        names += ["batch_scatter", "k_lr", "k_batch"]
        names += ["lr_asym"] * self.has_asym + ["rho"] * self.has_cross
        if self.loss_level == "surface":
            names += list(SURFACE_PARAMS) + ["level_scatter"]
        names += ["sigma"] + (["nu"] if likelihood == "student_t" else [])
        if len(groups) > 1:
            names += ["lr_int_tau", "batch_int_tau"]
        return names

    def checked_names(self, groups, likelihood: str) -> list[str]:
        """The reported sites and those predictions at a fitted cell read (:mod:`.optima`):
        each cell's deviations ``z_lr``, ``z_batch`` and levels ``level_mean``, ``level``
        (one value per cell), and with groups the group offsets ``lr_int_z``,
        ``batch_int_z`` (one per group)."""
        names = self.summary_names(groups, likelihood) + list(CELL_SITES)
        return names + (list(GROUP_SITES) if len(groups) > 1 else [])

    def group_dims(self, groups) -> dict:
        return {name: ["group"] for name in GROUP_SITES} if len(groups) > 1 else {}

    def draws(self, post, query, *, kind, group, rng) -> dict:
        return optima.quantity_draws(self, post, query, kind=kind, group=group, rng=rng)

    def observations(self, post, candidates, *, group, rng):
        return optima.observations(self, post, candidates, group=group, rng=rng)

    def empirical(self, runs):
        return optima.empirical(runs)

    def sweep_optima(self, post) -> dict:
        return optima.cell_optima(self, post)

    def law_table(self, post, units="billions", ci: float = 0.9, compute_model=None):
        return optima.law_table(post, units=units, ci=ci)


LAW = HyperparamsLaw()
