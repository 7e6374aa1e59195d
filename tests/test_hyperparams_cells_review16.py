"""Law 'hyperparams''s cells as its prepare reports them, as law 'sweep' does
(test_sweep_cells_review16.py): near-equal N (or D) values at one D (resp. N) that make separate
cells (D computed per run) are warned and noted, while the cells stay those of CELL_RTOL; cells
whose converged runs vary lr or batch size over fewer than 3 values are named; the bundled sweep
and Step Law's N < 1e9 cells (defaults and paper_repro's options) say neither.

Everything runs without sampling; every table is SIMULATED except Step Law (skipped when
../shared/data is absent).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from conftest import cell_rows, per_run, prepared_told, said, shared_or_skip, small_cell_sweep

import bayeslaws as bl
from bayeslaws.laws import get_law
from bayeslaws.laws.hyperparams import data as hp_data

SPLIT = "make separate cells"
THIN = "over fewer than 3 values among their converged runs"
PREFIX = "law 'hyperparams': "


def prepare_runs(runs, **options):
    """Law 'hyperparams' (with ``options``) prepare of ``runs``, with the PlausibilityWarnings
    it gave."""
    law = get_law("hyperparams").configure(**options)
    if options.get("divergence") == "exclude":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs = hp_data.exclude_diverged(law, runs)  # as a fit does before prepare
    return prepared_told(law, runs)


def prepare(df: pd.DataFrame):
    return prepare_runs(bl.load_runs(df))


# ---- near-equal values that split cells --------------------------------------------------------
def test_d_computed_per_run_is_warned_and_noted_but_the_cells_stay():
    """D computed per run: each batch size is its own cell, and prepare says so under the
    law's own name, with the near-equal values, how many cells they make and the fix."""
    df = per_run(small_cell_sweep(), "D")
    n_split = df.groupby(["N", "D"]).ngroups
    n_sets = small_cell_sweep().groupby(["N", "D"]).ngroups
    prepared, told = prepare(df)
    assert len(prepared.state["cells"]["N"]) == n_split  # the cells are not merged
    (message,) = said(told, SPLIT)
    assert message.startswith(f"{PREFIX}D (tokens) values within 1% of each other")
    made = f"{n_sets} sets of near-equal D make {n_split} cells (one per set would make {n_sets})"
    assert made in message
    first = df[df["N"] == df["N"].min()]["D"].min()
    assert f"{first:.8g}" in message
    assert "round it" in message and "df['D']" in message
    assert message.removeprefix(PREFIX) in prepared.notes
    # one batch size per split cell: named once, sweep-wide, not cell by cell
    assert said(told, "varies 'batch_size'") and not said(told, THIN)


def test_near_equal_n_is_named_as_n():
    (message,) = said(prepare(per_run(small_cell_sweep(), "N"))[1], SPLIT)
    assert "N (params) values within 1% of each other at the same D" in message
    assert "D (tokens) values" not in message


def test_the_suggested_rounding_gives_one_cell_per_budget():
    df = per_run(small_cell_sweep(), "D")
    df["D"] = df["D"].map(lambda v: float(f"{v:.3g}"))
    prepared, told = prepare(df)
    assert not said(told, SPLIT)
    assert len(prepared.state["cells"]["N"]) == small_cell_sweep().groupby(["N", "D"]).ngroups


# ---- cells that sweep too few values -----------------------------------------------------------
def test_a_cell_with_two_learning_rates_is_named():
    """One cell keeps two of its three learning rates: warned and noted, naming that cell and
    'lr' (not 'batch_size', swept in every cell)."""
    df = small_cell_sweep()
    mask = cell_rows(df, 4)
    top = df.loc[mask, "lr"].max()
    df = df[~(mask & (df["lr"] == top).to_numpy())]
    prepared, told = prepare(df)
    (message,) = said(told, THIN)
    n, d = df[cell_rows(df, 4)][["N", "D"]].iloc[0]
    n_cells = df.groupby(["N", "D"]).ngroups
    assert message.startswith(f"{PREFIX}1 of {n_cells} (N, D) cells")
    assert f"(N={n:.4g}, D={d:.4g}: 2 lr, 3 batch_size, 6 runs)" in message
    assert "vary 'lr' over" in message and "eta_opt comes" in message
    assert message.removeprefix(PREFIX) in prepared.notes


def test_censored_runs_do_not_count_as_swept():
    """A cell whose top learning rate diverged (censored, not converged) sweeps 2 lr values
    among its converged runs: named, with its converged runs counted."""
    df = small_cell_sweep()
    mask = cell_rows(df, 2)
    top = mask & (df["lr"] == df.loc[mask, "lr"].max()).to_numpy()
    df["diverged"] = top
    prepared, told = prepare(df)
    assert int(np.asarray(prepared.data["censored"]).sum()) == int(top.sum())
    (message,) = said(told, THIN)
    n_left = int(mask.sum() - top.sum())
    assert f"2 lr, 3 batch_size, {n_left} runs)" in message


def test_a_cell_with_two_runs_is_named_for_both_columns():
    df = small_cell_sweep()
    drop = np.flatnonzero(cell_rows(df, 0))[2:]
    df = df.drop(df.index[drop])
    (message,) = said(prepare(df)[1], THIN)
    assert "'lr' or 'batch_size'" in message and "2 runs)" in message
    assert "eta_opt and B_opt come" in message


def test_a_column_no_cell_sweeps_is_not_named_cell_by_cell():
    """One lr per cell: the unswept warning names 'lr'; the cells are not listed again."""
    df = small_cell_sweep()
    parts = []
    for i, (_, cell) in enumerate(df.groupby(["N", "D"])):
        lrs = np.sort(cell["lr"].unique())
        parts.append(cell[cell["lr"] == lrs[i % len(lrs)]])
    _, told = prepare(pd.concat(parts))
    assert said(told, "varies 'lr' (at most 1 values per cell)")
    assert not said(told, THIN)


# ---- sweeps that say neither -------------------------------------------------------------------
def says_neither(prepared, told) -> None:
    assert not said(told, SPLIT) and not said(told, "over fewer than 3 values among")
    assert not [n for n in prepared.notes if SPLIT in n or "over fewer than 3 values" in n]


def test_full_sweeps_say_neither():
    for runs in (bl.load_runs(bl.load_bundled().df), bl.load_runs(small_cell_sweep())):
        says_neither(*prepare_runs(runs))


def test_step_law_says_neither():
    """Step Law's N < 1e9 cells, D as the table gives it: neither with the defaults nor with
    paper_repro's options (far-above runs excluded)."""
    data = shared_or_skip()
    runs = data.steplaw_dense()
    says_neither(*prepare_runs(runs.subset((runs.df["N"] < 1e9).to_numpy(), "1.07e9 held out")))
    runs = data.steplaw_dense(divergence_threshold=4.0)
    runs = runs.subset((runs.df["N"] < 1e9).to_numpy(), "1.07e9 held out")
    options = {"divergence_threshold": 4.0, "far_above": 0.03, "divergence": "exclude"}
    says_neither(*prepare_runs(runs, **options))


def test_the_two_stage_law_says_its_cells_split_too():
    """hyperparams_two_stage picks each cell's best run: cells split by a D computed per run
    change which run that is, and it said nothing."""
    law = get_law("hyperparams_two_stage")
    prepared, told = prepared_told(law, bl.load_runs(per_run(small_cell_sweep(), "D")))
    (message,) = said(told, SPLIT)
    assert message.startswith("law 'hyperparams_two_stage': D (tokens) values within 1%")
    assert message.removeprefix("law 'hyperparams_two_stage': ") in prepared.notes
    assert not said(prepared_told(law, bl.load_runs(small_cell_sweep()))[1], SPLIT)
