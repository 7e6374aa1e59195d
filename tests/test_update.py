"""``fit.update``: what an updated fit remembers of the runs left out, new runs in another
compute model refused, a run passed again refused whatever the type of its run label, warnings
about new runs naming their rows in new_runs, new groups warned about (SIMULATED runs)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference.update import combined_runs
from bayeslaws.runs import PlausibilityWarning, simulate

TRUTH = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
TINY = {"chains": 1, "warmup": 150, "draws": 150}


def _runs(N, D, seed):
    params = {**TRUTH, "N": np.asarray(N, float), "D": np.asarray(D, float)}
    return simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=seed)


@pytest.fixture(scope="module")
def excluded_fit():
    """A fit of 24 runs after two were excluded by the user ('typo')."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    runs = bl.load_runs(_runs(N.ravel(), D.ravel(), seed=1))
    runs = runs.exclude(runs.df.index.isin([0, 5]), "typo")
    return bl.fit(runs, likelihood="gaussian", seed=0, warn=False, **TINY)


def test_an_update_keeps_the_exclusions_and_counts_every_input_row(excluded_fit):
    new = _runs([3e9, 4e9], [6e10, 8e10], seed=2)
    updated = excluded_fit.update(new, warn=False)
    data = updated.record.data
    reasons = [e["reason"] for e in data["exclusions"]]
    assert "typo" in reasons
    assert data["n_input_rows"] == excluded_fit.record.data["n_input_rows"] + len(new)
    assert data["source"].startswith(excluded_fit.record.data["source"])
    assert updated.n_runs == excluded_fit.n_runs + len(new)


def test_new_runs_in_another_compute_model_are_refused(excluded_fit):
    new = pd.DataFrame({"N": [3e9], "D": [6e10], "loss": [2.0]})
    with pytest.raises(ValueError, match="compute model '7ND' but the fit uses '6ND'"):
        combined_runs(excluded_fit, bl.load_runs(new, compute_model=7))
    runs, _ = combined_runs(excluded_fit, bl.load_runs(new))  # the fit's own model: fine
    assert runs.df["C"].iloc[-1] == pytest.approx(6 * 3e9 * 6e10)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"cold_above": True}, ValueError, "cold_above must be a positive R-hat"),
        ({"screen": "drop"}, ValueError, "screen"),
        ({"warn": "no"}, TypeError, "warn must be True or False"),
    ],
)
def test_update_options_are_checked_before_any_sampling(excluded_fit, options, error, message):
    new = pd.DataFrame({"N": [3e9], "D": [6e10], "loss": [2.0]})
    with pytest.raises(error, match=message):
        excluded_fit.update(new, **options)


def test_a_crowded_process_keeps_the_warmed_kernel_until_the_update_samples(
    excluded_fit, monkeypatch
):
    """The mapped-regions check runs at every fit; inside an update's refit it must not
    release, or the kernel warmed at the old posterior is dropped and the update samples cold
    with half the warm-up while saying it was warm-started. One release, before the warm-up."""
    from bayeslaws.inference import memory

    monkeypatch.setattr(memory, "map_limit", lambda: 1)  # every check finds the process crowded
    before = len(memory.RELEASES)
    excluded_fit.update(_runs([3e9, 4e9], [6e10, 8e10], seed=2), warn=False)
    assert len(memory.RELEASES) - before == 1


def test_new_runs_are_labelled_after_the_excluded_rows_too():
    """The updated record still names the excluded rows: new runs numbered after the largest
    *fitted* label took the labels of excluded rows 22 and 23."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    runs = bl.load_runs(_runs(N.ravel(), D.ravel(), seed=1))
    runs = runs.exclude(runs.df.index.isin([22, 23]), "typo")
    fit = bl.fit(runs, likelihood="gaussian", seed=0, warn=False, **TINY)
    updated = fit.update(_runs([3e9, 4e9], [6e10, 8e10], seed=2), warn=False)
    labels = [int(r) for r in updated.training_runs().df.index]
    assert not {22, 23} & set(labels)
    assert labels[-2:] == [24, 25]


def test_an_update_screens_by_the_fits_own_rule():
    """A fit made with screen={'action': 'exclude', 'threshold': 6} is updated under the same
    rule (the update fell back to 'warn' at 8 and kept a new outlier)."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 4e10, 4))
    rule = {"action": "exclude", "threshold": 6.0}
    fit = bl.fit(_runs(N.ravel(), D.ravel(), seed=1), likelihood="gaussian", seed=0,
                 warn=False, screen=rule, **TINY)
    updated = fit.update(_runs([3e9, 4e9], [6e10, 8e10], seed=2), warn=False)
    entry = updated.record.data["screening"]
    assert (entry["action"], entry["threshold"]) == ("exclude", 6.0)


def test_an_update_of_a_fit_with_the_largest_seed_draws_a_valid_seed():
    """The default seed of an update is the fit's seed + 1, kept in [0, 2**32) (a fit seeded
    2**32 - 1 could not be updated: 2**32 was refused); step seeds stay in range too."""
    from bayeslaws.inference.nuts import SEEDS, derived_seed

    assert derived_seed(3, 5) == 3005 and derived_seed(7, 1, stride=1) == 8  # as before
    assert derived_seed(5_000_000, 2) == (5_000_000 * 1000 + 2) % SEEDS
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 5), np.geomspace(4e8, 4e10, 4))
    fit = bl.fit(_runs(N.ravel(), D.ravel(), seed=3), likelihood="gaussian", seed=SEEDS - 1,
                 warn=False, **TINY)
    updated = fit.update(_runs([3e9], [6e10], seed=4), warn=False)
    assert updated.record.sampler.seed == 0


@pytest.fixture(scope="module")
def seeded_fit():
    """(A fit of 12 runs with a ``run`` column (seeds 0, 1, 2 as floats, row 11's missing), its
    table.)"""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 4), np.geomspace(4e8, 4e10, 3))
    df = _runs(N.ravel(), D.ravel(), seed=5).drop(columns=["C", "source"])
    df["run"] = np.arange(len(df)) % 3.0
    df.loc[11, "run"] = np.nan
    fit = bl.fit(bl.load_runs(df), likelihood="gaussian", seed=0, warn=False, **TINY)
    return fit, df


def test_a_run_passed_again_is_refused_whatever_the_type_of_its_run_label(seeded_fit, tmp_path):
    """The fit stored its run labels as text ('0.0', a missing one as 'nan') while the new
    runs kept numbers (0, NaN): the repeat refusal never matched and the runs counted twice.
    Labels are compared as text (7.0 as 7), a missing one stays missing (None when stored)."""
    fit, df = seeded_fit
    again = df.iloc[[0, 11]].reset_index(drop=True).astype({"run": object})
    again.loc[0, "run"] = 0  # an int seed, as the user's next table gives it
    with pytest.raises(ValueError, match=r"repeat 2 run\(s\) this fit already has \(rows 0, 1 "):
        combined_runs(fit, again)
    stored = fit.record.training_runs["run"]
    assert stored[:3] == ["0", "1", "2"] and stored[11] is None
    path = tmp_path / "seeded.nc"
    fit.save(path)
    with warnings.catch_warnings():  # the tiny fit's sampler trouble, told on loading
        warnings.simplefilter("ignore")
        loaded = bl.load_fit(path)
    assert loaded.record.training_runs["run"] == stored  # None survives the file
    assert loaded.training_runs().df["run"].isna().tolist() == [False] * 11 + [True]
    with pytest.raises(ValueError, match=r"repeat 2 run\(s\)"):
        combined_runs(loaded, again)
    other_seed = again.assign(run=[3, 4])  # the same settings, other seeds: new runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exact duplicates in N, D, loss: warned, kept
        runs, _ = combined_runs(fit, other_seed)
    assert runs.df["run"].tolist()[-2:] == ["3", "4"] and runs.df["run"].tolist()[11] is None


def test_group_and_run_labels_are_compared_as_the_fit_stores_them():
    from bayeslaws.inference.nuts import training_columns
    from bayeslaws.inference.update import repeated_runs
    from bayeslaws.runs.table import label_text

    labels = [7, 7.0, np.int64(7), "7", 7.5, "a", None, np.nan, True]
    table = bl.load_runs(
        pd.DataFrame({"N": np.arange(1, 10) * 1e8, "D": 2e9, "loss": 3.0, "run": labels})
    )
    texts = ["7", "7", "7", "7", "7.5", "a", None, None, "True"]
    assert training_columns(table)["run"] == texts
    assert [label_text(v) for v in labels] == texts
    old = pd.DataFrame({"N": [1e8, 2e8], "loss": [3.0, 2.9], "run": ["7", None]})
    new = pd.DataFrame({"N": [1e8, 2e8, 2e8], "loss": [3.0, 2.9, 2.9], "run": [7, np.nan, 8]})
    assert repeated_runs(old, new) == [0, 1]


def test_an_implausible_new_run_is_named_by_its_row_in_new_runs(seeded_fit):
    """Implausible new runs were named by their labels in the combined table (12, 13) under
    "(0-based data rows, header not counted)": rows new_runs does not have."""
    fit, df = seeded_fit
    new = _runs([3e9, 4e9], [6e10, 8e10], seed=2).drop(columns=["C", "source"])
    new = new.assign(N=new["N"] / 1e6).set_axis([40, 41])  # N in millions, the user's labels
    with pytest.warns(PlausibilityWarning) as caught:
        combined_runs(fit, new)
    told = [str(w.message) for w in caught if "below 10000" in str(w.message)]
    assert len(told) == 1 and "at rows 40, 41 (row labels of new_runs)" in told[0], told


def test_a_new_run_duplicating_a_fitted_one_is_named_by_its_row_in_new_runs(seeded_fit):
    """As an implausible one was: by its label in the combined table (12)."""
    fit, df = seeded_fit
    copy = df.iloc[[3]].assign(run=9.0).set_axis([40])  # fitted row 3's values, another seed
    with pytest.warns(UserWarning) as caught:
        combined_runs(fit, copy)
    told = [str(w.message) for w in caught if "exact duplicates" in str(w.message)]
    assert len(told) == 1 and "rows 40 (row labels of new_runs)" in told[0], told


def test_new_runs_of_a_group_the_fit_lacks_are_added_with_a_warning(grouped_fit):
    """A mistyped group ('a' for 'A') silently became a new group of the updated fit."""
    runs = grouped_fit.training_runs().df
    new = runs[runs["group"] == "A"].iloc[:2][["N", "D", "loss", "group"]]
    new = new.assign(loss=new["loss"] * 0.97).reset_index(drop=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        combined = combined_runs(grouped_fit, new.assign(group="a"))[0]
    told = [str(w.message) for w in caught if "the fit does not have" in str(w.message)]
    assert len(told) == 1, [str(w.message) for w in caught]
    assert "rows 0, 1 (row labels of new_runs) are in group(s) ['a']" in told[0]
    assert "(its groups: ['A', 'B'])" in told[0] and "'a' differs from the fit's 'A'" in told[0]
    assert sorted(combined.groups) == ["A", "B", "a"]  # a new group is legitimate: added
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        combined_runs(grouped_fit, new)  # the fit's own group: no warning
    assert not [w for w in caught if "the fit does not have" in str(w.message)]


def _with_stored_labels(fit, column: str, labels: list):
    """``fit`` with its stored ``column`` labels written as ``labels`` (a fit grouped by int 7,
    or one saved before labels were stored by label_text, without a refit)."""
    from dataclasses import replace

    from bayeslaws.inference.fit import Fit

    stored = {**fit.record.training_runs, column: list(labels)}
    record = replace(fit.record, training_runs=stored)
    return Fit(fit.idata, record, compute_model=fit.compute_model)


def test_a_group_label_of_7_0_is_the_fits_group_7(grouped_fit):
    """A fit grouped by int 7 stores '7', while new runs' group column of 7.0 loads as '7.0'
    (text first): a fitted run passed again was not refused, and a new run of group 7 became a
    third group '7.0' (splitting group 7's runs) with a NewGroupsWarning only."""
    stored = grouped_fit.record.training_runs["group"]
    fit = _with_stored_labels(grouped_fit, "group", [{"A": "7", "B": "8"}[g] for g in stored])
    runs = fit.training_runs().df
    again = runs[runs["group"] == "7"].iloc[:1][["N", "D", "loss"]].reset_index(drop=True)
    for given in (again.assign(group=7.0), bl.load_runs(again.assign(group=7.0))):
        with pytest.raises(ValueError, match=r"repeat 1 run\(s\) this fit already has"):
            combined_runs(fit, given)
    new = again.assign(loss=again["loss"] * 0.97, group=7.0)  # a run trained since: group 7
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        combined = combined_runs(fit, new)[0]
    assert not [str(w.message) for w in caught if "the fit does not have" in str(w.message)]
    assert sorted(combined.groups) == ["7", "8"] and combined.df["group"].iloc[-1] == "7"
    # a fit grouped by 7.0 names its group '7.0': a new run's int 7 joins it
    floated = [f"{g}.0" for g in fit.record.training_runs["group"]]
    floated = _with_stored_labels(fit, "group", floated)
    combined = combined_runs(floated, new.assign(group=7))[0]
    assert sorted(combined.groups) == ["7.0", "8.0"] and combined.df["group"].iloc[-1] == "7.0"


def test_an_older_fits_text_run_labels_match_the_new_runs_numbers(seeded_fit):
    """Fits saved before run labels were stored by label_text wrote seed 0.0 as '0.0' and a
    missing seed as 'nan': the new runs' 0.0 (now '0') and NaN (None) matched neither, so the
    runs passed again were counted twice."""
    fit, df = seeded_fit
    older = _with_stored_labels(fit, "run", [str(v) for v in df["run"]])  # '0.0', ..., 'nan'
    assert older.record.training_runs["run"][:2] == ["0.0", "1.0"]
    assert older.record.training_runs["run"][11] == "nan"
    again = df.iloc[[0, 1, 11]].reset_index(drop=True)
    with pytest.raises(ValueError, match=r"repeat 3 run\(s\) this fit already has \(rows 0, 1, 2 "):
        combined_runs(older, again)
    trained = again.assign(loss=again["loss"] * 0.97)  # the same seeds, new losses: new runs
    runs = combined_runs(older, trained)[0]
    assert runs.df["run"].tolist()[-3:] == ["0.0", "1.0", None]  # as the fit stores seed 0.0


def test_label_keys_match_a_label_whatever_its_type_or_the_fits_age():
    from bayeslaws.inference.update import repeated_runs
    from bayeslaws.runs.table import label_key

    labels = [7, 7.0, "7", "7.0", 1e20, "1e+20", "7.00", "007", 7.5, "7.5", "a", True]
    big = "1" + "0" * 20
    keys = ["7", "7", "7", "7", big, big, "7.00", "007", "7.5", "7.5", "a", "True"]
    assert [label_key(v) for v in labels] == keys
    assert [label_key(v) for v in [None, np.nan, pd.NA, "nan", "None", "<NA>", ""]] == [None] * 7
    old = pd.DataFrame({"N": [1e8, 2e8, 3e8], "loss": 3.0, "run": ["0.0", "nan", "None"]})
    new = pd.DataFrame({"N": [1e8, 2e8, 3e8, 1e8], "loss": 3.0, "run": [0, np.nan, None, 1]})
    assert repeated_runs(old, new) == [0, 1, 2]
