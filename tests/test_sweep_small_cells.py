"""Sweeps whose cells are too small for their own far-out fence (fewer than FENCE_MIN_RUNS
converged runs): a collapsed run there (a diffusion run at ~2x its cell's best, below 3x the
median loss) is left out by the fence pooled over the sweep's cells and named; a clean small-cell
sweep loses nothing and its note says which fence checked it; tables whose cells all have
enough runs exclude what they did before; a sweep in which fewer than 2 cells vary lr (or
batch size) is warned about (laws ``sweep`` and ``hyperparams``).

Everything runs without sampling; every table is SIMULATED except Step Law (skipped when
../shared/data is absent).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import CELL_SWEEP_SIZES, shared_or_skip, small_cell_sweep

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.laws.hyperparams import data as hp_data
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs import simulate as sim

SIZES = CELL_SWEEP_SIZES
POOLED = "pooled over the sweep's cells"


def collapse(df: pd.DataFrame, n_cells: int, factor: float = 1.9) -> tuple[pd.DataFrame, list]:
    """``df`` with the highest-lr, smallest-batch run of its first ``n_cells`` cells at
    ``factor`` x the cell's best loss (a collapsed diffusion run: MSE-type loss ~1.0 where the
    converged runs score ~0.5); and the collapsed rows' labels."""
    df = df.copy()
    rows = []
    for _, cell in list(df.groupby(["N", "D"]))[:n_cells]:
        corner = cell[(cell["lr"] == cell["lr"].max())]
        row = corner["batch_size"].idxmin()
        df.loc[row, "loss"] = factor * cell["loss"].min()
        rows.append(row)
    return df, rows


def prepare(law, df: pd.DataFrame):
    """``law.prepare`` of ``df`` as a run table, with the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = law.prepare(bl.load_runs(df, allow_missing_loss=True))
    return prepared, caught


def excluded_rows(prepared) -> dict:
    """{reason: [row labels]} of a prepared table's exclusions."""
    return {e.reason: sorted(e.rows) for e in prepared.runs.exclusions}


# ---- collapsed runs in small cells -------------------------------------------------------------
def test_collapsed_runs_in_small_cells_are_excluded_and_named():
    """A run at 1.9x its cell's best (below 3x the median loss, in a 9-run cell): left out of
    law 'sweep''s bowls, recorded under the pooled fence, in the warning and the note."""
    df, rows = collapse(small_cell_sweep(), n_cells=4)
    assert df["loss"].max() < 3 * df["loss"].median()  # the median bound cannot catch them
    prepared, caught = prepare(sweep.LAW, df)
    ((reason, excluded),) = excluded_rows(prepared).items()
    assert excluded == sorted(rows)
    assert POOLED in reason and reason.startswith("not in the bowls: 4 beyond")
    assert prepared.notes[0].startswith(f"4 of {len(df)} runs excluded from the bowls")
    assert POOLED in prepared.notes[0]
    assert prepared.state["divergence"]["n_excluded"] == 4
    assert any(POOLED in r for r in prepared.state["divergence"]["reasons"])
    assert any(w.category is hp_data.DivergenceWarning and POOLED in str(w.message) for w in caught)
    assert sweep.SweepLaw(fence=None).excluded_mask(df)[0].sum() == 0  # fence=None keeps them


def test_hyperparams_fence_excludes_the_same_collapsed_runs():
    """Law 'hyperparams' with the fence on request (fence=3) leaves out the same runs, recorded
    and counted as pooled; at its default (no fence) it keeps them."""
    df, rows = collapse(small_cell_sweep(), n_cells=4)
    law = HyperparamsLaw(fence=sweep.FENCE)
    prepared, _ = prepare(law, df)
    ((reason, excluded),) = excluded_rows(prepared).items()
    assert excluded == sorted(rows) and POOLED in reason
    div = prepared.state["divergence"]
    assert (div["n_fenced"], div["n_fenced_pooled"], div["n_excluded"]) == (4, 4, 4)
    assert any(POOLED in note for note in prepared.notes)
    default, _ = prepare(HyperparamsLaw(), df)
    assert default.state["divergence"]["n_fenced"] == 0 and not default.runs.exclusions


def test_each_fence_records_its_own_runs():
    """One large cell (its own fence) and small cells (the pooled one) in one table: one
    exclusion per fence, each with its own rows, in both laws (the second is matched by row
    label after the first shortened the table)."""
    df = small_cell_sweep()
    big = sim.simulate_video_dit_sweep(seed=12, sizes=SIZES[:1], tokens=(3e9,))  # 36 runs
    big_cliff = big.index[big["lr"] == big["lr"].max()][0]
    big.loc[big_cliff, "loss"] *= 1.6
    df, rows = collapse(df, n_cells=2)
    table = pd.concat([df, big], ignore_index=True)
    cliff = len(df) + int(np.flatnonzero(big.index == big_cliff)[0])
    for law in (sweep.LAW, HyperparamsLaw(fence=sweep.FENCE)):
        prepared, _ = prepare(law, table)
        kinds = list(excluded_rows(prepared).items())
        assert [r for _, r in kinds] == [[cliff], sorted(rows)], law.name
        assert "their cell's far-out fence" in kinds[0][0] and POOLED in kinds[1][0]


def test_diverged_runs_are_not_in_the_pool_or_the_cells_best():
    """A NaN run and a 1e6 run (diverged) neither set a cell's best nor widen the pooled
    quartiles: the collapsed runs are still the ones fenced."""
    df, rows = collapse(small_cell_sweep(), n_cells=3)
    free = [i for i in df.index if i not in rows]
    df.loc[free[0], "loss"] = np.nan
    df.loc[free[1], "loss"] = 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # the 1e6 loss: told at load
        kinds = sweep.LAW.excluded_kinds(bl.load_runs(df, allow_missing_loss=True).df)
    pooled = [np.flatnonzero(m).tolist() for m, r in kinds if POOLED in r]
    assert pooled == [sorted(rows)]


# ---- clean small-cell sweeps -------------------------------------------------------------------
@pytest.mark.parametrize("seed", [11, 21, 31])
def test_clean_small_cell_sweeps_exclude_nothing(seed):
    """No run of a clean 9-run-cell sweep is fenced, in either law; the note says the pooled
    fence checked the small cells (not only "every run in the bowls")."""
    df = small_cell_sweep(seed)
    prepared, _ = prepare(sweep.LAW, df)
    assert not prepared.runs.exclusions
    (note,) = prepared.notes
    assert note == (
        "no diverged runs and none beyond a far-out fence (pooled over the sweep's cells in "
        "the 9 with fewer); every run in the bowls"
    )
    hp, _ = prepare(HyperparamsLaw(fence=sweep.FENCE), df)
    assert not hp.runs.exclusions and hp.state["divergence"]["n_fenced"] == 0


def test_the_note_says_which_cells_no_fence_checked():
    """Nothing excluded: the note names the fences that checked the cells, and says so when
    none did (fence=None; quartiles with no spread)."""
    note = sweep.nothing_excluded_note
    assert note(3.0, [36, 36], True) == (
        "no diverged runs and none beyond a far-out fence (their cell's in the 2 cells with "
        ">= 12 converged runs); every run in the bowls"
    )
    assert "their cell's in the 1 cells" in note(3.0, [36, 9], True)
    assert "pooled over the sweep's cells in the 1 with fewer" in note(3.0, [36, 9], True)
    unfenced = note(3.0, [2, 2, 2], False)
    assert unfenced.startswith("no diverged runs; the 3 cells with < 12 converged runs unfenced")
    assert note(None, [36], True) == (
        "no diverged runs; no fence (fence=None); every run in the bowls"
    )
    prepared, _ = prepare(sweep.SweepLaw(fence=None), small_cell_sweep())
    assert prepared.notes[0] == note(None, [9] * 9, True)


def test_the_pooled_fence_needs_spread_in_its_pool():
    """Most cells with a single run: the pooled quartiles have no spread and fence nothing
    (every non-best run would lie beyond them)."""
    excess = np.array([0.0] * 10 + [0.01, 0.5])
    assert hp_data.pooled_fence_bound(excess, 3.0, 12) is None
    assert hp_data.pooled_fence_bound(excess[:5], 3.0, 12) is None  # fewer than 12 runs
    spread = np.linspace(0.0, 0.02, 20)
    assert hp_data.pooled_fence_bound(spread, 3.0, 12) == pytest.approx(0.015 + 3 * 0.01)


# ---- tables whose cells are large --------------------------------------------------------------
def large_cell_tables() -> list:
    tables = [bl.load_bundled().df, sim.simulate_video_dit_sweep(seed=1, sizes=SIZES)]
    try:
        tables.append(shared_or_skip().steplaw_dense().df)
    except pytest.skip.Exception:
        pass  # the simulated tables alone (the Step Law check skips in its own test)
    return tables


def own_fence_only(law, df: pd.DataFrame) -> np.ndarray:
    """The runs the law excluded before the pooled fence: diverged, or beyond their own
    cell's fence (cells with >= FENCE_MIN_RUNS converged runs)."""
    diverged, _ = hp_data.diverged_mask(law, df)
    cell = hp_data.run_cells(df)
    return diverged | hp_data.fence_mask(df, diverged, cell, law.fence, sweep.FENCE_MIN_RUNS)


def test_large_cell_tables_are_unchanged():
    """On the bundled sweep, a 36-run-per-cell simulated sweep and Step Law (47-120 converged
    runs per cell) both laws exclude what the per-cell fence alone excluded: the pooled fence
    applies in no cell."""
    hp_law = HyperparamsLaw(fence=sweep.FENCE)
    for df in large_cell_tables():
        np.testing.assert_array_equal(sweep.LAW.excluded_mask(df)[0], own_fence_only(sweep.LAW, df))
        masks = hp_data.run_masks(hp_law, df)
        assert not masks["fenced_pooled"].any()
        np.testing.assert_array_equal(
            masks["fenced"] | masks["diverged"], own_fence_only(hp_law, df)
        )


def test_step_law_prepare_is_unchanged():
    """Step Law: neither law's prepare records a pooled exclusion."""
    bundled = shared_or_skip()
    runs = bundled.steplaw_dense()
    for law in (sweep.LAW, HyperparamsLaw(fence=sweep.FENCE)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = law.prepare(runs)
        assert not [e for e in prepared.runs.exclusions if POOLED in e.reason], law.name


# ---- lr or batch size swept in too few cells ---------------------------------------------------
def one_lr_per_cell(df: pd.DataFrame, full_cells: int = 0) -> pd.DataFrame:
    """Each cell's runs at one of its learning rates (a different one cell to cell), batch
    size still swept; the first ``full_cells`` cells keep every run."""
    parts = []
    for i, (_, cell) in enumerate(df.groupby(["N", "D"])):
        lrs = np.sort(cell["lr"].unique())
        parts.append(cell if i < full_cells else cell[cell["lr"] == lrs[i % len(lrs)]])
    return pd.concat(parts)


def thin_warnings(caught) -> list[str]:
    return [
        str(w.message)
        for w in caught
        if w.category is PlausibilityWarning and "fewer than 2 (N, D) cells" in str(w.message)
    ]


@pytest.mark.parametrize("full_cells", [0, 1])
def test_lr_swept_in_fewer_than_two_cells_is_warned(full_cells):
    """One lr per cell (lr varies only across cells; 3 distinct values table-wide, so the
    table-wide check passes), or only one cell with 3 lr values: warned, naming 'lr' and how
    many cells sweep it, and noted; batch size, swept in every cell, is not named."""
    df = one_lr_per_cell(small_cell_sweep(), full_cells)
    assert df["lr"].nunique() >= 3
    prepared, caught = prepare(sweep.LAW, df)
    (message,) = thin_warnings(caught)
    assert f"'lr' ({full_cells} of 9 cells)" in message and "'batch_size'" not in message
    assert message.startswith("law 'sweep': ")
    assert message.removeprefix("law 'sweep': ") in prepared.notes


def test_two_cells_sweeping_lr_or_a_full_sweep_are_not_warned():
    for df in (one_lr_per_cell(small_cell_sweep(), full_cells=2), small_cell_sweep()):
        prepared, caught = prepare(sweep.LAW, df)
        assert not thin_warnings(caught)
        # no sweep-wide note (the 7 cells of one lr each are named cell by cell instead:
        # tests/test_sweep_cells_review16.py)
        assert not [n for n in prepared.notes if "fewer than 2 (N, D) cells" in n]
    # the 7 cells of one lr each are named among the notes, cell by cell
    thin = one_lr_per_cell(small_cell_sweep(), full_cells=2)
    prepared, _ = prepare(sweep.LAW, thin)
    assert [n for n in prepared.notes if n.startswith("7 of 9 (N, D) cells vary 'lr'")]


def test_batch_swept_in_no_cell_is_warned():
    """One batch size per cell (varying cell to cell): 'batch_size' named, not 'lr'."""
    df = small_cell_sweep()
    parts = []
    for i, (_, cell) in enumerate(df.groupby(["N", "D"])):
        bs = np.sort(cell["batch_size"].unique())
        parts.append(cell[cell["batch_size"] == bs[i % len(bs)]])
    _, caught = prepare(sweep.LAW, pd.concat(parts))
    (message,) = thin_warnings(caught)
    assert "'batch_size' (0 of 9 cells)" in message and "'lr'" not in message
