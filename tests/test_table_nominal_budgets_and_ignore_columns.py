"""N, D and C that disagree (a nominal budget, mistyped rows, a constant ratio) are named with
their remedies, and load_runs(ignore_columns=) / --ignore-column leave a column out. The tables
are SIMULATED (a Chinchilla-like law, no noise)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line, quiet

import bayeslaws as bl
from bayeslaws.app import cli
from bayeslaws.app.cli import EXIT_BAD_INPUT, main, with_cli_hints
from bayeslaws.app.cli.design_commands import _read_candidates
from bayeslaws.app.cli.run_tables import read_runs
from bayeslaws.runs import RunTableError
from bayeslaws.runs.checks import ArgumentTypeError
from bayeslaws.runs.simulate import simulate_liang_isoflop


def grid() -> pd.DataFrame:
    """SIMULATED: 6 sizes x 4 token counts, C = 6ND exactly, loss from a Chinchilla-like law."""
    N, D = np.meshgrid(np.geomspace(2e7, 5e8, 6), [4e8, 1e9, 3e9, 1e10])
    N, D = N.ravel(), D.ravel()
    loss = 1.8 + 400 / N**0.34 + 2000 / D**0.36
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": loss})


def nominal() -> pd.DataFrame:
    """SIMULATED isoFLOP lines whose C is the line's nominal budget (1e18, 3e18, 1e19, 3e19)
    while each run's D is its own: C / 6ND spreads from 0.75 to 1.07, as in Marin's
    tables."""
    rows = []
    for budget in (1e18, 3e18, 1e19, 3e19):
        for N, ratio in zip(np.geomspace(3e7, 6e8, 5), np.linspace(0.75, 1.07, 5), strict=True):
            D = budget / (6 * N * ratio)  # the run's own tokens: C / 6ND = ratio
            rows.append({"N": N, "D": D, "C": budget, "loss": 1.8 + 400 / N**0.34 + 2000 / D**0.36})
    return pd.DataFrame(rows)


def error_of(call) -> str:
    with pytest.raises(RunTableError) as err:
        quiet(call)
    return str(err.value)


def table_args(argv: list):
    """The parsed arguments of a command line (the table options, as main() gets them)."""
    return cli.build_parser().parse_args([str(a) for a in argv])


# ---- F2: N, D and C that disagree ---------------------------------------------------------------
def test_nominal_budgets_are_named_as_such_with_both_remedies():
    message = error_of(lambda: bl.load_runs(nominal()))
    assert "C looks like a nominal budget" in message
    assert "varies from 0.75 to 1.07 across the rows" in message
    assert "C holds 4 distinct values over 20 rows" in message
    assert "load_runs(..., ignore_columns=['D']) or load_runs(..., ignore_columns=['C'])" \
        in message  # fmt: skip
    assert "command line: --ignore-column D or --ignore-column C" in message
    assert "compute_model=" not in message  # no single K makes a spread ratio agree
    line = with_cli_hints(message, "fit")
    assert line.endswith("; on the command line: --ignore-column D or --ignore-column C")
    assert "Python" not in line and "load_runs" not in line


def test_one_mistyped_row_is_named_as_mistyped_not_the_compute_model():
    df = grid()
    df.loc[5, "C"] *= 3  # one row's C typed wrong
    message = error_of(lambda: bl.load_runs(df))
    assert "at rows 5 " in message and "C / 6ND is 3 at row 5" in message
    assert "the other 23 rows agree with 6ND, so these rows look mistyped" in message
    assert "compute_model=" not in message
    assert "leave out C (then derived from N and D)" in message
    assert "command line: --ignore-column C" in message
    fixed = quiet(lambda: bl.load_runs(df.drop(columns=["C"])))  # the remedy it names
    np.testing.assert_allclose(fixed.df["C"], 6 * df["N"] * df["D"])


def test_the_constant_ratio_messages_are_kept_and_get_the_command_line_form():
    df = grid()
    message = error_of(lambda: bl.load_runs(df.assign(C=df["C"] * 1.3)))
    assert "C is 1.3 x 6ND at every row: if C counts 7.8 N D FLOPs, pass compute_model=7.8; " \
        "else give two of N, D, C" in message  # fmt: skip
    assert "command line: --ignore-column C" in message
    # half the rows off by one factor: neither mistyped rows nor a spread budget
    half = df.assign(C=df["C"] * np.where(df.index % 2 == 0, 1.5, 1.0))
    message = error_of(lambda: bl.load_runs(half))
    assert "give two of them, or pass the right compute_model=" in message
    assert "--ignore-column C or --ignore-column D" in message


def test_the_python_remedy_takes_the_canonical_name_with_the_mapping_given_again():
    df = nominal().rename(columns={"D": "tokens"})
    message = error_of(lambda: bl.load_runs(df, D="tokens"))
    assert "load_runs(..., ignore_columns=['D'])" in message
    assert "--ignore-column D or" in message  # canonical: --ignore-column takes it mapped too
    runs = quiet(lambda: bl.load_runs(df, D="tokens", ignore_columns=["D"]))  # as it says
    assert runs.derived == ("D",) and runs.source == "DataFrame (column 'tokens' left out)"


def test_ignore_column_fits_a_nominal_table_from_the_command_line(tmp_path):
    path = tmp_path / "iso.csv"
    nominal().to_csv(path, index=False)
    args = table_args(["fit", path, "--law", "isoflop", "--out", tmp_path / "f.nc",
                       "--ignore-column", "D"])  # fmt: skip
    runs = quiet(lambda: read_runs(args.runs, args))
    assert runs.derived == ("D",)
    np.testing.assert_allclose(runs.df["C"], nominal()["C"])  # the budgets kept as given
    np.testing.assert_allclose(runs.df["D"], nominal()["C"] / (6 * nominal()["N"]))
    assert runs.source == f"{path} (column 'D' left out)"  # the fit records it
    assert runs.df.index.tolist() == list(range(20))


def test_ignore_column_takes_a_mapped_canonical_column_and_refuses_unknown_ones(
    tmp_path, capsys
):
    path = tmp_path / "iso.csv"
    nominal().rename(columns={"D": "tokens"}).to_csv(path, index=False)
    base = ["fit", path, "--law", "isoflop", "--out", tmp_path / "f.nc", "--D", "tokens"]
    runs = quiet(lambda: read_runs(path, table_args(base + ["--ignore-column", "D"])))
    assert runs.derived == ("D",) and "'tokens' left out" in runs.source
    for extra, said in (
        (["--ignore-column", "tokens"], "cannot leave out column 'tokens': it is the column "
         "read as D (mapped to it), so leave out D instead, which leaves out that column; on "
         "the command line: --ignore-column D"),
        (["--ignore-column", "E"], f"cannot leave out column 'E': the run table from {path} "
         "has no column 'E' (its columns: ['N', 'tokens', 'C', 'loss']); D is mapped to "
         "'tokens'"),
    ):  # fmt: skip
        code = main([str(a) for a in base + extra])
        assert code == EXIT_BAD_INPUT
        assert said in cli_error_line(capsys.readouterr().err)


def test_ignore_column_needs_a_table_where_one_is_optional(tmp_path, capsys):
    (tmp_path / "no.nc").write_bytes(b"not read")  # input files are checked to exist first
    argv = ["plot", tmp_path / "no.nc", "--kind", "fan", "--out", tmp_path / "f.png",
            "--ignore-column", "D"]  # fmt: skip
    assert main([str(a) for a in argv]) == EXIT_BAD_INPUT
    line = cli_error_line(capsys.readouterr().err)
    assert "--ignore-column needs --runs" in line


def test_ignore_column_reaches_a_candidates_file(tmp_path):
    cands = tmp_path / "cands.csv"
    df = grid()[["N", "D", "C"]]
    df.assign(C=df["C"] * np.linspace(0.8, 1.1, len(df))).to_csv(cands, index=False)
    args = table_args(["design", tmp_path / "f.nc", "--candidates", cands,
                       "--ignore-column", "C"])  # fmt: skip
    read = _read_candidates(str(cands), args)
    assert "C" not in read and list(read.columns) == ["N", "D"]


# ---- load_runs(ignore_columns=): the command line's --ignore-column, in one place ---------------
def mapped_nominal() -> tuple[pd.DataFrame, dict]:
    """SIMULATED (simulate_liang_isoflop) isoFLOP lines whose C is the nominal budget while each
    run's D is its own (D x U(0.75, 1.07)), with the user's column names; and the mapping."""
    df = simulate_liang_isoflop(seed=3, budgets=(1e18, 3e18, 1e19), n_per_budget=5)
    u = np.random.default_rng(4).uniform(0.75, 1.07, len(df))
    df = df.assign(D=df["D"] * u).drop(columns="source")
    names = {"N": "params", "D": "tokens", "C": "budget", "loss": "final_loss"}
    return df.rename(columns={c: name for c, name in names.items()}), names


def test_the_python_remedy_followed_literally_fits_a_mapped_nominal_table():
    """The remedy said 'load_runs(df.drop(columns=['tokens']), ...)': given again with the
    user's other arguments (D='tokens' among them) it died ("column 'tokens' (given for D) is
    not in the table"). Now 'load_runs(..., ignore_columns=['D'])', the mapping kept."""
    df, names = mapped_nominal()
    message = error_of(lambda: bl.load_runs(df, **names))
    assert "C looks like a nominal budget" in message
    remedies = re.findall(r"load_runs\(\.\.\., ignore_columns=\[[^]]*\]\)", message)
    assert remedies == ["load_runs(..., ignore_columns=['D'])",
                        "load_runs(..., ignore_columns=['C'])"]  # fmt: skip
    for remedy, column in zip(remedies, ("D", "C"), strict=True):
        call = remedy.replace("...", "df, **names")  # the user's arguments, as they were
        runs = quiet(lambda call=call: eval(call, {"load_runs": bl.load_runs, "df": df,
                                                   "names": names}))  # fmt: skip
        assert runs.derived == (column,)
        assert runs.source == f"DataFrame (column {names[column]!r} left out)"
    runs = quiet(lambda: bl.load_runs(df, **names, ignore_columns="D"))
    np.testing.assert_allclose(runs.df["C"], df["budget"])  # the budgets kept as given
    np.testing.assert_allclose(runs.df["D"], df["budget"] / (6 * df["params"]))


def test_ignore_columns_keeps_row_numbers_and_checks_its_names(tmp_path):
    path = tmp_path / "iso.csv"
    lines = nominal().to_csv(index=False).splitlines()
    path.write_text("\n".join(lines[:4] + [""] + lines[4:]) + "\n")  # a blank line 5
    with pytest.warns(UserWarning, match="blank line"):  # pandas' row numbers, as without it
        runs = bl.load_runs(path, ignore_columns=["D"], accepted_rows=[3])
    assert runs.df.index.tolist() == list(range(20)) and runs.accepted_rows == (3,)
    assert runs.source == f"{path} (column 'D' left out)"
    again = quiet(lambda: bl.load_runs(runs, ignore_columns=["D"]))  # a RunTable's own D
    assert again.derived == ("D",)
    assert again.source == f"{path} (column 'D' left out) (column 'D' left out)"
    df = nominal().rename(columns={"D": "tokens"})
    by_name = quiet(lambda: bl.load_runs(df, ignore_columns="tokens"))  # not mapped: by name
    assert by_name.derived == ("D",)
    for kwargs, said in (
        ({"D": "tokens", "ignore_columns": "tokens"},
         "cannot leave out column 'tokens': it is the column read as D (mapped to it), so "
         "leave out D instead"),
        ({"ignore_columns": ["E"]}, "cannot leave out column 'E': the run table from "
         "DataFrame has no column 'E' (its columns: ['N', 'tokens', 'C', 'loss'])"),
    ):  # fmt: skip
        assert said in error_of(lambda kwargs=kwargs: bl.load_runs(df, **kwargs))
    with pytest.raises(ArgumentTypeError, match="ignore_columns must be a column label or a "
                       "list of them .* got set"):  # fmt: skip
        bl.load_runs(df, ignore_columns={"D"})


def test_the_command_line_leaves_columns_out_through_load_runs():
    """--ignore-column had its own copy of the name rules, reading the file with the private
    runs.table._read and patching the source back; now it passes ignore_columns= on, and the
    candidates file takes the same public leave_out_columns."""
    source = "".join(p.read_text() for p in Path(cli.__file__).parent.glob("*.py"))
    assert "table import _read\n" not in source and "_left_out_source" not in source
    assert "ignore_columns" in inspect.getsource(read_runs)
    assert "leave_out_columns" in inspect.getsource(_read_candidates)
