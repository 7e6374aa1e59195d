"""Law 'sweep''s cells as its prepare reports them: near-equal N (or D) values at one D (resp.
N) that make separate cells (D computed per run, within 0.2% of the budget) are warned and
noted, with how to give a cell one value, while the cells stay those of CELL_RTOL; cells that
vary lr or batch size over fewer than 3 values (or have 1-2 runs) are named; the bundled sweep
and Step Law's N < 1e9 cells say neither.

Everything runs without sampling; every table is SIMULATED except Step Law (skipped when
../shared/data is absent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import cell_rows, per_run, prepared_told, said, shared_or_skip, small_cell_sweep

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.runs import cells as run_cells

SPLIT = "make separate cells"
THIN = "over fewer than 3 values among their runs"


def prepare(df: pd.DataFrame):
    """``sweep.LAW.prepare`` of ``df`` as a run table, with the PlausibilityWarnings it gave."""
    return prepared_told(sweep.LAW, bl.load_runs(df))


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


def test_d_computed_per_run_is_warned_and_noted_but_the_cells_stay():
    """D computed per run (0.07% per batch size): each batch size is its own cell, as before,
    and prepare says so -- a PlausibilityWarning and a note naming the near-equal values, how
    many cells they make, and the fix."""
    df = per_run(small_cell_sweep(), "D")
    n_split = df.groupby(["N", "D"]).ngroups
    n_sets = small_cell_sweep().groupby(["N", "D"]).ngroups
    prepared, told = prepare(df)
    assert len(prepared.state["cells"]["N"]) == n_split  # the cells are not merged
    (message,) = said(told, SPLIT)
    assert message.startswith("law 'sweep': D (tokens) values within 1% of each other")
    made = f"{n_sets} sets of near-equal D make {n_split} cells (one per set would make {n_sets})"
    assert made in message
    first = df[df["N"] == df["N"].min()]["D"].min()
    assert f"{first:.8g}" in message
    assert "round it" in message and "df['D']" in message
    assert message.removeprefix("law 'sweep': ") in prepared.notes


def test_near_equal_n_is_named_as_n():
    """N written per run (at one D): the warning names N, not D."""
    (message,) = said(prepare(per_run(small_cell_sweep(), "N"))[1], SPLIT)
    assert "N (params) values within 1% of each other at the same D" in message
    assert "D (tokens) values" not in message


def test_the_suggested_rounding_gives_one_cell_per_budget():
    """Rounding the per-run D as the warning suggests restores the budgets' cells: no
    warning."""
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
    assert message.startswith(f"law 'sweep': 1 of {df.groupby(['N', 'D']).ngroups} (N, D) cells")
    assert f"(N={n:.4g}, D={d:.4g}: 2 lr, 3 batch_size, 6 runs)" in message
    assert "vary 'lr' over" in message and "eta_opt comes" in message
    assert message.removeprefix("law 'sweep': ") in prepared.notes


def test_a_cell_with_two_runs_is_named_for_both_columns():
    """A cell of two runs sweeps neither column: both named, with its run count."""
    df = small_cell_sweep()
    mask = cell_rows(df, 0)
    drop = np.flatnonzero(mask)[2:]
    df = df.drop(df.index[drop])
    (message,) = said(prepare(df)[1], THIN)
    assert "'lr' or 'batch_size'" in message and "2 runs)" in message
    assert "eta_opt and B_opt come" in message


def test_a_column_the_sweep_wide_warning_names_is_not_named_cell_by_cell():
    """One lr per cell: the sweep-wide warning names 'lr'; the cells are not listed again."""
    df = small_cell_sweep()
    parts = []
    for i, (_, cell) in enumerate(df.groupby(["N", "D"])):
        lrs = np.sort(cell["lr"].unique())
        parts.append(cell[cell["lr"] == lrs[i % len(lrs)]])
    _, told = prepare(pd.concat(parts))
    assert said(told, "fewer than 2 (N, D) cells vary 'lr'")
    assert not said(told, THIN)


# ---- sweeps that say neither -------------------------------------------------------------------
def test_full_sweeps_say_neither():
    """The bundled sweep, a 9-run-per-cell simulated sweep and Step Law's N < 1e9 cells (each
    cell sweeping >= 3 values of both, D as the table gives it): no warning, one note."""
    tables = [bl.load_runs(bl.load_bundled().df), bl.load_runs(small_cell_sweep())]
    for runs in tables:
        prepared, told = prepared_told(sweep.LAW, runs)
        assert not said(told, SPLIT) and not said(told, THIN)
        assert len(prepared.notes) == 1


def test_step_law_says_neither():
    runs = shared_or_skip().steplaw_dense()
    runs = runs.subset((runs.df["N"] < 1e9).to_numpy(), "the 1.07e9 cells held out")
    prepared, told = prepared_told(sweep.LAW, runs)
    assert not said(told, SPLIT) and not said(told, THIN)
    assert len(prepared.notes) == 1
