"""``--where COLUMN=VALUE``: the rows of one configuration of a table that holds several.
Porian et al.'s isoflop_points.csv holds 15 configurations (dataset, hparams, warmup, decay,
FLOP convention, loss type) whose (N, C) points repeat with losses up to 6% apart; the command
line fitted all 1745 rows as one family, and a user of the command line alone had no way to
pick one configuration (nor the compendium's non-outlier rows)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line, cli_run

from bayeslaws.app.cli.errors import CLIError
from bayeslaws.app.cli.parser import build_parser
from bayeslaws.app.cli.run_tables import read_runs


def _table(tmp_path):
    """Two configurations ('a', 'b') of the same isoFLOP points, their losses apart, and a
    column of booleans: 6 sizes x 2 budgets x 2 configurations."""
    n = np.tile(np.geomspace(1e8, 3e9, 6), 2)
    c = np.repeat([1e20, 1e21], 6)
    loss = 2.0 + 400 / n**0.34 + 400 / (c / (6 * n)) ** 0.28
    df = pd.concat(
        [
            pd.DataFrame({"config": "a", "N": n, "C": c, "loss": loss}),
            pd.DataFrame({"config": "b", "N": n, "C": c, "loss": loss * 1.05}),
        ],
        ignore_index=True,
    )
    df["outlier"] = [i % 5 == 0 for i in range(len(df))]
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    return path, df


def _read(path, *options):
    args = build_parser().parse_args(["fit", str(path), "--out", "fit.nc", *options])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_runs(args.runs, args)


def test_where_keeps_the_rows_of_one_configuration_and_records_the_others(tmp_path):
    path, df = _table(tmp_path)
    runs = _read(path, "--where", "config=b", "--where", "outlier=false", "--where", "C=1e+21")
    expected = df.index[(df["config"] == "b") & ~df["outlier"] & (df["C"] == 1e21)]
    assert list(runs.df.index) == list(expected)
    reasons = [e.reason for e in runs.exclusions]
    assert reasons == [
        f"not {condition} (--where on the command line)"
        for condition in ("config=b", "outlier=false", "C=1e+21")
    ]
    assert sum(len(e.rows) for e in runs.exclusions) == len(df) - len(expected)


def test_where_reads_a_mapped_column_by_the_tables_own_name(tmp_path):
    path, df = _table(tmp_path)
    renamed = tmp_path / "renamed.csv"
    df.rename(columns={"N": "Model Size"}).to_csv(renamed, index=False)
    runs = _read(renamed, "--N", "Model Size", "--where", f"Model Size={float(df['N'].iloc[0])!r}")
    assert list(runs.df.index) == list(df.index[df["N"] == df["N"].iloc[0]])


@pytest.mark.parametrize(
    "condition, said",
    [
        ("config=c", "no row of the table holds 'c' in column 'config'; its values are ['a', 'b']"),
        ("confg=a", "the table has no column 'confg'; its columns are"),
        ("config", "--where takes COLUMN=VALUE"),
    ],
)
def test_where_names_what_it_could_not_match(condition, said, tmp_path):
    path, _ = _table(tmp_path)
    with pytest.raises(CLIError) as caught:
        _read(path, "--where", condition)
    assert said in str(caught.value), caught.value


def test_plot_refuses_where_without_runs(tmp_path, capsys):
    fit = tmp_path / "fit.nc"
    fit.write_bytes(b"")  # refused before it is read
    code, _, err = cli_run(
        ["plot", fit, "--kind", "fan", "--out", tmp_path / "f.png", "--where", "config=a"], capsys
    )
    assert code == 2 and "--where needs --runs" in cli_error_line(err), err


def _stacked_warnings(path, *options) -> list[str]:
    from bayeslaws.runs.plausible import StackedConfigurationsWarning

    args = build_parser().parse_args(["fit", str(path), "--out", "fit.nc", *options])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_runs(args.runs, args)
    return [str(w.message) for w in caught if w.category is StackedConfigurationsWarning]


def test_the_stacked_configurations_check_is_said_of_the_rows_where_keeps(tmp_path):
    """The whole table stacks configurations 'a' and 'b' (the same points, losses 5% apart):
    load_runs warns, and the warning's remedy is --where. Given --where config=b, the check
    was still said of the whole file, which the user had just followed; it is now run on the
    rows kept, and silent there, while a --where that keeps both configurations still warns."""
    path, _ = _table(tmp_path)
    assert _stacked_warnings(path), "the whole table stacks two configurations"
    assert _stacked_warnings(path, "--where", "config=b") == []
    kept_both = _stacked_warnings(path, "--where", "outlier=false")
    assert len(kept_both) == 1 and "config" in kept_both[0], kept_both
