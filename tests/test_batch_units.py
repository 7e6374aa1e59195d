"""The unit a user's columns were given in is kept (``RunTable.units``, a fit's ``units``)
through exclusions, re-loads, saved fits and updates, so that ``bayeslaws plan`` gives the
next runs' batch sizes in the user's unit (``batch_size_as_given``: whole sequences of 2048
tokens for ``--units batch_size=2048``), not only as fractional tokens (49.57 sequences).

SIMULATED data throughout (the bundled simulators), tiny fits."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design, cli_run

import bayeslaws as bl
from bayeslaws.app import plan
from bayeslaws.inference.update import carried_provenance
from bayeslaws.runs import simulate

TINY = ["--chains", "1", "--warmup", "100", "--draws", "100"]
SEQUENCE = 2048  # tokens per sequence


def _runs_frame(n_sizes: int = 3, seed: int = 1) -> pd.DataFrame:
    N, D = chinchilla_design(n_sizes, 3)
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=seed)
    return df.drop(columns=["source", "C"], errors="ignore")


def test_load_runs_records_the_units_it_read_with():
    df = _runs_frame().assign(N=lambda d: d["N"] / 1e6)  # N in millions
    runs = bl.load_runs(df, units={"N": "millions"})
    assert runs.units == {"N": 1e6}
    assert runs.record()["units"] == {"N": 1e6}
    assert bl.load_runs(_runs_frame()).units == {}  # canonical: nothing recorded
    assert "units" not in bl.load_runs(_runs_frame()).record()
    kept = runs.exclude(runs.df["N"] < runs.df["N"].max(), reason="small models")
    assert kept.units == {"N": 1e6}
    # a re-load composes: its values carry the earlier unit already
    again = bl.load_runs(runs.df.drop(columns="C").assign(D=lambda d: d["D"] / 1e9),
                         units={"D": "billions"})  # fmt: skip
    assert again.units == {"D": 1e9}
    assert bl.load_runs(runs, units={"loss": 1.0}).units == {"N": 1e6}


def test_an_update_keeps_the_fits_units():
    """The updated fit's run provenance (update.carried_provenance) keeps the units the fit's
    runs were first read with; the refit's table, rebuilt from canonical values, has none."""
    old = {"source": "mine.csv", "n_input_rows": 9, "exclusions": [], "units": {"N": 1e6}}
    refit = {"source": "DataFrame", "n_input_rows": 12, "exclusions": []}
    new = _runs_frame(seed=2).iloc[:3]
    data = carried_provenance(old, refit, new, renamed={})
    assert data["units"] == {"N": 1e6}
    assert "units" not in carried_provenance({**old, "units": {}}, refit, new, renamed={})


@pytest.fixture(scope="module")
def sweep_in_sequences(small_sweep, tmp_path_factory):
    """The small SIMULATED sweep (conftest) written with its batch in sequences of 2048 tokens,
    as many users log it."""
    df = small_sweep.df.drop(columns=["source", "C"], errors="ignore")
    df = df.assign(batch_size=df["batch_size"] / SEQUENCE)
    path = tmp_path_factory.mktemp("units") / "my_sweep.csv"
    df.to_csv(path, index=False)
    return path


def test_plan_gives_the_next_runs_batch_in_the_users_unit(sweep_in_sequences, tmp_path, capsys):
    out = tmp_path / "planned"
    target = ["--target-N", "5e8", "--target-D", "2e10", "--budget", "1e20"]
    argv = ["plan", sweep_in_sequences, "--units", f"batch_size={SEQUENCE}", *target,
            "--out", out, *TINY, "--no-figures"]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    assert code == 0, err
    runs = pd.read_csv(out / "next_runs.csv")
    given = runs["batch_size_as_given"].to_numpy(float)
    assert len(runs) and np.array_equal(given, np.rint(given)) and (given >= 1).all()
    expected = np.maximum(np.rint(runs["batch_size"].to_numpy(float) / SEQUENCE), 1)
    np.testing.assert_array_equal(given, expected)
    columns = list(runs.columns)
    assert columns.index("batch_size_as_given") == columns.index("batch_size") + 1
    text = " ".join((out / "report.txt").read_text().split())
    assert "Column batch_size_as_given is the batch in the unit your runs gave theirs in" in text
    # the saved fit remembers the unit (a plan from it gives the same column: picked_runs
    # reads fit.units), and so do its training runs (an update starts from them)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fit's sampler warning
        saved = bl.load_fit(out / "sweep_fit.nc")
    assert saved.units == {"batch_size": float(SEQUENCE)}
    assert saved.training_runs().units == {"batch_size": float(SEQUENCE)}


def test_a_batch_in_tokens_gets_no_second_column():
    """batch_as_given reads only the fit's units (a stand-in holds them here)."""
    assert plan.batch_as_given([1e5], SimpleNamespace(units={})) is None
    assert plan.batch_as_given([1e5], SimpleNamespace(units={"N": 1e6})) is None
    np.testing.assert_array_equal(
        plan.batch_as_given([1e5, 100.0], SimpleNamespace(units={"batch_size": 2048.0})),
        [49.0, 1.0],  # 48.8 sequences -> 49; a batch under one sequence -> 1
    )


def test_picked_runs_of_candidates_read_back_derive_the_batch_as_given(monkeypatch):
    """Candidates read back from a file this package wrote carry ``batch_size_as_given``;
    picked_runs derived it again by inserting the column and failed ("cannot insert
    batch_size_as_given, already exists"). It is now derived from batch_size, not copied."""
    runs = pd.DataFrame({
        "rank": [1, 1], "unit": ["u0", "u0"], "N": [1e8, 1e8], "D": [2e9, 2e9], "C": [1.2e18] * 2,
        "lr": [1e-3, 2e-3], "batch_size": [4096.0, 8192.0],
        "batch_size_as_given": [99.0, 99.0],  # stale: an edit the derived column replaces
    })  # fmt: skip
    monkeypatch.setattr(plan.design, "runs_of_plan", lambda cands, batch, fit: runs)
    out = plan.picked_runs(SimpleNamespace(units={"batch_size": float(SEQUENCE)}), None, None)
    np.testing.assert_array_equal(out["batch_size_as_given"], [2.0, 4.0])
    columns = list(out.columns)
    assert columns.index("batch_size_as_given") == columns.index("batch_size") + 1
