"""load_runs' messages: a missing or bad value in an optional column (lr, batch_size) names the
option that leaves the column out; a path that does not exist is quoted as given, and a URL is
said to be one. The tables are SIMULATED (a Chinchilla-like law, no noise)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app.cli import with_cli_hints
from bayeslaws.runs import RunTableError


def runs(**extra) -> pd.DataFrame:
    """SIMULATED: 4 sizes x 3 token counts, loss from a Chinchilla-like law."""
    N, D = np.meshgrid(np.geomspace(2e7, 5e8, 4), [4e8, 2e9, 1e10])
    N, D = N.ravel(), D.ravel()
    return pd.DataFrame({"N": N, "D": D, "loss": 1.8 + 400 / N**0.34 + 2000 / D**0.36, **extra})


def error_of(df: pd.DataFrame, **kwargs) -> str:
    with pytest.raises(RunTableError) as caught:
        bl.load_runs(df, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("column", ["lr", "batch_size"])
def test_a_missing_optional_value_names_the_option_that_leaves_the_column_out(column):
    values = np.full(12, 3e-4 if column == "lr" else 5e5)
    values[0] = np.nan
    message = error_of(runs(**{column: values}))
    assert f"column '{column}' has missing values at rows 0" in message
    assert f"load_runs(..., ignore_columns=[{column!r}])" in message
    assert f"--ignore-column {column}" in message
    cli = with_cli_hints(message)
    assert f"--ignore-column {column}" in cli and "Python:" not in cli


def test_a_bad_optional_value_names_it_too_and_the_option_works():
    lr = np.full(12, 3e-4)
    lr[2] = np.inf
    message = error_of(runs(lr=lr))
    assert "must be finite and positive" in message and "ignore_columns=['lr']" in message
    table = bl.load_runs(runs(lr=lr), ignore_columns=["lr"])  # the remedy reads the table
    assert "lr" not in table.df


def test_a_required_column_gets_no_leave_out_remedy():
    df = runs()
    df.loc[0, "D"] = np.nan
    assert "ignore_columns" not in error_of(df)


def test_a_url_is_said_to_be_one_and_quoted_as_given():
    url = "https://example.com/runs.csv"
    with pytest.raises(FileNotFoundError) as caught:
        bl.load_runs(url)
    message = str(caught.value)
    assert repr(url) in message
    assert "URL" in message and "download the file" in message and "pd.read_csv(url)" in message


def test_a_missing_path_is_quoted_as_given(tmp_path):
    given = f"{tmp_path}//runs.csv"  # Path() would make it one '/'
    with pytest.raises(FileNotFoundError) as caught:
        bl.load_runs(given)
    assert str(caught.value) == f"run table {given!r} does not exist"
