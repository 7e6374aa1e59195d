"""A batch size larger than the run's training tokens (a batch already in tokens read with a
units= multiplier for sequences, or one mistyped row) warns, naming the rows and the unit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import tokens_batch_frame

import bayeslaws as bl
from bayeslaws.app.cli import with_cli_hints
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs import simulate as sim

ROWS_NOTE = "(0-based data rows, header not counted)"

STEP = "fewer than one optimizer step"


def step_warnings(load) -> list[str]:
    """The messages of the batch-above-D warnings that ``load()`` gives."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        load()
    return [str(w.message) for w in record if STEP in str(w.message)]


def tiny_sweep() -> pd.DataFrame:
    """SIMULATED: 2 sizes x 2 budgets x the simulator's lr x batch grid (batch in tokens)."""
    return sim.simulate_video_dit_sweep(seed=3, sizes=(0.017e9, 0.057e9), tokens=(2e9, 4e9))


# ---- 1. batch_size larger than the run's training tokens -------------------------------------
def test_a_batch_in_tokens_read_as_sequences_warns_naming_the_rows_and_the_unit():
    df = tokens_batch_frame()
    batch = df["batch_size"] * 2048
    expected = np.flatnonzero(batch > df["D"])  # the runs of fewer than one step
    assert 0 < len(expected) < len(df)
    with pytest.warns(PlausibilityWarning, match=STEP):
        runs = bl.load_runs(df, units={"batch_size": 2048})
    assert len(runs) == len(df)  # warned, never dropped
    (message,) = step_warnings(lambda: bl.load_runs(df, units={"batch_size": 2048}))
    rows = ", ".join(str(r) for r in expected)
    assert f"column 'batch_size' (tokens) exceeds the training tokens D of {len(expected)} " in (
        message
    )
    assert f"run(s) at rows {rows} {ROWS_NOTE}" in message
    assert "multiplied by its unit, 2048" in message and "drop that unit" in message
    assert "no --units batch_size=2048" in message and "--exclude-rows ROWS" in message
    # on the command line: the command-line forms only, no hint to add a unit
    cli = with_cli_hints(message, "fit")
    assert "Python:" not in cli and "--units COLUMN=MULTIPLIER" not in cli
    assert "on the command line: no --units batch_size=2048" in cli


def test_a_batch_above_d_in_one_row_without_a_unit_names_that_row():
    df = tokens_batch_frame()
    df.loc[4, "batch_size"] = 5e10  # mistyped: more than the run's 1.26e10 tokens
    (message,) = step_warnings(lambda: bl.load_runs(df))
    assert f"D of 1 run(s) at rows 4 {ROWS_NOTE}" in message
    assert "batch_size [5e+10] vs D [1.26191e+10]" in message
    assert "mistyped" in message and "drop that unit" not in message
    # vetted as real: never named
    assert step_warnings(lambda: bl.load_runs(df, accepted_rows=[4])) == []


def test_batches_within_the_run_do_not_warn():
    assert step_warnings(lambda: bl.load_runs(tokens_batch_frame())) == []
    assert step_warnings(lambda: bl.load_runs(tiny_sweep())) == []  # SIMULATED, in tokens
