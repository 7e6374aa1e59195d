"""Review 6 (low severity) of the simulators and of the user-line warnings.

* warn: a frame was "inside the package" when its path merely started with the package
  folder's text, so a user folder beside it (``.../bayeslaws_notebooks``) counted as package
  code and its warnings were located further out.
* A truth with ``flops_per_param_token`` k != 6 gives C = k N D, which ``load_runs`` checks
  against 6 N D: the source now names ``compute_model=k`` and ``load_runs(df,
  compute_model=k)`` loads the table (documented).
* simulate_liang_isoflop wrote the same source for every truth; it now names the changed fields.
* A ``lr_grid`` / ``batch_grid`` dict lacking a size was a bare KeyError(57000000.0).
* simulate_chinchilla_runs took E = NaN (NaN losses) and other impossible constants.
Default tables keep their numbers and their source text (checked against pinned strings).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.runs import RunTableError, warn
from bayeslaws.runs import simulate as sim

PREFIX = "simulated: bayeslaws.runs.simulate."
CHIN = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37, "N": [1e8, 1e9]}


# -- warn: inside the package by path components, not by text prefix ---------------------------
def test_a_sibling_folder_of_the_package_is_not_package_code():
    sibling = warn.PACKAGE_DIR + "_notebooks/analysis.py"
    assert not warn._inside_package(sibling)
    assert not warn._inside_package(warn.PACKAGE_DIR + "2/x.py")
    assert warn._inside_package(sim.__file__)
    assert warn._inside_package(str(Path(warn.PACKAGE_DIR) / "runs" / "not_a_module_yet.py"))
    assert not warn._inside_package("<stdin>")


def _warn_from(filename: str) -> warnings.WarningMessage:
    """The warning of a ``warn_user`` call made by code whose frames name ``filename``."""
    code = compile("def cell():\n    warn_user('here', UserWarning)\n", filename, "exec")
    space = {"warn_user": warn.warn_user}
    exec(code, space)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space["cell"]()
    assert len(caught) == 1
    return caught[0]


def test_a_warning_from_a_sibling_folder_points_at_its_own_line():
    """Code in ``.../bayeslaws_notebooks`` is the user's: the warning names its line (it named
    this test file, one frame further out)."""
    sibling = warn.PACKAGE_DIR + "_notebooks/analysis.py"
    caught = _warn_from(sibling)
    assert (caught.filename, caught.lineno) == (sibling, 2)


def test_a_warning_from_package_code_still_points_past_it():
    inside = str(Path(warn.PACKAGE_DIR) / "runs" / "_stand_in.py")
    assert _warn_from(inside).filename == __file__


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


# -- lr_grid / batch_grid dicts lacking a size --------------------------------------------------
@pytest.mark.parametrize("argument", ["lr_grid", "batch_grid"])
def test_a_grid_dict_lacking_a_size_is_a_value_error_naming_it(argument):
    grid = {1.7e7: [1e-4, 2e-4]} if argument == "lr_grid" else {1.7e7: [1e5, 2e5]}
    with pytest.raises(ValueError, match=rf"{argument} has no grid for size 57000000\.0") as err:
        sim.simulate_video_dit_sweep(seed=0, sizes=(1.7e7, 5.7e7), **{argument: grid})
    assert "17000000.0" in str(err.value)  # the sizes it has


def test_a_grid_dict_with_every_size_still_works():
    grids = {"lr_grid": {1.7e7: [1e-4, 2e-4]}, "batch_grid": {1.7e7: 1e5}}
    df = sim.simulate_video_dit_sweep(seed=0, sizes=(1.7e7,), tokens=(2e9,), **grids)
    assert sorted(df["lr"]) == [1e-4, 2e-4] and set(df["batch_size"]) == {1e5}


# -- Chinchilla constants -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [("E", np.nan), ("E", -0.1), ("E", np.inf), ("A", 0.0), ("A", -400.0), ("B", np.inf),
     ("alpha", -0.3), ("alpha", 0.0), ("beta", np.nan), ("beta", "0.3"), ("A", None)],
)
def test_chinchilla_constants_must_be_finite_and_positive(name, value):
    params = {**CHIN, "D": 1e10, name: value}
    bound = ">= 0" if name == "E" else "> 0"
    with pytest.raises(ValueError, match=rf"params\['{name}'\] must be a finite number {bound}"):
        sim.simulate_chinchilla_runs(params)


def test_chinchilla_accepts_e_zero_and_numpy_scalars():
    params = {**CHIN, "D": 1e10, "E": 0, "alpha": np.float64(0.35), "A": np.int64(480)}
    df = sim.simulate_chinchilla_runs(params, seed=1)
    assert np.isfinite(df["loss"]).all()
    plain = sim.simulate_chinchilla_runs({**params, "E": 0.0, "alpha": 0.35, "A": 480.0}, seed=1)
    pd.testing.assert_frame_equal(df, plain)
