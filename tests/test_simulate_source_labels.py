"""The ``source`` text the simulators write: the compute model when k != 6 (and load_runs with
it), the Liang and Chinchilla truths' fields, and the unchanged text of the default tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import SOURCE_GRID_D as D
from conftest import SOURCE_GRID_N as N
from conftest import SOURCE_GRID_TRUTH as TRUTH
from conftest import quiet

import bayeslaws as bl
from bayeslaws.runs import RunTableError
from bayeslaws.runs import simulate as sim

PREFIX = "simulated: bayeslaws.runs.simulate."


# -- C = k N D: the source names the compute model; the documented load_runs call loads it ------
def test_a_video_dit_truth_with_k_not_6_names_its_compute_model_and_loads_with_it():
    truth = sim.VideoDiTTruth(flops_per_param_token=6.75)
    for df in (
        sim.simulate_video_dit_sweep(seed=0, truth=truth, grid_points=(2, 2)),
        sim.simulate_grid(truth, [1e8, 2e8], [4e9, 8e9], [1e-4], [1e5], seed=0, source="mine"),
    ):
        assert np.allclose(df["C"], 6.75 * df["N"] * df["D"], rtol=1e-12)
        text = df["source"].iloc[0]
        assert text.startswith(PREFIX) and " compute_model=6.75" in text
        with pytest.raises(RunTableError, match="compute model 6ND"):
            bl.load_runs(df)  # load_runs assumes 6ND: the documented call passes k
        runs = bl.load_runs(df, compute_model=truth.flops_per_param_token)
        assert runs.compute_model.name == "6.75ND" and runs.simulated == "all"
        assert "SIMULATED" in runs.source and len(runs) == len(df)
        assert sim.truth_from_source(text) == truth


def test_a_liang_truth_with_k_not_6_names_its_compute_model_and_loads_with_it():
    truth = sim.LiangTruth(flops_per_param_token=8.0)
    df = sim.simulate_liang_isoflop(seed=0, truth=truth, n_per_budget=3)
    assert np.allclose(df["C"], 8.0 * df["N"] * df["D"], rtol=1e-12)
    assert df["source"].iloc[0].endswith(" compute_model=8.0")
    runs = bl.load_runs(df, compute_model=8.0)
    assert runs.compute_model.name == "8ND" and runs.simulated == "all"


def test_the_docstrings_give_c_as_k_n_d_and_the_load_call():
    for function in (sim.simulate_video_dit_sweep, sim.simulate_grid, sim.simulate_liang_isoflop):
        doc = function.__doc__
        assert "6ND" not in doc and "compute_model=k" in doc, function.__name__
    assert "k = 6)" not in sim.VideoDiTTruth.n_opt.__doc__
    assert "flops_per_param_token" in sim.VideoDiTTruth.n_opt.__doc__


def test_default_tables_keep_their_source_text():
    """k = 6 and the default truths add nothing (pinned strings; their numbers were compared
    with pandas.testing against the tables of the code before this change)."""
    sweep = sim.simulate_video_dit_sweep(seed=0, grid_points=(2, 2))
    assert sweep["source"].iloc[0] == PREFIX + "simulate_video_dit_sweep seed=0"
    grid = sim.simulate_grid(sim.VideoDiTTruth(), 1e8, 4e9, [1e-4], [1e5], seed=3, source="x")
    assert grid["source"].iloc[0] == PREFIX + "simulate_grid seed=3 label='x'"
    liang = sim.simulate_liang_isoflop(seed=0)
    assert liang["source"].iloc[0] == PREFIX + "simulate_liang_isoflop seed=0"


def test_compute_label_is_empty_for_6nd():
    assert sim.compute_label(6) == "" and sim.compute_label(6.75) == " compute_model=6.75"


# -- Liang: the source names a truth other than the default -------------------------------------
def test_liang_sources_name_the_fields_that_differ_from_the_default():
    default = sim.simulate_liang_isoflop(seed=0)
    other = sim.simulate_liang_isoflop(seed=0, truth=sim.LiangTruth(n_exp=0.5))
    assert default["source"].iloc[0] != other["source"].iloc[0]
    named = PREFIX + "simulate_liang_isoflop seed=0 truth=LiangTruth(n_exp=0.5)"
    assert other["source"].iloc[0] == named
    steep = sim.simulate_liang_isoflop(seed=0, curvature=0.05, noise_sd=0.0)
    assert steep["source"].iloc[0].endswith(" truth=LiangTruth(k=0.05, noise_sd=0.0)")
    assert sim.truth_from_source(other["source"].iloc[0]) is None  # not a video-DiT truth
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_exp = 0.5 puts D/N far from the usual range
        assert bl.load_runs(other).simulated == "all"


# ---- 2. simulate_chinchilla_runs records its truth -------------------------------------------
def _source(**kwargs) -> str:
    params = {**TRUTH, **kwargs.pop("params", {}), "N": N, "D": D}
    return sim.simulate_chinchilla_runs(params, seed=3, **kwargs)["source"].iloc[0]


def test_chinchilla_source_names_the_truth_and_one_likelihood_name():
    base = _source()
    assert _source(params={"alpha": 0.30}) != base  # another truth, the same seed
    assert _source(params={"E": 1.7}) != base
    assert _source(noise_sd=0.05) != base
    for field, value in {**TRUTH, "noise_sd": 0.01}.items():
        assert f"{field}={value!r}" in base
    student = {_source(likelihood=name, df=3.0) for name in ("student_t", "studentt", "t")}
    assert len(student) == 1 and "likelihood=student_t df=3.0" in student.pop()
    assert _source(likelihood="student_t", df=3.0) != _source(likelihood="student_t", df=5.0)
    # Gaussian draws do not use df: the same table, the same label
    assert _source(df=3.0) == _source(df=5.0) == base and " df=" not in base


@pytest.mark.parametrize("likelihood", ["gaussian", "t"])
def test_chinchilla_truth_round_trips_through_the_source(likelihood):
    params = {**TRUTH, "alpha": 0.3125, "N": N, "D": D}
    table = sim.simulate_chinchilla_runs(params, noise_sd=0.03, seed=7, likelihood=likelihood)
    runs = quiet(bl.load_runs, table)
    for text in (table["source"].iloc[0], runs.source, runs.record()["source"]):
        truth = sim.chinchilla_truth_from_source(text)
        assert truth["alpha"] == 0.3125 and truth["noise_sd"] == 0.03 and truth["seed"] == 7
        again = sim.simulate_chinchilla_runs({**truth, "N": N, "D": D})
        pd.testing.assert_frame_equal(again, table)
    assert sim.chinchilla_truth_from_source(runs.source)["likelihood"] in ("gaussian", "student_t")
    assert sim.chinchilla_truth_from_source("runs.csv") is None
    assert sim.truth_from_source(runs.source) is None  # not a video-DiT truth
