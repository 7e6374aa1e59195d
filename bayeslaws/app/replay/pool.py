"""The replay pool record: :class:`Pool` (candidate runs, held-out target region, decision
quantity, start design, paper grid) and the checks it passes when made (:func:`check_pool`):
candidate runs with N, D and C, finite losses unless the law counts diverged runs, and no
candidate with a held-out run's setting (:func:`held_out_overlap`), which :func:`cells_of`
and the constants here (columns, tolerances, rows an error names) serve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...design.discrepancy import design_method
from ...laws import resolve_law
from ...runs.checks import ArgumentTypeError, UnknownNameError, check_integer

KINDS = ("hyperparams", "loss", "nopt")  # what a pool's decision quantity is
POOL_COLUMNS = ("N", "D", "C")  # what every pool's runs need (params, tokens, FLOPs)
SHOWN_ROWS = 10  # row labels an error names
SETTING_COLUMNS = ("lr", "batch_size")  # besides N, D: what tells two runs' settings apart
OVERLAP_RTOL = 1e-9  # relative tolerance of a candidate's setting matching a held-out run's
OVERLAP_CELLS = 4_000_000  # comparisons held at once by held_out_overlap (memory bound)


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
