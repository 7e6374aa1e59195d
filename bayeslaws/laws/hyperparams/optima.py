"""The posterior of the optima of the hyperparameter law: eta_opt, B_opt and the loss at the
optimum, for fitted cells and for new (N, D), with the loss cost of training elsewhere.

Units: N params, D tokens, lr the peak learning rate, B (batch size) in tokens; draws are
arrays (S, Q) for S posterior draws and Q query points.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd

from ...runs import best_in_cell
from ...runs.cells import CELL_RTOL, cell_table
from ...runs.checks import ArgumentTypeError, is_real
from .. import chinchilla
from ..contract import Observations, Posterior, resolve_group, summarise
from ..likelihoods import observation

UNIT_WORDS = {"ones": 1.0, "thousands": 1e3, "millions": 1e6, "billions": 1e9, "trillions": 1e12}
NEW_CELL_LEVEL_VAR = 1.0  # prior variance of a new cell's log-loss level (centred units)
# the random streams of one query's predicted observations and new_run draws, each seeded by
# (the query's base seed, the stream's number[, the cell's or the run's key]): what a candidate
# or a query row draws never depends on which other rows the query holds, nor on their order
QUERY_STREAMS = {"new_cell": 0, "fitted_levels": 1, "optima_drift": 2, "surface": 3,
                 "run_noise": 4}
NEW_CELL_DEVIATIONS = ("lr", "batch", "level")  # the order of a new cell's deviations (new_run)


def optimum_bowl_priors() -> dict:
    """The default priors of the optima laws and the bowl curvatures, shared by laws
    ``hyperparams`` and ``sweep`` (centred logs): lr_int, batch_int (ln eta*, ln B* at the data's
    centre), lr_N ... batch_D (their exponents in N and D), lr_scatter, batch_scatter (cell
    deviations, log units), k_lr, k_batch (log-loss curvature per squared log unit). Scales as
    chosen in :mod:`.law`'s docstring ("Default priors"). A new dict each call."""
    k_loc = float(np.log(0.003))  # video DiT ~ 0.001-0.003, Step Law ~ 0.005-0.02
    return {
        "lr_int": dist.Normal(0.0, 2.0),
        "lr_N": dist.Normal(0.0, 1.0),
        "lr_D": dist.Normal(0.0, 1.0),
        "lr_scatter": dist.HalfNormal(0.3),
        "batch_int": dist.Normal(0.0, 2.0),
        "batch_N": dist.Normal(0.0, 1.0),
        "batch_D": dist.Normal(0.0, 1.0),
        "batch_scatter": dist.HalfNormal(0.3),
        "k_lr": dist.LogNormal(k_loc, 2.0),
        "k_batch": dist.LogNormal(k_loc, 2.0),
    }


def units_factor(units) -> float:
    """A unit word ("billions", ...) or a positive number, as a multiplier. Anything else, a
    bool among them (True is no unit of 1), is an ArgumentTypeError naming ``units``."""
    if isinstance(units, str):
        try:
            return UNIT_WORDS[units.lower()]
        except KeyError:
            raise ValueError(f"units must be a number or one of {sorted(UNIT_WORDS)}") from None
    if not is_real(units):
        raise ArgumentTypeError(
            f"units must be a positive number or one of {sorted(UNIT_WORDS)}, got {units!r} "
            f"({type(units).__name__})"
        )
    factor = float(units)
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"units must be a positive number, got {units!r}")
    return factor


def _scalars(post: Posterior) -> dict:
    """Every scalar site as a column (S, 1)."""
    return {k: np.asarray(v, float)[:, None] for k, v in post.draws.items() if np.ndim(v) == 1}


def query_seed(rng) -> int:
    """The base seed of one query's random streams (:func:`query_rng`): a single integer drawn
    from the caller's ``rng``, which so advances by one draw whatever the query holds."""
    return int(rng.integers(2**32))


def cell_key(N: float, D: float) -> tuple[int, int]:
    """A cell's key for its random draws, two integers >= 0: ln N (params) and ln D (tokens) on
    a grid of step ln(1 + ``CELL_RTOL``), the width of a cell (:func:`~bayeslaws.runs.cells.
    same_value_ids`); a negative grid index k is stored as -2k - 1, a positive one as 2k."""
    k = np.floor(np.log([float(N), float(D)]) / np.log1p(CELL_RTOL)).astype(np.int64)
    return tuple(int(2 * i) if i >= 0 else int(-2 * i - 1) for i in k)


def query_rng(base: int, stream: str, *key: int) -> np.random.Generator:
    """The generator of one of a query's random streams (``QUERY_STREAMS``), from the query's
    base seed (:func:`query_seed`) and, for a new cell, its :func:`cell_key`."""
    return np.random.default_rng([base, QUERY_STREAMS[stream], *key])


def new_cell_draws(base: int, N: float, D: float, shape) -> np.ndarray:
    """A new cell's standard normal deviations, ``shape`` (e.g. (2, S)), at (N params, D
    tokens): a function of the query's base seed (:func:`query_seed`) and the cell's
    :func:`cell_key` only, so a candidate cell's draws are the same whichever other candidates
    the query holds and in whatever order. Pass one coordinate per cell (the query's cells,
    :func:`~bayeslaws.runs.cells.cell_table`, take their smallest N and D), so that a
    query's rows of one cell share the draws."""
    return query_rng(base, "new_cell", *cell_key(N, D)).standard_normal(shape)


def cell_deviations(base: int, N, D, n: int, n_draws: int) -> np.ndarray:
    """Each query point's new-cell deviations, standard normal (n, n_draws, Q), at (N params,
    D tokens) (Q,): one :func:`new_cell_draws` (n, n_draws) per cell of the query
    (:func:`~bayeslaws.runs.cells.cell_table`: points within ``CELL_RTOL`` are one cell, at its
    smallest N and D), shared by the cell's points, so a point's deviations depend on ``base``
    and its cell only. Their first rows are the deviations :func:`observations` draws for the
    cell from the same ``base`` (a generator fills an array row by row)."""
    index, cells = cell_table(N, D)
    per_cell = [new_cell_draws(base, n_, d_, (n, n_draws)) for n_, d_ in
                zip(cells["N"], cells["D"], strict=True)]
    if not per_cell:
        return np.zeros((n, n_draws, 0))
    return np.stack(per_cell, axis=-1)[..., index]


def run_keys(N, D, lr=None, batch_size=None) -> np.ndarray:
    """Each run's key for its noise (Q, 5) of integers >= 0: the float64 bits of its N (params),
    D (tokens), lr and batch_size (tokens) (0 where None: the optimum) and its occurrence among
    the query's identical runs (0 for the first, 1 for a second such run, ...), so that
    identical runs still draw independent noise."""
    Q = len(np.atleast_1d(N))
    columns = [
        np.zeros(Q, np.uint64) if v is None else np.asarray(v, float).reshape(Q).view(np.uint64)
        for v in (N, D, lr, batch_size)
    ]
    keys = pd.DataFrame(np.stack(columns, axis=1))
    occurrence = keys.groupby(list(keys.columns), sort=False).cumcount().to_numpy(np.uint64)
    return np.column_stack([keys.to_numpy(np.uint64), occurrence])


def run_rngs(base: int, N, D, lr=None, batch_size=None) -> list[np.random.Generator]:
    """One generator per run (query row) for its noise, from the query's ``base`` seed and the
    run's :func:`run_keys` only: a row's noise is the same whichever other rows the query holds
    and in whatever order (only a repeat of an identical row counts, as its occurrence)."""
    return [query_rng(base, "run_noise", *(int(k) for k in key))
            for key in run_keys(N, D, lr, batch_size)]


@functools.cache
def _noise_sampler(family: str):
    """A compiled draw (S,) of one run's noise: the ``family``'s observation distribution at 0
    with scale ``sigma`` (S,) (and ``nu`` (S,) or None) from an integer seed."""

    def draw(seed, sigma, nu):
        dist = observation(family, jnp.zeros_like(sigma), sigma, nu)
        return dist.sample(jax.random.PRNGKey(seed))

    return jax.jit(draw)


def run_noise(family: str, sigma, nu, rngs) -> np.ndarray:
    """Draws (S, Q) of each run's noise in log loss, as
    :func:`~bayeslaws.laws.likelihoods.noise_draws` (the ``family`` with scale ``sigma`` (S,)
    and ``nu`` (S,) or None per draw), column q seeded by one integer of ``rngs[q]`` alone
    (:func:`run_rngs`)."""
    sigma = jnp.asarray(sigma)
    nu = None if nu is None else jnp.asarray(nu)
    sampler = _noise_sampler(family)
    columns = [np.asarray(sampler(int(r.integers(0, 2**31 - 1)), sigma, nu), float) for r in rngs]
    return np.stack(columns, axis=1) if columns else np.zeros((sigma.shape[0], 0))


def group_offsets(post: Posterior, group, rng):
    """Intercept offsets (lr, batch) per draw (S,) for a fitted group, or a new group."""
    S = post.n_draws
    g = resolve_group(post.groups, group)
    if len(post.groups) <= 1:
        return np.zeros(S), np.zeros(S), 0
    d = post.draws
    if g is None:  # a new group
        z = rng.standard_normal((2, S))
        return d["lr_int_tau"] * z[0], d["batch_int_tau"] * z[1], None
    return d["lr_int_tau"] * d["lr_int_z"][:, g], d["batch_int_tau"] * d["batch_int_z"][:, g], g


def fitted_cell(post: Posterior, N: float, D: float, g) -> int | None:
    """Index of the fitted cell at (N params, D tokens), within ``CELL_RTOL``, in group ``g``
    (None: not a fitted cell). In a fit with several groups, ``g=None`` (a new group) has no
    fitted cell: the cells belong to the fitted groups. Cells without a ``group`` entry (a law
    without groups, e.g. the sweep law) are the one group's."""
    if g is None and len(post.groups) > 1:
        return None
    cells = post.state["cells"]
    groups = cells.get("group", [None] * len(cells["N"]))
    for c, (cn, cd, cg) in enumerate(zip(cells["N"], cells["D"], groups, strict=True)):
        same_group = len(post.groups) <= 1 or cg == g
        if same_group and np.isclose(cn, N, rtol=CELL_RTOL) and np.isclose(cd, D, rtol=CELL_RTOL):
            return c
    return None


def fitted_cells(post: Posterior, N, D, g) -> np.ndarray:
    """Index (Q,) of the fitted cell at each query point (N params, D tokens) in group ``g``,
    -1 where there is none (see :func:`fitted_cell`)."""
    found = (fitted_cell(post, n, d, g) for n, d in zip(N, D, strict=True))
    return np.array([-1 if c is None else c for c in found], dtype=int)


def surface_level(theta: dict, x, y) -> np.ndarray:
    """ln(L* / L_ref) on the Chinchilla surface (``loss_level="surface"``) at centred logs
    (x, y) of N params and D tokens: (S, Q) for ``theta`` columns (S, 1) and x, y (Q,)."""
    return np.asarray(chinchilla.LAW.log_loss(theta, x[None, :], y[None, :], None))


def optimum_draws(
    law, post: Posterior, N, D, *, kind="mean", group=None, rng, lr=None, batch_size=None
) -> dict:
    """Draws (S, Q) of ln eta_opt, ln B_opt and ln L at the optimum for query points (N params,
    D tokens) (Q,).

    At a fitted cell (``cell`` (Q,): each point's fitted cell, -1: none) the optimum and the
    level are the cell's own posterior ones, for both kinds (the optimum as
    :func:`cell_optima`, the level the fitted ``level``): the cell exists and its deviation
    from the law is fitted, so ``new_run`` adds only one run's noise there. The loss of a run
    at a setting of that cell (:func:`quantity_draws`) is then the level plus the bowl about
    the optimum reported, as :func:`observations` predicts it, and eta_opt, B_opt are its argmin.

    Away from the fitted cells: ``kind="mean"``, the law (median optimum of a new cell) and the
    law's level (``loss_level="surface"``; under ``"free"`` the level is unknown: NaN);
    ``kind="new_run"``, a new cell, with the fitted cell scatter around the law (the optimum a
    new sweep would show) and the loss one run at the optimum would show (plus the likelihood's
    run-to-run noise: :func:`~bayeslaws.laws.likelihoods.noise_draws`). A new group
    (``group=None``) of a fit with several groups has no fitted cell.

    ``rng``: a new group's offsets are its first draws (:func:`group_offsets`), then
    (``new_run``) one base seed (:func:`query_seed`). A new cell's deviations (optimum scatter,
    and the level scatter under ``loss_level="surface"``) are drawn once per cell of the query
    and shared by its points (:func:`cell_deviations`: rows at one (N, D) are runs of one new
    sweep, with one optimum and level per draw); each run's noise is its own
    (:func:`run_rngs`, keyed by its N, D and ``lr``, ``batch_size`` (Q,) or None). So a
    point's draws never depend on the query's other points, nor on their order."""
    sc = post.scales
    N = np.asarray(N, float)
    D = np.asarray(D, float)
    x, y = sc.centre("N", N), sc.centre("D", D)
    theta = _scalars(post)
    m_lr, m_b = (np.asarray(m) for m in law.centre_law(theta, x[None, :], y[None, :]))
    off_lr, off_b, g = group_offsets(post, group, rng)  # first: a new group's stream
    m_lr = m_lr + off_lr[:, None]
    m_b = m_b + off_b[:, None]
    S, Q = m_lr.shape
    cell = fitted_cells(post, N, D, g)
    at_cell = cell >= 0
    if kind == "new_run":
        base = query_seed(rng)  # then one draw, whatever the query holds
        z = dict(zip(NEW_CELL_DEVIATIONS,
                     cell_deviations(base, N, D, len(NEW_CELL_DEVIATIONS), S), strict=True))
        m_lr = m_lr + np.where(at_cell, 0.0, theta["lr_scatter"] * z["lr"])
        m_b = m_b + np.where(at_cell, 0.0, theta["batch_scatter"] * z["batch"])
    m_lr, m_b = cell_own(post, m_lr, m_b, cell)
    if law.loss_level == "surface":
        level = surface_level(theta, x, y)
        if kind == "new_run":
            level = level + theta["level_scatter"] * z["level"]
    else:
        level = np.full((S, Q), np.nan)
    level[:, at_cell] = np.asarray(post.draws["level"])[:, cell[at_cell]]
    if kind == "new_run":
        rngs = run_rngs(base, N, D, lr, batch_size)
        level = level + run_noise(post.likelihood, post.draws["sigma"], post.draws.get("nu"), rngs)
    return {
        "log_eta": m_lr + sc["lr"],
        "log_B": m_b + sc["batch_size"],
        "log_L": level + sc["loss"],
        "theta": theta,
        "cell": cell,
    }


def cell_own(post: Posterior, m_lr, m_b, cell) -> tuple[np.ndarray, np.ndarray]:
    """The centred (ln eta*, ln B*) draws (S, Q) ``m_lr``, ``m_b`` (the law, with its group
    offsets) moved by each fitted cell's own deviation (``cell`` (Q,) >= 0: lr_scatter z_lr and
    batch_scatter z_batch of that cell, as the model, in float64); unchanged where ``cell`` is
    -1."""
    at_cell = cell >= 0
    if not at_cell.any():
        return m_lr, m_b
    d = post.draws
    m_lr, m_b = np.array(m_lr, float), np.array(m_b, float)
    on = cell[at_cell]
    lr_scatter = np.asarray(d["lr_scatter"], float)[:, None]
    batch_scatter = np.asarray(d["batch_scatter"], float)[:, None]
    m_lr[:, at_cell] += lr_scatter * np.asarray(d["z_lr"], float)[:, on]
    m_b[:, at_cell] += batch_scatter * np.asarray(d["z_batch"], float)[:, on]
    return m_lr, m_b


def bowl_reference(post: Posterior, level, cell) -> np.ndarray:
    """ln(L* / L_ref) (S, Q) the bowl is relative to under ``bowl_scale="loss"``: at a fitted
    cell the cell's ``level_mean`` (its mean log loss, as in the model); elsewhere ``level``
    (S, Q), the level at the optimum, or 0 (L_ref, the sweep's mean loss) where it is unknown."""
    ref = np.where(np.isnan(level), 0.0, level)
    at_cell = cell >= 0
    ref[:, at_cell] = np.asarray(post.draws["level_mean"])[:, cell[at_cell]]
    return ref


def quantity_draws(law, post: Posterior, query: pd.DataFrame, *, kind, group, rng) -> dict:
    """Draws (S, Q) of eta_opt, B_opt (tokens) and loss_opt (the loss at the optimum) at the
    query points (:func:`optimum_draws`).

    With ``lr`` and ``batch_size`` in the query also ``loss``, the loss of a run trained at that
    setting: loss_opt (1 + rel_penalty) per draw, the bowl about the optimum reported (at a
    fitted cell the cell's own, so ``loss`` there is what :func:`observations` predicts for
    the run, and 0 penalty at eta_opt, B_opt; ``new_run``: loss_opt carries one run's noise,
    so ``loss`` does too; the query's rows at one new cell share its optimum and level, and
    each row's draws are the same whatever the other rows: :func:`optimum_draws`);
    ``rel_penalty`` (L(lr, B) / L_opt - 1, the bowl on the log loss) and ``penalty`` (L(lr, B)
    - L_opt in loss units); ``loss`` and ``penalty`` are NaN where the level is unknown. With
    ``bowl_scale="loss"`` the bowl is relative to :func:`bowl_reference`, as in the model."""
    setting = {k: query[k].to_numpy(float) for k in ("lr", "batch_size") if k in query}
    opt = optimum_draws(
        law, post, query["N"], query["D"], kind=kind, group=group, rng=rng, **setting
    )
    out = {
        "eta_opt": np.exp(opt["log_eta"]),
        "B_opt": np.exp(opt["log_B"]),
        "loss_opt": np.exp(opt["log_L"]),
    }
    if {"lr", "batch_size"} <= set(query):
        u = np.log(query["lr"].to_numpy(float))[None, :] - opt["log_eta"]
        v = np.log(query["batch_size"].to_numpy(float))[None, :] - opt["log_B"]
        bowl = np.asarray(law.bowl_value(opt["theta"], u, v))
        ref = bowl_reference(post, opt["log_L"] - post.scales["loss"], opt["cell"])
        excess = np.asarray(law.log_excess(bowl, ref))  # the bowl itself if bowl_scale="log"
        out["rel_penalty"] = np.expm1(excess)
        out["penalty"] = out["rel_penalty"] * out["loss_opt"]
        out = {"loss": np.exp(opt["log_L"] + excess), **out}  # the loss at the setting first
    return out


def observations(law, post: Posterior, candidates: pd.DataFrame, *, group, rng) -> Observations:
    """Predicted log loss (centred) of candidate runs (N, D, lr, batch_size): at a fitted cell
    its own optimum and level; at a new cell a fresh cell deviation per draw (shared by the
    cell's runs; :func:`new_cell_draws`: the same whichever other candidates are offered) and an
    unknown level (a nuisance with prior variance ``NEW_CELL_LEVEL_VAR``, one per new cell:
    ``Observations.level`` numbers the cells, -1 at a fitted cell). ``rng``: a new
    group's offsets are its first draws (the target's, in design), then one base seed.
    The mean is the level plus ``law.log_excess`` of the bowl: with ``bowl_scale="loss"``
    relative to a fitted cell's ``level_mean`` (as the model), at a new cell to the L* that
    :func:`quantity_draws` takes (the surface, or L_ref)."""
    sc = post.scales
    theta = _scalars(post)
    S = post.n_draws
    N, D = candidates["N"].to_numpy(float), candidates["D"].to_numpy(float)
    x, y = sc.centre("N", N), sc.centre("D", D)
    m_lr, m_b = (np.array(m, float) for m in law.centre_law(theta, x[None, :], y[None, :]))
    off_lr, off_b, g = group_offsets(post, group, rng)  # first: a new group's stream
    base = query_seed(rng)  # then one draw, whatever the candidates
    m_lr += off_lr[:, None]
    m_b += off_b[:, None]
    level = np.zeros((S, len(candidates)))
    # ln(L* / L_ref) the bowl is relative to (bowl_scale="loss")
    bowl_level = np.zeros((S, len(candidates)))
    if law.loss_level == "surface":
        bowl_level += surface_level(theta, x, y)
    nuisance = np.zeros(len(candidates))
    level_id = np.full(len(candidates), -1)  # a new cell's unknown level: one per cell
    new_cells: dict = {}
    z_lr, z_b = np.asarray(post.draws["z_lr"]), np.asarray(post.draws["z_batch"])
    candidate_cell, cells = cell_table(N, D)  # candidates within CELL_RTOL share a new cell
    for j in range(len(candidates)):
        c = fitted_cell(post, N[j], D[j], g)
        if c is not None:
            m_lr[:, j] += post.draws["lr_scatter"] * z_lr[:, c]
            m_b[:, j] += post.draws["batch_scatter"] * z_b[:, c]
            level[:, j] = post.draws["level"][:, c]
            bowl_level[:, j] = post.draws["level_mean"][:, c]
        else:
            key = int(candidate_cell[j])
            if key not in new_cells:
                new_cells[key] = new_cell_draws(
                    base, cells.at[key, "N"], cells.at[key, "D"], (2, S)
                )
            z = new_cells[key]
            m_lr[:, j] += post.draws["lr_scatter"] * z[0]
            m_b[:, j] += post.draws["batch_scatter"] * z[1]
            nuisance[j] = NEW_CELL_LEVEL_VAR
            level_id[j] = key
    u = sc.centre("lr", candidates["lr"])[None, :] - m_lr
    v = sc.centre("batch_size", candidates["batch_size"])[None, :] - m_b
    bowl = np.asarray(law.bowl_value(theta, u, v), float)
    excess = np.asarray(law.log_excess(bowl, bowl_level), float)
    unit = candidates["unit"].to_numpy() if "unit" in candidates else np.arange(len(candidates))
    nu = post.draws.get("nu")
    return Observations(
        unit=unit,
        mean=level + excess,
        sigma=np.asarray(post.draws["sigma"], float),
        nu=None if nu is None else np.asarray(nu, float),
        family=post.likelihood,
        nuisance=nuisance,
        level=level_id,
    )


def empirical(runs: pd.DataFrame) -> pd.DataFrame:
    """Each (N, D) cell's best run as the observed optimum: eta_opt = its lr, B_opt = its batch
    size, loss_opt = its loss (runs without a finite loss never count)."""
    best = runs[best_in_cell(runs)]
    return best.assign(eta_opt=best["lr"], B_opt=best["batch_size"], loss_opt=best["loss"])


def cell_optima(law, post: Posterior) -> dict:
    """Posterior draws of each fitted cell's optimum: ``log_eta`` and ``log_B`` (S, cells),
    natural logs of lr and batch size (tokens), and the cells' ``N``, ``D``, ``group``."""
    sc = post.scales
    cells = post.state["cells"]
    x = sc.centre("N", cells["N"])
    y = sc.centre("D", cells["D"])
    theta = _scalars(post)
    m_lr, m_b = (np.asarray(m) for m in law.centre_law(theta, x[None, :], y[None, :]))
    m_lr, m_b = cell_own(post, m_lr, m_b, np.arange(m_lr.shape[1]))
    if len(post.groups) > 1:
        g = np.asarray(cells["group"], int)
        m_lr = m_lr + theta["lr_int_tau"] * post.draws["lr_int_z"][:, g]
        m_b = m_b + theta["batch_int_tau"] * post.draws["batch_int_z"][:, g]
    return {
        "log_eta": m_lr + sc["lr"],
        "log_B": m_b + sc["batch_size"],
        "N": np.asarray(cells["N"], float),
        "D": np.asarray(cells["D"], float),
        "group": [post.groups[int(i)] for i in cells["group"]],
    }


def law_table(post: Posterior, units="billions", ci: float = 0.9) -> pd.DataFrame:
    """The fitted laws in the papers' notation, with central ``ci`` intervals:

    ``eta_opt = c * T^x * N^y`` and ``B_opt = c * T^x * N^y`` (B in tokens), with N and T
    (= D, training tokens) in ``units`` ("billions" as Yin et al., "ones" as Step Law, or a
    number). One row per (quantity, parameter): c, exponent of T, exponent of N.
    """
    unit = units_factor(units)
    d, sc = post.draws, post.scales
    rows = []
    for quantity, prefix, column in (("eta_opt", "lr", "lr"), ("B_opt", "batch", "batch_size")):
        eN, eD = np.asarray(d[f"{prefix}_N"]), np.asarray(d[f"{prefix}_D"])
        log_c = (
            sc[column]
            + np.asarray(d[f"{prefix}_int"])
            - eN * (sc["N"] - np.log(unit))
            - eD * (sc["D"] - np.log(unit))
        )
        for param, values in (("c", np.exp(log_c)), ("exp_T", eD), ("exp_N", eN)):
            med, lo, hi = summarise(values, ci)
            rows.append(
                {"quantity": quantity, "parameter": param, "median": med, "lower": lo, "upper": hi}
            )
    return finish_law_table(rows, unit, ci)


def finish_law_table(rows: list, unit: float, ci: float) -> pd.DataFrame:
    """The law-table layout shared with the two-stage baseline: indexed by (quantity,
    parameter), with the formulas and units in ``attrs``; an exponent without a row (a term
    the law leaves out) has no factor in its formula."""
    table = pd.DataFrame(rows).set_index(["quantity", "parameter"])
    table["ci"] = ci
    m = table["median"]
    table.attrs["units"] = f"N, T in units of {unit:g} (parameters, tokens); B in tokens"
    table.attrs["unit"] = float(unit)  # N and T of the coefficients c are in this unit
    table.attrs["formulas"] = {
        q: f"{q} = {m[(q, 'c')]:.3g}"
        + "".join(
            f" * {axis}^{m[(q, p)]:.3f}"
            for axis, p in (("T", "exp_T"), ("N", "exp_N"))
            if (q, p) in m.index
        )
        for q in ("eta_opt", "B_opt")
    }
    return table
