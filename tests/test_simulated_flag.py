"""Whether runs are SIMULATED is decided from structured information (the table's ``source``
column, as the simulators and the bundled simulated sweep write it), recorded at load as
``RunTable.simulated`` and the record's ``"simulated"`` key, never from a file name: real runs
in a folder named "SIMULATED_x" were labelled SIMULATED everywhere (fit repr, figure titles,
planning report), and ``simulate_grid(..., source="pilot sweep")`` replaced the "simulated: ..."
text, so its runs were labelled nowhere."""

from __future__ import annotations

import shutil
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design, shared_or_skip

import bayeslaws as bl
from bayeslaws import plot
from bayeslaws.app.plan import simulated_data
from bayeslaws.runs import bundled
from bayeslaws.runs.provenance import simulated_extent
from bayeslaws.runs.simulate import VideoDiTTruth, simulate_grid, truth_from_source

matplotlib.use("Agg")

TINY = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0}  # the labels are read, not draws


def _fit(runs, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny draws: the sampler checks are not under test
        return bl.fit(runs, law="chinchilla", likelihood="gaussian", **TINY, **kwargs)


def _load_fit(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.load_fit(path)


def _real_points() -> pd.DataFrame:
    """30 measured-looking Chinchilla points (60M-6B params x 1B-100B tokens), written out with
    a fixed +-1% pattern of deviations: no simulator made them and no column says simulated."""
    N, D = chinchilla_design()
    loss = TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]
    wiggle = 1 + 0.01 * np.sin(np.arange(len(N)) * 2.3)
    return pd.DataFrame({"N": N, "D": D, "loss": np.round(loss * wiggle, 4)})


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---- (a) a real table in a folder whose name holds SIMULATED -----------------------------------
def test_real_runs_in_a_simulated_named_folder_are_not_simulated(tmp_path):
    folder = tmp_path / "SIMULATED_x"
    folder.mkdir()
    path = folder / "runs.csv"
    _real_points().to_csv(path, index=False)
    runs = bl.load_runs(path)
    assert "SIMULATED" in runs.source  # the path, which says nothing about the runs
    fit = _fit(runs)
    assert fit.simulated_extent == "none"
    assert "SIMULATED" not in repr(fit) and fit.simulated_words == ""
    assert runs.simulated == "none" and runs.record()["simulated"] == "none"
    assert not simulated_data(fit)  # the planning report's rule
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = plot.n_opt(fit, (1e18, 1e22))
    assert "SIMULATED" not in _one_line(fig.axes[0].get_title())
    matplotlib.pyplot.close(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = plot.fan(fit, runs, n_points=8, relative_panel=False)  # drawn beside the fit
    assert "SIMULATED" not in _one_line(fig._suptitle.get_text())
    matplotlib.pyplot.close(fig)
    # (c) saved and loaded: still not simulated
    fit.save(tmp_path / "fit.nc")
    loaded = _load_fit(tmp_path / "fit.nc")
    assert loaded.simulated_extent == "none" and "SIMULATED" not in repr(loaded)


def test_epoch_runs_in_a_simulated_named_folder_are_not_simulated(tmp_path):
    """The reviewer's case: Epoch AI's Chinchilla points copied to .../SIMULATED_vs_real/."""
    data = shared_or_skip().shared_data_dir() / "epoch_chinchilla" / "svg_extracted_data.csv"
    folder = tmp_path / "SIMULATED_vs_real"
    folder.mkdir()
    shutil.copy(data, folder / "epoch.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = bl.load_runs(folder / "epoch.csv", N="Model Size", C="Training FLOP")
    from bayeslaws.runs.provenance import recorded_extent

    assert simulated_extent(runs.source) == "none"  # the text rule skips the path
    assert runs.simulated == "none"
    assert recorded_extent(runs.record()) == "none"


# ---- (b) a simulator's caller-given source is a label, not a replacement -----------------------
def test_simulate_grid_source_is_a_label_and_the_rows_stay_simulated(tmp_path):
    sizes = np.geomspace(6e7, 2e9, 5)
    df = simulate_grid(VideoDiTTruth(), sizes, 20 * sizes, [1e-4, 3e-4], [2**16], 0, 0.01,
                       source="pilot sweep")  # fmt: skip
    text = df["source"].iloc[0]
    assert text.startswith("simulated: bayeslaws.runs.simulate.simulate_grid seed=0")
    assert text.endswith(" label='pilot sweep'")
    assert truth_from_source(text) == VideoDiTTruth(noise_sd=0.01)  # the noise it was drawn with
    runs = bl.load_runs(df)
    assert "(SIMULATED: its source column says so)" in runs.source
    fit = _fit(runs)
    assert fit.simulated_extent == "all"
    assert repr(fit).startswith("<Fit chinchilla/gaussian (SIMULATED data): 10 runs")
    assert runs.simulated == "all" and runs.record()["simulated"] == "all"
    assert simulated_data(fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tiny fit's optimum may sit at the search's edge
        fig = plot.n_opt(fit, (1e18, 1e22))
    assert "(SIMULATED data)" in _one_line(fig.axes[0].get_title())
    matplotlib.pyplot.close(fig)
    # (c) saved and loaded: the flag is kept
    fit.save(tmp_path / "fit.nc")
    loaded = _load_fit(tmp_path / "fit.nc")
    assert loaded.record.data["simulated"] == "all"
    assert loaded.simulated_extent == "all" and repr(loaded) == repr(fit)


def test_a_label_never_hides_the_truth_and_must_be_text():
    mine = VideoDiTTruth(alpha=0.3)
    df = simulate_grid(mine, 1e8, 4e9, [1e-4], [1e5], seed=0, source="truth=VideoDiTTruth(k_lr=9)")
    assert truth_from_source(df["source"].iloc[0]) == mine  # the label is not read as a truth
    default = simulate_grid(VideoDiTTruth(), 1e8, 4e9, [1e-4], [1e5], 0, source="x")["source"]
    assert truth_from_source(default.iloc[0]) == VideoDiTTruth()
    with pytest.raises(TypeError, match="source="):
        simulate_grid(mine, 1e8, 4e9, [1e-4], [1e5], seed=0, source=3)


# ---- (d) the bundled simulated sweep --------------------------------------------------------
def test_the_bundled_simulated_sweep_still_says_simulated():
    runs = bl.load_bundled()
    assert runs.simulated == "all" and runs.record()["simulated"] == "all"
    assert "(SIMULATED: its source column says so)" in runs.source
    assert truth_from_source(runs.source) == VideoDiTTruth()
    kept = runs.exclude(runs.df["N"] > 1e8, reason="small models only")
    assert kept.simulated == "all"  # the extent of the table as loaded
    assert bl.load_runs(kept).simulated == "all"  # and of a RunTable loaded again
    assert bl.load_runs(runs.df.drop(columns="source")).simulated == "none"  # nothing says so
    assert bundled.bundled_path(bundled.DEFAULT_DATASET).name == "video_dit_sweep_simulated.csv"


def test_partly_simulated_tables_and_the_text_rule_of_older_records():
    from bayeslaws.runs.provenance import recorded_extent

    df = _real_points().assign(source="measured")
    df.loc[:9, "source"] = "simulated: by hand"
    runs = bl.load_runs(df)
    assert runs.simulated == "partly"
    assert "(partly SIMULATED: 10 of 30 rows by its source column)" in runs.source
    # records saved before the "simulated" key: only the notes load_runs appends count
    assert recorded_extent({"source": "/data/SIMULATED_x/runs.csv"}) == "none"
    assert recorded_extent({"source": "/data/runs (SIMULATED)/runs.csv"}) == "none"
    assert recorded_extent({"source": "runs.csv (SIMULATED: its source column says so)"}) == "all"
    assert recorded_extent({"source": "x.csv (partly SIMULATED: 3 of 9 rows)"}) == "partly"
    # a source rewritten after the extent was recorded (an update, a relabelled record) is
    # read from its text again
    moved = {**runs.record(), "source": "measured runs.csv"}
    assert recorded_extent(moved) == "none"
    assert recorded_extent(runs.record()) == "partly"


# ---- an update adds the new runs' extent to the fit's ------------------------------------------
@pytest.mark.parametrize(
    "new_is_simulated, expected",
    [(True, "partly"), (False, "none")],
)
def test_an_update_combines_the_fit_and_the_new_runs_extents(new_is_simulated, expected):
    """A real fit updated with simulated runs is partly SIMULATED, with real runs still none
    (before: the source column of new runs was dropped, and the fit read its rewritten source
    text: 'all' for a simulated fit plus real runs)."""
    real = _fit(bl.load_runs(_real_points()))
    new = pd.DataFrame({"N": [3e8, 1e9], "D": [7e9, 2e10], "loss": [2.45, 2.3]})
    if new_is_simulated:
        new = new.assign(source="simulated: by hand for this test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        updated = real.update(new, seed=0)
    assert updated.simulated_extent == expected
    simulated = _fit(bl.load_runs(_real_points().assign(source="simulated: by hand")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = simulated.update(new, seed=0)
    assert mixed.simulated_extent == ("all" if new_is_simulated else "partly")
