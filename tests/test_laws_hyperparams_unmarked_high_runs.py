"""Law 'hyperparams': runs far above their cell's best that no mark calls diverged are named
(at the user's line, and in the divergence note), and a +inf loss is said as such."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.laws import resolve_law
from bayeslaws.laws.hyperparams import data as hp_data
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs.bundled import load_bundled


def _prepare(runs, **options):
    """law 'hyperparams' prepared on ``runs``, with the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = resolve_law("hyperparams", options).prepare(runs)
    named = [w for w in caught if "not marked as diverged" in str(w.message)]
    assert all(issubclass(w.category, PlausibilityWarning) for w in named)
    return prepared, [str(w.message) for w in caught]


def _sweep_with_high_runs(rows=(5, 40, 77), factor=2.5):
    """The bundled SIMULATED sweep with the runs at ``rows`` (labels) set to ``factor`` x their
    (N, D) cell's best loss (below 3x the median loss: no mark calls them diverged)."""
    runs = load_bundled()
    df = runs.df.copy()
    best = df.groupby(["N", "D"])["loss"].transform("min")
    df.loc[list(rows), "loss"] = factor * best.loc[list(rows)]
    assert (df.loc[list(rows), "loss"] < 3 * df["loss"].median()).all()
    return bl.load_runs(df[["N", "D", "lr", "batch_size", "loss"]])


def test_unmarked_high_runs_named_at_fit_time_and_in_the_note():
    """Runs more than 2x their cell's best, not marked diverged, are named (count, rows, the
    remedy) in one warning and in the divergence note, which no longer says "no diverged
    runs"; the clean bundled sweep gets neither."""
    prepared, caught = _prepare(_sweep_with_high_runs())
    high = [m for m in caught if "not marked as diverged lie more than 2x" in m]
    assert len(high) == 1, caught
    assert high[0].startswith("law 'hyperparams': 3 runs not marked as diverged")
    assert "rows 5, 40, 77" in high[0] and "divergence_threshold=" in high[0]
    assert "'diverged' column" in high[0]
    note = prepared.notes[0]
    assert note.startswith("no runs marked as diverged (a missing or +inf loss, a loss > 3x")
    assert "no diverged runs" not in note
    assert "; but 3 runs not marked as diverged lie more than 2x" in note
    div = prepared.state["divergence"]
    assert div["n_high_unmarked"] == 3 and div["high_unmarked_rows"] == ["5", "40", "77"]
    assert div["high_factor"] == hp_data.HIGH_FACTOR == 2.0

    clean, caught = _prepare(load_bundled())
    assert not [m for m in caught if "not marked as diverged" in m], caught
    assert "not marked as diverged lie" not in clean.notes[0]
    assert clean.state["divergence"]["n_high_unmarked"] == 0


def test_high_runs_marked_by_a_threshold_are_not_named_again():
    """The remedy works: with divergence_threshold below them the runs are diverged (censored),
    and no longer named as unmarked."""
    runs = _sweep_with_high_runs()
    threshold = 0.5 * (runs.df["loss"].nlargest(3).min() + runs.df["loss"].nlargest(4).min())
    prepared, caught = _prepare(runs, divergence_threshold=float(threshold))
    assert not [m for m in caught if "not marked as diverged" in m], caught
    assert prepared.state["divergence"]["n_diverged"] == 3
    assert prepared.state["divergence"]["n_high_unmarked"] == 0


def test_high_mask_counts_against_the_cells_converged_best():
    """2x the best converged run of the run's own cell, diverged runs neither counted nor the
    best."""
    df = pd.DataFrame({"N": [1, 1, 1, 2, 2], "D": [1, 1, 1, 1, 1],
                       "loss": [1.0, 2.1, 0.1, 3.0, 5.0]})
    diverged = np.array([False, False, True, False, False])
    mask = hp_data.high_mask(df, diverged, np.array([0, 0, 0, 1, 1]))
    assert mask.tolist() == [False, True, False, False, False]


def test_inf_loss_said_as_missing_or_inf():
    """A +inf loss read with allow_missing_loss=True (as NaN) is said as "missing (NaN) or +inf
    loss", not as a missing loss alone."""
    runs = load_bundled()
    df = runs.df[["N", "D", "lr", "batch_size", "loss"]].copy()
    df.loc[[3, 9], "loss"] = np.inf
    table = bl.load_runs(df, allow_missing_loss=True)
    kinds = hp_data.diverged_kinds(resolve_law("hyperparams"), table.df)
    assert kinds[0][1] == "2 with a missing (NaN) or +inf loss"


def test_unmarked_high_runs_warning_points_at_the_callers_line():
    """Through bl.fit (it had pointed into bayeslaws/inference/nuts.py)."""
    runs = _sweep_with_high_runs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.fit(runs, law="hyperparams", chains=1, warmup=10, draws=10, seed=0)
    (high,) = [w for w in caught if "not marked as diverged" in str(w.message)]
    assert high.filename == __file__
