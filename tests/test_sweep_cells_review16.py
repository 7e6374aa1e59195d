"""The cells of the two LR x batch sweep laws, 'sweep' and 'hyperparams', as their prepare
reports them, each test run for both: near-equal N (or D) values at one D (resp. N) that make
separate cells (D computed per run, within 0.2% of the budget) are warned and noted under the
law's name, with how to give a cell one value, while the cells stay those of CELL_RTOL; cells
that vary lr or batch size over fewer than 3 values (or have 1-2 runs) among the runs the law
counts (law 'sweep' its runs in the bowls, law 'hyperparams' its converged runs) are named,
unless the law's sweep-wide warning names that column; the bundled sweep and Step Law's N < 1e9
cells say neither. One count of each cell's distinct values serves every such rule
(hyperparams.data.values_per_cell).

Everything runs without sampling; every table is SIMULATED except Step Law (skipped when
../shared/data is absent).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from conftest import cell_rows, per_run, prepared_told, said, shared_or_skip, small_cell_sweep

import bayeslaws as bl
from bayeslaws.laws import get_law, sweep
from bayeslaws.laws.hyperparams import data as hp_data
from bayeslaws.runs import cells as run_cells

SPLIT = "make separate cells"
THIN = "over fewer than 3 values among their"  # ... then the runs the law counts
PAPER_REPRO = {"divergence_threshold": 4.0, "far_above": 0.03, "divergence": "exclude"}


@dataclass(frozen=True)
class Law:
    """What differs between the two laws' cell messages."""

    name: str
    counted: str  # the runs a cell's values are counted among, as its message words them
    wide: str  # its sweep-wide warning about a column ({}: the column) that cells do not sweep
    step_law_options: tuple  # option sets Step Law's cells are prepared with
    left_out: str  # how prepare reports the runs it does not count (diverged)
    step_law_notes: bool  # Step Law's cells give it other notes (law 'hyperparams': the cliff)

    @property
    def prefix(self) -> str:
        return f"law {self.name!r}: "

    @property
    def thin(self) -> str:
        return f"{THIN} {self.counted}"

    def left_out_count(self, prepared) -> int:
        if self.left_out == "censored":
            return int(np.asarray(prepared.data["censored"]).sum())
        return int(prepared.state["divergence"]["n_excluded"])


LAWS = [
    Law(
        "sweep",
        "runs in the bowls",
        "fewer than 2 (N, D) cells vary {!r}",
        ({},),
        "excluded",
        step_law_notes=False,
    ),
    Law(
        "hyperparams",
        "converged runs",
        "varies {!r} (at most 1 values per cell)",
        ({}, PAPER_REPRO),
        "censored",
        step_law_notes=True,
    ),
]


@pytest.fixture(params=LAWS, ids=[law.name for law in LAWS])
def law(request) -> Law:
    return request.param


def prepare_runs(law: Law, runs, **options):
    """``law``'s prepare (with ``options``) of ``runs``, with the PlausibilityWarnings it gave."""
    configured = get_law(law.name).configure(**options) if options else get_law(law.name)
    if options.get("divergence") == "exclude":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs = hp_data.exclude_diverged(configured, runs)  # as a fit does before prepare
    return prepared_told(configured, runs)


def prepare(law: Law, df: pd.DataFrame):
    return prepare_runs(law, bl.load_runs(df))


# ---- near-equal values that split cells --------------------------------------------------------
def test_near_equal_values_at_one_value_of_the_other_axis_are_chained():
    """D values each within NEAR_RTOL of the next at one N chain into one set; the same D at
    another N, or values further apart, do not."""
    d = 1e10
    near = [d, d * 1.004, d * 1.008]  # each within 1% of the next, 0.8% end to end
    cells = pd.DataFrame(
        {
            "g": 0,
            "N": [1e8] * 3 + [1e8, 2e8],
            "D": [*near, d * 1.5, d * 1.004],
        }
    )
    chains = run_cells.near_split_values(cells, "D")
    assert len(chains) == 1
    g, at, values = chains[0]
    assert at == 1e8 and values.tolist() == near
    assert run_cells.near_split_values(cells, "N") == []  # 1e8 and 2e8 are far apart


def test_d_computed_per_run_is_warned_and_noted_but_the_cells_stay(law):
    """D computed per run (0.07% per batch size): each batch size is its own cell, as before,
    and prepare says so under the law's own name -- a PlausibilityWarning and a note naming the
    near-equal values, how many cells they make, and the fix."""
    df = per_run(small_cell_sweep(), "D")
    n_split = df.groupby(["N", "D"]).ngroups
    n_sets = small_cell_sweep().groupby(["N", "D"]).ngroups
    prepared, told = prepare(law, df)
    assert len(prepared.state["cells"]["N"]) == n_split  # the cells are not merged
    (message,) = said(told, SPLIT)
    assert message.startswith(f"{law.prefix}D (tokens) values within 1% of each other")
    made = f"{n_sets} sets of near-equal D make {n_split} cells (one per set would make {n_sets})"
    assert made in message
    first = df[df["N"] == df["N"].min()]["D"].min()
    assert f"{first:.8g}" in message
    assert "round it" in message and "df['D']" in message
    assert message.removeprefix(law.prefix) in prepared.notes
    # one batch size per split cell: named once, sweep-wide, not cell by cell
    assert said(told, law.wide.format("batch_size")) and not said(told, law.thin)


def test_near_equal_n_is_named_as_n(law):
    """N written per run (at one D): the warning names N, not D."""
    (message,) = said(prepare(law, per_run(small_cell_sweep(), "N"))[1], SPLIT)
    assert "N (params) values within 1% of each other at the same D" in message
    assert "D (tokens) values" not in message


def test_the_suggested_rounding_gives_one_cell_per_budget(law):
    """Rounding the per-run D as the warning suggests restores the budgets' cells: no
    warning."""
    df = per_run(small_cell_sweep(), "D")
    df["D"] = df["D"].map(lambda v: float(f"{v:.3g}"))
    prepared, told = prepare(law, df)
    assert not said(told, SPLIT)
    assert len(prepared.state["cells"]["N"]) == small_cell_sweep().groupby(["N", "D"]).ngroups


# ---- cells that sweep too few values -----------------------------------------------------------
def test_a_cell_with_two_learning_rates_is_named(law):
    """One cell keeps two of its three learning rates: warned and noted, naming that cell and
    'lr' (not 'batch_size', swept in every cell)."""
    df = small_cell_sweep()
    mask = cell_rows(df, 4)
    top = df.loc[mask, "lr"].max()
    df = df[~(mask & (df["lr"] == top).to_numpy())]
    prepared, told = prepare(law, df)
    (message,) = said(told, law.thin)
    n, d = df[cell_rows(df, 4)][["N", "D"]].iloc[0]
    n_cells = df.groupby(["N", "D"]).ngroups
    assert message.startswith(f"{law.prefix}1 of {n_cells} (N, D) cells")
    assert f"(N={n:.4g}, D={d:.4g}: 2 lr, 3 batch_size, 6 runs)" in message
    assert "vary 'lr' over" in message and "eta_opt comes" in message
    assert message.removeprefix(law.prefix) in prepared.notes


def test_runs_the_law_does_not_count_do_not_count_as_swept(law):
    """A cell whose top learning rate diverged (law 'sweep': excluded from the bowls; law
    'hyperparams': censored, not converged) sweeps 2 lr values among the runs the law counts:
    named, with those runs counted."""
    df = small_cell_sweep()
    mask = cell_rows(df, 2)
    top = mask & (df["lr"] == df.loc[mask, "lr"].max()).to_numpy()
    df["diverged"] = top
    prepared, told = prepare(law, df)
    assert law.left_out_count(prepared) == int(top.sum())
    (message,) = said(told, law.thin)
    n_left = int(mask.sum() - top.sum())
    assert f"2 lr, 3 batch_size, {n_left} runs)" in message


def test_a_cell_with_two_runs_is_named_for_both_columns(law):
    """A cell of two runs sweeps neither column: both named, with its run count."""
    df = small_cell_sweep()
    drop = np.flatnonzero(cell_rows(df, 0))[2:]
    df = df.drop(df.index[drop])
    (message,) = said(prepare(law, df)[1], law.thin)
    assert "'lr' or 'batch_size'" in message and "2 runs)" in message
    assert "eta_opt and B_opt come" in message


def test_a_column_the_sweep_wide_warning_names_is_not_named_cell_by_cell(law):
    """One lr per cell: the law's sweep-wide warning names 'lr'; the cells are not listed
    again."""
    df = small_cell_sweep()
    parts = []
    for i, (_, cell) in enumerate(df.groupby(["N", "D"])):
        lrs = np.sort(cell["lr"].unique())
        parts.append(cell[cell["lr"] == lrs[i % len(lrs)]])
    _, told = prepare(law, pd.concat(parts))
    assert said(told, law.wide.format("lr"))
    assert not said(told, law.thin)


def test_one_count_of_values_per_cell_serves_every_rule():
    """values_per_cell counts each cell's distinct lr and batch sizes (as counted by hand, a
    cell with no run 0); law 'sweep''s sweep-wide rule (thinly_swept) and the cell-by-cell one
    (thin_cells) read those counts."""
    df = small_cell_sweep()
    mask = cell_rows(df, 4)
    df = df[~(mask & (df["lr"] == df.loc[mask, "lr"].max()).to_numpy())]  # 2 lr in cell 4
    df = df.drop(df.index[np.flatnonzero(cell_rows(df, 0))[2:]])  # 2 runs in cell 0
    index, cells = run_cells.cell_table(df["N"], df["D"])
    counts = hp_data.values_per_cell(df, index, len(cells) + 1)  # one cell more, with no run
    for k, cell in enumerate(cells.itertuples()):
        rows = df[(df["N"] == cell.N) & (df["D"] == cell.D)]
        assert counts.loc[k].tolist() == [rows["lr"].nunique(), rows["batch_size"].nunique()]
    assert counts.iloc[-1].tolist() == [0, 0]
    counts = counts.iloc[:-1]
    swept = (counts >= hp_data.MIN_BOWL_VALUES).sum()
    want = {c: int(k) for c, k in swept.items() if k < sweep.MIN_SWEPT_CELLS}
    assert sweep.thinly_swept(df, index) == want
    thin = hp_data.thin_cells(df, index, cells, ["lr", "batch_size"])
    short = (counts < hp_data.MIN_BOWL_VALUES).any(axis=1).to_numpy()
    assert thin.index.tolist() == cells.index[short].tolist() and short.sum() == 2
    np.testing.assert_array_equal(thin[["lr", "batch_size"]], counts[short])


# ---- sweeps that say neither -------------------------------------------------------------------
def says_neither(prepared, told, other_notes: bool = False) -> None:
    """No split or thin-cell warning or note; unless ``other_notes``, the note of a clean sweep
    alone."""
    assert not said(told, SPLIT) and not said(told, THIN)
    assert not [n for n in prepared.notes if SPLIT in n or "over fewer than 3 values" in n]
    assert other_notes or len(prepared.notes) == 1


def test_full_sweeps_say_neither(law):
    """The bundled sweep and a 9-run-per-cell simulated sweep (each cell sweeping >= 3 values
    of both, D as the table gives it)."""
    for runs in (bl.load_runs(bl.load_bundled().df), bl.load_runs(small_cell_sweep())):
        says_neither(*prepare_runs(law, runs))


def test_step_law_says_neither(law):
    """Step Law's N < 1e9 cells, D as the table gives it: neither with the defaults nor (law
    'hyperparams') with paper_repro's options (far-above runs excluded)."""
    data = shared_or_skip()
    for options in law.step_law_options:
        runs = data.steplaw_dense(divergence_threshold=options.get("divergence_threshold"))
        runs = runs.subset((runs.df["N"] < 1e9).to_numpy(), "the 1.07e9 cells held out")
        says_neither(*prepare_runs(law, runs, **options), other_notes=law.step_law_notes)


def test_the_two_stage_law_says_its_cells_split_too():
    """hyperparams_two_stage picks each cell's best run: cells split by a D computed per run
    change which run that is, and it said nothing."""
    two_stage = get_law("hyperparams_two_stage")
    prepared, told = prepared_told(two_stage, bl.load_runs(per_run(small_cell_sweep(), "D")))
    (message,) = said(told, SPLIT)
    assert message.startswith("law 'hyperparams_two_stage': D (tokens) values within 1%")
    assert message.removeprefix("law 'hyperparams_two_stage': ") in prepared.notes
    assert not said(prepared_told(two_stage, bl.load_runs(small_cell_sweep()))[1], SPLIT)
