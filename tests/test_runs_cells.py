"""A cell's best run (best_in_cell, best_run_per_cell): never a diverged run, ties broken
independently of row order; and the cell helpers refuse values that fall in no cell."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_or_skip

import bayeslaws as bl
from bayeslaws.laws.hyperparams.optima import empirical
from bayeslaws.posterior import splits
from bayeslaws.runs import best_in_cell, best_run_per_cell, cells


def _diverged_sweep() -> pd.DataFrame:
    """Three cells of an lr sweep: cell 1e8 has a diverged run with the lowest loss, cell 2e8
    none, every run of cell 4e8 diverged."""
    return pd.DataFrame(
        {
            "N": [1e8, 1e8, 1e8, 2e8, 2e8, 4e8, 4e8],
            "D": 2e9,
            "lr": [1e-3, 2e-3, 4e-3, 1e-3, 2e-3, 1e-3, 2e-3],
            "batch_size": 2e5,
            "loss": [3.1, 3.05, 3.0, 2.9, 2.95, 5.0, 6.0],
            "diverged": [False, False, True, False, False, True, True],
        }
    )


# ---- 1. a diverged run is never a cell's best run ------------------------------------------------
def test_best_in_cell_never_picks_a_diverged_run():
    runs = bl.load_runs(_diverged_sweep())
    assert best_in_cell(runs.df).tolist() == [False, True, False, True, False, False, False]


def test_best_run_per_cell_says_which_cells_have_no_best_run():
    best = best_run_per_cell(bl.load_runs(_diverged_sweep()))
    assert best.df.index.tolist() == [1, 3] and not best.df["diverged"].any()
    reasons = {e.reason: e.rows for e in best.exclusions}
    no_best = [r for r in reasons if "no converged run with a finite loss" in r]
    assert len(no_best) == 1 and reasons[no_best[0]] == (5, 6)
    others = [r for r in reasons if r.startswith("not the best")]
    assert len(others) == 1 and reasons[others[0]] == (0, 2, 4)


@pytest.mark.filterwarnings("ignore::bayeslaws.inference.diagnostics.SamplerWarning")
def test_the_best_cell_baseline_fits_a_sweep_with_a_diverged_run():
    """The README's baseline fit(best_run_per_cell(runs), law="chinchilla") was refused when a
    diverged run with the lowest loss was kept as its cell's best."""
    rows = [
        dict(N=n, D=d, lr=lr, loss=1.8 + 480 / n**0.35 + 2100 / d**0.37 + 0.01 * k)
        for n in (1e7, 1e8, 1e9)
        for d in (1e9, 1e10, 1e11)
        for k, lr in enumerate((1e-3, 2e-3))
    ]
    df = pd.DataFrame(rows).assign(diverged=False)
    df.loc[3, ["loss", "diverged"]] = [df.loc[2, "loss"] - 0.05, True]
    best = best_run_per_cell(bl.load_runs(df))
    assert len(best) == 9 and not best.df["diverged"].any()
    fit = bl.fit(best, law="chinchilla", chains=1, warmup=20, draws=20, seed=0)
    assert fit.n_runs == 9


def test_hyperparams_empirical_optimum_is_no_diverged_run():
    """optima.empirical feeds the fan plot and the report: a diverged run's lr is a lower bound
    on the loss, not the observed optimum."""
    df = bl.load_runs(_diverged_sweep()).df
    opt = empirical(df)
    assert opt.index.tolist() == [1, 3]
    assert opt["eta_opt"].tolist() == [2e-3, 1e-3]


def test_best_in_cell_keeps_the_bundled_best_runs():
    """The bundled table has no diverged column: each cell keeps its lowest-loss run."""
    runs = bl.load_bundled()
    cell = cells.run_cells(runs.df)
    mask = best_in_cell(runs.df)
    lowest = runs.df.groupby(cell)["loss"].transform("min").to_numpy()
    assert mask.sum() == len(np.unique(cell))
    assert (runs.df["loss"].to_numpy()[mask] == lowest[mask]).all()


def test_best_in_cell_agrees_with_the_step_law_best_cells():
    """Step Law's dense sweep flags diverged runs; best_in_cell (which splits.steplaw_best_cells
    uses) picks each cell's lowest loss among the runs not flagged, as a plain groupby does."""
    dense = shared_or_skip().steplaw_dense().df
    best = dense[best_in_cell(dense)]
    assert not best["diverged"].any()
    converged = dense[~dense["diverged"]]
    expected = converged.loc[converged.groupby(["N", "D"])["loss"].idxmin()]
    expected = expected.sort_values(["N", "D"])[["N", "D", "loss"]].reset_index(drop=True)
    for table in (best, splits.steplaw_best_cells().df):
        got = table.sort_values(["N", "D"])[["N", "D", "loss"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


# ---- 2. ties ---------------------------------------------------------------------------------
def test_ties_go_to_the_smallest_lr_whatever_the_row_order():
    df = pd.DataFrame({"N": 1e9, "D": 1e10, "lr": [1e-4, 4e-4, 2e-4], "loss": [2.5, 2.4, 2.4]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = bl.load_runs(df)
    assert best_in_cell(runs.df).tolist() == [False, False, True]
    assert best_in_cell(runs.df.iloc[::-1]).tolist() == [True, False, False]
    reason = best_run_per_cell(runs).exclusions[0].reason
    assert "1 cell(s) had runs tied at the lowest loss" in reason


def test_ties_in_loss_and_lr_go_to_the_smallest_batch():
    df = pd.DataFrame({"N": 1e9, "D": 1e10, "lr": 1e-3, "batch_size": [4e5, 2e5, 8e5], "loss": 2.4})
    assert best_in_cell(df).tolist() == [False, True, False]
    assert best_in_cell(df.iloc[[2, 0, 1]]).tolist() == [False, False, True]


# ---- 5. cells and splits ------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, np.nan, -1.0, np.inf])
def test_same_value_ids_refuses_values_in_no_cell(bad):
    with pytest.raises(ValueError, match="values must be finite and > 0.* at positions \\[0\\]"):
        cells.same_value_ids([bad, 1.0, 2.0])


def test_cell_table_refuses_missing_group_labels_and_bad_sizes():
    with pytest.raises(ValueError, match=r"group has missing labels .* positions \[1\]"):
        cells.cell_table([1e8, 2e8], [2e9, 2e9], ["a", None])
    with pytest.raises(ValueError, match=r"D \(tokens\) must be finite and > 0"):
        cells.cell_table([1e8, 2e8], [2e9, np.nan])
    with pytest.raises(ValueError, match="one value per run"):
        cells.cell_table([1e8, 2e8], [2e9])
    index, table = cells.cell_table([1e8, 2e8, 1e8], [2e9, 2e9, 2e9], ["a", "b", "a"])
    assert index.tolist() == [0, 1, 0] and table["g"].tolist() == ["a", "b"]
