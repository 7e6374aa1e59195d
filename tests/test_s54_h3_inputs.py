"""Awkward inputs to the Python API that were read silently or named without the fix: an
accepted_rows mask, date / time-span / complex columns, a column named with its unit in
brackets, a text per_cell, a compute model a target cannot use, a Series of text in a message,
a bundled name that is a third-party table, a file or a shipped table's file name, and a
grouped table (N and D in its index, columns of two levels, a Series, a GroupBy)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws.design.candidates import hyperparameter_candidates
from bayeslaws.design.targets import NOpt
from bayeslaws.runs.checks import ArgumentTypeError, number_array
from bayeslaws.runs.messages import PlausibilityWarning, RunTableError
from bayeslaws.runs.table import load_runs


def four_runs() -> pd.DataFrame:
    """Four made-up runs (N params, D tokens at 20 tokens per parameter, a falling loss)."""
    N = np.array([1e8, 2e8, 4e8, 8e8])
    return pd.DataFrame({"N": N, "D": 20 * N, "loss": [3.1, 2.9, 2.7, 2.5]})


@pytest.mark.parametrize(
    "mask",
    [[True, False, False, False], np.array([False, True, False, False]), pd.Series([True] * 4)],
)
def test_accepted_rows_refuses_a_true_false_mask(mask):
    # True and False are the labels 1 and 0 to a set of labels: a mask accepted rows 0 and 1
    with pytest.raises(ArgumentTypeError, match=r"accepted_rows takes row labels, not a True/"):
        load_runs(four_runs(), accepted_rows=mask)


def test_accepted_rows_still_takes_integer_labels():
    assert load_runs(four_runs(), accepted_rows=[np.int64(2), 0]).accepted_rows == (0, 2)


@pytest.mark.parametrize(
    "column, values, words",
    [
        ("N", pd.to_timedelta([1, 2, 3, 4], unit="s"), "time spans"),
        ("loss", pd.to_datetime([f"2024-01-0{d}" for d in (1, 2, 3, 4)]), "dates or times"),
        ("loss", pd.to_datetime(["2024-01-01"] * 4).tz_localize("UTC"), "dates or times"),
        ("N", np.array([1e8, 2e8, 4e8, 8e8], dtype=complex), "complex numbers"),
    ],
)
def test_a_column_of_dates_time_spans_or_complex_numbers_is_refused(column, values, words):
    # pandas reads dates and time spans as nanoseconds, and drops an imaginary part
    with pytest.raises(RunTableError, match=rf"column '{column}' holds {words} \("):
        load_runs(four_runs().assign(**{column: values}))


def test_a_column_named_with_its_unit_in_brackets_is_named_with_the_mapping():
    table = four_runs().rename(columns={"N": "N [params]", "loss": "Loss (nats)"})
    with pytest.raises(RunTableError, match=r"no loss column") as raised:
        load_runs(table)
    message = str(raised.value)
    assert "load_runs(..., loss='Loss (nats)')" in message
    with pytest.raises(RunTableError, match=r"need two of the columns N, D, C") as raised:
        load_runs(table, loss="Loss (nats)")
    message = str(raised.value)
    assert "load_runs(..., N='N [params]')" in message and "units={'N': " in message
    runs = load_runs(table, N="N [params]", loss="Loss (nats)")  # the remedy works
    assert runs.df["N"].tolist() == table["N [params]"].tolist()


def test_an_unread_optional_column_with_a_unit_in_brackets_is_warned():
    table = four_runs().assign(**{"Batch Size (tokens)": 1e6})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = load_runs(table)
    said = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    assert "batch_size" not in runs.df
    assert any(
        "'Batch Size (tokens)' looks like 'batch_size'" in m
        and "batch_size='Batch Size (tokens)'" in m
        for m in said
    ), said


@pytest.mark.parametrize("per_cell", ["no", 0, None])
def test_hyperparameter_candidates_refuses_a_per_cell_that_is_not_true_or_false(per_cell):
    # "no" is truthy: one unit per cell where the user asked for one per run
    with pytest.raises(ArgumentTypeError, match=r"per_cell must be True or False"):
        hyperparameter_candidates(1e8, 2e9, lr=[1e-3, 2e-3], batch_size=1e6, per_cell=per_cell)


def test_nopt_refuses_an_unknown_compute_model_when_made():
    with pytest.raises(ArgumentTypeError, match=r"compute_model must be a ComputeModel"):
        NOpt(1e20, compute_model="8ND")


def test_a_series_of_text_is_shown_on_one_line():
    with pytest.raises(ArgumentTypeError) as raised:
        number_array("N", pd.Series(["1e8", "2e8"]))
    assert str(raised.value) == "N must hold numbers, got ['1e8', '2e8']"


@pytest.mark.parametrize(
    "name, fix",
    [
        ("epoch_chinchilla", r"its own loader: bayeslaws\.runs\.bundled\.epoch_chinchilla\("),
        ("steplaw_lr_bs", r"its own loader: bayeslaws\.runs\.bundled\.steplaw_dense\("),
        ("video_dit_sweep_simulated.csv", r"load_bundled\('video_dit_sweep_simulated'\)"),
        ("runs/my_runs.csv", r"a table file of your own is read by load_runs\('runs/my_runs"),
        # a path is a path, whatever its file is called (was: epoch_chinchilla's loader)
        ("/home/me/chinchilla.csv", r"is read by load_runs\('/home/me/chinchilla\.csv'\)$"),
    ],
)
def test_an_unknown_bundled_name_near_a_table_says_how_to_read_it(name, fix):
    from bayeslaws.runs.bundled import load_bundled

    with pytest.raises(FileNotFoundError, match=rf"no bundled data set .*{fix}"):
        load_bundled(name)


@pytest.mark.parametrize("name", ["lr", "bs"])
def test_a_short_word_names_no_third_party_table(name):
    """'lr' named 'steplaw_lr_bs' (one of its words): only words of 3+ letters are matched."""
    from bayeslaws.runs.bundled import load_bundled

    with pytest.raises(FileNotFoundError) as raised:
        load_bundled(name)
    assert "third-party" not in str(raised.value), raised.value


def repeated_runs() -> pd.DataFrame:
    """Two made-up runs at each of two (N, D) cells (seeds 0 and 1)."""
    return pd.DataFrame(
        {"N": [1e8, 1e8, 4e8, 4e8], "D": [2e9, 2e9, 8e9, 8e9], "loss": [3.1, 2.9, 2.7, 2.5]}
    ).assign(seed=[0, 1, 0, 1])


def test_a_grouped_table_with_n_and_d_in_its_index_says_to_reset_it():
    grouped = repeated_runs().groupby(["N", "D"]).mean()
    with pytest.raises(RunTableError, match=r"N, D are in the DataFrame's index.*df\.reset_index"):
        load_runs(grouped)
    assert len(load_runs(grouped.reset_index())) == 2  # the remedy works


def test_repeated_labels_of_a_named_index_are_not_dropped_by_the_remedy():
    # df.reset_index(drop=True), the remedy for repeated labels, would discard the N column
    table = repeated_runs().set_index("N")
    with pytest.raises(RunTableError, match=r"pass df\.reset_index\(\) \(the index 'N'"):
        load_runs(table)
    assert load_runs(table.reset_index()).df["N"].tolist() == [1e8, 1e8, 4e8, 4e8]


def test_columns_of_two_levels_are_refused_with_how_to_flatten_them():
    # "loss" picked both ('loss', 'mean') and ('loss', 'std'): "more than one column 'loss'"
    table = repeated_runs().groupby(["N", "D"]).agg({"loss": ["mean", "std"]}).reset_index()
    with pytest.raises(RunTableError, match=r"the table's columns have 2 levels") as raised:
        load_runs(table)
    flatten = "['_'.join(str(p) for p in c if str(p)) for c in df.columns]"
    assert flatten in str(raised.value)
    table.columns = ["_".join(str(p) for p in c if str(p)) for c in table.columns]
    assert len(load_runs(table, loss="loss_mean")) == 2  # the remedy works


@pytest.mark.parametrize(
    "make, remedy",
    [
        (lambda t: t.groupby(["N", "D"])["loss"].mean(), r"got Series .*series\.reset_index\(\)"),
        (lambda t: t.groupby("N"), r"got DataFrameGroupBy, a grouped table: pass the DataFrame"),
    ],
)
def test_a_series_or_a_groupby_is_refused_with_how_to_make_a_table(make, remedy):
    with pytest.raises(ArgumentTypeError, match=remedy):
        load_runs(make(repeated_runs()))
