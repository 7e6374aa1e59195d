"""Planning: the truth a plan is scored against, fixed_vs_optimal's cells, two loads of one fit.

The truth a plan is scored against, the range check of fixed_vs_optimal's cells, the route of two
loads of one fit, and the words of the paper's fixed-vs-optimal cuts and of a loaded sweep's
source."""

from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.app import plan as plan_module
from bayeslaws.runs import PlausibilityWarning, bundled
from bayeslaws.runs.simulate import (
    VideoDiTTruth,
    simulate_grid,
    simulate_video_dit_sweep,
    truth_from_source,
)

MINE = VideoDiTTruth(alpha=0.30, eta_coef=4e-4)  # a documented non-default truth (reviewer's)


def _with_runs(fit, df: pd.DataFrame, source: str):
    """``fit`` with its record's fitted runs and data source replaced (no refit: the truth
    checks read only these)."""
    out = copy.copy(fit)
    columns = ["N", "D", "C", "lr", "batch_size", "loss"]
    runs = {c: df[c].astype(float).tolist() for c in columns}
    data = {**fit.record.data, "source": source, "n_rows_used": len(df)}
    out.record = dataclasses.replace(fit.record, training_runs=runs, data=data)
    return out


# ---- 1. the truth a plan is scored against ----------------------------------------------------
def test_sweep_source_records_a_non_default_truth_and_keeps_the_default_label():
    mine = simulate_video_dit_sweep(seed=5, truth=MINE)["source"].iloc[0]
    assert "truth=VideoDiTTruth(alpha=0.3, eta_coef=0.0004)" in mine
    assert truth_from_source(mine) == MINE
    grid = simulate_grid(MINE, 1e8, 4e9, [1e-4], [1e5], seed=0)["source"].iloc[0]
    assert truth_from_source(grid) == MINE
    default = simulate_video_dit_sweep(seed=20251121)["source"].iloc[0]
    bundled_csv = pd.read_csv(bundled.bundled_path(bundled.DEFAULT_DATASET))
    assert (bundled_csv["source"] == default).all()  # the bundled CSV needs no regenerating
    assert truth_from_source(default) == VideoDiTTruth()
    assert truth_from_source("runs.csv") is None


def test_sweep_simulated_with_another_truth_is_not_scored_against_the_default(
    small_sweep_sweep_fit,
):
    """known_truth returned VideoDiTTruth() for any SIMULATED fit, so a sweep simulated with
    truth=VideoDiTTruth(alpha=0.30, ...) was reported OUTSIDE against the default truth."""
    df = simulate_video_dit_sweep(seed=5, sizes=(0.017e9, 0.26e9), tokens=(2e9, 12e9), truth=MINE)
    mine = _with_runs(small_sweep_sweep_fit, df, "DataFrame (SIMULATED: its source column says so)")
    assert plan_module.known_truth(mine) is None
    assert "truth=" in plan_module.unknown_truth_note(mine)
    assert plan_module.known_truth(mine, truth=MINE) is MINE  # given: used as is


def test_truth_recorded_in_the_data_source_is_rebuilt(small_sweep_sweep_fit):
    df = simulate_video_dit_sweep(seed=5, sizes=(0.017e9, 0.26e9), tokens=(2e9, 12e9), truth=MINE)
    recorded = _with_runs(small_sweep_sweep_fit, df, f"{df['source'].iloc[0]} (SIMULATED)")
    assert plan_module.known_truth(recorded) == MINE


def test_default_truth_still_known_for_the_bundled_and_default_sweeps(small_sweep_sweep_fit):
    path = bundled.bundled_path(bundled.DEFAULT_DATASET)
    runs = bl.load_bundled()
    fit = _with_runs(small_sweep_sweep_fit, runs.df, runs.source)
    assert str(path) in runs.source
    assert plan_module.known_truth(fit) == VideoDiTTruth()
    assert plan_module.known_truth(small_sweep_sweep_fit) == VideoDiTTruth()  # a default DataFrame
    assert plan_module.unknown_truth_note(small_sweep_sweep_fit) == ""


def test_runs_of_another_simulator_get_no_video_dit_truth(simulated_fit):
    """A Chinchilla-form simulation (no lr, no batch size) was scored against VideoDiTTruth."""
    assert plan_module.known_truth(simulated_fit) is None


# ---- 2. fixed_vs_optimal's cells ---------------------------------------------------------------
def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category, str(w.message)) for w in caught]


def test_cells_in_other_units_are_named_not_the_derived_batch(small_sweep_sweep_fit):
    """Cells with N in billions gave only 'batch_size = 746 ... looks like a batch in
    sequences', about a batch the user never passed."""
    cells = small_sweep_sweep_fit.training_runs().df[["N", "D"]].drop_duplicates()
    billions = cells.assign(N=cells["N"] / 1e9)
    _, caught = _caught(
        lambda: bl.fixed_vs_optimal(small_sweep_sweep_fit, 1e22, cells=billions, n_draws=10)
    )
    plaus = [m for c, m in caught if issubclass(c, PlausibilityWarning)]
    assert any(m.startswith("fixed_vs_optimal(cells=...): N = ") for m in plaus), plaus
    assert not any("looks like a batch in sequences" in m for m in plaus), plaus
    derived = [m for m in plaus if "not given" in m]
    assert derived and "comes from cells" in derived[0], plaus


def test_given_setting_is_still_checked_and_own_cells_are_quiet(small_sweep_sweep_fit):
    cells = small_sweep_sweep_fit.training_runs().df[["N", "D"]].drop_duplicates()
    _, caught = _caught(
        lambda: bl.fixed_vs_optimal(
            small_sweep_sweep_fit, 1e22, cells=cells, batch_size=64, n_draws=10
        )
    )
    plaus = [m for c, m in caught if issubclass(c, PlausibilityWarning)]
    assert any("looks like a batch in sequences" in m for m in plaus), plaus  # the user's own
    assert not any("cells" in m for m in plaus), plaus


# ---- 3. the route --------------------------------------------------------------------------------
def test_two_loads_of_one_fit_are_the_joint_route(
    small_sweep_sweep_fit, small_sweep_hp_fit, tmp_path
):
    """route_of compared fits by identity: planning(a, b) with two loads of one sweep fit was
    described as the best-cell baseline (law 'hyperparams' + a Chinchilla surface)."""
    path = tmp_path / "sweep.nc"
    small_sweep_sweep_fit.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fit's sampler trouble, announced on load
        a, b = bl.load_fit(path), bl.load_fit(path)
    assert plan_module.route_of(a, b) == "joint"
    assert plan_module.same_fit(small_sweep_sweep_fit, a)
    assert plan_module.route_of(small_sweep_hp_fit, small_sweep_sweep_fit) == "best-cell"


def test_a_different_posterior_is_not_the_same_fit(small_sweep_sweep_fit):
    other = copy.copy(small_sweep_sweep_fit)
    other.idata = small_sweep_sweep_fit.idata.copy()
    name = next(iter(other.idata.posterior.data_vars))
    other.idata.posterior[name] = other.idata.posterior[name] * (1 + 1e-6)
    assert not plan_module.same_fit(small_sweep_sweep_fit, other)
    assert np.isfinite(other.idata.posterior[name].values).all()


# ---- 4. the paper's fixed-vs-optimal numbers in the notebook ----------------------------------
def test_paper_repro_words_the_size_and_inference_cuts_apart():
    """Cell 8 called 40.1% 'a size cut'; 2.43e9 vs 4.04e9 is 39.9% fewer parameters, and 40.1%
    is the paper's inference-cost cut (PAPERS.md)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / "paper_repro.ipynb"
    cells = json.loads(path.read_text())["cells"]
    text = " ".join("".join(c["source"]).replace("\n", " ") for c in cells)
    assert "size cut of 40.1%" not in text
    assert f"{1 - 2.43 / 4.04:.1%} fewer parameters" in text
    assert "40.1% cut in inference cost" in text


def test_a_loaded_sweeps_source_names_its_truth_and_noise():
    """The truth a simulator recorded in each row's source column never reached a fit's
    provenance (the table's source said only "SIMULATED: its source column says so"), so
    planning found no truth for a sweep simulated with alpha 0.30; and a default truth with
    noise_sd=0.01 lost its check (the residual test failed). The table's source now keeps the
    one simulator call of its rows, with the truth that made them."""
    from bayeslaws.runs.simulate import VideoDiTTruth, simulate_video_dit_sweep, truth_from_source

    cells = {"sizes": (0.017e9, 0.057e9), "tokens": (2e9, 5e9)}
    mine = VideoDiTTruth(alpha=0.30)
    runs = bl.load_runs(simulate_video_dit_sweep(seed=1, truth=mine, **cells))
    assert truth_from_source(runs.source) == mine
    noisy = bl.load_runs(simulate_video_dit_sweep(seed=1, noise_sd=0.01, **cells))
    assert truth_from_source(noisy.source) == VideoDiTTruth(noise_sd=0.01)
    assert truth_from_source(bl.load_bundled().source) == VideoDiTTruth()
