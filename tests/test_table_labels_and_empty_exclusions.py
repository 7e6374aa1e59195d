"""Row and group labels of run tables: an exclusion whose mask selects no row warns, what row
labels count after a re-load, and group labels that label_key reads as one (7 and 7.0) are one
group with a warning. The tables are SIMULATED."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import noisy_chinchilla_grid, warning_messages

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning, RunTable
from bayeslaws.runs.messages import LABELS_NOTE, ROWS_NOTE


# ---- 2. an exclusion that selects no row -------------------------------------------------------
def test_an_exclusion_selecting_no_row_warns_and_records_nothing():
    """Positions on a table labelled 100..119 (the idiom OutlierWarning prints) select none."""
    runs = bl.load_runs(noisy_chinchilla_grid().set_axis(range(100, 120)))
    with pytest.warns(PlausibilityWarning, match=r"exclude\(reason='outliers'\).*selects no row"):
        kept = runs.exclude(runs.df.index.isin([3]), reason="outliers")
    assert len(kept) == len(runs) and kept.exclusions == ()
    assert kept.record()["exclusions"] == []
    said, _ = warning_messages(lambda: runs.exclude(runs.df.index.isin([3]), reason="outliers"))
    assert "labelled 100, 101" in said[0] and LABELS_NOTE in said[0]
    with pytest.warns(PlausibilityWarning, match="selects no row"):
        runs.exclude(lambda df: df["loss"] > 99, reason="diverged")


def test_an_exclusion_selecting_rows_and_a_subset_keeping_all_stay_silent():
    runs = bl.load_runs(noisy_chinchilla_grid().set_axis(range(100, 120)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        kept = runs.exclude(runs.df.index.isin([103]), reason="mistyped")
        same = runs.subset(np.ones(len(runs), bool), "every run")
    assert kept.exclusions[-1].rows == (103,)
    assert same.exclusions == () and len(same) == len(runs)
    with pytest.raises(ValueError, match="needs a reason"):
        runs.subset(np.ones(len(runs), bool), "")


# ---- 4. what row labels count, kept by the table -----------------------------------------------
def test_a_reloaded_table_from_an_indexed_dataframe_still_says_labels():
    df = noisy_chinchilla_grid().set_axis(range(100, 120))
    df.loc[110, "D"] *= 1e4  # one row at D/N 2e5: named by a warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        runs = bl.load_runs(df)
    assert runs.row_note == LABELS_NOTE
    said, again = warning_messages(lambda: bl.load_runs(runs))
    (text,) = [m for m in said if "tokens per parameter" in m]
    assert f"rows 110 ({LABELS_NOTE})" in text
    assert again.row_note == LABELS_NOTE
    kept = again.exclude(again.df.index.isin([110]), reason="mistyped")
    assert kept.row_note == LABELS_NOTE and kept.at_rows([111]) == f"rows 111 ({LABELS_NOTE})"


def test_a_file_counts_data_rows_and_a_table_built_directly_guesses(tmp_path):
    path = tmp_path / "runs.csv"
    noisy_chinchilla_grid().to_csv(path, index=False)
    runs = bl.load_runs(path)
    assert runs.row_note == ROWS_NOTE
    assert bl.load_runs(runs).row_note == ROWS_NOTE
    named = replace(runs, df=runs.df.set_axis([f"run{i}" for i in range(len(runs))]))
    assert named.row_note == LABELS_NOTE  # text labels count no data rows
    direct = RunTable(runs.df, runs.compute_model)
    assert direct.row_note == ROWS_NOTE


# ---- 5. group labels that label_key reads as one -----------------------------------------------
@pytest.mark.parametrize(
    "labels, spelled",
    [([7] * 10 + [7.0] * 5 + ["a"] * 5, "7 and 7.0 -> '7'"), ([7] * 10 + ["7"] * 10, "7 and '7'")],
)
def test_group_labels_read_as_one_label_are_one_group_with_a_warning(labels, spelled):
    df = noisy_chinchilla_grid().assign(group=pd.Series(labels, dtype=object))
    with pytest.warns(PlausibilityWarning, match="merged into one group") as record:
        runs = bl.load_runs(df)
    assert any(spelled in str(w.message) for w in record)
    assert "7" in runs.groups and "7.0" not in runs.groups
    assert (runs.df["group"] == "7").sum() == (15 if "a" in labels else 20)


def test_a_files_7_and_7_0_are_one_group_and_distinct_floats_stay_as_they_are(tmp_path):
    path = tmp_path / "groups.csv"
    noisy_chinchilla_grid().assign(group=["7"] * 10 + ["7.0"] * 10).to_csv(path, index=False)
    with pytest.warns(PlausibilityWarning, match=r"'7' and '7.0' -> '7'"):
        assert bl.load_runs(path).groups == ["7"]
    df = noisy_chinchilla_grid().assign(group=[1.0] * 10 + [2.0] * 10)
    said, runs = warning_messages(lambda: bl.load_runs(df))
    assert runs.groups == ["1.0", "2.0"] and not any("merged" in m for m in said)
