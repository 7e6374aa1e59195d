"""``--where`` after ``--units``, after earlier conditions, and with accepted rows: the value is
the table's own (not the value in canonical units), a condition that finds no row says what left
the rows out, and the stacked-configurations check of the kept rows leaves out the rows the table
accepts, as load_runs' own check does."""

from __future__ import annotations

import warnings

import pytest
from test_s54_h2_where import _read, _table

import bayeslaws as bl
from bayeslaws.app.cli.errors import CLIError
from bayeslaws.app.cli.run_tables import _keep_where
from bayeslaws.runs.plausible import StackedConfigurationsWarning


def _with_batch(tmp_path):
    """The two-configuration table with a batch_size column: 512 for 'a', 1024 for 'b'."""
    path, df = _table(tmp_path)
    df["batch_size"] = [512 if c == "a" else 1024 for c in df["config"]]
    df.to_csv(path, index=False)
    return path, df


def test_where_compares_a_column_given_in_other_units_in_the_tables_own_units(tmp_path):
    path, df = _with_batch(tmp_path)
    runs = _read(path, "--units", "batch_size=2", "--where", "batch_size=512")
    assert list(runs.df.index) == list(df.index[df["batch_size"] == 512])
    assert set(runs.df["batch_size"]) == {1024.0}  # read as 2 x the file's 512


def test_where_after_an_earlier_condition_says_the_rows_were_left_out_before(tmp_path):
    path, _ = _table(tmp_path)
    with pytest.raises(CLIError) as err:
        _read(path, "--where", "config=a", "--where", "config=b")
    message = str(err.value)
    assert "no row left after --where config=a holds 'b'" in message, message
    assert "no row of the table" not in message


def test_where_after_exclude_rows_names_them(tmp_path):
    path, df = _table(tmp_path)
    b_rows = [str(i) for i in df.index[df["config"] == "b"]]
    with pytest.raises(CLIError) as err:
        _read(path, "--exclude-rows", *b_rows, "--exclude-reason", "x", "--where", "config=b")
    assert f"no row left after --exclude-rows {' '.join(b_rows)} holds 'b'" in str(err.value)


def _stacked(runs, conditions) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _keep_where(runs, conditions, {})
    return [w for w in caught if w.category is StackedConfigurationsWarning]


def test_the_stacked_check_after_where_leaves_out_the_accepted_rows(tmp_path):
    _, df = _table(tmp_path)
    b_rows = list(df.index[df["config"] == "b"])
    conditions = [("outlier", "false")]  # keeps rows of both configurations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = bl.load_runs(df)
        accepted = bl.load_runs(df, accepted_rows=b_rows)
    assert _stacked(plain, conditions), "both configurations are kept: stacked"
    assert _stacked(accepted, conditions) == []
