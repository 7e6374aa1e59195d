"""Replayed design campaigns: strategies choose runs from pools of runs that were really trained;
running an experiment reveals its row. The oracle is real training, not a fitted law
(``benchmarks/design_replay.py`` runs them and writes the tables and the figure).

A :class:`Pool` holds the candidate runs (the training side of a split), the held-out target
region (for SL2's R^2), the decision quantity ours designs for and its realised truth, the start
design (the cheapest runs, as SL2 does) and, where one exists, the paper's own grid. Every
campaign of a seed starts from the same runs; budgets are fractions of the pool's compute
(``BUDGETS``: 1%, 5%, 10%, 25%), each spent in one batch, and the fit after each is scored.

Strategies (``STRATEGIES``):

* ``ours``: :func:`bayeslaws.design.next_runs` with the pool's decision targets, information
  per FLOP, the design's model (:func:`bayeslaws.design.discrepancy.design_method`: GP and
  drift discrepancy, and the drift a run removes), the stage's budget (counted in the pool's
  C, as every strategy spends it) and campaign-wide guardrails; runs at unseen cells of an
  LR x batch pool come as small sweeps (:func:`bayeslaws.design.pool_units`).
* ``random``: uniform picks among the affordable remaining runs until the budget is spent.
* ``vopt``: the classical V-optimal design of SL2's baselines: reduction of the summed variance
  of the law's predictions (method ``"none"``) of the losses at up to 40 held-out runs'
  settings (sampled from all of them, diverged or not: :func:`vopt_target` reads no
  outcome), per cost^0.3.
* ``grid``: the paper's design in its natural order (isoFLOP curves budget by budget, LR x batch
  sweeps cell by cell, cheapest first), where the pool has one.

Scores per budget (:func:`score`): SL2's R^2 of the held-out runs' losses (posterior median of a
new run, clipped to [-1, 1] as SL2), the decision quantity's error ``|ln(median / truth)|`` per
component and their mean, whether each truth lies inside its central 90% interval, and the
interval's half-width ``ln(upper / lower) / 2`` (median over components). Every strategy of a
pool is scored on the same prediction, under the pool's ``report_method``; ``ALSO_SCORED``
methods are scored beside it (columns ``error_gp`` etc.):

* losses of runs (Epoch): the new-run prediction under the model discrepancy the design values
  (:func:`bayeslaws.design.discrepancy.design_method`: the GP pattern plus the drift beyond the
  training range, ``"drift"``), with the drift rate updated by the fit's own scale-out splits
  after every fit (``Pool.calibrate_drift``: :func:`bayeslaws.posterior.extrapolation.drift.
  calibrate`). The package default ``"gp"`` widens only by what the training residuals show:
  after a campaign's few large runs pin the (mis-tilted) form, it is blind to the distance to
  the target and its 90% intervals miss many of Epoch's held-out runs (columns
  ``coverage_gp``); the shipped drift population alone covers them but with intervals about ten
  times wider than the errors;
* N_opt (isoFLOP pools): the package default (the law's own allocation): the drift's N_opt
  interval, shipped or calibrated, was measured uninformative on Porian (selection data; a ln
  half-width of about 4 at every budget, and a median further from the truth than the law's);
* eta_opt, B_opt and the loss at the optimum (Step Law): the sweep law (law ``"sweep"``) is not
  widened (every method gives the same draws); its ``new_run`` optima carry the fitted cell
  scatter and, beyond the fitted cells' range, the optima laws' drift (``optima_drift``).

:func:`replay` runs the campaigns of a pool one after another in this process;
:func:`replay_many` runs the same campaigns as a batch through
``bayeslaws.inference.batch.map_tasks``, one task per (strategy, seed) (:func:`run_campaign`:
it fits its own start design, the one :func:`replay` shares between the strategies of a seed),
in this process, on local worker processes or on a Dask cluster, with the same tables.

Units: N params, D tokens, C FLOPs, lr the learning rate, batch size in tokens.
"""

from __future__ import annotations

import contextlib
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import design
from ..design import DesignWarning, discrepancy
from ..design.batch import runs_of_plan
from ..design.discrepancy import design_method
from ..inference import fit as fit_law
from ..inference.batch import BatchResult, InProcessExecutor, iter_map_tasks, warn_again
from ..inference.diagnostics import SamplerWarning
from ..inference.nuts import derived_seed
from ..laws import resolve_law
from ..posterior import optimal_allocation, predict, quantity_draws, query_frame
from ..posterior.calibration import empirical_vertices
from ..posterior.extrapolation import DEFAULT_METHOD, drift
from ..posterior.splits import (
    compendium_split,
    epoch_split,
    porian_split,
    simulated_truth_loss,
)
from ..runs import bundled, load_runs
from ..runs.checks import (
    ArgumentTypeError,
    UnknownNameError,
    check_integer,
    is_integer,
    is_real,
)
from ..runs.reading import diverged_flags
from ..runs.warn import user_stacklevel

BUDGETS = (0.01, 0.05, 0.10, 0.25)
STRATEGIES = ("ours", "random", "vopt", "grid")
KINDS = ("hyperparams", "loss", "nopt")  # what a pool's decision quantity is
VOPT_COST_POWER = 0.3  # SL2's V-optimal baseline: score = variance reduction / cost^0.3
VOPT_MAX_POINTS = 40  # held-out runs whose predicted losses the V-optimal baseline targets
STEPLAW_HELD_N = 1.073741824e9  # the held-out model of Step Law's sweep (params)
SL2_STEPLAW_R2 = {0.01: -0.66, 0.05: 0.00, 0.10: 0.22}  # SL2's Step Law LR x batch pool
ALSO_SCORED = ("gp",)  # extrapolation methods scored beside the reported one (columns error_gp..)
POOL_FLOPS = "pool_C"  # the candidates' column of the pool's C (FLOPs), what ours and vopt spend
POOL_COLUMNS = ("N", "D", "C")  # what every pool's runs need (params, tokens, FLOPs)
BUDGET_RTOL = 1e-9  # relative slack of a budget (round-off in summed FLOPs)
SHOWN_ROWS = 10  # row labels an error names
SETTING_COLUMNS = ("lr", "batch_size")  # besides N, D: what tells two runs' settings apart
OVERLAP_RTOL = 1e-9  # relative tolerance of a candidate's setting matching a held-out run's
OVERLAP_CELLS = 4_000_000  # comparisons held at once by held_out_overlap (memory bound)


class BudgetWarning(UserWarning):
    """A budget fraction of a replay that its start design already spends more than."""


@dataclass
class Pool:
    """A replay pool (see the module docstring).

    name : label; kind : "hyperparams", "loss" or "nopt" (the decision quantity).
    runs : candidate runs (canonical columns, unique index labels; C in FLOPs).
    held_out : the target region's runs (R^2; for "loss" pools also the decision quantity).
    law, fit_options : the law fitted at every step and its bl.fit options.
    targets : the decision targets ours designs for (bayeslaws.design targets).
    truth : DataFrame (label, truth, ...) of the decision quantity's components, in the order
        :func:`decision_table` produces them.
    start_size : runs in the start design; start_cells : the start's runs are spread over this
        many of the cheapest (N, D) cells (LR x batch pools), or 0 for the cheapest runs.
    grid : row labels of the paper's grid in its order, or None.
    simulated : the pool's losses are simulated (labelled so everywhere).
    extrapolation : the method of the scored prediction (None: the one the design values,
        :func:`bayeslaws.design.discrepancy.design_method`); see :attr:`report_method`.
    calibrate_drift : after every fit, update its drift rate with its own scale-out splits
        (:func:`calibrated`), for the design and the scores alike.
    exclusions : runs removed from the pool's source table before the split into candidates
        and held-out runs (:class:`~bayeslaws.runs.table.Exclusion` records: reason and the
        source table's row labels), so the pool keeps that record (Epoch: its 5 highest-loss
        points); () when none were removed. ``note`` says so too.

    A pool is checked when made (:func:`check_pool`): it needs candidate runs, with columns N,
    D and C (C finite and positive) and, when they carry losses, finite ones unless its law
    counts diverged runs; no candidate may have a held-out run's setting (N, D, and lr and
    batch_size where both tables have them), or a strategy could buy the runs it is scored on.
    """

    name: str
    kind: str
    runs: pd.DataFrame
    held_out: pd.DataFrame
    law: str
    targets: list
    truth: pd.DataFrame | None = None
    fit_options: dict = field(default_factory=dict)
    start_size: int = 12
    start_cells: int = 0
    grid: pd.Index | None = None
    simulated: bool = False
    note: str = ""
    extrapolation: str | None = None
    calibrate_drift: bool = False
    exclusions: tuple = ()

    def __post_init__(self):
        check_pool(self)

    @property
    def report_method(self) -> str:
        """The extrapolation method every strategy's fit is scored under."""
        return design_method(self.extrapolation)

    @property
    def compute(self) -> float:
        """The pool's total compute (FLOPs)."""
        return float(self.runs["C"].sum())

    def start(self, seed: int) -> pd.Index:
        """The start design: the cheapest runs (ties in a seeded random order), spread over the
        ``start_cells`` cheapest cells for an LR x batch pool. ``seed``: an integer >= 0
        (ValueError naming ``seed`` otherwise: 1.7 is not read as 1)."""
        rng = np.random.default_rng([check_integer("seed", seed, 0), 17])
        order = self.runs.assign(_r=rng.random(len(self.runs))).sort_values(["C", "_r"])
        if not self.start_cells:
            return order.index[: self.start_size]
        cells = order.groupby(["N", "D"], sort=False).head(self.start_size)
        keys = list(dict.fromkeys(zip(cells["N"], cells["D"], strict=True)))[: self.start_cells]
        per_cell = self.start_size // self.start_cells
        chosen = [cells[(cells["N"] == n) & (cells["D"] == d)].index[:per_cell] for n, d in keys]
        return chosen[0].append(chosen[1:])


# ---- checks ------------------------------------------------------------------------------------
def _shown(labels) -> str:
    """The first :data:`SHOWN_ROWS` of some row ``labels`` for a message, and how many more."""
    labels = list(labels)
    more = f" and {len(labels) - SHOWN_ROWS} more" if len(labels) > SHOWN_ROWS else ""
    return f"{labels[:SHOWN_ROWS]}{more}"


def held_out_overlap(runs: pd.DataFrame, held_out: pd.DataFrame) -> tuple[pd.Index, pd.Index]:
    """(labels of the candidate ``runs``, labels of the ``held_out`` runs) whose settings
    match: the same N (params) and D (tokens), and lr and batch_size (tokens) where both tables
    have the column, each equal within a relative :data:`OVERLAP_RTOL` (two missing values
    match). Both empty when the tables share no setting."""
    keys = ["N", "D"] + [c for c in SETTING_COLUMNS if c in runs and c in held_out]
    cand = runs[keys].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    held = held_out[keys].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    cand_hit = np.zeros(len(cand), bool)
    held_hit = np.zeros(len(held), bool)
    chunk = max(1, OVERLAP_CELLS // max(len(cand) * len(keys), 1))  # bounded memory
    for at in range(0, len(held), chunk):
        same = np.isclose(
            cand[:, None, :], held[None, at : at + chunk, :], rtol=OVERLAP_RTOL, atol=0.0,
            equal_nan=True,
        ).all(axis=2)  # fmt: skip
        cand_hit |= same.any(axis=1)
        held_hit[at : at + chunk] = same.any(axis=0)
    return runs.index[cand_hit], held_out.index[held_hit]


def check_pool(pool: Pool) -> None:
    """Refuse a pool whose runs a campaign cannot spend or fit, or whose candidates include
    the runs it is scored on, naming what is wrong: no candidate run (ValueError naming the
    pool), a missing column of :data:`POOL_COLUMNS` in the runs or of N, D in the held-out runs
    (:class:`~bayeslaws.runs.checks.UnknownNameError`), a C (FLOPs) that is not finite and
    positive, a loss that is not finite, or candidates with a held-out run's setting
    (:func:`held_out_overlap`: a strategy could buy the very runs it is scored on; ValueError
    naming the rows of both tables). A run without a loss (NaN or +inf, a diverged run) is kept
    when the pool's law counts diverged runs (``accepts_missing_loss``: the hyperparams and
    sweep laws); other laws could only fail once a strategy bought it, after its compute was
    spent."""
    runs = pool.runs
    if not isinstance(runs, pd.DataFrame):
        raise ArgumentTypeError(f"pool {pool.name!r}: runs must be a DataFrame, got {type(runs)}")
    if len(runs) == 0:
        raise ValueError(
            f"pool {pool.name!r} has no candidate runs (pool.runs is empty, so its compute is 0 "
            "and no strategy can buy anything): give it the runs a campaign chooses from"
        )
    missing = [c for c in POOL_COLUMNS if c not in runs]
    if missing:
        raise UnknownNameError(
            f"pool {pool.name!r}: runs have no column(s) {missing} (needed: {list(POOL_COLUMNS)}"
            f": N params, D tokens, C FLOPs); its columns are {list(runs.columns)}"
        )
    C = pd.to_numeric(runs["C"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(C) & (C > 0))
    if bad.any():
        raise ValueError(
            f"pool {pool.name!r}: column 'C' (FLOPs) must be finite and positive; it is not at "
            f"rows {_shown(runs.index[bad])}"
        )
    _check_held_out(pool)
    if "loss" not in runs:
        return  # the fit names the missing column
    loss = pd.to_numeric(runs["loss"], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(loss)
    counts_diverged = resolve_law(pool.law).accepts_missing_loss
    if counts_diverged:
        bad &= ~(np.isnan(loss) | np.isposinf(loss))  # a diverged run: the law counts it
    if bad.any():
        needs = (
            "counts a missing or +inf loss as a diverged run, no other non-finite one"
            if counts_diverged
            else "needs a finite loss for every run (a strategy that bought one would fail "
            "after its compute was spent)"
        )
        raise ValueError(
            f"pool {pool.name!r}: column 'loss' is not finite at rows {_shown(runs.index[bad])}; "
            f"law {pool.law!r} {needs}: leave them out of the pool (pool.runs.drop(index=[...]))"
            "; only laws that count diverged runs (hyperparams, sweep) keep a missing loss"
        )


def cells_of(name: str, frame) -> pd.DataFrame:
    """The (N params, D tokens) columns of the argument ``name`` (``frame``, a
    DataFrame), re-indexed 0..n-1; refused naming ``name`` when it is not a DataFrame
    (ArgumentTypeError) or lacks N or D (:class:`~bayeslaws.runs.checks.UnknownNameError`)."""
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(
            f"{name} must be a DataFrame of (N, D) cells, got {type(frame).__name__}"
        )
    missing = [c for c in ("N", "D") if c not in frame]
    if missing:
        raise UnknownNameError(
            f"{name} has no column(s) {missing}: it must hold (N, D) cells (N params, D "
            f"tokens); its columns are {list(frame.columns)}"
        )
    return frame[["N", "D"]].reset_index(drop=True)


def _check_held_out(pool: Pool) -> None:
    """Refuse held-out runs that are not a DataFrame with N and D, or that share a setting with
    a candidate run (:func:`held_out_overlap`), naming the rows of both tables."""
    held = pool.held_out
    cells_of(f"pool {pool.name!r}: held_out", held)  # a DataFrame with N and D
    cands, targets = held_out_overlap(pool.runs, held)
    if len(cands):
        keys = ", ".join(["N", "D"] + [c for c in SETTING_COLUMNS if c in pool.runs and c in held])
        raise ValueError(
            f"pool {pool.name!r}: {len(cands)} candidate run(s) have the setting ({keys})"
            f" of a held-out run, so a strategy could buy the runs it is scored on: candidate "
            f"rows {_shown(cands)} match {len(targets)} held-out row(s) {_shown(targets)}; "
            "leave them out of pool.runs (pool.runs.drop(index=[...])) or out of held_out"
        )


def check_budgets(budgets) -> tuple[float, ...]:
    """``budgets`` (fractions of a pool's compute, each spent by a campaign's step) as a
    tuple of floats, refused (ValueError naming ``budgets``) unless each is a finite number in
    (0, 1] and they strictly increase: a step spends up to its fraction, so a smaller one after
    a larger would label a row with a budget its runs overspent. None at all: the campaigns
    score only their start (:func:`warn_start_only` says so at a replay's call)."""
    budgets = [budgets] if is_real(budgets) else list(budgets)
    for b in budgets:
        if not is_real(b) or not np.isfinite(b) or not 0 < b <= 1:
            raise ValueError(
                f"budgets must be finite fractions of the pool's compute in (0, 1], got {b!r} "
                f"in {budgets}"
            )
    if any(b <= a for a, b in zip(budgets[:-1], budgets[1:], strict=True)):
        raise ValueError(f"budgets must strictly increase (each step spends more), got {budgets}")
    return tuple(float(b) for b in budgets)


def warn_start_only(budgets: tuple) -> None:
    """A :class:`BudgetWarning` naming ``budgets`` when it is empty: a replay then scores only
    each campaign's start design (no run is bought)."""
    if not budgets:
        warnings.warn(
            "budgets is empty: the campaigns buy no run and score only their start design; give "
            "fractions of the pool's compute in (0, 1], e.g. budgets=(0.01, 0.05)",
            BudgetWarning,
            stacklevel=user_stacklevel(),
        )


def check_seeds(seeds) -> list[int]:
    """``seeds`` (one integer or a list of them; a campaign per seed and strategy) as a list of
    ints, refused (ValueError naming ``seeds``) unless non-empty and each an integer >= 0
    (NumPy's generators take no negative seed; 1.7 is not read as 1)."""
    if is_real(seeds) or isinstance(seeds, str | bytes):
        seeds = [seeds]
    try:
        seeds = list(seeds)
    except TypeError:
        raise ArgumentTypeError(
            f"seeds must be a non-empty list of integers >= 0, got {type(seeds).__name__}"
        ) from None
    if not seeds:
        raise ValueError("seeds must be a non-empty list of integers >= 0, got none")
    for s in seeds:
        if not is_integer(s) or s < 0:
            raise ValueError(
                f"seeds must be a non-empty list of integers >= 0, got {s!r} in {seeds}"
            )
    return [int(s) for s in seeds]


def random_fill(costs, budget: float, rng, k: int | None = None) -> np.ndarray:
    """Positions (into ``costs``, FLOPs of each candidate, shape (n,)) of a random batch
    within ``budget`` FLOPs (up to :data:`BUDGET_RTOL`): the candidates in a random order
    (``rng.permutation``), each taken when it fits what is left. ``k=None``: as many as fit.
    ``k``: exactly ``k``, a candidate taken only when the ``k`` can still be completed by the
    cheapest of those after it, so a batch of ``k`` is found whenever one fits (not uniform
    over such batches); none (empty) when no ``k`` fit together."""
    costs = np.asarray(costs, float)
    limit = budget * (1 + BUDGET_RTOL)
    if k is not None and (len(costs) < k or np.sort(costs)[:k].sum() > limit):
        return np.array([], int)
    order = rng.permutation(len(costs))
    picked, spent = [], 0.0
    for at, i in enumerate(order):
        need = 0 if k is None else k - len(picked) - 1
        rest = np.sort(costs[order[at + 1 :]])[:need].sum() if need else 0.0
        if spent + costs[i] + rest <= limit:
            picked.append(i)
            spent += costs[i]
            if k is not None and len(picked) == k:
                break
    return np.array(picked, int)


# ---- pools -------------------------------------------------------------------------------------
def _frame(runs) -> pd.DataFrame:
    df = runs.df.copy()
    df.index = [f"r{i}" for i in range(len(df))]
    return df


def steplaw_pool() -> Pool:
    """Step Law's dense LR x batch sweep (1,911 real runs, ../shared/data): the 15 cells of the
    models up to 0.54B are the pool, the 1.07B model's two cells (165 runs) the target region.
    Decision quantity: eta_opt, B_opt and the loss at the optimum of the held-out cells; the law
    is the joint sweep law (law ``"sweep"``, default options: Chinchilla's surface under optimal
    hyperparameters, each cell's bowl, the optima's power laws, and beyond the fitted cells'
    range the optima's drift). It needs more cells than its surface's 5 parameters, so the
    start design's 24 runs are spread over the 6 cheapest cells (4 runs each; 0.35% of the
    pool's compute). The paper's grid: every cell's full sweep, cheapest cell first."""
    df = _frame(bundled.steplaw_dense())
    df["C"] = 6.0 * df["N"] * df["D"]
    held = np.isclose(df["N"], STEPLAW_HELD_N, rtol=0.01)
    pool, out = df[~held], df[held]
    cells = out[["N", "D"]].drop_duplicates().sort_values("D")
    grid_order = pool.sort_values(["C", "N", "D", "lr", "batch_size"]).index
    return Pool(
        name="steplaw",
        kind="hyperparams",
        runs=pool,
        held_out=out,
        law="sweep",
        fit_options={},
        targets=[
            design.HyperparamOpt(N=cells["N"].to_numpy(), D=cells["D"].to_numpy(), which="all")
        ],
        start_size=24,
        start_cells=6,
        grid=grid_order,
        note="Step Law dense sweep (real); held out N = 1.07e9 (2 cells)",
    )


def steplaw_truth(fit_options: dict | None = None, seed: int = 0) -> pd.DataFrame:
    """The held-out cells' realised optima (whatever law the campaigns fit): a
    hyperparameter-law fit (free level per cell) to all 1,911 runs; per held-out cell the
    posterior median of its own optimum (eta, B) and of its loss at the optimum. Columns:
    label, truth, N, D, quantity."""
    pool = steplaw_pool()
    runs = load_runs(pd.concat([pool.runs, pool.held_out]), allow_missing_loss=True)
    opts = {"chains": 2, "warmup": 500, "draws": 500, **(fit_options or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_law(
            runs,
            "hyperparams",
            far_above=0.03,
            divergence="exclude",
            seed=seed,
            warn=False,
            progress_bar=False,
            **opts,
        )
    optima = fit.law.sweep_optima(fit.posterior())
    level = np.asarray(fit.draws()["level"]) + fit.record.scales["loss"]
    held = [
        c
        for c in np.argsort(optima["D"], kind="stable")
        if np.isclose(optima["N"][c], STEPLAW_HELD_N, rtol=0.01)
    ]
    rows = []
    for quantity, draws in (
        ("eta_opt", optima["log_eta"]),
        ("B_opt", optima["log_B"]),
        ("loss_opt", level),
    ):
        for c in held:
            n, d = float(optima["N"][c]), float(optima["D"][c])
            rows.append(
                {
                    "label": _label(quantity, n, d),
                    "quantity": quantity,
                    "N": n,
                    "D": d,
                    "truth": float(np.exp(np.median(draws[:, c]))),
                }
            )
    return pd.DataFrame(rows)


def _removed_text(exclusions) -> str:
    """'; <n> runs removed before the split: <reason>' for a pool's note, or ''."""
    if not exclusions:
        return ""
    parts = "; ".join(f"{e.count} runs removed before the split: {e.reason}" for e in exclusions)
    return f"; {parts}"


def epoch_pool() -> Pool:
    """Epoch AI's digitised Chinchilla runs (real; ``bundled.epoch_chinchilla()``): C <= 1e21
    is the pool, 217 runs: 222 points lie there, of which the 5 highest-loss points of the data
    set (all at C <= 1e21) are removed as Epoch AI did (recorded in ``Pool.exclusions`` and the
    note). The 23 runs above 1e21 FLOPs are the target region and the decision quantity (their
    losses). No paper grid."""
    train, held = epoch_split()
    removed = tuple(train.exclusions[:-1])  # the last is the split's own (held-out runs)
    pool = _frame(train)
    out = held.copy()
    return Pool(
        name="epoch",
        kind="loss",
        runs=pool,
        held_out=out,
        law="chinchilla",
        fit_options={},
        targets=[design.Loss(N=out["N"].to_numpy(), D=out["D"].to_numpy())],
        truth=pd.DataFrame(
            {
                "label": [_label("loss", n, d) for n, d in zip(out["N"], out["D"], strict=True)],
                "truth": out["loss"].to_numpy(float),
            }
        ),
        start_size=12,
        calibrate_drift=True,
        note="Epoch AI's Chinchilla points (real); held out C > 1e21 (23 runs)"
        + _removed_text(removed),
        exclusions=removed,
    )


def isoflop_pool(name, train, held, *, simulated=False, note="") -> Pool:
    """An isoFLOP pool: the fitted budgets' points are the pool, the held-out budgets the target
    region; decision quantity N_opt at each held-out budget against its empirical vertex (a
    quadratic in ln N); grid: the curves budget by budget, smallest first."""
    pool = _frame(train)
    out = held.copy()
    budgets = np.sort(out["C"].unique())
    vertices = empirical_vertices(out).sort_values("C")
    truth = pd.DataFrame(
        {
            "label": [f"N_opt(C={c:.3g})" for c in vertices["C"]],
            "truth": vertices["N_vertex"].to_numpy(float),
            "lower": vertices["N_vertex_lower"].to_numpy(float),
            "upper": vertices["N_vertex_upper"].to_numpy(float),
        }
    )
    return Pool(
        name=name,
        kind="nopt",
        runs=pool,
        held_out=out,
        law="chinchilla",
        targets=[design.NOpt(C=budgets)],
        truth=truth,
        start_size=12,
        grid=pool.sort_values(["C", "N"]).index,
        simulated=simulated,
        extrapolation=DEFAULT_METHOD,
        note=note,
    )


def porian_pool(config: str = "rw/tuned/short/const") -> Pool:
    """Porian et al.'s isoFLOP points for one configuration (real; selection data): the two
    largest budgets held out."""
    train, held = porian_split(config)
    return isoflop_pool(
        "porian", train, held, note=f"Porian isoFLOP {config} (real); held out 2 largest budgets"
    )


def compendium_pool(source: str, dataset: str | None = None) -> Pool:
    """CONFIRMATION DATA (docs/calibration_protocol.md): the isoFLOP compendium's Llama-3 or
    Marin pool, split as the protocol says. Scored once, after the protocol's confirmation run:
    ``benchmarks/design_replay.py`` runs these only with ``--confirmation``."""
    train, held = compendium_split(source, dataset)
    label = source if dataset is None else f"{source}_{dataset}"
    return isoflop_pool(label, train, held, note=f"isoFLOP compendium {label} (confirmation)")


COMPENDIUM_SHAPES = {
    # budgets (FLOPs), points per budget, held-out budgets: the shapes of the compendium's pools
    # as the calibration protocol describes them (Llama-3: 10 budgets 6e18-1e22, 133 points,
    # > 1e21 held out; Marin: largest budget 3e20 held out, 15 points there)
    "llama_3": (np.geomspace(6e18, 1e22, 10), 13, 2),
    "marin": (np.geomspace(1e18, 3e20, 6), 15, 1),
}


def simulated_isoflop_pool(shape: str = "llama_3", seed: int = 0, noise_sd: float = 0.005):
    """A SIMULATED pool of the compendium's shape (for testing the code path; its truth is
    known): isoFLOP curves of a Chinchilla truth whose exponents bend beyond 3e9 params / 5e10
    tokens (``posterior.splits.simulated_truth_loss``), sizes spread +-0.8 decades around the
    optimum, relative noise ``noise_sd``."""
    budgets, per_budget, n_held = COMPENDIUM_SHAPES[shape]
    rng = np.random.default_rng(seed)
    rows = []
    for C in budgets:
        centre = 0.1 * C**0.5
        for N in centre * np.logspace(-0.8, 0.8, per_budget):
            rows.append((N, C))
    N, C = (np.array(v) for v in zip(*rows, strict=True))
    truth = simulated_truth_loss(N, C / (6 * N), bend=0.1)
    loss = truth * np.exp(noise_sd * rng.standard_normal(truth.shape))
    # C given (D derived), so each curve's points share their budget exactly: C = 6 N D
    # recomputed from N and D differs in the last bits, and the vertices group points by C
    runs = load_runs(pd.DataFrame({"N": N, "C": C, "loss": loss}))
    held = runs.df["C"] >= np.sort(budgets)[-n_held] * (1 - 1e-9)
    train = runs.exclude(held.to_numpy(), "held-out budgets (simulated)")
    return isoflop_pool(
        f"simulated_{shape}",
        train,
        runs.df[held],
        simulated=True,
        note=f"SIMULATED isoFLOP pool of the {shape} compendium shape (bent Chinchilla truth)",
    )


# ---- scores ------------------------------------------------------------------------------------
def _label(quantity: str, N: float, D: float) -> str:
    return f"{quantity}(N={N:.3g}, D={D:.3g})"


def r_squared(actual, predicted) -> float:
    """SL2's R^2: 1 - SS_res / SS_tot, clipped to [-1, 1]."""
    y = np.asarray(actual, float)
    p = np.asarray(predicted, float)
    ss_res = np.sum((y - p) ** 2)
    ss_tot = np.sum((y - y.mean()) ** 2)
    return float(np.clip(1.0 - ss_res / max(ss_tot, 1e-300), -1.0, 1.0))


def held_out_predictions(
    pool: Pool, fit, seed: int = 0, method: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(observed, predicted median) losses of the held-out runs the R^2 is computed on: every
    run with a finite loss (for an LR x batch pool, the converged runs); ``method``: the
    extrapolation method (None: ``pool.report_method``)."""
    method = pool.report_method if method is None else method
    out = pool.held_out
    if pool.kind == "hyperparams":
        out = out[~diverged_flags(out) & np.isfinite(out["loss"])]
        query = query_frame(fit, N=out["N"], D=out["D"], lr=out["lr"], batch_size=out["batch_size"])
        draws = quantity_draws(fit, query, kind="new_run", seed=seed, extrapolation=method)
        level = draws["loss_opt"] if "loss_opt" in draws else draws["loss"]  # at the optimum
        pred = np.median(level * (1.0 + draws["rel_penalty"]), axis=0)
        return out["loss"].to_numpy(float), pred
    table = predict(
        fit, N=out["N"].to_numpy(), D=out["D"].to_numpy(), kind="new_run", seed=seed,
        extrapolation=method,
    )  # fmt: skip
    return out["loss"].to_numpy(float), table["median"].to_numpy(float)


def decision_table(
    pool: Pool, fit, ci: float = 0.9, seed: int = 0, method: str | None = None
) -> pd.DataFrame:
    """The decision quantity's posterior (median, lower, upper of the central ``ci`` interval of
    what a realised value would be) per component, in the order of ``pool.truth``, under the
    extrapolation ``method`` (None: ``pool.report_method``, the prediction the design values)."""
    method = pool.report_method if method is None else method
    if pool.kind == "hyperparams":
        t = pool.targets[0]
        N, D = np.broadcast_arrays(np.atleast_1d(t.N), np.atleast_1d(t.D))
        table = predict(fit, N=N, D=D, kind="new_run", ci=ci, seed=seed, extrapolation=method)
        rows = []
        for q in ("eta_opt", "B_opt", "loss_opt"):
            # the sweep law's loss at the optimum is its primary quantity (columns median, ...)
            prefix = "" if q == "loss_opt" and "loss_opt_median" not in table else f"{q}_"
            for i in range(len(N)):
                rows.append(
                    {
                        "label": _label(q, N[i], D[i]),
                        "median": table[f"{prefix}median"].iloc[i],
                        "lower": table[f"{prefix}lower"].iloc[i],
                        "upper": table[f"{prefix}upper"].iloc[i],
                    }
                )
        return pd.DataFrame(rows)
    if pool.kind == "loss":
        out = pool.held_out
        table = predict(
            fit, N=out["N"].to_numpy(), D=out["D"].to_numpy(), kind="new_run", ci=ci, seed=seed,
            extrapolation=method,
        )  # fmt: skip
        return pd.DataFrame(
            {
                "label": [_label("loss", n, d) for n, d in zip(out["N"], out["D"], strict=True)],
                "median": table["median"].to_numpy(),
                "lower": table["lower"].to_numpy(),
                "upper": table["upper"].to_numpy(),
            }
        )
    C = np.sort(pool.held_out["C"].unique())
    table = optimal_allocation(fit, C=C, ci=ci, seed=seed, extrapolation=method)
    return pd.DataFrame(
        {
            "label": [f"N_opt(C={c:.3g})" for c in C],
            "median": table["N_opt"].to_numpy(),
            "lower": table["N_opt_lower"].to_numpy(),
            "upper": table["N_opt_upper"].to_numpy(),
        }
    )


def _scored_table(pool: Pool, fit, ci: float, method: str) -> tuple[dict, pd.DataFrame]:
    """(error, coverage, half_width; the per-component table) under one ``method``."""
    table = decision_table(pool, fit, ci, method=method).merge(
        pool.truth[["label", "truth"]], on="label"
    )
    if len(table) != len(pool.truth):
        raise RuntimeError(f"pool {pool.name}: decision components do not match the truth")
    table["log_error"] = np.abs(np.log(table["median"] / table["truth"]))
    table["hit"] = (table["lower"] <= table["truth"]) & (table["truth"] <= table["upper"])
    table["half_width"] = 0.5 * np.log(table["upper"] / table["lower"])
    table["extrapolation"] = method
    return {
        "error": float(table["log_error"].mean()),
        "coverage": float(table["hit"].mean()),
        "half_width": float(table["half_width"].median()),
    }, table


def scored_beside(pool: Pool, also=ALSO_SCORED) -> list[str]:
    """The extrapolation methods among ``also`` scored beside the pool's ``report_method``."""
    return [m for m in also if m != pool.report_method]


def score(pool: Pool, fit, ci: float = 0.9, also=ALSO_SCORED) -> tuple[dict, pd.DataFrame]:
    """(summary: r2, error (mean |ln(median / truth)|), coverage (share of truths inside the
    ``ci`` interval), half_width (median ln(upper / lower) / 2) under ``pool.report_method``,
    and ``error_<m>``, ``coverage_<m>``, ``half_width_<m>`` under each other method ``m`` in
    ``also``; per-component table with truth, median, lower, upper, log_error, hit, half_width,
    extrapolation: the reported method's rows first, then those of ``also``)."""
    method = pool.report_method
    y, pred = held_out_predictions(pool, fit, method=method)
    main, table = _scored_table(pool, fit, ci, method)
    summary = {
        "r2": r_squared(y, pred),
        "median_abs_rel_error_heldout": float(np.median(np.abs(pred / y - 1.0))),
        **main,
        "n_components": len(table),
        "extrapolation": method,
    }
    tables = [table]
    for other in scored_beside(pool, also):
        extra, t = _scored_table(pool, fit, ci, other)
        summary.update({f"{k}_{other}": v for k, v in extra.items()})
        tables.append(t)
    return summary, pd.concat(tables, ignore_index=True)


# ---- strategies --------------------------------------------------------------------------------
def _rows_of(plan: pd.DataFrame, cands: pd.DataFrame) -> pd.Index:
    """Candidate row labels of every run of the units a plan picked
    (:func:`~bayeslaws.design.batch.runs_of_plan`), in the candidates' (the pool's) order."""
    picked = runs_of_plan(cands, plan).index
    return cands.index[cands.index.isin(picked)]


def vopt_target(pool: Pool, seed: int = 0):
    """The V-optimal baseline's target: the predicted losses at the settings (N params, D
    tokens; lr and batch size in tokens for an LR x batch pool) of up to ``VOPT_MAX_POINTS``
    held-out runs, sampled (``seed``) from all of them. Only settings are read: a held-out
    run's loss, and whether it diverged (which its loss tells), is outcome information from the
    target region that a baseline must not be given (only the R^2 scoring drops diverged runs,
    :func:`held_out_predictions`)."""
    out = pool.held_out
    if len(out) > VOPT_MAX_POINTS:
        out = out.sample(VOPT_MAX_POINTS, random_state=seed)
    if pool.kind == "hyperparams":
        return design.Loss(
            N=out["N"].to_numpy(),
            D=out["D"].to_numpy(),
            lr=out["lr"].to_numpy(),
            batch_size=out["batch_size"].to_numpy(),
        )
    return design.Loss(N=out["N"].to_numpy(), D=out["D"].to_numpy())


def choose(
    strategy: str,
    pool: Pool,
    fit,
    trained: pd.Index,
    budget: float,
    rng,
    *,
    seed: int = 0,
    max_draws: int | None = 400,
) -> pd.Index:
    """Row labels of the runs ``strategy`` adds within ``budget`` FLOPs (this batch), every
    strategy costing a run by the pool's C (its nominal compute, which may differ from 6ND);
    the guardrails of ours and vopt tell a run's group apart when the pool has groups. The
    design's warnings (``next_runs``: DesignWarning, GuardrailWarning, a budget left unspent)
    reach the caller; a replay records them in its history (column ``design_warnings``,
    :func:`campaign_steps`) and names the steps once at its end (:func:`warn_trouble`)."""
    remaining = pool.runs.drop(index=trained)
    remaining = remaining[remaining["C"] <= budget * (1 + BUDGET_RTOL)]
    if remaining.empty:
        return remaining.index
    if strategy == "random":
        return remaining.index[random_fill(remaining["C"].to_numpy(float), budget, rng)]
    if strategy == "grid":
        if pool.grid is None:
            raise ValueError(f"pool {pool.name!r} has no paper grid")
        order = [i for i in pool.grid if i not in set(trained)]
        picked, spent = [], 0.0
        for i in order:
            c = float(pool.runs.loc[i, "C"])
            if spent + c > budget * (1 + BUDGET_RTOL):
                break
            picked.append(i)
            spent += c
        return pd.Index(picked)
    # every strategy spends the pool's own C (Marin's differs from 6ND by up to 26%): the
    # design costs, budgets and reports its candidates by it (next_runs' flops_column)
    columns = [c for c in ("N", "D", "lr", "batch_size", "group") if c in remaining]
    cands = design.pool_units(fit, remaining[columns].assign(**{POOL_FLOPS: remaining["C"]}))
    done = pool.runs.loc[trained, columns]
    if strategy == "ours":
        plan = design.next_runs(
            fit,
            cands,
            pool.targets,
            k=None,
            budget=budget,
            guardrails=design.Guardrails().after(done),
            seed=seed,
            max_draws=max_draws,
            flops_column=POOL_FLOPS,
        )
    elif strategy == "vopt":
        plan = design.next_runs(
            fit,
            cands,
            vopt_target(pool, seed),
            k=None,
            budget=budget,
            criterion="v_optimal",
            model="none",
            cost_power=VOPT_COST_POWER,
            guardrails=design.Guardrails(ratio_diversity=False).after(done),
            seed=seed,
            max_draws=max_draws,
            flops_column=POOL_FLOPS,
        )
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")
    return _rows_of(plan, cands)


# ---- the replay --------------------------------------------------------------------------------
def _fit(pool: Pool, runs: pd.DataFrame, options: dict, seed: int):
    """``pool.law`` fitted to ``runs`` (pool rows: N params, D tokens, C FLOPs, loss) with the
    bl.fit ``options`` and ``seed``. Its warnings (the sampler checks' among them) reach the
    caller; a replay's campaigns record them (:func:`campaign_steps`, column ``fit_warnings``)."""
    table = load_runs(runs.drop(columns=["C"]), allow_missing_loss=True)
    table.df["C"] = runs["C"].to_numpy(float)
    return fit_law(table, pool.law, seed=seed, progress_bar=False, **options)


@contextlib.contextmanager
def _recording(into: list) -> Iterator[None]:
    """Record the warnings raised inside the block (under the caller's filters) into the list
    ``into`` as ``"Category: message"`` texts instead of showing them: a replay keeps them in
    its history and names them once at its end (:func:`warn_trouble`). When the block raises,
    no row will hold them: they are shown as they came (category and place), then the error
    propagates."""
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    except Exception:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        raise
    into.extend(f"{w.category.__name__}: {w.message}" for w in caught)


WARNING_SEPARATOR = ";"  # joins the texts of a history cell (picked, fit_warnings, ...)


def joined(texts) -> str:
    """``texts`` (row labels or ``"Category: message"`` warning texts) as one history cell,
    joined by :data:`WARNING_SEPARATOR`; "" when there are none."""
    return WARNING_SEPARATOR.join(str(t) for t in texts)


def split_warnings(cell) -> list[str]:
    """The ``"Category: message"`` texts of a ``fit_warnings`` or ``design_warnings`` history
    cell (:func:`joined`; a message may hold "; " itself, so the cell is split only where a
    ``;`` is followed at once by the next text's category, ``<Name>Warning: ``); [] for an
    empty or missing cell."""
    if not isinstance(cell, str) or not cell:
        return []
    return re.split(rf"{re.escape(WARNING_SEPARATOR)}(?=\w*Warning: )", cell)


def _categories(cell) -> str:
    """The categories of a warnings cell for a message: "GuardrailWarning x2, UserWarning"."""
    counts: dict[str, int] = {}
    for text in split_warnings(cell):
        name = text.split(":", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} x{k}" if k > 1 else n for n, k in counts.items())


def _check_campaigns(pool: Pool, strategies, refit: str) -> list[str]:
    """``strategies`` as a list, checked against ``pool`` (and ``refit``, the truth table);
    the pool is checked again (:func:`check_pool`: its runs may have been changed since)."""
    check_pool(pool)
    strategies = [strategies] if isinstance(strategies, str) else list(strategies)
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"strategies: unknown strategy {s!r}; choose from {STRATEGIES}")
        if s == "grid" and pool.grid is None:
            raise ValueError(f"strategies: pool {pool.name!r} has no paper grid")
    if refit not in ("update", "cold"):
        raise ValueError(f"refit must be 'update' or 'cold', got {refit!r}")
    if pool.truth is None:
        raise ValueError(f"pool {pool.name!r} has no truth table (steplaw: steplaw_truth())")
    return strategies


def _fit_options(pool: Pool, sampler: dict | None) -> dict:
    """bl.fit options of every fit of a campaign: NUTS defaults, ``sampler``, the pool's own."""
    return {"chains": 2, "warmup": 200, "draws": 200, **(sampler or {}), **pool.fit_options}


DRIFT_CALIBRATION = dict(discrepancy.DRIFT_CALIBRATION)  # NUTS of the scale-out refits
DRIFT_COLUMNS = (
    "drift_refits",
    "drift_refits_failed",
    "drift_refit_max_r_hat",
    "drift_refit_divergences",
)


def calibrated(pool: Pool, fit, seed: int):
    """``fit``, its drift rate updated (in ``fit.cache``) by its own scale-out splits when
    ``pool.calibrate_drift`` (:func:`bayeslaws.design.discrepancy.calibrate`). The refits'
    SamplerWarning reaches the caller; a replay records it (column ``fit_warnings``), keeps the
    refits' health (:func:`drift_columns`) and names the rows once at its end."""
    if pool.calibrate_drift:
        discrepancy.calibrate(fit, seed=seed, **DRIFT_CALIBRATION)
    return fit


def drift_columns(pool: Pool, fit) -> dict:
    """History columns of the drift calibration of ``fit`` (:data:`DRIFT_COLUMNS`): the number
    of scale-out refits, how many failed their sampler checks, their largest R-hat (NaN when
    none is defined) and their summed divergences, from ``fit.cache["drift"]
    ["refit_diagnostics"]`` (:func:`bayeslaws.posterior.extrapolation.drift.calibrate`). All
    NaN when the pool does not calibrate the drift, or the fit has no refits (its law is not
    widened, or it stores no runs)."""
    if not pool.calibrate_drift:
        return dict.fromkeys(DRIFT_COLUMNS, np.nan)
    refits = (fit.cache.get(drift.CACHE_KEY) or {}).get("refit_diagnostics")
    if refits is None:
        return dict.fromkeys(DRIFT_COLUMNS, np.nan)
    r_hats = np.array([d["max_r_hat"] for d in refits], float)
    r_hats = r_hats[np.isfinite(r_hats)]
    return {
        "drift_refits": len(refits),
        "drift_refits_failed": sum(bool(d["problems"]) for d in refits),
        "drift_refit_max_r_hat": float(r_hats.max()) if len(r_hats) else np.nan,
        "drift_refit_divergences": int(sum(int(d["divergences"]) for d in refits)),
    }


def fit_start(pool: Pool, seed: int, options: dict) -> tuple[pd.Index, object, float]:
    """(row labels of the start design of ``seed``, its fit (:func:`calibrated`), seconds the
    fit took). The fit's warnings reach the caller (a replay records them:
    :func:`_recorded_start`)."""
    start = pool.start(seed)
    t0 = time.perf_counter()
    first = derived_seed(seed, 0)
    fit = calibrated(pool, _fit(pool, pool.runs.loc[start], options, first), first)
    return start, fit, time.perf_counter() - t0


def _recorded_start(pool: Pool, seed: int, options: dict) -> tuple[tuple, list[str]]:
    """(:func:`fit_start`'s triple, the ``"Category: message"`` texts of the warnings the start
    fit and its drift calibration raised): what :func:`campaign_steps` takes as
    ``start_warnings``."""
    caught: list[str] = []
    with _recording(caught):
        start = fit_start(pool, seed, options)
    return start, caught


def _scored(pool: Pool, strategy, seed, budget, trained, fit, seconds) -> tuple[dict, pd.DataFrame]:
    """(the history row, the per-component table) of one scored fit of a campaign; both
    carry ``simulated`` (``pool.simulated``: the pool's losses are simulated)."""
    summary, table = score(pool, fit)
    spent = float(pool.runs.loc[trained, "C"].sum())
    row = {
        "pool": pool.name,
        "simulated": pool.simulated,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        "spent": spent / pool.compute,
        "flops": spent,
        "n_runs": len(trained),
        **summary,
        "divergences": fit.diagnostics.divergences,
        "max_r_hat": fit.diagnostics.max_r_hat,
        "seconds": seconds,
        # appended after the older columns, so stored histories keep their column order
        "min_ess_bulk": fit.diagnostics.min_ess_bulk,
        "sampler_ok": fit.diagnostics.ok,
    }
    # simulated appended after the older columns, so stored component tables keep their order
    components = table.assign(
        pool=pool.name, strategy=strategy, seed=seed, budget=budget, simulated=pool.simulated
    )
    return row, components


def _step_columns(pool: Pool, fit, picked, fit_warnings, design_warnings) -> dict:
    """The history columns a campaign step appends after :func:`_scored`'s (so stored
    histories keep their column order): ``picked`` (the pool row labels bought at this step:
    the start design on the start's row), ``fit_warnings`` and ``design_warnings`` (the
    ``"Category: message"`` texts of the step's fit and drift calibration, and of its design),
    each :func:`joined`, then :func:`drift_columns`."""
    return {
        "picked": joined(picked),
        "fit_warnings": joined(fit_warnings),
        "design_warnings": joined(design_warnings),
        **drift_columns(pool, fit),
    }


def _percent(budget) -> str:
    """A budget fraction as a percentage for a message: 0.05 -> "5%", 0.005 -> "0.5%"."""
    return f"{100 * float(budget):.3g}%"


def step_name(row) -> str:
    """A history row's campaign step for a message: pool, strategy, seed and budget ("at an
    unknown step" for a failure row whose budget is NaN: the task failed outside its steps)."""
    budget = row.get("budget")
    at = (
        f"budget {_percent(budget)}"
        if is_real(budget) and np.isfinite(budget)
        else "at an unknown step"
    )
    return f"{row['pool']} {row['strategy']} seed {row['seed']} {at}"


FAILURE_COLUMN = "failure"  # a failed campaign's last row: its error (absent when none failed)
FAILURE_TRACEBACK = "failure_traceback"  # and that error's traceback ("" for a task's text)


def failure_text(error) -> str:
    """The one-line text of the error that stopped a campaign: ``"Type: first line of the
    message"``; ``error``: an exception, or the ``"Type: message"`` text of a failed batch task
    (:class:`~bayeslaws.inference.batch.TaskResult`)."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    lines = text.strip().splitlines()
    return lines[0] if lines else type(error).__name__


def failure_row(pool: Pool, strategy: str, seed: int, budget: float, error) -> dict:
    """The history row of a campaign that ``error`` stopped at the step of ``budget`` (the
    fraction of the pool's compute; 0.0: the start fit; NaN: unknown, its task failed outside
    the steps, e.g. its worker died): pool, simulated, strategy, seed, budget and
    :data:`FAILURE_COLUMN` (:func:`failure_text`); no scores (NaN in a table). The steps
    scored before it keep their rows."""
    return {
        "pool": pool.name,
        "simulated": pool.simulated,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        FAILURE_COLUMN: failure_text(error),
        # the whole traceback, which a worker's caught error would otherwise lose
        FAILURE_TRACEBACK: (
            "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else ""
        ),
    }


def _is_failure(value) -> bool:
    """Whether a history row's :data:`FAILURE_COLUMN` value records a failure (non-empty text;
    NaN on the scored rows of a history with failures)."""
    return isinstance(value, str) and bool(value)


def failure_of(row) -> str | None:
    """A history row's failure text (:func:`failure_row`), or None for a scored row."""
    value = row.get(FAILURE_COLUMN)
    return value if _is_failure(value) else None


def _failure_flags(history: pd.DataFrame) -> pd.Series:
    """Per row of a replay ``history``: whether it is a failure row (:func:`failure_of`); all
    False for a history without the column (nothing failed, or written before it existed)."""
    if FAILURE_COLUMN not in history:
        return pd.Series(False, index=history.index)
    return history[FAILURE_COLUMN].map(_is_failure).astype(bool)


def scored_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of a replay ``history`` that score a fit (its failure rows left out)."""
    return history[~_failure_flags(history)]


def failure_lines(history: pd.DataFrame) -> list[str]:
    """One line per failed campaign of a replay ``history`` (its failure row,
    :func:`failure_row`): pool, strategy, seed, the step it stopped at and the error; empty
    when none failed (or for rows stored before failures were recorded)."""
    return [f"{step_name(r)}: {r[FAILURE_COLUMN]}" for r in failed_rows(history).to_dict("records")]


def failed_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The failure rows of a replay ``history`` (:func:`failure_row`), one per failed campaign;
    empty when none failed."""
    return history[_failure_flags(history)]


def _failed(value) -> bool:
    """Whether a ``sampler_ok`` cell says the fit failed (a bool False; NaN or missing: no)."""
    return isinstance(value, bool | np.bool_) and not value


def r_hat_text(r_hat) -> str:
    """An R-hat for a message: three significant digits, or n/a (NaN: one chain, too few
    draws)."""
    return f"{r_hat:.3g}" if np.isfinite(r_hat) else "n/a (one chain, or undefined)"


def _count(value) -> int:
    """A count cell (NaN or missing: 0)."""
    return int(value) if is_real(value) and np.isfinite(value) else 0


def describe(row: dict) -> str:
    """One log line for a history row (a failure row: its step and error); it ends with the
    fit's trouble when there is any: "sampler FAILED" (``sampler_ok`` False), failed drift
    refits, and how many warnings the fit and the design raised (texts in the history columns
    ``fit_warnings``, ``design_warnings``)."""
    failure = failure_of(row)
    if failure is not None:
        return f"{step_name(row)}: FAILED, the campaign stopped there: {failure}"
    line = (
        f"{row['pool']} {row['strategy']} seed {row['seed']} budget {row['budget']:.0%}: "
        f"{row['n_runs']} runs, {row['spent']:.3%} spent, R2 {row['r2']:.3f}, error "
        f"{row['error']:.4f}, coverage {row['coverage']:.2f} ({row['seconds']:.0f} s)"
    )
    notes = []
    if _failed(row.get("sampler_ok")):
        notes.append(
            f"sampler FAILED (max R-hat {r_hat_text(row.get('max_r_hat', np.nan))}, min bulk "
            f"ESS {row.get('min_ess_bulk', np.nan):.0f}, {_count(row.get('divergences'))} "
            "divergences)"
        )
    if _count(row.get("drift_refits_failed")):
        notes.append(
            f"drift refits FAILED: {_count(row['drift_refits_failed'])} of "
            f"{_count(row.get('drift_refits'))}"
        )
    for column, what in (("fit_warnings", "fit"), ("design_warnings", "design")):
        n = len(split_warnings(row.get(column)))
        if n:
            notes.append(f"{n} {what} warning{'s' if n > 1 else ''}")
    return f"{line}; {', '.join(notes)}" if notes else line


def campaign_steps(
    pool: Pool,
    strategy: str,
    seed: int,
    start: tuple,
    *,
    budgets=BUDGETS,
    options: dict,
    refit: str = "update",
    max_draws: int | None = 400,
    start_warnings=(),
) -> Iterator[tuple[dict, pd.DataFrame]]:
    """One strategy's campaign from ``start`` (:func:`fit_start`'s triple): yields the scored
    start, then after each budget fraction of the pool's compute (spent in one batch, refitted
    by ``fit.update`` or cold) its (history row, component table) as :func:`_scored`, the row
    followed by :func:`_step_columns`: the runs bought (the start's row: the start design), the
    warnings of the step's fit and drift calibration (the start's row: ``start_warnings``, the
    texts :func:`_recorded_start` recorded; a refit's: recorded here) and of its design
    (:func:`choose`), and the drift refits' health. Those warnings are recorded, not shown:
    :func:`replay` and :func:`replay_many` name the rows once at their end
    (:func:`warn_trouble`). ``budgets`` are checked (:func:`check_budgets`); a
    :class:`BudgetWarning` names those the start already spends more than (their rows score
    the start, ``spent`` above ``budget``)."""
    budgets = check_budgets(budgets)
    trained, fit, seconds = start
    total = pool.compute
    warn_overspent(pool, seed, trained, budgets)
    row, table = _scored(pool, strategy, seed, 0.0, trained, fit, seconds)
    yield {**row, **_step_columns(pool, fit, trained, start_warnings, ())}, table
    rng = np.random.default_rng([seed, 1 + STRATEGIES.index(strategy)])
    for step, fraction in enumerate(budgets, start=1):
        t0 = time.perf_counter()
        left = fraction * total - float(pool.runs.loc[trained, "C"].sum())
        design_warnings: list[str] = []
        fit_warnings: list[str] = []
        new = pd.Index([])
        if left > 0:
            with _recording(design_warnings):
                new = choose(
                    strategy, pool, fit, trained, left, rng, seed=seed, max_draws=max_draws
                )
        if len(new):
            trained = trained.append(new)
            with _recording(fit_warnings):
                if refit == "update":
                    fit = fit.update(_run_table(pool.runs.loc[new]), seed=derived_seed(seed, step))
                else:
                    fit = _fit(pool, pool.runs.loc[trained], options, derived_seed(seed, step))
                fit = calibrated(pool, fit, derived_seed(seed, step))
        row, table = _scored(pool, strategy, seed, fraction, trained, fit, time.perf_counter() - t0)
        yield {**row, **_step_columns(pool, fit, new, fit_warnings, design_warnings)}, table


def _listed(items: list[str]) -> tuple[str, str]:
    """(" (the first 10)" when ``items`` are more than :data:`SHOWN_ROWS`, else ""; the first
    :data:`SHOWN_ROWS` of them joined by "; ") for a message."""
    first = f" (the first {SHOWN_ROWS})" if len(items) > SHOWN_ROWS else ""
    return first, "; ".join(items[:SHOWN_ROWS])


def _sampler_trouble(history: pd.DataFrame, label: str) -> str | None:
    """The SamplerWarning text of a replay ``history``: the rows whose fit failed the sampler
    checks (``sampler_ok`` False) and those whose drift calibration rests on failed scale-out
    refits (``drift_refits_failed`` above 0), each named by pool, strategy, seed and budget;
    None when there are none."""
    sentences = []
    if "sampler_ok" in history:
        bad = history[history["sampler_ok"].map(_failed)]
        if len(bad):
            first, items = _listed(
                [
                    f"{step_name(r)}: max R-hat {r_hat_text(r.get('max_r_hat', np.nan))}, min "
                    f"bulk ESS {r.get('min_ess_bulk', np.nan):.0f}, "
                    f"{_count(r.get('divergences'))} divergences"
                    for r in bad.to_dict("records")
                ]
            )
            sentences.append(
                f"{len(bad)} of {len(history)} history rows score a fit that failed the sampler "
                f"checks, so their scores rest on unreliable draws{first}: {items}. See the "
                "history columns sampler_ok, max_r_hat, min_ess_bulk, divergences and "
                "fit_warnings; more draws: sampler={'warmup': ..., 'draws': ...}."
            )
    if "drift_refits_failed" in history:
        failed = pd.to_numeric(history["drift_refits_failed"], errors="coerce")
        bad = history[failed > 0]
        if len(bad):
            first, items = _listed(
                [
                    f"{step_name(r)}: {_count(r['drift_refits_failed'])} of "
                    f"{_count(r.get('drift_refits'))} refits failed, max R-hat "
                    f"{r_hat_text(r.get('drift_refit_max_r_hat', np.nan))}, "
                    f"{_count(r.get('drift_refit_divergences'))} divergences"
                    for r in bad.to_dict("records")
                ]
            )
            sentences.append(
                f"{len(bad)} of {int(failed.notna().sum())} history rows score a fit whose drift "
                f"rate was calibrated on scale-out refits that failed their sampler checks, so "
                f"its drift intervals rest on unreliable refits{first}: {items}. See the history "
                "columns drift_refits_failed, drift_refit_max_r_hat, drift_refit_divergences and "
                "fit_warnings; more refit draws: replay.DRIFT_CALIBRATION."
            )
    return f"{label}: {' '.join(sentences)}" if sentences else None


def _warnings_trouble(history: pd.DataFrame, column: str, label: str, what: str) -> str | None:
    """The text naming the rows of ``history`` whose ``column`` (``fit_warnings`` or
    ``design_warnings``) holds warnings (for ``fit_warnings``: other than the SamplerWarnings
    :func:`_sampler_trouble` covers), their categories, and the first text in full; None when
    there are none. ``what``: what raised them, for the message."""
    if column not in history:
        return None
    rows, texts = [], []
    for r in history.to_dict("records"):
        found = split_warnings(r[column])
        if column == "fit_warnings":
            found = [t for t in found if not t.startswith(f"{SamplerWarning.__name__}: ")]
        if found:
            rows.append(f"{step_name(r)} ({_categories(WARNING_SEPARATOR.join(found))})")
            texts.append(found[0])
    if not rows:
        return None
    first, items = _listed(rows)
    return (
        f"{label}: {what} warned at {len(rows)} of {len(history)} history rows (the texts in the "
        f"history column {column}){first}: {items}. The first: {texts[0]}"
    )


def warn_trouble(history: pd.DataFrame, label: str) -> None:
    """At the end of a replay (``label``: "replay" or "replay_many"), one warning per kind of
    trouble its ``history`` recorded, each naming the rows (pool, strategy, seed, budget):
    a :class:`~bayeslaws.inference.diagnostics.SamplerWarning` for fits that failed the
    sampler checks and drift calibrations resting on failed refits (:func:`_sampler_trouble`);
    a :class:`~bayeslaws.design.DesignWarning` for the steps whose design (``next_runs``)
    warned (column ``design_warnings``); a UserWarning for the fits' other warnings (column
    ``fit_warnings``). Nothing when all is well."""
    if history.empty:
        return
    found = [
        (SamplerWarning, _sampler_trouble(history, label)),
        (DesignWarning, _warnings_trouble(history, "design_warnings", label, "next_runs")),
        (
            UserWarning,
            _warnings_trouble(
                history, "fit_warnings", label, "the fits (besides their sampler checks)"
            ),
        ),
    ]
    for category, text in found:
        if text:
            warnings.warn(text, category, stacklevel=user_stacklevel())


def warn_overspent(pool: Pool, seed: int, start: pd.Index, budgets) -> None:
    """A :class:`BudgetWarning` when the ``start`` design (row labels of seed ``seed``)
    already spends more than some of ``budgets`` (fractions of the pool's compute): those
    steps buy nothing and their rows score the start."""
    spent = float(pool.runs.loc[start, "C"].sum()) / pool.compute
    below = [b for b in budgets if b * (1 + BUDGET_RTOL) < spent]
    if below:
        warnings.warn(
            f"pool {pool.name!r} seed {seed}: the start design already spends {spent:.4%} of the "
            f"pool's compute, more than budgets {below}: their steps buy nothing and their rows "
            "score the start (spent above budget); give budgets above the start's spend",
            BudgetWarning,
            stacklevel=user_stacklevel(),
        )


class CampaignError(RuntimeError):
    """Campaigns of :func:`replay_many` failed (the message names each: pool, strategy, seed,
    the budget of the step it stopped at, the error). What finished is in its ``history`` and
    ``components`` (set when raised): every step scored before a failure, and per failed
    campaign a row with its error (column :data:`FAILURE_COLUMN`, :func:`failure_row`)."""


def _concat(frames) -> pd.DataFrame:
    """The non-empty ``frames`` concatenated (new index); an empty DataFrame when none."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _started_steps(
    pool: Pool, strategy: str, seed: int, options: dict, shared: dict, **steps
) -> Iterator[tuple[dict, pd.DataFrame]]:
    """:func:`campaign_steps` of ``strategy`` (``steps``: its keyword options) from the start
    fit of ``seed``, fitted on first use and kept in ``shared`` (a dict: the strategies of a
    seed share it in :func:`replay`); the fit runs inside the generator, so that its failure is
    the campaign's first step's (:func:`_guarded_steps`)."""
    if "start" not in shared:
        shared["start"] = _recorded_start(pool, seed, options)
    start, start_warnings = shared["start"]
    yield from campaign_steps(
        pool, strategy, seed, start, options=options, start_warnings=start_warnings, **steps
    )


def _guarded_steps(
    pool: Pool, strategy: str, seed: int, budgets: tuple, steps: Iterator
) -> Iterator[tuple[dict, pd.DataFrame | None, Exception | None]]:
    """(history row, component table, None) per scored step of a campaign's ``steps``
    (:func:`_started_steps`); when a step raises, a last (:func:`failure_row` at the budget of
    that step: 0.0 for the start, then ``budgets`` in turn, None, the error) and no more. An
    error of the caller's own code between steps (its log, its checkpoint) is not caught."""
    done = 0
    try:
        for row, table in steps:
            yield row, table, None
            done += 1
    except Exception as error:  # the campaign stops; the caller keeps its rows, then raises
        budget = (0.0, *budgets)[min(done, len(budgets))]
        yield failure_row(pool, strategy, seed, budget, error), None, error


def replay(
    pool: Pool,
    strategies=STRATEGIES,
    seeds=(0,),
    *,
    budgets=BUDGETS,
    sampler: dict | None = None,
    refit: str = "update",
    max_draws: int | None = 400,
    log=None,
    checkpoint=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replay campaigns on ``pool``, in this process: per seed, the start design is fitted
    once; each strategy then spends up to each budget fraction of the pool's compute in one
    batch, refits (by ``fit.update``, or ``refit="cold"``: a new fit) and is scored.
    ``fit.update`` warm-starts only where the law re-expresses its posterior on the new
    reference scales (the loss-surface laws, ``hyperparams``); for law ``sweep`` (the Step Law
    pool's) it is a cold refit with the fit's own warm-up. ``budgets``: strictly increasing
    fractions in (0, 1] (:func:`check_budgets`, checked before any fit).

    Returns (history: one row per pool, strategy, seed and budget with the spent fraction, the
    number of runs, r2, error, coverage, divergences, max_r_hat, seconds, min_ess_bulk, sampler_ok
    (False when the fit failed the sampler checks), then picked (the pool row labels bought at
    that step, ";"-joined; the start's row: the start design), fit_warnings and design_warnings
    (the ``"Category: message"`` texts of the warnings of the step's fit and drift calibration,
    and of its design, ";"-joined: :func:`split_warnings`; "" when none) and the drift
    calibration's refits (:data:`DRIFT_COLUMNS`, NaN when the pool does not calibrate the
    drift); components: the per-component table of every scored fit, with its pool, strategy,
    seed, budget and simulated). Both tables label a pool's simulated data (column
    ``simulated``, ``pool.simulated``). ``checkpoint(history, components)`` is called after
    every scored fit, ``log(line)`` with a line per scored fit (:func:`describe`: it says
    "sampler FAILED" for a fit that failed its checks). ``seeds``: a non-empty list of integers
    >= 0 (:func:`check_seeds`).

    The fits' and designs' warnings are recorded in the history, not shown as they come; at the
    end one warning per kind names the rows they came from (:func:`warn_trouble`): one
    SamplerWarning for the fits that failed the sampler checks and the drift calibrations
    resting on failed refits, one DesignWarning for the designs that warned, one UserWarning
    for the fits' other warnings.

    A step that raises stops the replay: its campaign's failure row (:func:`failure_row`:
    the step's budget and the error's text, column ``failure``) is logged and checkpointed
    after the rows already scored, the recorded trouble is named (:func:`warn_trouble`), and
    the error propagates with a note and what finished as its ``history`` and ``components``.
    """
    strategies = _check_campaigns(pool, strategies, refit)
    seeds = check_seeds(seeds)
    budgets = check_budgets(budgets)
    warn_start_only(budgets)
    options = _fit_options(pool, sampler)
    history, components = [], []
    for seed in seeds:
        shared: dict = {}  # the seed's start fit, shared by its strategies
        for strategy in strategies:
            steps = _started_steps(
                pool, strategy, seed, options, shared, budgets=budgets, refit=refit,
                max_draws=max_draws,
            )  # fmt: skip
            for row, table, error in _guarded_steps(pool, strategy, seed, budgets, steps):
                history.append(row)
                if table is not None:
                    components.append(table)
                if log is not None:
                    log(describe(row))
                if checkpoint is not None:
                    checkpoint(pd.DataFrame(history), _concat(components))
                if error is not None:
                    done = pd.DataFrame(history)
                    warn_trouble(scored_rows(done), "replay")
                    error.add_note(
                        f"replay: {describe(row)}. What finished is this error's .history and "
                        ".components (history column failure marks the failed step)."
                    )
                    error.history, error.components = done, _concat(components)
                    raise error
    history = pd.DataFrame(history)
    warn_trouble(history, "replay")
    return history, _concat(components)


# ---- many campaigns as a batch -----------------------------------------------------------------
@dataclass(frozen=True)
class CampaignTask:
    """One (strategy, seed) campaign of :func:`replay_many` (what a worker gets).

    pool : a :class:`Pool`, or a picklable function of no arguments returning one (a module-level
        function or a ``functools.partial`` of one: the worker builds the pool itself).
    budgets : fractions of the pool's compute; sampler, refit, max_draws : as :func:`replay`.
    """

    pool: object
    strategy: str
    seed: int
    budgets: tuple = BUDGETS
    sampler: dict | None = None
    refit: str = "update"
    max_draws: int | None = 400


def _resolve_pool(pool) -> Pool:
    """``pool``, or what the factory ``pool()`` returns, checked to be a :class:`Pool`."""
    made = pool() if callable(pool) and not isinstance(pool, Pool) else pool
    if not isinstance(made, Pool):
        raise ArgumentTypeError(
            f"pool must be a replay.Pool or a function returning one, got {type(made).__name__}"
        )
    return made


def run_campaign(task: CampaignTask) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a worker runs for :func:`replay_many`: one strategy's campaign for one seed, from
    its own start fit. Returns (history rows, component table) as :func:`replay` does. A step
    that raises (the start fit included) stops the campaign without raising: the steps scored
    before it keep their rows and a last row records the failure (:func:`failure_row`: the
    step's budget and the error's text, column ``failure``); :func:`replay_many` raises it."""
    pool = _resolve_pool(task.pool)
    options = _fit_options(pool, task.sampler)
    budgets = check_budgets(task.budgets)
    steps = _started_steps(
        pool, task.strategy, task.seed, options, {}, budgets=budgets, refit=task.refit,
        max_draws=task.max_draws,
    )  # fmt: skip
    rows, tables = [], []
    for row, table, _ in _guarded_steps(pool, task.strategy, task.seed, budgets, steps):
        rows.append(row)
        if table is not None:
            tables.append(table)
    return pd.DataFrame(rows), _concat(tables)


def _campaign_tables(result, pool: Pool, seed: int, strategy: str) -> tuple:
    """(history, components) of one campaign's batch ``result``: what :func:`run_campaign`
    returned, or for a task that failed outside its steps (its worker died, its pool could not
    be made) a :func:`failure_row` at an unknown step (budget NaN) and no components."""
    if result.ok:
        return result.value
    return pd.DataFrame([failure_row(pool, strategy, seed, np.nan, result.error)]), pd.DataFrame()


def _in_order(finished: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history and component tables of the finished campaigns (``finished``: task index
    -> (history, components)), in task order."""
    tables = [finished[i] for i in sorted(finished)]
    return _concat([h for h, _ in tables]), _concat([c for _, c in tables])


def replay_many(
    pool: Pool | Callable[[], Pool],
    strategies=STRATEGIES,
    seeds=(0,),
    *,
    budgets=BUDGETS,
    sampler: dict | None = None,
    refit: str = "update",
    max_draws: int | None = 400,
    executor=None,
    workers: int | None = None,
    retries: int = 1,
    show_progress: bool = True,
    log=None,
    checkpoint=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The campaigns of :func:`replay` as a batch: one task per (strategy, seed) through
    :func:`~bayeslaws.inference.batch.map_tasks`'s machinery (:func:`run_campaign`).

    ``pool``: a :class:`Pool` or a picklable function returning one (called once here to check
    the strategies, and in every task). ``executor``: None runs the campaigns in this process
    one by one (or, with ``workers=n``, on n local worker processes); a Dask ``Client`` or any
    ``concurrent.futures`` executor spreads them. Each task fits its own start design (the fit
    :func:`replay` shares between a seed's strategies, with the same seed: the same fit).

    Returns (history, components) as :func:`replay`: the campaigns' tables concatenated in the
    order seed by seed, strategy by strategy, whatever order they finished in. As each campaign
    finishes, ``log(line)`` gets a line per history row and ``checkpoint(history, components)``
    the finished campaigns' tables (in that order). A campaign whose step raised keeps the
    steps scored before it, and a last row with the error (:func:`failure_row`, column
    ``failure``: the budget of the step it stopped at), and is not retried (the same seeds
    fail it the same way); a task that failed otherwise (after ``retries``: its worker died)
    gets such a row at an unknown step (budget NaN). After the others finished, one
    :class:`CampaignError` (a RuntimeError) names every failed campaign, with the tables of
    what finished as its ``history`` and ``components``. ``seeds``: a non-empty list of
    integers >= 0 (:func:`check_seeds`).

    The warnings the campaigns raised (e.g. :class:`BudgetWarning`, an extrapolation's) are
    raised again here after the batch, each with its category, prefixed with its campaign's
    name (:func:`~bayeslaws.inference.batch.warn_again`), failed campaigns' too; those of their
    fits and designs, recorded in the history as :func:`replay` records them, are named once
    per kind for the scored rows (:func:`warn_trouble`), before a failure is raised. An error in
    ``log`` or ``checkpoint`` stops the campaigns still running (local worker processes are
    terminated) before it propagates.
    """
    resolved = _resolve_pool(pool)
    strategies = _check_campaigns(resolved, strategies, refit)
    seeds = check_seeds(seeds)
    budgets = check_budgets(budgets)
    warn_start_only(budgets)
    pairs = [(seed, strategy) for seed in seeds for strategy in strategies]
    tasks = [
        CampaignTask(pool, strategy, seed, tuple(budgets), sampler, refit, max_draws)
        for seed, strategy in pairs
    ]
    if executor is None and workers is None:
        executor = InProcessExecutor()
    results = iter_map_tasks(
        run_campaign,
        tasks,
        executor,
        names=[f"{resolved.name} {strategy} seed {seed}" for seed, strategy in pairs],
        workers=workers,
        retries=retries,
        show_progress=show_progress,
        label="replay_many",
    )
    ended, finished = {}, {}
    # closed on the way out: an error in log or checkpoint stops the campaigns still running
    # (their worker processes), not left to the generator's garbage collection
    with contextlib.closing(results):
        for result in results:
            ended[result.index] = result
            finished[result.index] = _campaign_tables(result, resolved, *pairs[result.index])
            if log is not None:
                for row in finished[result.index][0].to_dict("records"):
                    log(describe(row))
            if checkpoint is not None:
                checkpoint(*_in_order(finished))
    batch = BatchResult([ended[i] for i in sorted(ended)], label="replay_many", noun="campaigns")
    warn_again(batch, "replay_many")  # as replay shows them (the campaign named), not lost
    history, components = _in_order(finished)
    # the finished campaigns' recorded trouble, once
    warn_trouble(scored_rows(history), "replay_many")
    named = failure_lines(history)
    if named:
        error = CampaignError(
            f"replay_many: {len(named)} of {len(tasks)} campaigns failed: {'; '.join(named)}. What "
            "finished is this error's .history and .components (the steps scored before each "
            "failure are kept; history column failure marks the failed campaigns' rows)."
        )
        error.history, error.components = history, components
        raise error
    return history, components


def _run_table(rows: pd.DataFrame):
    table = load_runs(rows.drop(columns=["C"]), allow_missing_loss=True)
    table.df["C"] = rows["C"].to_numpy(float)
    return table
