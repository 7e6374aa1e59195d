"""The whole LR x batch sweep as one model (law ``"sweep"``): the loss surface under optimal
hyperparameters, each cell's bowl in (ln lr, ln batch), and the optima's power laws, fitted at
once -- Yin et al.'s chain (sweep -> L(N, D) -> N_opt(C)) without the best-cell shortcut.

Every converged run i of cell c = (N, D)::

    ln L_i = l_c + bowl(u_i, v_i) + eps_i,      eps_i ~ Normal(0, sigma^2 + (tau bowl_i)^2)
    l_c    = surface(x_c, y_c) + s eta_c,       eta_c ~ Normal(0, 1)     (cell scatter)
    u_i = ln lr_i - ln eta*_c,   v_i = ln B_i - ln B*_c                 (B in tokens)
    ln eta*_c = ln lr_ref + lr_int + lr_N x_c + lr_D y_c + lr_scatter z_lr_c      (non-centred)
    ln B*_c   = ln B_ref + batch_int + batch_N x_c + batch_D y_c + batch_scatter z_batch_c

with x = ln N - ln N_ref, y = ln D - ln D_ref (N params, D tokens) and the reference scales at
the data's geometric centre; ``surface`` is Chinchilla's ln L (the only surface supported: its
sampling coordinates below are Chinchilla's), so L(N, D), N_opt(C) and L_opt(C) are that law's,
read off every run.

The bowl is convex with its minimum at (eta*_c, B*_c) (:meth:`SweepLaw.bowl_value`)::

    bowl = k_u u^2 + k_w w^2,   w = v - valley u   (the best batch at a given lr offset)
    k_u = k_lr,c e^(-lr_asym,c / 2) (u <= 0) or k_lr,c e^(lr_asym,c / 2) (u > 0); k_w likewise
    k_lr,c = k_lr e^(k_lr_N x_c + k_lr_D y_c + k_lr_scatter z_k_lr_c)   (k_batch,c likewise)
    lr_asym,c = lr_asym + lr_asym_scatter z_lr_asym_c,
    valley_c = valley + valley_scatter z_valley_c

so the curvatures follow power laws in N and D; with ``shape_scatter=True`` the bowl's shape
also varies a little by cell (non-centred cell deviations z ~ Normal(0, 1); batch_asym is
shared). By default it does not (the scatters are held at 0): on sweeps whose bowls scale
smoothly they sit near zero, a funnel that kept R-hat at 1.02-1.13 on 10 SIMULATED Yin-design
sweeps (seeds 1000-1009; benchmarks/sweep_joint.py, output/sweep_yin_shape_scatter.csv), and
the bowl's relative misfit ``tau`` below already absorbs a shape the laws miss.

**Sampling** (why this model samples cleanly where ``hyperparams`` with
``loss_level="surface"`` did not): the cell levels l_c are *integrated out analytically*. Given
everything else a cell's log losses are Gaussian with covariance ``diag(v_i) + s^2 11^T``; its
marginal likelihood is exact and cheap (evaluated run by run in each cell as the predictive of
one run given the cell's earlier runs: the chain rule, so the terms sum to the cell's marginal).
Those terms depend on the runs' order within a cell and are not leave-one-out predictives; the
pointwise log-likelihood LOO reads is each run's exact ln p(z_i | the cell's other runs, theta)
instead (:meth:`CellMarginal.loo_log_prob`).
No level parameter, hence no funnel between the cell scatter s and the levels when s is small
against how well the runs pin each level down (the simulated truth has s = 0). The optimum
offsets z_lr, z_batch enter non-linearly and are non-centred. Each cell's level is recovered
exactly afterwards: given the rest it is Gaussian (sites ``level_offset``, ``level_sd``).

**Robust defaults** (no user threshold needed):

* the noise grows with the height of the bowl, ``sd_i^2 = sigma^2 + (tau bowl_i)^2``: a
  quadratic is a local model, and ``tau`` (fitted) is its relative misfit, so the runs far up
  the walls (towards the high-LR cliff, huge batches) inform the shape but cannot drag the
  optimum; on a truly quadratic bowl tau goes to ~0 and the model is the plain one;
* diverged runs (NaN loss, a true ``diverged`` column, a loss above ``divergence_threshold``
  -- without one, above 3x the sweep's median loss) and runs beyond a far-out fence are
  excluded from the bowls: in cells with at least ``FENCE_MIN_RUNS`` converged runs, where
  quartiles mean something, their cell's own (ln loss above Q3 + ``fence`` x IQR of the cell's
  converged ln losses, Tukey's rule with ``fence = 3``); in smaller cells the same rule on each
  run's ln loss above its cell's best, with the quartiles pooled over the sweep's converged
  runs (a collapsed run at ~2x its cell's best, which 3x the median misses). They are recorded
  (``fit.record.data``, ``fit.record.law_state["divergence"]``, whose ``excluded_rows`` are
  their row labels, and the fit's notes, which name their rows): a run that blew up says only that
  its hyperparameters are bad, which a local bowl cannot use. A cell left with no run is counted
  there too (``n_cells_without_converged_run``). Runs whose N (or D) agree within ``CELL_RTOL``
  (relative) are one cell; N (or D) values within ``NEAR_RTOL`` (~1%) of each other at one D
  (resp. N), further apart, make separate cells and are warned about (a D computed per run),
  as are cells that vary lr or batch size over fewer than 3 values (their optima are the laws').

**At a fitted cell** (N, D) the predictions (``bl.predict``, ``bl.loss_penalty``, either kind)
read the cell's own posterior: its optimum (the laws moved by its z_lr, z_batch), bowl shape
and level (drawn from its exact conditional), as the model and :meth:`SweepLaw.observations`
do; so the loss predicted for a run there is what the likelihood predicts for it, and
eta_opt, B_opt are that bowl's minimum (``new_run`` adds one run's noise only). Away from the
cells ``kind="mean"`` is the laws' and ``new_run`` a new cell's (below). Quantities of the
surface itself (L(N, D) between cells, N_opt(C)) stay the laws'.

**Beyond the fitted cells** (``optima_drift``): the optima's power laws are measured over the
training cells' range of N and D only; beyond it their exponents may be wrong in a way the runs
cannot show. The ``new_run`` predictive of a new cell's optimum (and so :func:`best_run`, the
penalties of ``bl.loss_penalty(kind="new_run")`` and :meth:`SweepLaw.observations`) carries a
discrepancy that grows with the distance in decades beyond that range, as the loss surface's
drift (:mod:`bayeslaws.posterior.extrapolation.drift`)::

    ln eta*_new += sum_k g_lr,k d_k,   ln B*_new += sum_k g_batch,k d_k,
    g_lr,k ~ Normal(0, drift_lr^2),    g_batch,k ~ Normal(0, drift_batch^2)   (per draw)

with d_k the decades outside the cells' range along N+, N-, D+, D- (0 inside: the term does
nothing at or between the fitted cells). The slopes are shared by every query point of one
draw. ``kind="mean"`` (the law itself) does not carry it. The shipped sds (``OPTIMA_DRIFT``)
were chosen on selection splits inside Step Law's training cells (see the constant).

**Where a grid's best run lands** (:func:`best_run`): ``eta_opt`` and ``B_opt`` are the smooth
bowl's minimum; the run of least measured loss on a grid also moves with the grid's spacing,
the run noise and the bowl's flatness. ``best_run`` gives its posterior predictive (a separate
quantity, for checking a measured best run against the model; not an interval of the optimum).

Likelihood: Gaussian in log loss (what the analytic integration needs; robustness comes from
the variance function above).

Default priors (centred logs; ``priors=`` takes these names, not alpha, beta, a, b, e):

* the surface, sampled in the coordinates of :meth:`SweepLaw.sample_surface` (Chinchilla's
  alpha, beta, a, b, e are deterministic functions of them, with no prior of their own):
  level_centre ~ Normal(0, 1), the ln loss at the data's centre; log_elasticity_N,
  log_elasticity_D ~ Normal(ln 0.05, 2), ln(g_N / g_rest) and ln(g_D / g_rest) of the
  elasticities g = -d ln L / d ln N (or D) there; alpha_raw, beta_raw ~ Beta(2, 3), where
  alpha and beta lie in the range the elasticities allow (0: its lower end, 1: exponent 1);
* lr_int, batch_int ~ Normal(0, 2); lr_N, lr_D, batch_N, batch_D ~ Normal(0, 1);
  lr_scatter, batch_scatter ~ HalfNormal(0.3) (as law ``hyperparams``);
* k_lr, k_batch ~ LogNormal(ln 0.003, 2); k_lr_N, k_lr_D, k_batch_N, k_batch_D ~ Normal(0, 0.5);
  lr_asym, batch_asym, valley ~ Normal(0, 1); with ``shape_scatter``: k_lr_scatter,
  k_batch_scatter ~ HalfNormal(0.3), lr_asym_scatter ~ HalfNormal(0.5), valley_scatter ~
  HalfNormal(0.2);
* level_scatter (s) ~ HalfNormal(0.02): cell deviations of ln L* from the surface;
* tau ~ HalfNormal(0.5): the bowl's relative misfit; sigma ~ LogNormal(ln 0.002, 1.5) (run
  noise in log loss: 90% prior mass in [1.7e-4, 0.024]). Not the loss surfaces' HalfNormal(0.1):
  with the bowl term in the variance, a HalfNormal lets a chain settle where tau carries all the
  noise and sigma -> 0 (each cell's lowest run then fits its level almost exactly); on the
  20-replicate simulated Yin benchmark one chain of replicate 12 stayed there (R-hat 2.24,
  benchmarks/output/sweep_yin.csv). The log-normal keeps sigma off 0; on 20 new replicates no
  chain stuck (max R-hat 1.04, sweep_yin_sigma_lognormal.csv).

Units: N params, D tokens, C FLOPs, lr the peak learning rate, batch size in tokens, loss > 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.distributions import constraints

from ..runs import PlausibilityWarning, RunTableError, decades_outside
from ..runs.cells import cell_table
from ..runs.checks import ArgumentTypeError, is_real
from ..runs.warn import user_stacklevel
from . import chinchilla
from .contract import (
    OBSERVED_SITE,
    Law,
    LawCapabilityError,
    Observations,
    Posterior,
    Prepared,
    Scales,
    resolve_group,
)
from .hyperparams import data as hp_data
from .hyperparams import optima
from .hyperparams.data import DivergenceWarning, joined, positive_option
from .likelihoods import NonFactorised
from .priors import standardised_sample
from .surface import LossSurfaceLaw

OPTIMUM_PARAMS = ("lr_int", "lr_N", "lr_D", "batch_int", "batch_N", "batch_D")
BOWL_PARAMS = (
    "k_lr", "k_lr_N", "k_lr_D", "k_batch", "k_batch_N", "k_batch_D", "lr_asym", "batch_asym",
    "valley",
)
SHAPE_SCATTER = ("k_lr", "k_batch", "lr_asym", "valley")  # bowl shape varies by cell
# per-cell sites the predictions at a fitted cell read (SweepLaw.checked_names): the optimum's
# deviations and the integrated-out level's exact conditional (mean offset from the surface, sd)
CELL_SITES = ("z_lr", "z_batch", "level_offset", "level_sd")
# the order of a new cell's standard normal deviations (:func:`.hyperparams.optima.
# cell_deviations`): the optima, the bowl's shape (SweepLaw.observations reads these first
# 2 + len(SHAPE_SCATTER)), then the level (new_run draws)
NEW_CELL_DEVIATIONS = ("lr", "batch", *SHAPE_SCATTER, "level")
SIGMA_MEDIAN, SIGMA_LOG_SD = 0.002, 1.5  # run-noise prior, LogNormal in log-loss units
# Tukey's far-out fence (IQRs) and the fewest converged runs of a cell it applies to: shared with
# law "hyperparams" (:func:`.hyperparams.data.fence_mask`, where the choice is explained)
FENCE = hp_data.FENCE
FENCE_MIN_RUNS = hp_data.FENCE_MIN_RUNS
# The surface laws the model can sample: sample_surface's coordinates are Chinchilla's.
SURFACES = {chinchilla.LAW.name: chinchilla.LAW}
# The optima laws' discrepancy beyond the training cells' range: sd per decade (ln units) of a
# random slope per axis (N+, N-, D+, D-), for (ln eta_opt, ln B_opt). Chosen by
# ``python benchmarks/sweep_joint.py --parts steplaw_drift_select --chains 4 --warmup 1000
# --draws 1000`` (output benchmarks/output/sweep_steplaw_drift_select.csv, _loglik.csv and
# _summary.txt): the maximum of the log marginal likelihood, over 3 nested scale-out splits
# inside Step Law's N < 1e9 cells (N <= 2.68e8 -> 4.29e8 and 5.37e8; N <= 4.29e8 -> 5.37e8;
# D <= 5e10 -> 8e10 and 1e11), of each held-out cell's model-free optimum and best run (their
# offset and scatter at distance 0 measured on the split's training cells). Weakly determined:
# within 1.92 of the maximum lie 0.54-2.45 (lr) and 0-1.90 (batch). The 1.07e9 cells were not
# used.
OPTIMA_DRIFT = {"lr": 1.094, "batch": 0.6295}
DRIFT_AXES = ("N+", "N-", "D+", "D-")  # the first four of drift.AXES (the optima have no C+)
# Fewer cells than this varying lr (or batch size) over at least 3 values is warned: the bowl
# along it is then placed only across cells, where it is confounded with the optima's laws
MIN_SWEPT_CELLS = 2
MIN_BOWL_VALUES = hp_data.MIN_BOWL_VALUES  # distinct lr (or batch size) values a cell needs


def empty_cells(df: pd.DataFrame, excluded) -> pd.DataFrame:
    """The (N, D) cells (``CELL_RTOL``) that have every run ``excluded`` (R,): with no converged
    run left they drop out of the fit entirely. Rows of :func:`~bayeslaws.runs.cells.cell_table`
    (columns g, N params, D tokens), as :func:`.hyperparams.data.describe_cells` names them."""
    index, cells = cell_table(df["N"], df["D"])
    kept = np.bincount(index, weights=(~np.asarray(excluded, bool)).astype(float),
                       minlength=len(cells))
    return cells[kept == 0]


def thinly_swept(df: pd.DataFrame, cell_index: np.ndarray) -> dict[str, int]:
    """The columns (``lr``, ``batch_size``) that fewer than ``MIN_SWEPT_CELLS`` (N, D) cells vary
    over at least 3 distinct values, each with how many cells do (``df``: the runs in the bowls;
    ``cell_index`` (R,) their cells)."""
    swept = (hp_data.values_per_cell(df, cell_index) >= MIN_BOWL_VALUES).sum()
    return {column: int(k) for column, k in swept.items() if k < MIN_SWEPT_CELLS}


def warn_thinly_swept(thin: dict[str, int], n_cells: int) -> str | None:
    """A PlausibilityWarning (and its text; None when ``thin`` is empty) naming the columns
    that too few of the ``n_cells`` cells sweep (:func:`thinly_swept`) and their optima."""
    if not thin:
        return None
    named = " or ".join(f"{c!r} ({k} of {n_cells} cells)" for c, k in thin.items())
    optima = " and ".join({"lr": "eta_opt", "batch_size": "B_opt"}[c] for c in thin)
    text = (
        f"fewer than {MIN_SWEPT_CELLS} (N, D) cells vary {named} over at least 3 values: the "
        "bowl along it is placed only across cells, where the cells' differences are also the "
        f"optima's power laws in N and D, so {optima} rest{'s' if len(thin) == 1 else ''} on "
        "the model's form and the priors more than on the runs. Sweep it within cells (at "
        f"least 3 values in at least {MIN_SWEPT_CELLS} cells)"
    )
    warnings.warn(f"law 'sweep': {text}", PlausibilityWarning, stacklevel=user_stacklevel())
    return text


def nothing_excluded_note(fence: float | None, runs_per_cell, pooled: bool) -> str:
    """The note of a sweep none of whose runs left the bowls, saying which fence checked which
    cells: ``fence`` (None: none), ``runs_per_cell`` (n_cells,) each cell's converged runs,
    ``pooled`` whether the fence pooled over the sweep's cells had quartiles to apply
    (:func:`.hyperparams.data.pooled_fence_bound`)."""
    if fence is None:
        return "no diverged runs; no fence (fence=None); every run in the bowls"
    large = int((np.asarray(runs_per_cell) >= FENCE_MIN_RUNS).sum())
    small = len(runs_per_cell) - large
    checked = []
    if large:
        checked.append(f"their cell's in the {large} cells with >= {FENCE_MIN_RUNS} converged runs")
    if small and pooled:
        checked.append(f"pooled over the sweep's cells in the {small} with fewer")
    unchecked = (
        f"; the {small} cells with < {FENCE_MIN_RUNS} converged runs unfenced (too few runs or "
        "no spread for quartiles pooled over the sweep's cells)"
        if small and not pooled
        else ""
    )
    fenced = f" and none beyond a far-out fence ({', '.join(checked)})" if checked else ""
    return f"no diverged runs{fenced}{unchecked}; every run in the bowls"


def drift_option(optima_drift) -> tuple[float, float]:
    """The ``optima_drift`` option as (lr, batch) sds per decade (ln units): None, the shipped
    ``OPTIMA_DRIFT``; one number, the same for both; or two. Each finite and >= 0, else
    ValueError (so is a string: not two numbers, "12" would iterate as 1, 2); a value in it
    that is not a number, a bool among them (True is no sd of 1), an ArgumentTypeError."""
    if optima_drift is None:
        return (OPTIMA_DRIFT["lr"], OPTIMA_DRIFT["batch"])
    pair = optima_drift
    if np.ndim(pair) == 0 and not isinstance(pair, str | bytes):
        pair = (pair, pair)  # one sd for both optima
    try:
        values = () if isinstance(pair, str | bytes) else tuple(pair)
    except TypeError:
        values = ()
    values = tuple(v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v for v in values)
    if any(not is_real(v) for v in values):
        raise ArgumentTypeError(
            f"optima_drift must be numbers, sds >= 0 per decade (lr, batch) or one for both, "
            f"got {optima_drift!r}"
        )
    drift = tuple(float(v) for v in values)
    if len(drift) != 2 or not all(np.isfinite(v) and v >= 0 for v in drift):
        raise ValueError(
            "optima_drift must be two finite sds >= 0 per decade, (lr, batch), got "
            f"{optima_drift!r}"
        )
    return drift


def cell_distances(N, D, cells: Mapping) -> np.ndarray:
    """Decades outside the fitted cells' range of N and D along ``DRIFT_AXES``: (Q, 4), 0
    inside (as :func:`bayeslaws.posterior.extrapolation.drift.axis_distances` measures the
    loss surface's). ``cells``: {"N": [...], "D": [...]} of the fitted cells
    (``post.state["cells"]``)."""
    parts = []
    for column, value in (("N", N), ("D", D)):
        values = np.atleast_1d(np.asarray(value, float))
        parts += decades_outside(values, np.min(cells[column]), np.max(cells[column]))
    return np.stack(np.broadcast_arrays(*parts), axis=-1)


# ---- sampling coordinates ----------------------------------------------------------------------
# The posterior sd of a site, roughly (centred log units; for LogNormal priors of its log): NUTS
# samples (value - loc) / scale. Its mass-matrix adaptation shrinks each variance towards 1e-3
# (NumPyro's regularisation, ~1e-5 after warmup), which wrecks sites whose posterior sd is far
# below 0.01 (the level at the data's centre has ~1e-4): standardised, they are of order one.
SAMPLING_SCALE = {
    "level_centre": 1e-3,
    "log_elasticity_N": 0.02,
    "log_elasticity_D": 0.02,
    "lr_N": 0.1,
    "lr_D": 0.1,
    "batch_N": 0.1,
    "batch_D": 0.1,
    "valley": 0.1,
    "k_lr": 0.1,
    "k_batch": 0.1,
    "k_lr_N": 0.1,
    "k_lr_D": 0.1,
    "k_batch_N": 0.1,
    "k_batch_D": 0.1,
}


def scaled_sample(name: str, prior, loc=None):
    """Sample site ``name`` with ``prior`` in units of SAMPLING_SCALE[name] around ``loc``
    (:func:`~.priors.standardised_sample`; for a LogNormal prior in ln units, centred by
    default on the prior's own location); sites without a sampling scale as they are."""
    scale = SAMPLING_SCALE.get(name)
    if scale is None:
        return numpyro.sample(name, prior)
    if loc is None:
        loc = prior.loc if isinstance(prior, dist.LogNormal) else 0.0
    return standardised_sample(name, prior, scale, loc)


# ---- the likelihood with each cell's level integrated out -------------------------------------
class CellMarginal(NonFactorised, dist.Distribution):
    """Log losses of a sweep's runs with each cell's level integrated out.

    mean : (R,) surface at the run's cell plus the bowl (centred ln loss).
    var : (R,) the run's noise variance (ln-loss units squared).
    level_var : scalar s^2, the prior variance of a cell's level around the surface.
    cell_index : (R,) cell of each run; order : (R,) runs sorted by cell (stable), rank its
    inverse; cell_start : (n_cells,) position of each cell's first run in that order.

    Two densities of the same model, one per use:

    * :meth:`log_prob` (what NUTS sums): per run ln p(z_i | the cell's earlier runs) (chain
      rule), so that the terms of a cell sum to its exact marginal likelihood. The single terms
      depend on the runs' order within the cell and are *not* leave-one-out predictive
      densities: PSIS-LOO on them is biased.
    * :meth:`loo_log_prob` (what LOO needs, for the fit's ``log_likelihood`` group): per run the
      exact leave-one-run-out term ln p(z_i | z_-i of its cell, theta), the non-factorised
      Gaussian LOO of Buerkner, Gabry & Vehtari (2021). These do not sum to the joint (a
      pseudo-likelihood), which is why the sampler does not use them; nor can one density serve
      both (per-run terms shifted by a correction so that they sum to the joint would no longer
      be the LOO terms).
    """

    arg_constraints = {}
    support = constraints.real

    def __init__(self, mean, var, level_var, cell_index, order, rank, cell_start, *,
                 validate_args=None):
        self.loc, self.var, self.level_var = mean, var, level_var
        self.cell_index, self.order, self.rank, self.cell_start = (
            cell_index, order, rank, cell_start
        )
        super().__init__(batch_shape=jnp.shape(mean), validate_args=validate_args)

    def mask(self, mask):
        """Refused unless every run is kept: NumPyro's generic mask would zero a dropped run's
        term but keep it informing its cell's level (nothing masks this law's runs today)."""
        if isinstance(mask, bool) and mask:
            return self
        raise NotImplementedError("CellMarginal: masking runs out of a cell is not supported")

    def log_prob(self, value):
        """(R,) per run ln p(z_i | the runs before it in its cell, theta): the chain rule, whose
        sum over a cell is its exact marginal likelihood."""
        o = self.order
        r = (value - self.loc)[o]
        w = 1.0 / self.var[o]
        cell = self.cell_index[o]
        before_w = jnp.cumsum(w) - w  # exclusive cumulative sums over the sorted runs
        before_rw = jnp.cumsum(r * w) - r * w
        A = before_w - before_w[self.cell_start][cell]  # sums over the cell's earlier runs
        B = before_rw - before_rw[self.cell_start][cell]
        s2 = self.level_var
        q = s2 / (1.0 + s2 * A)  # variance of the level given those runs (minus the surface)
        pred_var = 1.0 / w + q
        lp = -0.5 * ((r - q * B) ** 2 / pred_var + jnp.log(2 * jnp.pi * pred_var))
        return lp[self.rank]

    def loo_log_prob(self, value):
        """(R,) per run the exact leave-one-run-out term ln p(z_i | z_-i, theta), z_-i the other
        runs of its cell: with precisions w_j = 1/var_j, residuals
        r_j = z_j - mean_j and the cell's other runs' sums A_-i = sum w - w_i,
        B_-i = sum r w - r_i w_i, the level given them has mean q B_-i and variance
        q = s^2 / (1 + s^2 A_-i), so z_i | z_-i ~ Normal(mean_i + q B_-i, var_i + q).
        Independent of the runs' order; what PSIS-LOO needs (Buerkner, Gabry & Vehtari 2021)."""
        n_cells = self.cell_start.shape[0]
        r = value - self.loc
        w = 1.0 / self.var
        sum_w = jax.ops.segment_sum(w, self.cell_index, n_cells)[self.cell_index]
        sum_rw = jax.ops.segment_sum(r * w, self.cell_index, n_cells)[self.cell_index]
        A = jnp.maximum(sum_w - w, 0.0)  # the cell's other runs (rounding kept >= 0)
        B = sum_rw - r * w
        s2 = self.level_var
        q = s2 / (1.0 + s2 * A)
        pred_var = self.var + q
        lp = -0.5 * ((r - q * B) ** 2 / pred_var + jnp.log(2 * jnp.pi * pred_var))
        return lp

    def sample(self, key, sample_shape=()):
        k1, k2 = jax.random.split(key)
        n_cells = self.cell_start.shape[0]
        eta = jax.random.normal(k1, sample_shape + (n_cells,))
        eps = jax.random.normal(k2, sample_shape + self.batch_shape)
        level = jnp.sqrt(self.level_var) * eta[..., self.cell_index]
        return self.loc + level + jnp.sqrt(self.var) * eps


def surface_start(df: pd.DataFrame, cells: pd.DataFrame, cell_index, scales: Scales):
    """Rough (level_centre, log_elasticity_N, log_elasticity_D) from each cell's best run: a
    plane through their centred ln losses (only the centres of the sampling coordinates)."""
    z = scales.centre("loss", df["loss"])
    best = pd.Series(z).groupby(cell_index).min().to_numpy()
    X = np.column_stack([np.ones(len(cells)), scales.centre("N", cells["N"]),
                         scales.centre("D", cells["D"])])
    coef = np.linalg.lstsq(X, best, rcond=None)[0]
    g = np.clip(-coef[1:], 1e-3, 0.3)
    return np.array([coef[0], *np.log(g / (1.0 - g.sum()))])


def level_posterior(r, var, level_var, cell_index, n_cells):
    """Each cell's level minus the surface given everything else: (mean, sd), (n_cells,) each.
    ``r``: (R,) run residuals from surface + bowl."""
    w = 1.0 / var
    sum_w = jax.ops.segment_sum(w, cell_index, n_cells)
    sum_rw = jax.ops.segment_sum(r * w, cell_index, n_cells)
    q = level_var / (1.0 + level_var * sum_w)
    return q * sum_rw, jnp.sqrt(q)


# ---- the law ---------------------------------------------------------------------------------
class SweepLaw(LossSurfaceLaw):
    """Loss surface, bowls and optima of an LR x batch sweep, fitted jointly.

    Parameters
    ----------
    surface : the loss-surface law of ln L at optimal hyperparameters: "chinchilla" only (the
        default; other surface laws are refused: :meth:`sample_surface` samples Chinchilla's
        parameters).
    divergence_threshold : a loss above this counts as diverged (None: NaN losses, a true
        ``diverged`` column and losses above 3x the sweep's median loss count; the fence
        applies either way).
    fence : Tukey multiplier of the far-out fence (default 3; None: no fence): per cell in
        cells with at least ``FENCE_MIN_RUNS`` (12) converged runs, pooled over the sweep's
        cells (on the ln loss above each cell's best) in the smaller ones.
    shape_scatter : let each cell's bowl shape (curvatures, LR asymmetry, valley slope) deviate
        from the law's by its own fitted scatter (default False: the shape follows the power
        laws in N and D, and the bowl's relative misfit ``tau`` absorbs what it misses; the
        shape scatters, near zero on sweeps whose bowls scale smoothly, gave R-hat 1.02-1.13 on
        10 SIMULATED Yin-design sweeps, 2 chains x 300 + 300:
        benchmarks/output/sweep_yin_shape_scatter.csv).
    optima_drift : (lr, batch) sd per decade (ln units) of the optima laws' discrepancy beyond
        the fitted cells' range, carried by the ``new_run`` predictive of a new cell's optimum
        (default ``OPTIMA_DRIFT``, chosen on Step Law selection splits; one number: the same
        for both; 0: none).
    """

    name = "sweep"
    description = (
        "loss surface + per-cell LR x batch bowls + optima power laws in N, D, fitted jointly"
    )
    run_columns = ("N", "D", "lr", "batch_size")
    optional_inputs = ("lr", "batch_size")
    # given lr and batch_size also loss_opt, rel_penalty, penalty, and ``loss`` is then the loss
    # of a run at that setting (:meth:`draws`)
    quantities = ("loss", "eta_opt", "B_opt")
    primary = "loss"
    default_likelihood = "gaussian"
    likelihoods = ("gaussian",)
    widened = False  # a new (N, D) already carries the fitted cell scatter around the surface
    accepts_missing_loss = True  # NaN-loss runs are diverged runs, counted and recorded
    nonlinear_optima = True  # a run's ln loss is a bowl about eta_opt, B_opt (design)
    default_dense_mass = True  # 30 leapfrog steps per draw on the bundled sweep, diagonal 63
    # NUTS target acceptance: on 5 SIMULATED Yin-design sweeps (seeds 4000-4004, 4 x 1000 +
    # 1000) 0.8 gave 1/2/2/2/0 divergences, 0.9 gave 1/1/0/0/0, 0.95 none on the two seeds that
    # still diverged (benchmarks/sweep_target_accept.py; output/sweep_target_accept.txt; chosen
    # on its first run, 0/4/1/15/0 and 0/1/0/1/0: that file at commit 8e2b0fd)
    default_target_accept = 0.95
    # 2: each run's exact leave-one-run-out term (CellMarginal.loo_log_prob), not the
    # chain-rule terms the sampler sums (1, fits made before)
    loo_terms_version = 2

    def __init__(
        self,
        surface: str = "chinchilla",
        divergence_threshold: float | None = None,
        fence: float | None = FENCE,
        shape_scatter: bool = False,
        optima_drift=None,
    ):
        drift = drift_option(optima_drift)
        if not isinstance(shape_scatter, bool | np.bool_):
            raise ValueError(f"shape_scatter must be True or False, got {shape_scatter!r}")
        if surface not in SURFACES:
            raise ValueError(
                f"surface must be one of {sorted(SURFACES)}, got {surface!r}: law 'sweep' samples "
                "only Chinchilla's surface (alpha, beta, a, b, e); fit another surface law to "
                "each cell's best run instead (bl.runs.best_run_per_cell)"
            )
        law = SURFACES[surface]
        divergence_threshold = positive_option("divergence_threshold", divergence_threshold)
        fence = positive_option("fence", fence, "IQRs")
        self.surface = surface
        self.surface_law = law
        self.floor = law.floor  # its surface's irreducible loss (near_optimal reads it)
        self.divergence_threshold = divergence_threshold
        self.fence = None if fence is None else float(fence)
        self.shape_scatter = bool(shape_scatter)
        self.optima_drift = drift
        self.parameters = law.parameters

    @property
    def form_description(self) -> str:
        return self.surface_law.description  # the loss at optimal hyperparameters

    @property
    def options(self) -> dict:
        return {
            "surface": self.surface,
            "divergence_threshold": self.divergence_threshold,
            "fence": self.fence,
            "shape_scatter": self.shape_scatter,
            "optima_drift": list(self.optima_drift),
        }

    # ---- priors ------------------------------------------------------------------------------
    def default_priors(self) -> dict:
        return {
            "level_centre": dist.Normal(0.0, 1.0),
            "log_elasticity_N": dist.Normal(float(np.log(0.05)), 2.0),
            "log_elasticity_D": dist.Normal(float(np.log(0.05)), 2.0),
            "alpha_raw": dist.Beta(2.0, 3.0),
            "beta_raw": dist.Beta(2.0, 3.0),
            "level_scatter": dist.HalfNormal(0.02),
            **optima.optimum_bowl_priors(),  # as law 'hyperparams'
            "k_lr_N": dist.Normal(0.0, 0.5),
            "k_lr_D": dist.Normal(0.0, 0.5),
            "k_batch_N": dist.Normal(0.0, 0.5),
            "k_batch_D": dist.Normal(0.0, 0.5),
            "lr_asym": dist.Normal(0.0, 1.0),
            "batch_asym": dist.Normal(0.0, 1.0),
            "valley": dist.Normal(0.0, 1.0),
            "tau": dist.HalfNormal(0.5),
            "k_lr_scatter": dist.HalfNormal(0.3),
            "k_batch_scatter": dist.HalfNormal(0.3),
            "lr_asym_scatter": dist.HalfNormal(0.5),
            "valley_scatter": dist.HalfNormal(0.2),
        }

    def extra_prior_names(self) -> set:
        return set()

    def unsampled_priors(self, prepared=None) -> dict:
        """As the contract's, and the cells' shape scatters (``k_lr_scatter``, ...): sampled
        only with ``shape_scatter=True`` (fixed at 0 without it)."""
        unsampled = super().unsampled_priors(prepared)
        if self.shape_scatter:
            return unsampled
        need = (
            "with shape_scatter=True (Python: law_options={'shape_scatter': True}; command "
            "line: --option shape_scatter=true); without it each is fixed at 0"
        )
        return {**unsampled, **{f"{k}_scatter": need for k in SHAPE_SCATTER}}

    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        if isinstance(overrides, Mapping) or overrides is None:  # else the contract refuses it
            run_noise = dist.LogNormal(float(np.log(SIGMA_MEDIAN)), SIGMA_LOG_SD)
            overrides = {"sigma": run_noise, **(overrides or {})}
        return super(LossSurfaceLaw, self).priors(likelihood, overrides)

    # ---- the math ----------------------------------------------------------------------------
    def log_loss(self, theta, x, y, scales):
        return self.surface_law.log_loss(theta, x, y, scales)

    def derived(self, theta, scales):
        return self.surface_law.derived(theta, scales)


    def closed_form_optimum(self, theta, scales, compute_model, C):
        return self.surface_law.closed_form_optimum(theta, scales, compute_model, C)

    @staticmethod
    def bowl_value(theta: dict, u, v):
        """Excess ln loss over the cell's optimum at (u, v) = (ln lr/eta*, ln B/B*); >= 0.

        ``k_u(u) u^2 + k_w(w) w^2`` with ``w = v - valley * u``: the best batch at a given lr
        offset lies on the valley line ``v = valley * u`` (convex for every parameter value);
        ``k_u`` is ``k_lr e^(-lr_asym/2)`` below the optimal lr and ``k_lr e^(lr_asym/2)``
        above it, ``k_w`` likewise with ``k_batch`` and ``batch_asym`` on either side of the
        valley line."""
        half_lr, half_b = 0.5 * theta["lr_asym"], 0.5 * theta["batch_asym"]
        w = v - theta["valley"] * u
        k_u = theta["k_lr"] * jnp.exp(jnp.where(u > 0, half_lr, -half_lr))
        k_w = theta["k_batch"] * jnp.exp(jnp.where(w > 0, half_b, -half_b))
        return k_u * u**2 + k_w * w**2

    @staticmethod
    def cell_shape(theta: dict, x, y) -> dict:
        """The bowl's parameters in the cell at centred logs (x, y): the curvatures follow
        power laws in N and D, ``k_lr(N, D) = k_lr e^(k_lr_N x + k_lr_D y)`` (likewise
        k_batch); the asymmetries and the valley slope are shared."""
        out = dict(theta)
        for name in ("k_lr", "k_batch"):
            out[name] = theta[name] * jnp.exp(theta[f"{name}_N"] * x + theta[f"{name}_D"] * y)
        return out

    @staticmethod
    def shift_shape(shape: dict, scatter: dict, z: dict) -> dict:
        """A cell's own bowl shape: the law's ``shape`` moved by its standardised deviations
        ``z`` (name -> array) times their ``scatter`` (SHAPE_SCATTER names; curvatures on the
        log scale)."""
        out = dict(shape)
        for name in ("k_lr", "k_batch"):
            out[name] = shape[name] * jnp.exp(scatter[name] * z[name])
        for name in ("lr_asym", "valley"):
            out[name] = shape[name] + scatter[name] * z[name]
        return out

    @staticmethod
    def centre_law(theta: dict, x, y):
        """(ln eta*, ln B*) - (ln lr_ref, ln B_ref) of the law at centred logs (x, y)."""
        m_lr = theta["lr_int"] + theta["lr_N"] * x + theta["lr_D"] * y
        m_b = theta["batch_int"] + theta["batch_N"] * x + theta["batch_D"] * y
        return m_lr, m_b

    @staticmethod
    def sample_surface(priors, surface_loc) -> dict:
        """Chinchilla's (alpha, beta, a, b, e), sampled through what the runs pin down: the ln
        loss at the data's centre (``level_centre``) and its elasticities there,
        ``g_N = -d ln L / d ln N = alpha pi_A`` and ``g_D = beta pi_B``, with pi_A, pi_B, pi_E
        the shares of A/N^alpha, B/D^beta and E in L at the centre (sampled as the log-ratios
        ``log_elasticity_N = ln(g_N / g_rest)``, ``log_elasticity_D``, g_rest = 1 - g_N - g_D);
        the exponents come from ``alpha_raw``, ``beta_raw`` mapped into the range the
        elasticities allow (pi_A + pi_B < 1).

        Sampling (a, b, e, alpha, beta) directly puts the posterior on a thin curved ridge (the
        runs fix L and its slopes to ~1e-4 while E, B and beta trade off along a curve), which
        no mass matrix straightens; in these coordinates the ridge is nearly axis-aligned.
        ``surface_loc``: (3,) rough data estimates of (level_centre, log_elasticity_N,
        log_elasticity_D), the centres of the sampler's standardised coordinates."""
        l0 = scaled_sample("level_centre", priors["level_centre"], surface_loc[0])
        e_N = scaled_sample("log_elasticity_N", priors["log_elasticity_N"], surface_loc[1])
        e_D = scaled_sample("log_elasticity_D", priors["log_elasticity_D"], surface_loc[2])
        g = jax.nn.softmax(jnp.stack([e_N, e_D, jnp.zeros_like(e_N)]))
        g_N, g_D = g[0], g[1]
        lo_beta = g_D / (1.0 - g_N)
        beta = numpyro.deterministic(
            "beta", lo_beta + (1.0 - lo_beta) * numpyro.sample("beta_raw", priors["beta_raw"])
        )
        lo_alpha = g_N / (1.0 - g_D / beta)
        alpha = numpyro.deterministic(
            "alpha", lo_alpha + (1.0 - lo_alpha) * numpyro.sample("alpha_raw", priors["alpha_raw"])
        )
        share_A, share_B = g_N / alpha, g_D / beta
        return {
            "alpha": alpha,
            "beta": beta,
            "a": numpyro.deterministic("a", l0 + jnp.log(share_A)),
            "b": numpyro.deterministic("b", l0 + jnp.log(share_B)),
            "e": numpyro.deterministic("e", l0 + jnp.log1p(-(share_A + share_B))),
        }

    def sample_shape_scatter(self, priors, n_cells: int) -> tuple[dict, dict]:
        """Per SHAPE_SCATTER name: the scatter of the cells' shapes and each cell's standardised
        deviation, (n_cells,) (non-centred); without ``shape_scatter`` zeros, recorded so that
        every later stage reads the same sites."""
        if not self.shape_scatter:
            zero = jnp.zeros(n_cells)
            return (
                {k: numpyro.deterministic(f"{k}_scatter", 0.0) for k in SHAPE_SCATTER},
                {k: numpyro.deterministic(f"z_{k}", zero) for k in SHAPE_SCATTER},
            )
        sd = {k: numpyro.sample(f"{k}_scatter", priors[f"{k}_scatter"]) for k in SHAPE_SCATTER}
        with numpyro.plate("cells", n_cells):
            z = {k: numpyro.sample(f"z_{k}", dist.Normal(0.0, 1.0)) for k in SHAPE_SCATTER}
        return sd, z

    def model(
        self,
        *,
        p,
        q,
        cell_index,
        x_cell,
        y_cell,
        order,
        rank,
        cell_start,
        surface_loc,
        scales,
        priors,
        likelihood,
        obs=None,
    ):
        """Every converged run: z = surface + bowl + noise, cell levels integrated out."""
        n_cells = x_cell.shape[0]
        theta = self.sample_surface(priors, surface_loc)
        for name, value in self.derived(theta, scales).items():
            numpyro.deterministic(name, value)
        for name in OPTIMUM_PARAMS + BOWL_PARAMS:
            theta[name] = scaled_sample(name, priors[name])
        lr_scatter = numpyro.sample("lr_scatter", priors["lr_scatter"])
        batch_scatter = numpyro.sample("batch_scatter", priors["batch_scatter"])
        s = numpyro.sample("level_scatter", priors["level_scatter"])
        tau = numpyro.sample("tau", priors["tau"])
        sigma = numpyro.sample("sigma", priors["sigma"])
        shape_sd, z_shape = self.sample_shape_scatter(priors, n_cells)
        with numpyro.plate("cells", n_cells):
            z_lr = numpyro.sample("z_lr", dist.Normal(0.0, 1.0))
            z_b = numpyro.sample("z_batch", dist.Normal(0.0, 1.0))
        m_lr, m_b = self.centre_law(theta, x_cell, y_cell)
        m_lr = m_lr + lr_scatter * z_lr
        m_b = m_b + batch_scatter * z_b
        shape = self.cell_shape(theta, x_cell, y_cell)
        shape = self.shift_shape(shape, shape_sd, z_shape)
        shape = {k: (v[cell_index] if jnp.ndim(v) else v) for k, v in shape.items()}
        bowl = self.bowl_value(shape, p - m_lr[cell_index], q - m_b[cell_index])
        surface = self.log_loss(theta, x_cell, y_cell, scales)
        mean = surface[cell_index] + bowl
        var = sigma**2 + (tau * bowl) ** 2
        if obs is not None:
            offset, sd = level_posterior(obs - mean, var, s**2, cell_index, n_cells)
            numpyro.deterministic("level_offset", offset)
            numpyro.deterministic("level_sd", sd)
        with numpyro.plate("runs", p.shape[0]):
            numpyro.sample(
                OBSERVED_SITE,
                CellMarginal(mean, var, s**2, cell_index, order, rank, cell_start),
                obs=obs,
            )

    def with_reference_scales(self, scales):
        return Law.with_reference_scales(self, scales)  # its prepare centres on its own runs

    # ---- data in -----------------------------------------------------------------------------
    def excluded_mask(self, df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """Runs the bowls do not use (diverged or beyond a fence), and the reasons. The cell's
        own fence (ln loss > Q3 + ``fence`` IQR of the cell's converged ln losses) applies in
        cells with at least ``FENCE_MIN_RUNS`` converged runs, the fence pooled over the
        sweep's cells in the others (:func:`.hyperparams.data.pooled_fence_mask`)."""
        return joined(self.excluded_kinds(df), len(df))

    def excluded_kinds(self, df: pd.DataFrame) -> list[tuple[np.ndarray, str]]:
        """:meth:`excluded_mask` split by reason: (mask (n_runs,), reason in words) per kind of
        excluded run present, disjoint, in the order of the reasons -- missing (NaN) loss, loss
        above the threshold (or 3x the median), flagged in column ``diverged`` (and neither),
        beyond their cell's fence, beyond the fence pooled over the sweep's cells -- so that
        each run is recorded under its own reason."""
        kinds = hp_data.diverged_kinds(self, df)
        diverged, _ = joined(kinds, len(df))
        if self.fence is None:
            return kinds
        cell = cell_table(df["N"], df["D"])[0]
        own = hp_data.fence_mask(df, diverged, cell, self.fence, FENCE_MIN_RUNS)
        pooled = hp_data.pooled_fence_mask(df, diverged, cell, self.fence, FENCE_MIN_RUNS)
        return kinds + hp_data.fence_kinds(own, pooled, self.fence, FENCE_MIN_RUNS)

    def exclude_by_reason(self, runs, kinds: list[tuple[np.ndarray, str]]):
        """``runs`` without the runs of each kind (:meth:`excluded_kinds` of ``runs.df``), one
        exclusion per kind with its own rows and reason (``not in the bowls: <reason> (law
        'sweep')``)."""
        labels = runs.df.index
        for mask, reason in kinds:
            left = pd.Series(mask, index=labels).reindex(runs.df.index).to_numpy(bool)
            runs = runs.exclude(left, f"not in the bowls: {reason} (law {self.name!r})")
        return runs

    def prepare(self, runs) -> Prepared:
        hp_data.check_columns(runs, self.name)
        if runs.has_groups:
            raise RunTableError(
                f"law {self.name!r} fits one sweep without groups; the table has groups "
                f"{runs.groups} (fit each group on its own, or law 'hyperparams' for pooled "
                "optima)"
            )
        n_before = len(runs)
        kinds = self.excluded_kinds(runs.df)
        mask, reasons = joined(kinds, len(runs))
        if mask.all():
            raise RunTableError(f"law {self.name!r}: every run diverged; nothing to fit")
        # each kind names its rows; the runs of a cell left empty are each under their own
        # kind (every one diverged), the empty cells a clause of their own
        clauses = hp_data.kind_clauses(runs.df.index, kinds)
        lost = empty_cells(runs.df, mask)
        n_empty = len(lost)
        if n_empty:
            reasons.append(
                f"{n_empty} (N, D) cells left with no converged run, so left out entirely: "
                f"{hp_data.describe_cells(lost)}"
            )
            clauses.append((reasons[-1], []))
        why = hp_data.named_rows(runs, clauses)
        excluded_rows = hp_data.row_labels(runs.df.index[mask])
        if mask.any():
            # one exclusion per kind, with its own rows and reason
            runs = self.exclude_by_reason(runs, kinds)
            warnings.warn(
                f"{int(mask.sum())} of {n_before} runs excluded from the bowls: {why}",
                DivergenceWarning,
                stacklevel=user_stacklevel(),
            )
        df = runs.df
        for column in ("lr", "batch_size"):
            levels = df[column].nunique()
            if levels < 3:
                raise RunTableError(
                    f"law {self.name!r} needs at least 3 distinct values of {column!r} to place "
                    f"a bowl; the run table has {levels}"
                )
        cell_index, cells = cell_table(df["N"], df["D"])
        n_cells = len(cells)
        for column in ("N", "D"):
            if cells[column].nunique() < 2:
                raise RunTableError(
                    f"law {self.name!r} needs at least 2 distinct values of {column!r} across "
                    f"its (N, D) cells; the run table has one ({cells[column].iloc[0]:g})"
                )
        n_params = len(self.surface_law.parameters)
        if n_cells <= n_params:
            raise RunTableError(
                f"law {self.name!r} needs more (N, D) cells than the {n_params} parameters of "
                f"its {self.surface!r} surface; the run table has {n_cells}"
            )
        order = np.argsort(cell_index, kind="stable").astype(np.int32)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order), dtype=np.int32)
        cell_start = np.searchsorted(cell_index[order], np.arange(n_cells)).astype(np.int32)
        scales = Scales.from_columns(
            N=cells["N"], D=cells["D"], loss=df["loss"], lr=df["lr"], batch_size=df["batch_size"]
        )
        data = {
            "surface_loc": jnp.asarray(surface_start(df, cells, cell_index, scales)),
            "p": jnp.asarray(scales.centre("lr", df["lr"])),
            "q": jnp.asarray(scales.centre("batch_size", df["batch_size"])),
            "cell_index": jnp.asarray(cell_index),
            "x_cell": jnp.asarray(scales.centre("N", cells["N"])),
            "y_cell": jnp.asarray(scales.centre("D", cells["D"])),
            "order": jnp.asarray(order),
            "rank": jnp.asarray(rank),
            "cell_start": jnp.asarray(cell_start),
            "scales": scales,
            "obs": jnp.asarray(scales.centre("loss", df["loss"])),
        }
        n_out = int(mask.sum())
        runs_per_cell = np.bincount(cell_index, minlength=n_cells)
        if n_out:
            note = f"{n_out} of {n_before} runs excluded from the bowls: {why}"
        else:
            excess = hp_data.excess_log_loss(df, np.zeros(len(df), bool), cell_index)
            pooled = self.fence is not None and (
                hp_data.pooled_fence_bound(excess, self.fence, FENCE_MIN_RUNS) is not None
            )
            note = nothing_excluded_note(self.fence, runs_per_cell, pooled)
        swept_thinly = thinly_swept(df, cell_index)
        thin = warn_thinly_swept(swept_thinly, n_cells)
        split = hp_data.warn_split_cells(cells, self.name)
        # the columns the sweep-wide warning already names are not named cell by cell
        columns = [c for c in ("lr", "batch_size") if c not in swept_thinly]
        thin_table = hp_data.thin_cells(df, cell_index, cells, columns)
        small = hp_data.warn_thin_cells(thin_table, n_cells, columns, self.name)
        notes = (note, *(t for t in (thin, split, small) if t is not None))
        state = {
            "cells": {
                "N": cells["N"].astype(float).tolist(),
                "D": cells["D"].astype(float).tolist(),
                "n_runs": runs_per_cell.tolist(),
            },
            "divergence": {
                "n_excluded": n_out,
                "reasons": reasons,
                "threshold": self.divergence_threshold,
                "fence": self.fence,
                "fence_min_runs": FENCE_MIN_RUNS,
                "n_cells_without_converged_run": n_empty,
                "excluded_rows": excluded_rows,  # labels as the run table records them
                "row_note": runs.row_note,  # what those labels count
            },
        }
        ranges = {
            c: [float(df[c].min()), float(df[c].max())]
            for c in ("N", "D", "C", "lr", "batch_size")
        }
        return Prepared(data, {}, scales, (None,), ranges, state, runs, notes)

    def summary_names(self, groups, likelihood: str) -> list[str]:
        names = list(self.parameters) + self.derived_names() + ["level_scatter"]
        names += list(OPTIMUM_PARAMS) + ["lr_scatter", "batch_scatter"]
        names += list(BOWL_PARAMS)
        if self.shape_scatter:
            names += [f"{k}_scatter" for k in SHAPE_SCATTER]
        return names + ["tau", "sigma"]

    def checked_names(self, groups, likelihood: str) -> list[str]:
        """The reported sites (:meth:`summary_names`) and the per-cell ones predictions at a
        fitted cell read (``CELL_SITES``: each cell's optimum deviations ``z_lr``,
        ``z_batch`` and its level's conditional ``level_offset``, ``level_sd``; with
        ``shape_scatter`` also its bowl-shape deviations ``z_<name>``, held at 0 otherwise)."""
        names = self.summary_names(groups, likelihood) + list(CELL_SITES)
        return names + ([f"z_{k}" for k in SHAPE_SCATTER] if self.shape_scatter else [])

    def group_dims(self, groups) -> dict:
        return {}

    # ---- posterior ---------------------------------------------------------------------------
    def theta_draws(self, post: Posterior, group, rng) -> dict:
        resolve_group(post.groups, group)
        return {k: np.asarray(v, float) for k, v in post.draws.items() if np.ndim(v) == 1}

    def optima_drift_draws(self, post: Posterior, N, D, rng) -> tuple:
        """The optima laws' discrepancy beyond the fitted cells' range: (ln eta, ln B) shifts,
        (S, Q) each, ``sum_k g_k d_k`` with slopes g ~ Normal(0, optima_drift^2) per draw and
        axis (shared by the query points) and d the decades outside (:func:`cell_distances`).
        Exactly 0 (and no random numbers used) when every point is inside or the sds are 0."""
        d = cell_distances(N, D, post.state["cells"])  # (Q, 4)
        S, Q = post.n_draws, d.shape[0]
        if not d.any() or not any(self.optima_drift):
            return np.zeros((S, Q)), np.zeros((S, Q))
        sd_lr, sd_b = self.optima_drift
        g_lr = sd_lr * rng.standard_normal((S, d.shape[1]))
        g_b = sd_b * rng.standard_normal((S, d.shape[1]))
        return g_lr @ d.T, g_b @ d.T

    def optimum_draws(self, post: Posterior, N, D, *, kind, rng) -> tuple:
        """(ln eta_opt, ln B_opt) draws (S, Q) at (N params, D tokens): at a fitted cell its own
        (:meth:`query_optima`, either kind); elsewhere the law (``mean``) or a new cell's
        optimum (``new_run``: :meth:`new_cell_optima`, from one base seed drawn from ``rng``;
        the points of one cell share it)."""
        cell = self.fitted_cells(post, N, D)
        if kind != "new_run":
            return self.query_optima(post, N, D, cell)
        base = optima.query_seed(rng)
        z = optima.cell_deviations(base, N, D, len(NEW_CELL_DEVIATIONS), post.n_draws)
        return self.query_optima(post, N, D, cell, z, base)

    def centred_law_optima(self, post: Posterior, N, D) -> tuple:
        """(ln eta_opt - ln lr_ref, ln B_opt - ln B_ref) draws (S, Q) of the optima's laws at
        (N params, D tokens) (centred, as the model has them)."""
        sc = post.scales
        theta = {k: v[:, None] for k, v in self.theta_draws(post, None, None).items()}
        x, y = sc.centre("N", N)[None, :], sc.centre("D", D)[None, :]
        return tuple(np.asarray(m, float) for m in self.centre_law(theta, x, y))

    def query_optima(self, post: Posterior, N, D, cell, z=None, base: int | None = None):
        """(ln eta_opt, ln B_opt) draws (S, Q) at (N params, D tokens): :meth:`centred_optima`
        plus the scales' (ln lr_ref, ln B_ref)."""
        sc = post.scales
        m_lr, m_b = self.centred_optima(post, N, D, cell, z, base)
        return m_lr + sc["lr"], m_b + sc["batch_size"]

    def centred_optima(self, post: Posterior, N, D, cell, z=None, base: int | None = None):
        """Centred (ln eta_opt - ln lr_ref, ln B_opt - ln B_ref) draws (S, Q) at (N params, D
        tokens), ``cell`` (Q,) each point's fitted cell (-1: none, :meth:`fitted_cells`): at a
        fitted cell the cell's own optimum (the law moved by its fitted ``z_lr``, ``z_batch``:
        what the model puts the cell's bowl about); elsewhere the law (``z`` None) or a new
        cell's optimum (:meth:`new_cell_optima` with its deviations ``z`` and ``base``). The
        one path of :meth:`draws`, :meth:`observations` and :meth:`sweep_optima`."""
        cell = np.asarray(cell)
        m_lr, m_b = self.centred_law_optima(post, N, D)
        if z is not None:
            new_lr, new_b = self.new_cell_optima(post, N, D, z, base, (m_lr, m_b))
            away = cell < 0
            m_lr, m_b = np.where(away, new_lr, m_lr), np.where(away, new_b, m_b)
        return optima.cell_own(post, m_lr, m_b, cell)

    def new_cell_optima(self, post: Posterior, N, D, z, base: int, centred_law=None) -> tuple:
        """Centred (ln eta_opt - ln lr_ref, ln B_opt - ln B_ref) draws (S, Q) of a new cell at
        each (N params, D tokens): the law (``centred_law``, :meth:`centred_law_optima` there,
        when the caller has it) plus the fitted cell scatter times the cell's deviations ``z``
        (standard normal, (len(NEW_CELL_DEVIATIONS), S, Q),
        :func:`.hyperparams.optima.cell_deviations`) and, beyond the fitted cells' range, the
        optima laws' discrepancy (:meth:`optima_drift_draws`, its slopes from the query's
        ``base`` seed)."""
        theta = self.theta_draws(post, None, None)
        z = dict(zip(NEW_CELL_DEVIATIONS, z, strict=True))
        m_lr, m_b = self.centred_law_optima(post, N, D) if centred_law is None else centred_law
        drift_rng = optima.query_rng(base, "optima_drift")  # slopes shared by the points
        drift_lr, drift_b = self.optima_drift_draws(post, N, D, drift_rng)
        m_lr = m_lr + theta["lr_scatter"][:, None] * z["lr"] + drift_lr
        m_b = m_b + theta["batch_scatter"][:, None] * z["batch"] + drift_b
        return m_lr, m_b

    def query_levels(self, post: Posterior, N, D, cell, base: int) -> np.ndarray:
        """Draws (S, Q) of ln L at the optimum at (N params, D tokens), ``cell`` (Q,) as in
        :meth:`centred_optima`: at a fitted cell the cell's own level (:meth:`cell_levels`),
        elsewhere the surface's; each from its stream of the query's ``base`` seed
        (:func:`.hyperparams.optima.query_rng`). A new cell's level deviation is not in it."""
        cell = np.asarray(cell)
        log_L = np.array(self.log_loss_draws(post, N, D, group=None,
                                             rng=optima.query_rng(base, "surface")), float)
        at = cell >= 0
        if at.any():
            levels = self.cell_levels(post, optima.query_rng(base, "fitted_levels"))
            log_L[:, at] = levels[:, cell[at]]
        return log_L

    def draws(self, post, query, *, kind, group, rng) -> dict:
        """Draws (S, Q) at the query's (N params, D tokens): ``loss``, ``eta_opt``, ``B_opt``
        (tokens).

        Without lr and batch_size in the query ``loss`` is the loss at the optimal
        hyperparameters (``new_run``: plus one run's noise, sd sigma). With them
        (:func:`penalty_draws`) ``loss`` is the loss of a run trained at that (lr,
        batch_size): L_opt (1 + rel_penalty) per draw (``new_run``: plus that run's noise, sd
        sqrt(sigma^2 + (tau bowl)^2)); the loss at the optimum is ``loss_opt``, and
        ``rel_penalty`` = L(lr, B) / L_opt - 1 and ``penalty`` = L_opt rel_penalty (loss units)
        price the setting.

        At a fitted cell's (N, D) (:meth:`fitted_cells`), for both kinds, the optimum, the bowl's
        shape and the level are the cell's own posterior ones (:meth:`centred_optima`,
        :meth:`query_bowl`, :meth:`query_levels`: :meth:`observations` reads the same), as the
        model has them: ``loss`` at a setting there is what :meth:`observations` predicts for
        that run, draw by draw, and the penalty at the reported eta_opt, B_opt is 0. Elsewhere
        ``kind="mean"`` is the laws' (the surface, the optima's power laws, the bowl's shape
        laws) and ``new_run`` a new cell's: its optimum, bowl shape (moved by the fitted shape
        scatter, as :meth:`observations` draws it) and level (the surface plus the level
        scatter) drawn once per cell of the query (:func:`.hyperparams.optima.
        cell_deviations`), shared by its rows (e.g. several lr at one planned (N, D): one
        optimum, bowl and level per draw, as one new sweep).

        Both kinds draw one base seed from ``rng`` (:func:`.hyperparams.optima.query_seed`) and
        seed every stream from it as :meth:`observations` does (the fitted cells' levels, the
        surface); each ``new_run`` row's run noise comes from its own stream
        (:func:`.hyperparams.optima.run_rngs`, keyed by its N, D, lr and batch_size), so a
        row's draws are the same whatever the other rows and their order."""
        resolve_group(post.groups, group)
        N, D = query["N"].to_numpy(float), query["D"].to_numpy(float)
        theta = self.theta_draws(post, None, rng)
        S = post.n_draws
        base = optima.query_seed(rng)  # one draw from the caller's rng, whatever the query
        cell = self.fitted_cells(post, N, D)
        z = None
        log_L = self.query_levels(post, N, D, cell, base)
        if kind == "new_run":
            z = optima.cell_deviations(base, N, D, len(NEW_CELL_DEVIATIONS), S)
            level = theta["level_scatter"][:, None] * z[NEW_CELL_DEVIATIONS.index("level")]
            log_L = log_L + np.where(cell < 0, level, 0.0)
        m_lr, m_b = self.centred_optima(post, N, D, cell, z, base)
        if kind == "new_run":
            setting = [query[k].to_numpy(float) if k in query else None
                       for k in ("lr", "batch_size")]
            noise = run_normals(optima.run_rngs(base, N, D, *setting), S)
            log_L = log_L + theta["sigma"][:, None] * noise[0]
        sc = post.scales
        out = {"loss": np.exp(log_L), "eta_opt": np.exp(m_lr + sc["lr"]),
               "B_opt": np.exp(m_b + sc["batch_size"])}
        if {"lr", "batch_size"} <= set(query):
            th = {k: v[:, None] for k, v in theta.items()}
            bowl = self.query_bowl(post, th, query, cell, z, (m_lr, m_b))
            extra = th["tau"] * bowl * noise[1] if kind == "new_run" else None
            out.update(penalty_draws(log_L, bowl, extra))
        return out

    def query_bowl(self, post: Posterior, th: dict, runs: pd.DataFrame, cell, z, optimum):
        """The bowl (S, R), ln L(lr, B) - ln L_opt, of runs (N params, D tokens, lr,
        batch_size) about their cell's centred ``optimum`` (:meth:`centred_optima`), with its
        shape (:meth:`query_shape`, ``cell`` and ``z`` as there; ``th``: the scalar draws as
        (S, 1) columns): what :meth:`draws` and :meth:`observations` both price a setting by."""
        sc = post.scales
        N, D = runs["N"].to_numpy(float), runs["D"].to_numpy(float)
        u = sc.centre("lr", runs["lr"])[None, :] - optimum[0]
        v = sc.centre("batch_size", runs["batch_size"])[None, :] - optimum[1]
        shape = self.query_shape(post, th, N, D, cell, z)
        return np.asarray(self.bowl_value(shape, u, v), float)

    def query_shape(self, post: Posterior, th: dict, N, D, cell, z=None) -> dict:
        """The bowl's shape at (N params, D tokens) (``th``: the scalar draws as (S, 1)
        columns): the shape laws (:meth:`cell_shape`) moved by the fitted shape scatters times
        each point's standardised deviations, at a fitted cell (``cell`` (Q,) >= 0) its own
        ``z_<name>`` (SHAPE_SCATTER), elsewhere a new cell's (the SHAPE_SCATTER rows of ``z``
        (len(NEW_CELL_DEVIATIONS), S, Q), :func:`.hyperparams.optima.cell_deviations`: the
        normals :meth:`observations` draws for the cell from the same base seed) or none (``z``
        None: the laws'). Without ``shape_scatter`` the scatters are 0 and the shape is the
        laws' everywhere."""
        sc = post.scales
        shape = self.cell_shape(th, sc.centre("N", N)[None, :], sc.centre("D", D)[None, :])
        S, Q = post.n_draws, len(cell)
        rows = [NEW_CELL_DEVIATIONS.index(k) for k in SHAPE_SCATTER]
        dev = np.zeros((len(SHAPE_SCATTER), S, Q)) if z is None else np.array(z[rows], float)
        at = np.asarray(cell) >= 0
        if at.any():
            own = np.stack([np.asarray(post.draws[f"z_{k}"], float) for k in SHAPE_SCATTER])
            dev[:, :, at] = own[:, :, np.asarray(cell)[at]]
        return self.shift_shape(shape, {k: th[f"{k}_scatter"] for k in SHAPE_SCATTER},
                                dict(zip(SHAPE_SCATTER, dev, strict=True)))

    def cell_levels(self, post: Posterior, rng) -> np.ndarray:
        """Draws (S, cells) of each fitted cell's ln L at its optimum (the integrated-out
        levels, drawn from their exact conditional)."""
        cells = post.state["cells"]
        base = self.log_loss_draws(post, np.asarray(cells["N"]), np.asarray(cells["D"]),
                                   group=None, rng=rng)
        offset = np.asarray(post.draws["level_offset"], float)
        sd = np.asarray(post.draws["level_sd"], float)
        return base + offset + sd * rng.standard_normal(offset.shape)

    def fitted_cells(self, post: Posterior, N, D) -> np.ndarray:
        """Index (Q,) of the fitted cell at each (N params, D tokens), -1 where there is none
        (:func:`.hyperparams.optima.fitted_cells`)."""
        return optima.fitted_cells(post, np.atleast_1d(N), np.atleast_1d(D), None)

    def sweep_optima(self, post) -> dict:
        sc = post.scales
        cells = post.state["cells"]
        N, D = np.asarray(cells["N"], float), np.asarray(cells["D"], float)
        m_lr, m_b = self.centred_optima(post, N, D, np.arange(len(N)))
        return {
            "log_eta": m_lr + sc["lr"],
            "log_B": m_b + sc["batch_size"],
            "N": N,
            "D": D,
            "group": [None] * len(N),
        }

    def observations(self, post, candidates, *, group, rng) -> Observations:
        """Predicted ln loss (centred) of candidate runs (N, D, lr, batch_size): at a fitted
        cell its own optimum and level; at a new cell a fresh optimum deviation and level
        deviation per draw (the level, shared by the cell's runs, a nuisance of variance s^2:
        ``level`` numbers the new cells, so a unit with runs at two new cells has two levels);
        noise sd per run sqrt(sigma^2 + (tau bowl)^2); beyond the fitted cells' range the
        optima also carry the laws' discrepancy (:meth:`optima_drift_draws`). The optimum, the
        bowl and the level are :meth:`draws`' (:meth:`centred_optima`, :meth:`query_bowl`,
        :meth:`query_levels`). Every random stream is seeded from one draw of ``rng``
        (:func:`.hyperparams.optima.query_seed`) and a new cell's deviations by its coordinates
        too (:func:`.hyperparams.optima.cell_deviations`): a candidate's draws are the same
        whichever other candidates are offered, in any order."""
        resolve_group(post.groups, group)
        base = optima.query_seed(rng)  # one draw from the caller's rng, whatever the candidates
        N, D = candidates["N"].to_numpy(float), candidates["D"].to_numpy(float)
        theta = self.theta_draws(post, None, rng)
        th = {k: v[:, None] for k, v in theta.items()}
        R = len(candidates)
        cell = self.fitted_cells(post, N, D)
        away = cell < 0
        z = optima.cell_deviations(base, N, D, len(NEW_CELL_DEVIATIONS), post.n_draws)
        optimum = self.centred_optima(post, N, D, cell, z, base)
        bowl = self.query_bowl(post, th, candidates, cell, z, optimum)
        level = self.query_levels(post, N, D, cell, base) - post.scales["loss"]
        sigma = np.sqrt(th["sigma"] ** 2 + (th["tau"] * bowl) ** 2)
        # a new cell's unknown level: one per cell (candidates within CELL_RTOL share it)
        level_id = np.where(away, cell_table(N, D)[0], -1).astype(int)
        nuisance = np.where(away, float(np.mean(theta["level_scatter"] ** 2)), 0.0)
        unit = candidates["unit"].to_numpy() if "unit" in candidates else np.arange(R)
        return Observations(
            unit=unit, mean=level + bowl, sigma=sigma, nu=None, family="gaussian",
            nuisance=nuisance, level=level_id,
        )

    def fitted_log_mean(self, post, runs: pd.DataFrame) -> np.ndarray:
        raise LawCapabilityError(
            f"law {self.name!r} is not widened from residuals: its new cells carry the fitted "
            "cell scatter"
        )

    def empirical(self, runs):
        from .hyperparams.optima import empirical

        best = empirical(runs)
        return best.assign(loss=best["loss"])

    def law_table(self, post, units="billions", ci: float = 0.9, compute_model=None):
        """The optima's laws in the papers' notation (``eta_opt = c T^x N^y``, B in tokens): the
        same sites and layout as law ``hyperparams`` (:func:`.hyperparams.optima.law_table`)."""
        return optima.law_table(post, units=units, ci=ci)


def run_normals(rngs, n_draws: int) -> np.ndarray:
    """Standard normals (2, n_draws, Q) of each run's noise, column q from ``rngs[q]`` alone
    (:func:`.hyperparams.optima.run_rngs`): sigma's part, then the bowl's (tau bowl)."""
    if not rngs:
        return np.zeros((2, n_draws, 0))
    return np.stack([r.standard_normal((2, n_draws)) for r in rngs], axis=-1)


def penalty_draws(log_loss_opt, bowl, extra_noise=None) -> dict:
    """The loss of runs trained at a query's (lr, batch size) and what the setting costs.

    log_loss_opt : (S, Q) ln L at the optimum (``new_run``: with one run's noise, sd sigma).
    bowl : (S, Q) the bowl there, ln L(lr, B) - ln L_opt (>= 0).
    extra_noise : (S, Q) the run noise the bowl adds in ln-loss units (``new_run``: tau bowl
        times a standard normal, so that with sigma's part already in ``log_loss_opt`` the
        run's sd is sqrt(sigma^2 + (tau bowl)^2)), or None (``mean``: none).
    Returns {"loss": L at the setting, "loss_opt": L_opt, "rel_penalty": L(lr, B) / L_opt - 1,
    "penalty": L_opt rel_penalty (loss units)}, each (S, Q).
    """
    loss_opt = np.exp(log_loss_opt)
    rel = np.expm1(bowl)
    log_run = log_loss_opt + bowl
    if extra_noise is not None:
        log_run = log_run + extra_noise
    return {"loss": np.exp(log_run), "loss_opt": loss_opt, "rel_penalty": rel,
            "penalty": rel * loss_opt}


def best_run(fit, N: float, D: float, lr, batch_size, *, ci: float = 0.9, seed: int = 0) -> dict:
    """Where the empirical best run of a cell's LR x batch grid lands (posterior predictive).

    Not the optimum (eta_opt, B_opt, a point of the smooth bowl): the grid run of least
    *observed* loss, which also moves with the grid's spacing, the run noise and the bowl's
    flatness. Per posterior draw: the cell's optimum (a new (N, D): with a fresh cell scatter,
    and beyond the fitted cells' range the optima laws' discrepancy; a fitted cell: its own),
    each grid run's ln loss with its noise
    ``sqrt(sigma^2 + (tau bowl)^2)`` (:meth:`SweepLaw.observations`), and the argmin over
    the grid. Use it to ask whether a measured best run is what the model expects.

    fit: a fit of law 'sweep' (another law's fit is refused, LawCapabilityError: its
    observations are not this model's per-run noise). N params, D tokens; lr, batch_size (R,):
    the grid's runs (batch in tokens).
    Returns {"p_best": (R,) probability that each run is the best, "lr" and "batch_size":
    (lower, median, upper) of the best run's value at ``ci`` (grid values)}.
    """
    if not isinstance(fit.law, SweepLaw):
        # another law's observations need not be per-run Gaussian ln losses (law
        # 'hyperparams': one sigma per draw, (S,), and student_t or huber noise)
        raise LawCapabilityError(
            f"best_run needs a fit of law 'sweep' (its runs' ln losses and their noise "
            f"sqrt(sigma^2 + (tau bowl)^2)); this fit is of law {fit.law.name!r}"
        )
    lr, batch = np.asarray(lr, float).ravel(), np.asarray(batch_size, float).ravel()
    rng = np.random.default_rng(seed)
    grid = pd.DataFrame({"N": float(N), "D": float(D), "lr": lr, "batch_size": batch,
                         "unit": 0})
    obs = fit.law.observations(fit.posterior(), grid, group=None, rng=rng)
    z = obs.mean + obs.sigma * rng.standard_normal(obs.mean.shape)  # (S, R) each
    pick = np.argmin(z, axis=1)  # (S,) the best run per draw
    q = [(1 - ci) / 2, 0.5, (1 + ci) / 2]
    return {
        "p_best": np.bincount(pick, minlength=len(lr)) / len(pick),
        "lr": tuple(np.quantile(lr[pick], q, method="inverted_cdf")),
        "batch_size": tuple(np.quantile(batch[pick], q, method="inverted_cdf")),
    }


LAW = SweepLaw()
