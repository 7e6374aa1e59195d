"""isoFLOP law (Chinchilla approach 2; Liang et al.; Porian et al.): hierarchical per-budget
curves in log N whose vertices follow a power law in C, fitted jointly.

For runs at a few compute budgets C_j (FLOPs), with x = ln N - ln N_ref (N params),
c_j = ln C_j - ln C_ref and z = ln L - ln L_ref::

    z = m_j + h_j d^2 g(s_j d) [+ r_run],     d = x - v_j,   g(u) = 1 + u / sqrt(1 + (u/K)^2)

    v_j ~ Normal(n0 + a_opt c_j, vertex_sd)           (vertex: ln N_opt(C_j), centred)
    m_j ~ Normal(mu_L(c_j), loss_sd)                  (ln L at the vertex)
    mu_L(c) = l0 + a_L c                              (default: L_opt a pure power law in C)
    mu_L(c) = logaddexp(e_floor, l0 + a_L c)          (law_options={"loss_floor": True})
    h_j = exp(log_h_j), log_h_j ~ Normal(log_h0 + log_h1 c_j, h_sd)   (curvature, > 0)
    s_j = 0 (law "isoflop": parabola)  or  s_j ~ Normal(s0, s_sd) (law "isoflop_cubic")

per budget (partial pooling, sampled non-centred). The "cubic" is the cubic h d^2 (1 + s d) near
the vertex (g(u) = 1 + u + O(u^3)) whose skew saturates where |s d| nears K = ``SKEW_SATURATION``
= 0.8 (far out, an asymmetric parabola of curvature h (1 +- K)). A plain cubic turns over and
falls below the vertex for s d < -1, which made the posterior multimodal on Porian et al.'s
cosine-decay points (R-hat 1.84); this form rises monotonically on both sides of d = 0 for
every s (a stationary point away from 0 needs 2 + K phi(u/K) = 0 with
phi(r) = 2r / sqrt(1 + r^2) + r (1 + r^2)^-1.5 > -2, impossible for K < 1), so the vertex v_j is
ln N_opt and the curve's only minimum. (Bounding s itself instead, |s| < 0.8 with t(d) =
d / sqrt(1 + d^2), was tried first: it biased Kaplan's a to 0.865 with 49 divergences.)
``law_options={"skew_saturation": K}`` changes K; K >= 1 gives up the single-minimum guarantee
and K -> infinity is the plain cubic. The choice moves a_opt where the curves are strongly
skewed: on Porian et al.'s Kaplan-reproduction points a = 0.856 with K = 0.8 and 0.845 with
K = 100 (``python paper_repro/porian.py --only Kaplan --skew-saturation 100``).

So N_opt(C) = k_opt C^a_opt and L_opt(C) = k_L C^a_L, each with budget-level scatter
(vertex_sd, loss_sd) that widens the exponents' intervals when the per-budget optima do
not line up. With a ``run`` column in the run table (e.g. the model size, when points at different
budgets are read off one training run, as in Porian et al.'s ``const`` and ``kaplan`` decay), a
per-run offset r_run ~ Normal(0, run_sd) absorbs the errors those points share. Every row then
needs its run's label: a missing one (None, NaN, empty, or the text "nan", "None", "<NA>") is an
error naming the rows, since those rows would otherwise share one offset as if one run.

Per-run offsets and the curves are not separately identified: an offset that varies smoothly
with ln N (a tilt a + b x + c x^2 across the runs) is indistinguishable from a change of every
budget's curve, and a tilt moves each vertex by a different amount (by -b / 2h_j), so it biases
a_opt (measured on Porian et al.'s Kaplan-reproduction points: a = 0.909 with free offsets, 0.862
without offsets, against the authors' 0.835; paper_repro/results/porian_variants.csv). By
default (``run_offsets="detrended"``) the offsets are therefore projected onto the complement
of {1, x_run, x_run^2} (x_run the run's centred ln N): they absorb run-to-run wiggles only,
and the smooth shape stays with the curves. That leaves R - 3 degrees of freedom to R runs at
distinct mean sizes: with 3 runs or fewer none, and the offsets (and run_sd) are dropped with a
warning and a note on the fit; with fewer than ``RUN_OFFSET_MIN_DOF`` left, a note says how
many (run_sd then rests mostly on its prior).
``law_options={"run_offsets": "free"}`` gives the unconstrained version.

The optimal loss L_opt(C) is a pure power law k_L C^a_L by default (Liang et al.'s form). With
``law_options={"loss_floor": True}`` it is E_floor + k_L C^a_L (Porian et al.'s form): over
three decades of budgets ln L_opt is visibly concave in ln C (Porian et al.'s cosine-decay
points fall from 5.27 to 3.20), and the pure power law then under-predicts held-out larger
budgets by ~5% (measured with the first version's parabola: 11 held-out points, median error
4.93%, 90% coverage 55%; paper_repro/results/porian_before.csv).

Default priors:

* a_opt ~ Beta(2, 2) (mean 0.5; published values 0.46-0.86); n0 ~ Normal(0, 2);
  vertex_sd ~ HalfNormal(0.2) (ln N units);
* l0 ~ Normal(0, 0.5); a_L ~ Normal(0, 0.2); loss_sd ~ HalfNormal(0.02) (ln L units);
  with the floor: e_floor ~ Normal(-1, 1) (ln of E_floor / L_ref, the centred loss scale);
* log_h0 ~ Normal(-3.5, 1.5) (ln L rises by e^-3.5 ~ 3% at d = 1, i.e. 2.7x off the optimum);
  log_h1 ~ Normal(0, 0.3); h_sd ~ HalfNormal(0.3);
* cubic: s0 ~ Normal(0, 0.3), s_sd ~ HalfNormal(0.1);
* run_sd ~ HalfNormal(0.02); the likelihood's sigma (and nu) as for every law.

Reported: a_opt, k_opt (N_opt = k_opt C^a_opt, N params, C FLOPs), a_L, k_L, the scatter sds,
and per budget N_opt and L_opt. D_opt follows from the fit's compute model (C = k N D, k = 6
by default: D_opt = C^(1 - a_opt) / (k k_opt)). ``law_table`` gives the laws (with the floor,
the rows "L_opt - E_floor" = k_L C^a_L and "E_floor"). ``optimal_allocation``, ``near_optimal`` and
``predict`` draw one curve per budget (:meth:`IsoFLOP.budget_draws`): a fitted budget its own
fitted curve and vertex, any other budget the trend plus fresh budget scatter (vertex_sd,
loss_sd), so the allocation at a budget is the vertex of the curve ``predict`` draws there;
``allocation_laws`` regresses the trend (the allocation's N_opt_trend, ...), i.e. a_opt. Treat
this law as a diagnostic beside the surface-based allocation: parabolas are biased when sweeps
are off-centre or wide (MODELLING.md).
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd

from ..runs import PlausibilityWarning, RunTableError
from ..runs.checks import check_integer, check_positive, check_probability, is_real
from ..runs.table import label_key, label_text
from ..runs.warn import user_stacklevel
from .contract import (
    OBSERVED_SITE,
    Law,
    LawCapabilityError,
    Observations,
    Posterior,
    Prepared,
    Scales,
    check_allocation_method,
    require_converged_runs,
    resolve_group,
    summarise,
)
from .likelihoods import noise_draws, observation, sample_noise_params

BUDGET_RTOL = 1e-3  # budgets closer than this (relative) are one budget
NEW_BUDGET_STREAM = 7919  # seeds the deviations of a new budget (new_budget_normals)
NEW_BUDGET_FEATURES = 256  # random Fourier features of new_budget_normals
NEW_BUDGET_LENGTH = 0.01  # ln C: budgets this far apart are 0.61 correlated, 1e-3 apart 0.995
NEAR_BUDGET_RTOL = 0.05  # distinct budgets closer than this look like one budget from rounding
SKEW_SATURATION = 0.8  # K: far from the vertex the curvature stays within h (1 +- K)
# detrended run offsets with fewer degrees of freedom than this get a note: run_sd is then
# estimated from 1 or 2 run-to-run contrasts and rests mostly on its prior
RUN_OFFSET_MIN_DOF = 3


def curve(d, h, s, saturation: float = SKEW_SATURATION):
    """Rise of ln L above the vertex at d = ln N - ln N_opt: h d^2 g(s d) with
    g(u) = 1 + u / sqrt(1 + (u / K)^2), K = ``saturation`` (s = 0: the parabola; K -> infinity:
    the plain cubic). Numpy or JAX arrays."""
    u = s * d
    return h * d**2 * (1.0 + u / (1.0 + (u / saturation) ** 2) ** 0.5)


def budget_levels(C, rtol: float = BUDGET_RTOL):
    """The training runs' distinct budgets (sorted FLOPs, (B,)) and each value's level index
    ((n,) int32): a value more than ``rtol`` (relative) above the last level starts a new level,
    and each value goes to its nearest level (in ln C), so every value lies within
    ln(1 + rtol) of its own level and values are never chained further. Queries at a fit's
    budgets match them one at a time instead (:func:`nearest_fitted_budget`), which gives a
    training run's C this same level."""
    C = np.asarray(C, float)
    order = np.sort(np.unique(C))
    levels = [order[0]]
    for value in order[1:]:
        if value > levels[-1] * (1 + rtol):
            levels.append(value)
    levels = np.asarray(levels)
    index = np.argmin(np.abs(np.log(C[:, None]) - np.log(levels[None, :])), axis=1)
    return levels, index.astype(np.int32)


def near_budget_minimum(loss, C, window: float, min_keep: int = 3) -> np.ndarray:
    """Per isoFLOP point (``loss`` and ``C`` FLOPs, 1-D of one length, in row order): whether
    its loss is within ``window`` (relative, > 0) of the lowest at its budget (budgets as the
    law reads them: :func:`budget_levels`), or among the ``min_keep`` (>= 1) lowest there. A
    boolean (n,) array. Far from their optimum isoFLOP curves can be strongly asymmetric (Porian
    et al.'s reach 2x the minimum on the large-N side), where neither the parabola nor the
    cubic fits; leave those points out, recorded, before fitting:
    ``runs.exclude(~near_budget_minimum(runs.df["loss"], runs.df["C"], 0.05), reason=...)``.
    A missing loss is never near (it is not among the lowest either)."""
    window = check_positive("window", window, "relative loss above each budget's lowest")
    min_keep = check_integer("min_keep", min_keep, 1)
    loss = np.asarray(loss, float)
    C = np.asarray(C, float)
    if loss.ndim != 1 or loss.shape != C.shape:
        raise ValueError(
            f"loss and C must be 1-D of one length (one per point); got shapes {loss.shape} "
            f"and {C.shape}"
        )
    _, level = budget_levels(C)
    frame = pd.DataFrame({"loss": loss, "level": level})
    by = frame.groupby("level")["loss"]
    near = frame["loss"] / by.transform("min") - 1 <= window
    lowest = by.rank(method="first") <= min_keep
    return (near | lowest).to_numpy(bool)


def near_budgets(levels, rtol: float = NEAR_BUDGET_RTOL) -> list[list[float]]:
    """Runs of neighbouring distinct budgets (sorted FLOPs, from :func:`budget_levels`) that lie
    within ``rtol`` (relative) of the next: the mark of budgets C = 6ND computed from N and D
    rounded to a few significant figures, or from runs whose nominal budget follows another FLOP
    convention than 6ND (one budget then splits into several)."""
    clusters = []
    for value in np.asarray(levels, float):
        if clusters and value <= clusters[-1][-1] * (1 + rtol):
            clusters[-1].append(float(value))
        else:
            clusters.append([float(value)])
    return [c for c in clusters if len(c) > 1]


def too_few_sizes_message(
    name: str, min_sizes: int, budget: float, sizes: int, levels, n_runs: int
) -> str:
    """The error for budget ``budget`` (FLOPs) having ``sizes`` < ``min_sizes`` model sizes:
    how many distinct budgets ``levels`` came from ``n_runs`` runs, and, where neighbouring
    budgets lie within a few percent (:func:`near_budgets`), the likely causes (C = 6ND from
    rounded N and D; a nominal budget under another FLOP convention) and the remedy."""
    message = (
        f"law {name!r} needs >= {min_sizes} model sizes (column 'N') per budget; budget "
        f"C = {budget:.4g} has {sizes}. The {n_runs} runs give {len(levels)} distinct budgets "
        f"(column 'C'; values within {BUDGET_RTOL:.1%} are one budget)"
    )
    near = near_budgets(levels)
    if not near:
        return message
    shown = ", ".join(
        "[" + ", ".join(f"{c:.4g}" for c in cluster[:4]) + "]" for cluster in near[:3]
    )
    return (
        f"{message}; {sum(map(len, near))} of them lie within {NEAR_BUDGET_RTOL:.0%} of a "
        f"neighbour, e.g. {shown}: C was probably computed as 6ND from N and D, either rounded "
        "to a few significant figures or counted under another FLOP convention than the runs' "
        "budgets (a nominal budget C != 6ND: e.g. Marin's nominal budgets are 0.74-1.07 x 6ND), "
        "which splits one budget into several. Give each run's budget as the C column and "
        "leave D out, so that D is derived from N and C (bl.load_runs(..., N='params', "
        "C='budget') with no D; command line: --N params --C budget and no --D; a column named "
        "D is read as D: --ignore-column D), or round C to the budgets you ran"
    )


def run_labels(runs, name: str) -> pd.Series:
    """The ``run`` column of the RunTable ``runs`` (one label per row) as text, as a fit stores
    it (:func:`label_text`: 7.0 as "7"), so a reloaded fit numbers its runs alike. A missing
    label (None, NaN, pandas' NA, empty or all-space text, or the text "nan", "None", "<NA>"
    that str() and fits saved before labels were stored as text wrote for one:
    :func:`label_key`) is a RunTableError naming the rows (as ``runs.at_rows`` says them):
    together they would share one offset, as if they were one training run."""
    run = runs.df["run"]
    missing = np.array([label_key(v) is None for v in run.tolist()], dtype=bool)
    if missing.any():
        rows = runs.at_rows(run.index[missing])
        raise RunTableError(
            f"law {name!r} gives the points of each training run (column 'run') one shared "
            f"offset, but {missing.sum()} of {len(run)} runs have no run label, at {rows} "
            "(None, NaN, empty, or the text 'nan', 'None' or '<NA>'): together they would "
            "share one offset as if they were one training run. Give every row its run's "
            "label (e.g. its model size N when each size is one training run), or leave the "
            "column out to fit without per-run offsets (Python: "
            "bl.load_runs(..., ignore_columns=['run']); command line: --ignore-column run). "
            "In fit.update the fitted and the new runs need labels alike: a fit made without "
            "a 'run' column takes new runs without one"
        )
    return pd.Series([label_text(v) for v in run.tolist()], index=run.index, dtype=object)


def detrending_projection(x_run) -> np.ndarray:
    """(R, R) orthogonal projection onto the complement of {1, x_run, x_run^2} (``x_run``: each
    run's mean centred ln N, (R,)); its rank, R minus the rank of that basis, is the detrended
    offsets' degrees of freedom (0 with R <= 3)."""
    x_run = np.asarray(x_run, float)
    basis = np.vander(x_run, 3, increasing=True)  # 1, x, x^2
    q, _ = np.linalg.qr(basis)
    q = q[:, : min(np.linalg.matrix_rank(basis), len(x_run))]
    return np.eye(len(x_run)) - q @ q.T


def run_offsets_note(name: str, n_runs: int, dof: int) -> str | None:
    """The note on a fit whose ``n_runs`` detrended run offsets keep ``dof`` degrees of
    freedom: offsets dropped (``dof`` 0), too few left (below ``RUN_OFFSET_MIN_DOF``), or None."""
    if dof >= RUN_OFFSET_MIN_DOF:
        return None
    runs = f"{n_runs} run{'s' if n_runs != 1 else ''} (column 'run')"
    if dof == 0:
        return (
            f"law {name!r}: per-run offsets dropped (run_sd not fitted): with {runs}, removing "
            "the offsets' 1, x, x^2 trend in ln N (run_offsets='detrended') leaves them "
            "nothing to absorb; they need at least 4 runs at distinct mean sizes, or "
            "law_options={'run_offsets': 'free'} (offsets that may also tilt the curves)"
        )
    return (
        f"law {name!r}: the detrended per-run offsets of {runs} keep {dof} degree"
        f"{'s' if dof != 1 else ''} of freedom (fewer than {RUN_OFFSET_MIN_DOF}): run_sd rests "
        "mostly on its prior"
    )


def nearest_fitted_budget(budgets, C, rtol: float = BUDGET_RTOL) -> np.ndarray:
    """(Q,) int: for each query budget C (FLOPs, (Q,)) the index of the nearest (in ln C)
    fitted budget in ``budgets`` (FLOPs, (B,)) when |ln(C / budget)| < ``rtol``, else -1 (a new
    budget). Each query is matched on its own, so the answer at a budget does not depend on the
    other budgets in the call; a training run's C gets the level :func:`budget_levels` gave it."""
    nearest, gap = nearest_budget_gap(budgets, C)
    return np.where(gap < rtol, nearest, -1)


def nearest_budget_gap(budgets, C) -> tuple[np.ndarray, np.ndarray]:
    """For query budgets C (FLOPs, (Q,)): the index of the nearest (in ln C) of ``budgets``
    (FLOPs, (B,)) and the distance |ln(C / that budget)|, each (Q,)."""
    distance = np.abs(
        np.log(np.atleast_1d(np.asarray(C, float))[:, None] / np.asarray(budgets, float)[None, :])
    )
    nearest = np.argmin(distance, axis=1)
    return nearest, distance[np.arange(nearest.size), nearest]


def near_budget_message(budgets, C, rtol: float = BUDGET_RTOL) -> str:
    """'' or the warning for query budgets C (FLOPs, (Q,)) that lie within
    ``NEAR_BUDGET_RTOL`` of a fitted budget (``budgets``, FLOPs) but not within ``rtol``: they
    are answered as new budgets (:func:`nearest_fitted_budget`), which a query meant for the
    fitted budget (C rounded, or 6ND of runs whose budgets are nominal) does not expect."""
    C, budgets = np.atleast_1d(np.asarray(C, float)), np.asarray(budgets, float)
    nearest, gap = nearest_budget_gap(budgets, C)
    near = np.flatnonzero((gap >= rtol) & (gap < NEAR_BUDGET_RTOL))
    if near.size == 0:
        return ""
    shown = ", ".join(
        f"C = {C[q]:.6g} ({np.expm1(np.log(C[q] / budgets[nearest[q]])):+.2%} from the fitted "
        f"{budgets[nearest[q]]:.6g})"
        for q in near[:3]
    )
    more = f" and {near.size - 3} more" if near.size > 3 else ""
    return (
        f"{shown}{more}: within {NEAR_BUDGET_RTOL:.0%} of a fitted budget but beyond the "
        f"{rtol:.1%} within which a query is that budget, so answered as a NEW budget (the trend "
        "k C^a plus fresh budget scatter: wider, and not the fitted curve). If you meant the "
        "fitted budget, give its C; for runs whose budgets are nominal (C != 6ND, e.g. "
        "Marin's), ask an isoFLOP fit by N and the nominal C, not by N and D"
    )


def sampled_N_range(state: dict, C) -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (Q,) params: for query budgets C (FLOPs, (Q,)) that are fitted budgets
    (:func:`nearest_fitted_budget`), the smallest and largest model size run at that budget
    (``state["budget_N_ranges"]``, recorded by ``prepare``); NaN for a new budget, and for every
    budget of a fit saved before the ranges were recorded."""
    C = np.atleast_1d(np.asarray(C, float))
    low, high = np.full(C.shape, np.nan), np.full(C.shape, np.nan)
    ranges = state.get("budget_N_ranges")
    if not ranges:
        return low, high
    fitted = nearest_fitted_budget(state["budgets"], C)
    own = fitted >= 0
    ranges = np.asarray(ranges, float)  # (B, 2)
    low[own], high[own] = ranges[fitted[own], 0], ranges[fitted[own], 1]
    return low, high


def vertex_outside(N_opt, low, high) -> np.ndarray:
    """(S, Q) float: 1.0 where a draw's vertex N_opt (params, (S, Q)) lies outside its budget's
    sampled sizes [low, high] (params, (Q,)), else 0.0; NaN where the range is unknown (NaN: a
    new budget). A fitted budget whose runs do not bracket its vertex (e.g. loss rising
    monotonically in N) gets its vertex from the pooled curvature and trend, not from its own
    runs: the share of such draws says how much."""
    N_opt = np.asarray(N_opt, float)
    low, high = np.asarray(low, float)[None, :], np.asarray(high, float)[None, :]
    outside = ((N_opt < low) | (N_opt > high)).astype(float)
    return np.where(np.isnan(low) | np.isnan(high), np.nan, outside)


def new_budget_normals(C, S: int, parts: int) -> np.ndarray:
    """Standard normals (parts, S, Q) for the deviations of new budgets C (FLOPs, (Q,)), as a
    fixed smooth random function of ln C per draw: for each draw and part
    z(c) = sum_k (a_k cos(w_k c) + b_k sin(w_k c)) / sqrt(K), with a, b standard normal and
    K = ``NEW_BUDGET_FEATURES`` frequencies w ~ N(0, 1 / ``NEW_BUDGET_LENGTH``^2), all drawn
    from the fixed stream ``NEW_BUDGET_STREAM``. So z(c) is exactly standard normal at every
    budget, the same at the same budget whatever the call (its other budgets, their order,
    the caller's seed: common random numbers across every answer at that budget), nearly the
    same for budgets within ``BUDGET_RTOL`` (correlation > 0.99), and independent between
    distinct budgets (correlation exp(-(ln C1 - ln C2)^2 / (2 length^2)), plus |noise| ~
    1 / sqrt(2K) from the finite K)."""
    rng = np.random.default_rng(NEW_BUDGET_STREAM)
    omega = rng.normal(0.0, 1.0 / NEW_BUDGET_LENGTH, NEW_BUDGET_FEATURES)  # (K,)
    weights = rng.standard_normal((parts, S, 2, NEW_BUDGET_FEATURES))
    phase = omega[:, None] * np.log(np.asarray(C, float))[None, :]  # (K, Q)
    basis = np.stack([np.cos(phase), np.sin(phase)]) / np.sqrt(NEW_BUDGET_FEATURES)
    return np.einsum("psjk,jkq->psq", weights, basis)


def new_run_levels(draws, R: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(nuisance (R,), level (R,) int or None) of R candidate runs for
    :class:`~bayeslaws.laws.contract.Observations`. With per-run offsets (site ``run_sd`` in
    ``draws``) every candidate is a new training run whose offset r ~ Normal(0, run_sd) is
    unknown until it is run: a level of its own (``level`` -1, independent of the other
    candidates', as ``kind="new_run"`` draws it) of variance the posterior mean of run_sd^2
    (ln loss squared). Without offsets none (zeros, None)."""
    if "run_sd" not in draws:
        return np.zeros(R), None
    variance = float(np.mean(np.asarray(draws["run_sd"], float) ** 2))
    return np.full(R, variance), np.full(R, -1, dtype=np.int64)


class IsoFLOP(Law):
    name = "isoflop"
    description = "per-budget parabolas in ln N, vertices N_opt = k C^a"
    inputs = ("N", "C")
    cubic = False
    min_sizes = 3
    RUN_OFFSETS = ("detrended", "free")

    def __init__(
        self,
        run_offsets: str = "detrended",
        loss_floor: bool = False,
        skew_saturation: float = SKEW_SATURATION,
    ):
        if run_offsets not in self.RUN_OFFSETS:
            raise ValueError(f"run_offsets must be one of {self.RUN_OFFSETS}, got {run_offsets!r}")
        if not isinstance(loss_floor, bool):
            raise ValueError(f"loss_floor must be True or False, got {loss_floor!r}")
        if not (is_real(skew_saturation) and skew_saturation > 0):
            raise ValueError(f"skew_saturation must be a number > 0, got {skew_saturation!r}")
        if not self.cubic and float(skew_saturation) != SKEW_SATURATION:
            raise ValueError(
                f"skew_saturation={skew_saturation!r} would have no effect: it bounds the skew "
                f"of law 'isoflop_cubic''s curves, and law {self.name!r} fits parabolas (no "
                "skew); use law='isoflop_cubic' or leave skew_saturation out"
            )
        self.skew_saturation = float(skew_saturation)
        self.run_offsets = run_offsets
        self.loss_floor = loss_floor

    @property
    def has_floor(self) -> bool:
        return self.loss_floor

    @property
    def options(self) -> dict:
        return {
            "run_offsets": self.run_offsets,
            "loss_floor": self.loss_floor,
            "skew_saturation": self.skew_saturation,
        }

    def loss_trend(self, l0, a_L, c, e_floor=None):
        """mu_L(c): centred ln L_opt at centred ln budgets c (numpy or JAX, broadcast)."""
        power = l0 + a_L * c
        if not self.loss_floor:
            return power
        logaddexp = jnp.logaddexp if isinstance(power, jnp.ndarray) else np.logaddexp
        return logaddexp(e_floor, power)

    def default_priors(self) -> dict:
        priors = {
            "a_opt": dist.Beta(2.0, 2.0),
            "n0": dist.Normal(0.0, 2.0),
            "vertex_sd": dist.HalfNormal(0.2),
            "l0": dist.Normal(0.0, 0.5),
            "a_L": dist.Normal(0.0, 0.2),
            "loss_sd": dist.HalfNormal(0.02),
            "log_h0": dist.Normal(-3.5, 1.5),
            "log_h1": dist.Normal(0.0, 0.3),
            "h_sd": dist.HalfNormal(0.3),
            "run_sd": dist.HalfNormal(0.02),
        }
        if self.loss_floor:
            priors["e_floor"] = dist.Normal(-1.0, 1.0)
        if self.cubic:
            priors["s0"] = dist.Normal(0.0, 0.3)
            priors["s_sd"] = dist.HalfNormal(0.1)
        return priors

    def unsampled_priors(self, prepared=None) -> dict:
        """As the contract's, and ``run_sd`` when ``prepared`` has no per-run offsets (no
        ``run`` column, or offsets dropped: :func:`run_offsets_note`)."""
        unsampled = super().unsampled_priors(prepared)
        if prepared is None or prepared.state["n_run_ids"] > 0:
            return unsampled
        if "run" not in prepared.runs.df:
            need = (
                "when the run table has a 'run' column (each row's training run), whose "
                "per-run offsets it scales; this one has none"
            )
        else:
            need = (
                "with per-run offsets, which this table's 'run' column leaves none of under "
                "run_offsets='detrended' (it needs at least 4 runs at distinct mean sizes; or "
                "law_options={'run_offsets': 'free'})"
            )
        return {**unsampled, "run_sd": need}

    # ---- model ----------------------------------------------------------------------------
    def model(
        self,
        *,
        x,
        c,
        budget_index,
        run_index,
        run_ids,
        run_proj,
        scales,
        priors,
        likelihood,
        obs=None,
    ):
        # sizes come from array shapes, so the model also runs with jit-compiled arguments
        J, n_run_ids = c.shape[0], run_ids.shape[0]
        a_opt = numpyro.sample("a_opt", priors["a_opt"])
        n0 = numpyro.sample("n0", priors["n0"])
        vertex_sd = numpyro.sample("vertex_sd", priors["vertex_sd"])
        l0 = numpyro.sample("l0", priors["l0"])
        a_L = numpyro.sample("a_L", priors["a_L"])
        loss_sd = numpyro.sample("loss_sd", priors["loss_sd"])
        e_floor = numpyro.sample("e_floor", priors["e_floor"]) if self.loss_floor else None
        log_h0 = numpyro.sample("log_h0", priors["log_h0"])
        log_h1 = numpyro.sample("log_h1", priors["log_h1"])
        h_sd = numpyro.sample("h_sd", priors["h_sd"])
        if self.cubic:
            s0 = numpyro.sample("s0", priors["s0"])
            s_sd = numpyro.sample("s_sd", priors["s_sd"])
        # Non-centred per-budget deviations: with few budgets the scatter sds are weakly
        # identified and reach zero, where a centred form makes funnels (3 budgets: centred
        # R-hat 1.05-1.14, measured once in commit c84e7af, no committed script; non-centred is
        # clean at Liang's six budgets).
        with numpyro.plate("budgets", J):
            zv = numpyro.sample("zv", dist.Normal(0.0, 1.0))
            zl = numpyro.sample("zl", dist.Normal(0.0, 1.0))
            zh = numpyro.sample("zh", dist.Normal(0.0, 1.0))
            zs = numpyro.sample("zs", dist.Normal(0.0, 1.0)) if self.cubic else None
        v = numpyro.deterministic("v", n0 + a_opt * c + vertex_sd * zv)
        m = numpyro.deterministic("m", self.loss_trend(l0, a_L, c, e_floor) + loss_sd * zl)
        log_h = numpyro.deterministic("log_h", log_h0 + log_h1 * c + h_sd * zh)
        s = numpyro.deterministic("s", s0 + s_sd * zs) if self.cubic else jnp.zeros(J)
        h = jnp.exp(log_h)
        log_N_ref, log_C_ref, log_L_ref = scales["N"], scales["C"], scales["loss"]
        numpyro.deterministic("k_opt", jnp.exp(n0 + log_N_ref - a_opt * log_C_ref))
        numpyro.deterministic("k_L", jnp.exp(l0 + log_L_ref - a_L * log_C_ref))
        if self.loss_floor:
            numpyro.deterministic("E_floor", jnp.exp(e_floor + log_L_ref))
        numpyro.deterministic("N_opt", jnp.exp(v + log_N_ref))
        numpyro.deterministic("L_opt", jnp.exp(m + log_L_ref))
        d = x - v[budget_index]
        mu = m[budget_index] + curve(d, h[budget_index], s[budget_index], self.skew_saturation)
        if n_run_ids > 0:
            run_sd = numpyro.sample("run_sd", priors["run_sd"])
            with numpyro.plate("run_ids", n_run_ids):
                zr = numpyro.sample("zr", dist.Normal(0.0, 1.0))
            offsets = run_proj @ zr  # identity ("free") or the detrending projection
            mu = mu + run_sd * offsets[run_index]
        sigma, nu = sample_noise_params(likelihood, priors)
        with numpyro.plate("runs", x.shape[0]):
            numpyro.sample(OBSERVED_SITE, observation(likelihood, mu, sigma, nu), obs=obs)

    def prepare(self, runs) -> Prepared:
        df = runs.df
        if runs.has_groups:
            raise RunTableError(
                f"law {self.name!r} fits one family at a time; the run table has groups "
                f"{runs.groups}: fit each group alone (Python: runs.subset(...) per group; "
                "command line: one CSV per group; dropping the group column instead pools "
                "the groups into one family, whose curves then match none of them)"
            )
        require_converged_runs(runs, self.name)  # no NaN loss, no run flagged diverged
        if self.run_offsets != "detrended" and "run" not in df:
            raise RunTableError(
                f"law_options run_offsets={self.run_offsets!r} would have no effect: per-run "
                "offsets need a 'run' column (each row's training run), and this run table has "
                "none; add it or leave run_offsets out"
            )
        levels, index = budget_levels(df["C"].to_numpy(float))
        if len(levels) < 3:
            raise RunTableError(
                f"law {self.name!r} needs runs at >= 3 compute budgets (column 'C'); found "
                f"{len(levels)}: {levels.tolist()}"
            )
        N = df["N"].to_numpy(float)
        for j, budget in enumerate(levels):
            sizes = np.unique(N[index == j]).size
            if sizes < self.min_sizes:
                raise RunTableError(
                    too_few_sizes_message(self.name, self.min_sizes, budget, sizes, levels, len(df))
                )
        log_N_ref = float(np.mean(np.log(N)))
        log_C_ref = float(np.mean(np.log(levels)))
        log_L_ref = float(np.mean(np.log(df["loss"].to_numpy(float))))
        if "run" in df:
            labels = run_labels(runs, self.name)
            run_ids = sorted(labels.unique())
            run_index = np.array([run_ids.index(r) for r in labels], dtype=np.int32)
        else:
            run_ids, run_index = [], np.zeros(len(df), dtype=np.int32)
        run_proj = np.eye(len(run_ids))
        x_all = np.log(N) - log_N_ref
        notes = []
        if run_ids and self.run_offsets == "detrended":
            x_run = np.array([x_all[run_index == i].mean() for i in range(len(run_ids))])
            run_proj = detrending_projection(x_run)
            dof = int(round(np.trace(run_proj)))  # a projection's trace is its rank
            note = run_offsets_note(self.name, len(run_ids), dof)
            notes += [note] if note else []
            if dof == 0:  # every offset would be 0 and run_sd its prior: fit none
                warnings.warn(note, PlausibilityWarning, stacklevel=user_stacklevel())
                run_ids, run_index = [], np.zeros(len(df), dtype=np.int32)
                run_proj = np.eye(0)
        scales = Scales({"N": log_N_ref, "C": log_C_ref, "loss": log_L_ref})
        data = {
            "x": jnp.asarray(x_all),
            "c": jnp.asarray(np.log(levels) - log_C_ref),
            "budget_index": jnp.asarray(index),
            "run_index": jnp.asarray(run_index),
            "run_ids": jnp.zeros(len(run_ids)),
            "run_proj": jnp.asarray(run_proj),
            "scales": scales,
            "obs": jnp.asarray(np.log(df["loss"].to_numpy(float)) - log_L_ref),
        }
        state = {
            "budgets": levels.tolist(),
            # per budget, the [smallest, largest] size run at it (params): what its own runs
            # bracket (sampled_N_range)
            "budget_N_ranges": [
                [float(N[index == j].min()), float(N[index == j].max())] for j in range(len(levels))
            ],
            "n_run_ids": len(run_ids),
            "run_offsets": self.run_offsets if run_ids else None,
        }
        ranges = {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")}
        return Prepared(data, {}, scales, (None,), ranges, state, runs, tuple(notes))

    def summary_names(self, groups, likelihood: str) -> list[str]:
        names = ["a_opt", "k_opt", "a_L", "k_L"] + ["E_floor"] * self.loss_floor
        names += ["vertex_sd", "loss_sd", "log_h0", "log_h1", "h_sd"]
        names += ["s0", "s_sd"] if self.cubic else []
        names += ["run_sd", "sigma"] + (["nu"] if likelihood == "student_t" else [])
        return names + ["N_opt", "L_opt"]

    def checked_names(self, groups, likelihood: str) -> list[str]:
        """The reported sites and each fitted budget's own curve, which predictions there read
        (:meth:`budget_draws`): vertex ``v``, level ``m``, curvature ``log_h`` (and skew ``s``
        when cubic)."""
        names = self.summary_names(groups, likelihood) + ["v", "m", "log_h"]
        return names + (["s"] if self.cubic else [])

    def site_dims(self, state: dict) -> tuple[dict, dict]:
        """Per-budget sites labelled by their budget (FLOPs, 6 significant figures)."""
        sites = ["zv", "zl", "zh", "v", "m", "log_h", "N_opt", "L_opt"]
        sites += ["zs", "s"] if self.cubic else []
        labels = [f"{C:.6g}" for C in state["budgets"]]
        return {name: ["budget"] for name in sites}, {"budget": labels}

    # ---- posterior ---------------------------------------------------------------------------
    def budget_draws(self, post: Posterior, C, rng=None) -> dict:
        """Per-draw curve parameters (v, m, h, s: arrays (S, Q), centred ln units) at budgets C
        (FLOPs, (Q,)), each column on its own. A budget within ``BUDGET_RTOL`` of a fitted
        budget uses that (the nearest, :func:`nearest_fitted_budget`) budget's own fitted
        values; any other budget gets budget-level
        deviations from the fitted scatter (a new budget), one per draw, drawn as a fixed
        function of the budget (:func:`new_budget_normals`): every answer at one budget
        (predictions, allocation, profiles, a design's target and its observations, whatever
        else is in the call) sees the same new budget. ``rng`` is not used (kept for the
        callers' signature)."""
        draws, col = post.draws, post.column
        C = np.atleast_1d(np.asarray(C, float))
        c = np.log(C) - post.scales["C"]
        S, Q = post.n_draws, len(C)
        fitted = nearest_fitted_budget(post.state["budgets"], C)  # (Q,), -1: a new budget
        own = fitted >= 0
        means = {
            "v": col("n0") + col("a_opt") * c,
            "m": self._trend(post, c),
            "log_h": col("log_h0") + col("log_h1") * c,
        }
        sds = {"v": "vertex_sd", "m": "loss_sd", "log_h": "h_sd"}
        if self.cubic:
            means["s"], sds["s"] = col("s0") * np.ones((1, Q)), "s_sd"
        out = {}
        normals = new_budget_normals(C, S, len(means))  # (parts, S, Q)
        for key, mean, z in zip(means, means.values(), normals, strict=True):
            value = mean + col(sds[key]) * z  # a new budget
            if own.any():  # a fitted budget: its own draws
                value[:, own] = np.asarray(draws[key])[:, fitted[own]]
            out[key] = value
        s = out.get("s", np.zeros((S, Q)))
        return {"v": out["v"], "m": out["m"], "h": np.exp(out["log_h"]), "s": s}

    def query_cautions(self, state: dict, query: pd.DataFrame) -> list[str]:
        """A query budget within ``NEAR_BUDGET_RTOL`` of a fitted budget but not within
        ``BUDGET_RTOL`` (:func:`near_budget_message`): answered as a new budget."""
        if "C" not in query:
            return []
        message = near_budget_message(state["budgets"], np.asarray(query["C"], float))
        return [message] if message else []

    def irreducible_loss(self, post: Posterior, *, group=None, rng=None):
        """Draws (S,) of E_floor (loss units) with ``loss_floor=True``; else None."""
        if not self.loss_floor:
            return None
        return np.exp(np.asarray(post.draws["e_floor"], float) + post.scales["loss"])

    def _trend(self, post: Posterior, c):
        """mu_L(c) per draw: (S, Q) for centred ln budgets c (Q,)."""
        floor = post.column("e_floor") if self.loss_floor else None
        return self.loss_trend(post.column("l0"), post.column("a_L"), c, floor)

    def _log_loss(self, post: Posterior, N, budget: dict):
        """ln L at sizes N on curves with parameters ``budget`` (arrays broadcasting to (S, Q))."""
        d = np.log(np.asarray(N, float)) - post.scales["N"] - budget["v"]
        return (
            budget["m"]
            + curve(d, budget["h"], budget["s"], self.skew_saturation)
            + post.scales["loss"]
        )

    @staticmethod
    def _no_groups(group):
        resolve_group((None,), group)  # isoFLOP fits have no groups: only None is accepted

    def draws(self, post, query, *, kind, group, rng) -> dict:
        """Loss at (N, C) points from the budget curves. A fitted budget uses its own curve; a
        new budget draws fresh budget-level deviations (honest for held-out budgets), each
        point's budget as :meth:`budget_draws` answers it alone (whatever else is in the query).
        ``kind="new_run"`` adds the likelihood's noise and the per-run offset."""
        self._no_groups(group)
        budgets, index = np.unique(query["C"].to_numpy(float), return_inverse=True)
        curves = self.budget_draws(post, budgets, rng)
        per_point = {k: v[:, index.ravel()] for k, v in curves.items()}
        log_L = self._log_loss(post, query["N"].to_numpy(float)[None, :], per_point)
        if kind == "new_run":
            nu = post.draws.get("nu")
            log_L = log_L + noise_draws(post.likelihood, post.draws["sigma"], nu, log_L.shape, rng)
            if "run_sd" in post.draws:
                log_L = log_L + post.column("run_sd") * rng.standard_normal(log_L.shape)
        return {"loss": np.exp(log_L)}

    def observations(self, post, candidates, *, group, rng) -> Observations:
        """Predicted outcomes of candidate runs (N, C; R rows) as :meth:`draws` with
        ``kind="new_run"`` draws them: the budget curves' centred ln loss (S, R), the
        likelihood's noise (sigma, nu, family) and, with per-run offsets (``run_sd`` fitted),
        each candidate's fresh offset as an unknown level of its own (:func:`new_run_levels`)."""
        self._no_groups(group)
        mean = np.log(self.draws(post, candidates, kind="mean", group=None, rng=rng)["loss"])
        unit = candidates["unit"].to_numpy() if "unit" in candidates else np.arange(mean.shape[1])
        nu = post.draws.get("nu")
        nuisance, level = new_run_levels(post.draws, mean.shape[1])
        return Observations(
            unit=unit,
            mean=mean - post.scales["loss"],
            sigma=np.asarray(post.draws["sigma"], float),
            nu=None if nu is None else np.asarray(nu, float),
            family=post.likelihood,
            nuisance=nuisance,
            level=level,
        )

    def allocation(self, post, C, compute_model, *, group, rng, method="auto", extra=None) -> dict:
        """Per draw (S, Q) at budgets C (FLOPs, (Q,)): N_opt (params) and L_opt at each budget's
        vertex from the same per-budget curves as ``predict`` (:meth:`budget_draws`): a fitted
        budget its own fitted vertex, any other budget the trend plus fresh budget scatter
        (vertex_sd, loss_sd); D_opt (tokens) from the compute model. A budget within
        ``BUDGET_RTOL`` of a fitted budget is that (the nearest) fitted budget, and each budget
        is answered as if asked alone (whatever else is in the call). Also N_opt_trend,
        D_opt_trend, L_opt_trend: the laws N_opt = k_opt C^a_opt and L_opt = exp(mu_L(c))
        without budget scatter (the power laws that ``allocation_laws`` regresses), and
        fitted_budget (bool) per budget: its answer is a fitted budget's own vertex (the same
        decision as :meth:`budget_draws`); N_sampled_low, N_sampled_high (params): a fitted
        budget's smallest and largest size run (:func:`sampled_N_range`; NaN for a new budget)
        and vertex_outside_sampled (float, 1.0 where the draw's N_opt lies outside them,
        :func:`vertex_outside`; NaN for a new budget). ``method``: "auto" or "closed_form"
        (the law is one); "numerical" raises LawCapabilityError (there is nothing to search)."""
        self._no_groups(group)
        if check_allocation_method(method) == "numerical":
            raise LawCapabilityError(
                f"law {self.name!r} gives each budget's vertex itself (a fitted budget its own, a "
                "new one the trend k C^a plus the budget scatter), so there is no numerical "
                "search: use method='auto' or 'closed_form'"
            )
        C = np.atleast_1d(np.asarray(C, float))
        curves = self.budget_draws(post, C, rng)
        N_opt = np.exp(curves["v"] + post.scales["N"])
        L_opt = np.exp(curves["m"] + post.scales["loss"])
        fitted = nearest_fitted_budget(post.state["budgets"], C) >= 0  # as budget_draws decides
        trend = self.trend_allocation(post, C)
        low, high = sampled_N_range(post.state, C)  # (Q,) each, NaN for a new budget
        return {
            "N_opt": N_opt,
            "D_opt": np.asarray(compute_model.tokens(N_opt, C[None, :])),
            "L_opt": L_opt,
            "at_boundary": np.zeros(N_opt.shape, bool),
            "N_opt_trend": trend["N_opt"],
            "D_opt_trend": np.asarray(compute_model.tokens(trend["N_opt"], C[None, :])),
            "L_opt_trend": trend["L_opt"],
            # (S, Q) bool: a fitted budget, answered by its own vertex (not trend + scatter)
            "fitted_budget": np.broadcast_to(fitted, N_opt.shape),
            # (S, Q): a fitted budget's sampled sizes, and whether each draw's vertex is outside
            "N_sampled_low": np.broadcast_to(low, N_opt.shape),
            "N_sampled_high": np.broadcast_to(high, N_opt.shape),
            "vertex_outside_sampled": vertex_outside(N_opt, low, high),
            "method": "isoflop_law",
        }

    def trend_allocation(self, post, C) -> dict:
        """The laws without budget scatter, per draw (S, Q) at budgets C (FLOPs, (Q,)):
        N_opt = k_opt C^a_opt (params) and L_opt = exp(mu_L(c)) (loss units; with the floor
        E_floor + k_L C^a_L)."""
        c = np.log(np.atleast_1d(np.asarray(C, float)))[None, :] - post.scales["C"]
        col = post.column
        return {
            "N_opt": np.exp(col("n0") + col("a_opt") * c + post.scales["N"]),
            "L_opt": np.exp(self._trend(post, c) + post.scales["loss"]),
        }

    def isoflop_profile(self, post, C, N, compute_model, *, group, rng, extra=None):
        """ln L along the isoFLOP curve of budget C (FLOPs) at sizes N (params, (G,)), per draw:
        (S, G). The budget's curve as ``predict`` and :meth:`allocation` draw it (a fitted
        budget its own; a new one the trend plus budget scatter), so with the same ``rng``
        stream its minimum is the allocation's N_opt, L_opt."""
        self._no_groups(group)
        budget = self.budget_draws(post, [float(C)], rng)  # each (S, 1)
        return self._log_loss(post, np.asarray(N, float)[None, :], budget)

    def empirical(self, runs):
        return runs.assign(loss=runs["loss"])

    def law_table(self, post, ci: float = 0.9, compute_model=None) -> pd.DataFrame:
        """The fitted laws, one row each: ``coef`` and ``exponent`` of coef * C^exponent (C FLOPs)
        with central ``ci`` intervals. Rows: N_opt = k_opt C^a_opt (params); L_opt = k_L C^a_L
        (loss units); with ``loss_floor`` L_opt = E_floor + k_L C^a_L, so the power-law row is
        the reducible part "L_opt - E_floor" (coef k_L, exponent a_L) and row "E_floor" holds
        the floor (coef E_floor, exponent 0): the two rows' values add up to L_opt. With a
        linear compute model C = k N D also D_opt = C / (k N_opt) = C^(1 - a_opt) / (k k_opt).
        ``ci``: the intervals' central mass, in (0, 1)."""
        ci = check_probability("ci", ci)
        rows = {"N_opt": (post.draws["k_opt"], post.draws["a_opt"])}
        if self.loss_floor:
            floor = np.asarray(post.draws["E_floor"], float)
            rows["L_opt - E_floor"] = (post.draws["k_L"], post.draws["a_L"])
            rows["E_floor"] = (floor, np.zeros_like(floor))
        else:
            rows["L_opt"] = (post.draws["k_L"], post.draws["a_L"])
        k = None if compute_model is None else compute_model.linear_k
        if k is not None:
            rows["D_opt"] = (1.0 / (k * post.draws["k_opt"]), 1.0 - post.draws["a_opt"])
        table = []
        for quantity, (coef, exponent) in rows.items():
            c_med, c_lo, c_hi = summarise(np.asarray(coef), ci)
            e_med, e_lo, e_hi = summarise(np.asarray(exponent), ci)
            table.append(
                {
                    "quantity": quantity,
                    "coef": c_med,
                    "coef_lower": c_lo,
                    "coef_upper": c_hi,
                    "exponent": e_med,
                    "exponent_lower": e_lo,
                    "exponent_upper": e_hi,
                    "ci": ci,
                }
            )
        return pd.DataFrame(table).set_index("quantity")


class IsoFLOPCubic(IsoFLOP):
    name = "isoflop_cubic"
    description = "per-budget cubics in ln N (minimum at the vertex), vertices N_opt = k C^a"
    cubic = True
    min_sizes = 4


LAW = IsoFLOP()
LAW_CUBIC = IsoFLOPCubic()
