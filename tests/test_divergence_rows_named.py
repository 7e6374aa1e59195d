"""Runs the sweep laws censor or leave out as diverged are named, not only counted.

The note and the DivergenceWarning name each kind's rows (one clause per kind, the first 10 rows
then "...", what the row numbers count said once), and the law state records the rows' labels,
JSON-ready, as text like the run table's exclusions: a censored run stays in the fit, so no
exclusion records it. SIMULATED sweeps (the video-DiT simulator), prepared only: no sampling.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.laws import get_law
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.laws.hyperparams.law import HyperparamsLaw
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs import simulate as sim
from bayeslaws.runs.messages import LABELS_NOTE, ROWS_NOTE

SIZES, TOKENS = (0.017e9, 0.057e9, 0.13e9), (2e9, 4e9, 8e9)  # params, tokens: 9 cells of 36


def sweep_frame():
    """SIMULATED: 3 sizes x 3 token budgets, 36 runs per (N, D) cell, rows 0-323 in cell order."""
    return sim.simulate_video_dit_sweep(seed=5, sizes=SIZES, tokens=TOKENS)


def as_runs(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # a loss of 5: told at load
        return bl.load_runs(df, allow_missing_loss=True)


def prepare(law, runs):
    """(The law's Prepared for ``runs``, the DivergenceWarnings' texts)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = law.prepare(runs)
    told = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
    return prepared, told


def json_ready(state: dict) -> bool:
    return json.loads(json.dumps(state)) == state


def test_sweep_names_the_row_of_a_missing_loss():
    """The CLI review's case: a NaN loss at row 10 was "1 of 288 runs excluded from the bowls
    (1 with a missing (NaN) or +inf loss)", its row only in the run table's exclusions."""
    df = sweep_frame()
    df.loc[10, "loss"] = np.nan
    prepared, told = prepare(get_law("sweep"), as_runs(df))
    note = (
        f"1 of {len(df)} runs excluded from the bowls: 1 with a missing (NaN) or +inf loss at "
        f"rows 10 ({ROWS_NOTE})"
    )
    assert prepared.notes[0] == note and told == [note]
    div = prepared.state["divergence"]
    assert div["excluded_rows"] == ["10"] and div["row_note"] == ROWS_NOTE
    assert [e.rows for e in prepared.runs.exclusions] == [(10,)]  # as recorded before
    assert json_ready(prepared.state)


@pytest.mark.parametrize("mode", ["censor", "exclude"])
def test_hyperparams_names_its_diverged_rows(mode):
    """Censored runs (the default) stay in the fit, recorded by no exclusion: the law state
    keeps their labels, and the note and warning name them ("2 diverged runs censored" only,
    before)."""
    df = sweep_frame()
    df.loc[[10, 20], "loss"] = np.nan
    prepared, told = prepare(HyperparamsLaw(divergence=mode), as_runs(df))
    clause = f"2 with a missing (NaN) or +inf loss at rows 10, 20 ({ROWS_NOTE})"
    head = "2 diverged runs censored at loss " if mode == "censor" else "2 diverged runs excluded"
    note = prepared.notes[0]
    assert note.startswith(head) and note.endswith(f": {clause}")
    assert told == [f"{note}; divergence={mode!r}"]
    div = prepared.state["divergence"]
    assert div["diverged_rows"] == ["10", "20"] and div["row_note"] == ROWS_NOTE
    assert div["far_above_rows"] == [] and div["fenced_rows"] == []
    if mode == "censor":
        censored = np.asarray(prepared.data["censored"], bool)
        assert prepared.runs.df.index[censored].tolist() == [10, 20]
        assert not prepared.runs.exclusions
    assert json_ready(prepared.state)


@pytest.mark.parametrize("law", ["sweep", "hyperparams"])
def test_each_kind_names_its_own_rows_saying_once_what_they_count(law):
    df = sweep_frame()
    df.loc[10, "loss"] = np.nan
    df.loc[30, "loss"] = 5.0  # above 3x the median loss
    df["diverged"] = False
    df.loc[40, "diverged"] = True
    prepared, told = prepare(get_law(law), as_runs(df))
    note = prepared.notes[0]
    assert f"1 with a missing (NaN) or +inf loss at rows 10 ({ROWS_NOTE}); 1 with loss > 3x" in note
    assert "=LOSS) at rows 30; 1 more flagged in column 'diverged' at rows 40" in note
    assert note.count(ROWS_NOTE) == 1
    assert len(told) == 1 and note in told[0]
    div = prepared.state["divergence"]
    rows = div["excluded_rows"] if law == "sweep" else div["diverged_rows"]
    assert rows == ["10", "30", "40"]


def test_far_above_rows_are_named_the_first_ten_then_cut():
    df = sweep_frame()
    df.loc[10, "loss"] = np.nan
    prepared, told = prepare(HyperparamsLaw(far_above=0.01), as_runs(df))
    div = prepared.state["divergence"]
    far = div["far_above_rows"]
    assert len(far) == div["n_far_above"] > 10
    shown = ", ".join(far[:10])
    assert prepared.notes[0].endswith(
        f"; the far-above runs at rows {shown}, ... ({len(far)} rows)"
    )
    assert prepared.notes[0] in told[0]
    # the censored runs are exactly the rows the state names
    censored = np.asarray(prepared.data["censored"], bool)
    named = set(div["diverged_rows"]) | set(far)
    assert {str(r) for r in prepared.runs.df.index[censored]} == named
    assert len(named) == div["n_censored"]


def test_rows_of_a_frame_with_its_own_index_are_its_labels():
    df = sweep_frame()
    df.index = [f"run-{i:03d}" for i in range(len(df))]
    df.loc["run-010", "loss"] = np.nan
    prepared, told = prepare(HyperparamsLaw(), as_runs(df))
    assert prepared.notes[0].endswith(f"at rows run-010 ({LABELS_NOTE})")
    div = prepared.state["divergence"]
    assert div["diverged_rows"] == ["run-010"] and div["row_note"] == LABELS_NOTE


def test_fenced_runs_and_a_cell_left_out_are_named():
    """Runs beyond a cell's fence and the runs of a cell with no converged run are excluded
    (recorded with their rows on the run table): the warnings and notes name the rows too."""
    df = sweep_frame()
    df.loc[7, "loss"] *= 1.3  # far above its cell's other runs: beyond the cell's fence
    df.loc[288:, "loss"] = np.nan  # the last cell: no converged run
    prepared, told = prepare(HyperparamsLaw(fence=3.0), as_runs(df))
    fenced = [n for n in prepared.notes if "fence" in n]
    assert fenced == [
        f"1 of 288 runs excluded from the bowls: 1 beyond their cell's far-out fence (ln loss "
        f"> Q3 + 3 IQR; cells with >= 12 converged runs) at rows 7 ({ROWS_NOTE})"
    ]
    empty = [n for n in prepared.notes if "no converged run" in n]
    cut = ", ".join(str(r) for r in range(288, 298))
    assert empty == [
        "1 (N, D) cells with no converged run left out (36 runs, every one diverged, at rows "
        f"{cut}, ... (36 rows) ({ROWS_NOTE}))"
    ]
    assert any(f"their runs at rows {cut}, ..." in t for t in told)
    assert any("beyond their cell's far-out fence" in t and "at rows 7 (" in t for t in told)
    assert prepared.state["divergence"]["fenced_rows"] == ["7"]


def test_two_stage_names_the_diverged_runs_it_never_selects():
    df = sweep_frame()
    df.loc[[10, 20], "loss"] = np.nan
    prepared, _ = prepare(get_law("hyperparams_two_stage"), as_runs(df))
    assert f"2 diverged runs, at rows 10, 20 ({ROWS_NOTE}), never selected" in prepared.notes[0]
    div = prepared.state["divergence"]
    assert div["diverged_rows"] == ["10", "20"] and div["row_note"] == ROWS_NOTE
    assert json_ready(prepared.state)
