"""Runs the sweep laws leave out, as notes and warnings say them: a sweep cell left with no
converged run is named; law 'hyperparams_two_stage' on a table with every run (or every cell
but one) diverged says so; law 'hyperparams''s fence note counts its runs; law 'sweep' records
one exclusion per reason (SIMULATED sweeps, no sampling)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import quiet

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.laws.hyperparams.two_stage import TwoStageHyperparams
from bayeslaws.runs import PlausibilityWarning, RunTableError
from bayeslaws.runs import simulate as sim

SIZES, TOKENS = (0.017e9, 0.057e9, 0.13e9), (2e9, 4e9, 8e9)  # params, tokens


def test_a_sweep_cell_with_no_converged_run_is_named():
    """The warning and the note named how many cells were left out but not which: now as law
    'hyperparams' does, (N=..., D=...)."""
    df = sim.simulate_video_dit_sweep(seed=3, sizes=SIZES, tokens=TOKENS, grid_points=(3, 3))
    df = df.reset_index(drop=True)
    lost = (df["N"] == SIZES[0]) & (df["D"] == TOKENS[2])
    df.loc[lost, "loss"] = np.nan
    runs = quiet(lambda: bl.load_runs(df, allow_missing_loss=True))
    with pytest.warns(DivergenceWarning) as told:
        prepared = sweep.SweepLaw().prepare(runs)
    named = "1 (N, D) cells left with no converged run, so left out entirely: (N=1.7e+07, D=8e+09)"
    assert any(named in str(w.message) for w in told)
    assert named in prepared.notes[0]
    assert prepared.state["divergence"]["n_cells_without_converged_run"] == 1


# ---- 3. hyperparams_two_stage with every run (or cell but one) diverged --------------------
def _diverged_table(keep_first_cell: bool):
    df = sim.simulate_video_dit_sweep(seed=3, sizes=SIZES, tokens=TOKENS, grid_points=(3, 3))
    df = df.reset_index(drop=True)
    first = (df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])
    df.loc[~first if keep_first_cell else df.index, "loss"] = np.nan
    return quiet(lambda: bl.load_runs(df, allow_missing_loss=True))


def test_two_stage_with_every_run_diverged_says_so():
    """It said "needs at least 2 distinct values of 'N' ... the table has one" (there were
    none) after a RuntimeWarning 'Mean of empty slice'; now the words of laws 'sweep' and
    'hyperparams', and nothing else."""
    runs = _diverged_table(keep_first_cell=False)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        with pytest.raises(RunTableError, match=r"^law 'hyperparams_two_stage': every run "
                           r"diverged; nothing to fit$"):  # fmt: skip
            TwoStageHyperparams().prepare(runs)
    assert not [w for w in told if issubclass(w.category, RuntimeWarning)], told
    for law in (sweep.SweepLaw(), HyperparamsLaw()):  # the same words
        with pytest.raises(RunTableError, match="every run diverged; nothing to fit"):
            quiet(lambda law=law: law.prepare(runs))


def test_two_stage_with_one_cell_left_warns_first_and_counts_its_values():
    """With every cell but one diverged: the DivergenceWarning naming the empty cells comes
    before the refusal (it came after the raise, so never), which gives the real count and
    value rather than a hard-coded "one"."""
    runs = _diverged_table(keep_first_cell=True)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        with pytest.raises(RunTableError) as refused:
            TwoStageHyperparams().prepare(runs)
    text = str(refused.value)
    assert "needs at least 2 distinct values of 'N'" in text
    assert "cells with a converged run (1 of 9) have only [1.7e+07]" in text
    assert "the table has one" not in text
    empty = [str(w.message) for w in told if issubclass(w.category, DivergenceWarning)]
    assert any("8 of 9 (N, D) cells have no converged run" in m and "(N=5.7e+07, D=2e+09)" in m
               for m in empty), empty  # fmt: skip


# ---- 4. law 'hyperparams': the pooled fence documented, its note counted --------------------
def test_hyperparams_fence_note_counts_its_runs_and_the_pooled_fence_is_documented():
    """A collapsed run in a 9-run cell is fenced by the fence pooled over the sweep: the note
    said "1 runs excluded"; now "1 of 144 runs", as law 'sweep' and the warning say it. The
    law's docstring said the fence applies only in cells of >= 12 converged runs."""
    df = sim.simulate_video_dit_sweep(seed=3, grid_points=(3, 3)).reset_index(drop=True)
    df.loc[10, "loss"] *= 1.9
    prepared = quiet(lambda: HyperparamsLaw(fence=3.0).prepare(bl.load_runs(df)))
    (note,) = [n for n in prepared.notes if "fence" in n]
    assert note.startswith(
        f"1 of {len(df)} runs excluded from the bowls: 1 beyond the far-out fence pooled over "
        "the sweep's cells"
    )
    assert prepared.state["divergence"]["n_fenced_pooled"] == 1
    doc = " ".join(HyperparamsLaw.__doc__.split())
    assert "quartiles pooled over the sweep's converged runs" in doc
    assert "pooled_fence_mask" in doc


def damaged_sweep_runs(small_sweep):
    """``small_sweep`` (36 runs per cell) with one run of each excluded kind: a NaN loss, a
    loss of 1e6, one flagged ``diverged``, one 1.6x its loss (beyond its cell's fence); the
    rows, by kind."""
    df = small_sweep.df.drop(columns="source").copy()
    rows = {"nan": df.index[3], "huge": df.index[80], "flagged": df.index[200]}
    rows["fenced"] = df.index[120]
    df.loc[rows["nan"], "loss"] = np.nan
    df.loc[rows["huge"], "loss"] = 1e6
    df.loc[rows["fenced"], "loss"] *= 1.6
    df["diverged"] = df.index == rows["flagged"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # the 1e6 loss: told at load
        return bl.load_runs(df, allow_missing_loss=True), rows


def test_the_sweep_law_records_one_exclusion_per_reason(small_sweep):
    """One exclusion had named every reason and every row together; now each reason has its
    own rows; the runs excluded are as before, and the warning and the note name each reason's
    rows (what the rows count said once)."""
    runs, rows = damaged_sweep_runs(small_sweep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = sweep.LAW.prepare(runs)
    entries = [(e.reason, list(e.rows)) for e in prepared.runs.exclusions]
    assert [r for _, r in entries] == [[rows[k]] for k in ("nan", "huge", "flagged", "fenced")]
    words = [
        "missing (NaN) or +inf loss", "x the median loss", "flagged in column 'diverged'", "fence"
    ]
    for (reason, _), word in zip(entries, words, strict=True):
        assert reason.startswith("not in the bowls: 1 ") and word in reason
        assert reason.endswith("(law 'sweep')")
    mask, reasons = sweep.LAW.excluded_mask(runs.df)
    assert sorted(runs.df.index[mask]) == sorted(rows.values())
    kinds = ("nan", "huge", "flagged", "fenced")
    clauses = [f"{r} at rows {rows[k]}" for r, k in zip(reasons, kinds, strict=True)]
    clauses[0] += f" ({runs.row_note})"
    note = f"4 of {len(runs)} runs excluded from the bowls: {'; '.join(clauses)}"
    assert prepared.notes == (note,)
    told = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
    assert told == [note]
