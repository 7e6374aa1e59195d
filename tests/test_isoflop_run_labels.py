"""The isoFLOP law's ``run`` column (per-run offsets) on SIMULATED Liang et al. points: a row
without a run label is an error naming it (it used to become run 'None' or 'nan', and all such
rows shared one offset as if one training run); fully labelled tables fit, save, reload and
update as before (one tiny fit and one update, ~30 s); Porian's ``const`` and ``kaplan`` decays
are read off one run per size, and the loader labels them so (a stand-in table and, when
../shared/data is present, the real one)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_or_skip

import bayeslaws as bl
from bayeslaws.laws.isoflop import LAW
from bayeslaws.runs import RunTableError, as_run_table, bundled, simulate

TINY = {"chains": 1, "warmup": 300, "draws": 100, "seed": 0, "warn": False}
UPDATE = {"warmup": 150, "draws": 100, "seed": 0, "warn": False}


def labelled_runs(seed: int = 1, budgets=(1e17, 3e17, 1e18, 3e18, 1e19)) -> pd.DataFrame:
    """SIMULATED isoFLOP runs (5 per budget) with a run label per row: 'r0' ... 'r4' by size
    rank, so each label spans every budget, as points read off one training run would."""
    df = simulate.simulate_liang_isoflop(
        seed=seed, budgets=budgets, n_per_budget=5, spread_decades=0.7
    )
    return df.assign(run=[f"r{i % 5}" for i in range(len(df))])


@pytest.mark.parametrize(
    "missing",
    [None, np.nan, pd.NA, "", "  ", "nan", "None", "<NA>"],
    ids=["None", "NaN", "NA", "empty", "spaces", "text-nan", "text-None", "text-NA"],
)
def test_rows_without_a_run_label_are_named_not_pooled_into_one_run(missing):
    """Rows 3 and 7 without a label used to become one run ('None' or 'nan') sharing one
    offset; now the error names them, says why, and gives both remedies."""
    df = labelled_runs().astype({"run": object})
    df.loc[[3, 7], "run"] = [missing, missing]
    with pytest.raises(RunTableError, match=r"2 of 25 runs have no run label") as error:
        LAW.prepare(as_run_table(df))
    message = str(error.value)
    assert "rows 3, 7 (0-based data rows, header not counted)" in message
    assert "one offset as if they were one training run" in message
    assert "Give every row its run's label" in message and "ignore_columns=['run']" in message


def test_a_csv_with_empty_run_cells_is_refused_by_fit(tmp_path):
    """An empty cell in a CSV's run column (read as NaN) is refused before any sampling."""
    df = labelled_runs().drop(columns="source").astype({"run": object})
    df.loc[[0, 24], "run"] = ""
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    with pytest.raises(RunTableError, match=r"rows 0, 24 \(0-based data rows"):
        bl.fit(bl.load_runs(path), law="isoflop", **TINY)


def test_full_labels_number_the_runs_as_stored_text():
    """Labels as a fit stores them (label_text): 7, 7.0 and '7' are one run; 'r1' another.
    Free offsets: 3 runs leave detrended offsets nothing to absorb (they are dropped)."""
    df = labelled_runs().astype({"run": object})
    df["run"] = [[7, 7.0, "7", "r1", "r2"][i % 5] for i in range(len(df))]
    prepared = LAW.configure(run_offsets="free").prepare(as_run_table(df))
    assert prepared.state["n_run_ids"] == 3
    index = np.asarray(prepared.data["run_index"])
    assert len(set(index[df.index[df["run"].isin(["r1"])]])) == 1
    assert len(set(index[[0, 1, 2]])) == 1


@pytest.fixture(scope="module")
def run_fit(tmp_path_factory):
    """(A tiny isoFLOP fit with full run labels, saved and reloaded; the reloaded fit.)"""
    fit = bl.fit(labelled_runs(), law="isoflop", likelihood="gaussian", **TINY)
    path = tmp_path_factory.mktemp("iso_runs") / "iso_runs.nc"
    fit.save(path)
    return fit, bl.load_fit(path)


def test_a_labelled_fit_reloads_and_updates_with_labelled_runs(run_fit):
    fit, loaded = run_fit
    assert loaded.record.training_runs["run"] == fit.record.training_runs["run"]
    assert loaded.record.law_state["n_run_ids"] == 5
    new = labelled_runs(seed=2, budgets=(3e19,)).drop(columns="source")
    updated = loaded.update(new, **UPDATE)
    assert updated.n_runs == fit.n_runs + len(new)
    assert updated.record.law_state["n_run_ids"] == 5  # the new points join runs r0 ... r4
    assert len(updated.record.law_state["budgets"]) == 6


def test_an_update_whose_new_runs_lack_run_labels_names_them(run_fit):
    """New runs without the fit's run column used to join one made-up run 'None'."""
    _, loaded = run_fit
    new = labelled_runs(seed=2, budgets=(3e19,)).drop(columns=["source", "run"])
    with pytest.raises(RunTableError, match=r"5 of 30 runs have no run label") as error:
        loaded.update(new, **UPDATE)
    assert "rows 25, 26, 27, 28, 29" in str(error.value)
    assert "fitted and the new runs need labels alike" in str(error.value)


# ---- Porian's shared runs -----------------------------------------------------------------------
def _stand_in(tmp_path, monkeypatch) -> None:
    """A tiny stand-in for ../shared/data/porian_isoflop: two sizes x two budgets, per decay."""
    folder = tmp_path / "porian_isoflop"
    folder.mkdir()
    rows = []
    for decay in ("const", "chinchilla"):
        for C in (1e17, 2e17):
            for N in (1e7, 3e7):
                loss = 3.5 + 0.1 * len(rows)  # distinct rows (no duplicate warning)
                rows.append({"decay": decay, "flops": C, "n_params": N, "loss": loss})
    config = {"source_file": "summary_df", "dataset": "rw", "hparams": "tuned"}
    pd.DataFrame(rows).assign(**config, param_count="standard").to_csv(
        folder / "isoflop_points.csv", index=False
    )
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(tmp_path))


def test_porian_const_and_kaplan_rows_get_one_run_label_per_size(tmp_path, monkeypatch):
    _stand_in(tmp_path, monkeypatch)
    const = bundled.porian_isoflop(decay="const")
    assert const.df["run"].tolist() == ["N=10000000", "N=30000000"] * 2
    assert "run" not in bundled.porian_isoflop(decay="chinchilla").df  # separate runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bundled.MixedConfigurationsWarning)
        mixed = bundled.porian_isoflop().df
    keys = zip(mixed["decay"], mixed["C"], mixed["N"], strict=True)
    labels = dict(zip(keys, mixed["run"], strict=True))
    # several configurations: prefixed by the configuration; a chinchilla row is its own run
    assert labels[("const", 1e17, 1e7)] == labels[("const", 2e17, 1e7)]
    assert labels[("const", 1e17, 1e7)] == "summary_df/rw/tuned/const/standard N=10000000"
    assert labels[("chinchilla", 1e17, 1e7)] != labels[("chinchilla", 2e17, 1e7)]
    assert mixed["run"].nunique() == 2 + 4


def test_porian_real_run_labels_pair_each_size_with_one_label():
    bundled_ = shared_or_skip()
    one = {
        "dataset": "rw", "hparams": "tuned", "warmup": "short", "param_count": "attention",
        "loss_type": "train", "source_file": "summary_df_att",
    }  # fmt: skip
    runs = bundled_.porian_isoflop(decay="const", **one)
    df = runs.df
    # the label is the file's size (N_eff for the attention count), one label per size
    assert (df["run"] == df["N_eff"].map(lambda n: f"N={n:.0f}")).all()
    assert df.groupby("run")["N"].nunique().eq(1).all()
    assert df["run"].nunique() == df["N"].nunique()
