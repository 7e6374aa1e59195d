"""How the command line parses its options (an option repeated, an option of several values
beside the positional, a key given twice) and what its --help texts say."""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from conftest import cli_error_line, cli_run  # noqa: E402

from bayeslaws.app.cli import EXIT_BAD_INPUT, build_parser, main  # noqa: E402
from bayeslaws.app.cli.values import _key_values, column_mapping  # noqa: E402


@pytest.fixture(scope="module")
def parser():
    return build_parser()


def _subcommands(parser) -> dict:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


# ---- 2. an option of several values, repeated, keeps every value ------------------------------
def test_every_option_of_several_values_accumulates_its_repeats(parser):
    """Each option taking several values (nargs "+" or "*") extends its list when repeated, from
    no default list (argparse would extend a default list in place)."""
    options = [
        (name, action)
        for name, sub in _subcommands(parser).items()
        for action in sub._actions
        if action.option_strings and action.nargs in ("+", "*")
    ]
    assert len(options) > 10  # --units, --exclude-rows, --C, --known, --isoflop, ...
    stored = [f"{name} {a.option_strings[0]}" for name, a in options
              if not isinstance(a, argparse._ExtendAction)]  # fmt: skip
    assert not stored, f"a repeat replaces the earlier values: {stored}"
    listed = [f"{name} {a.option_strings[0]}" for name, a in options if a.default is not None]
    assert not listed, listed


def test_units_repeated_keeps_both(parser):
    """``--units batch_size=2048 --units N=millions`` parsed to ['N=millions']: the fit then
    told the user to pass --units batch_size=2048, which they had."""
    args = parser.parse_args(["fit", "runs.csv", "--out", "fit.nc", "--units", "batch_size=2048",
                              "--units", "N=millions"])  # fmt: skip
    assert args.units == ["batch_size=2048", "N=millions"]
    again = parser.parse_args(["fit", "runs.csv", "--out", "fit.nc", "--units", "N=millions"])
    assert again.units == ["N=millions"]  # nothing left over from the parse before


def test_exclude_rows_repeated_keeps_both(parser):
    """``--exclude-rows 237 --exclude-rows 238`` fitted without row 238 only, row 237 kept."""
    for command in (["fit", "runs.csv", "--out", "fit.nc"], ["report", "fit.nc"],
                    ["plot", "fit.nc", "--kind", "fan", "--out", "fan.png"]):  # fmt: skip
        args = parser.parse_args([*command, "--exclude-rows", "237", "--exclude-rows", "238",
                                  "239", "--exclude-reason", "outliers"])  # fmt: skip
        assert args.exclude_rows == ["237", "238", "239"], command


def test_known_repeated_keeps_both(parser):
    args = parser.parse_args(["report", "fit.nc", "--known", "alpha=0.3", "--known", "beta=0.3"])
    assert args.known == ["alpha=0.3", "beta=0.3"]


def test_budgets_repeated_keep_both(parser):
    """--C of allocate (required), plot and report; design's --nopt and --isoflop."""
    for command in (["allocate", "fit.nc"], ["report", "fit.nc"],
                    ["plot", "fit.nc", "--kind", "isoflop", "--out", "iso.png"]):  # fmt: skip
        args = parser.parse_args([*command, "--C", "1e21", "--C", "1e22", "1e23"])
        assert args.C == ["1e21", "1e22", "1e23"], command
    args = parser.parse_args(["design", "fit.nc", "--isoflop", "3e19", "--isoflop", "1e20",
                              "--nopt", "1e22", "--nopt", "1e23"])  # fmt: skip
    assert args.isoflop == ["3e19", "1e20"] and args.nopt == ["1e22", "1e23"]
    args = parser.parse_args(["predict", "fit.nc", "--N", "7e9", "--N", "7e10", "--D", "1e12",
                              "--D", "2e12"])  # fmt: skip
    assert args.N == ["7e9", "7e10"] and args.D == ["1e12", "2e12"]


def test_a_run_table_after_repeated_units_is_still_the_positional(parser, tmp_path):
    """A run table swallowed by the last --units is still read as the run table."""
    runs = tmp_path / "runs.csv"
    runs.write_text("N,D,loss\n1,2,3\n")
    args = parser.parse_args(["fit", "--out", "fit.nc", "--units", "batch_size=2048", "--units",
                              "N=millions", str(runs)])  # fmt: skip
    assert args.runs == str(runs) and args.units == ["batch_size=2048", "N=millions"]


# ---- 4. an option of several values does not swallow the positional ----------------------
@pytest.mark.parametrize(
    "before",
    [["--units", "batch_size=2048"], ["--exclude-rows", "3", "4"]],
)
def test_an_option_of_several_values_leaves_the_run_table(before, missing_loss_csv):
    args = build_parser().parse_args(
        ["fit", *before, str(missing_loss_csv), "--out", "x.nc", "--exclude-reason", "r"]
    )
    assert args.runs == str(missing_loss_csv)
    assert getattr(args, before[0][2:].replace("-", "_")) == before[1:]


def test_predict_numbers_leave_the_fit_file(hp_fit_file):
    argv = ["predict", "--N", "1e9", str(hp_fit_file["fit"]), "--D", "2e10"]
    args = build_parser().parse_args(argv)
    assert args.fit == str(hp_fit_file["fit"]) and args.N == ["1e9"]


def test_a_swallowed_missing_file_is_named(tmp_path, capsys):
    code = main(["fit", "--units", "batch_size=2048", str(tmp_path / "nofile.csv"),
                 "--out", str(tmp_path / "x.nc")])  # fmt: skip
    line = cli_error_line(capsys.readouterr().err)
    assert code == EXIT_BAD_INPUT
    assert "--units took" in line and "nofile.csv" in line and "before the options" in line


def test_a_key_value_written_with_a_space_keeps_argparses_own_message(tmp_path, capsys):
    """`--units batch_size 2048` with no run table: the value is no file, so the message is
    argparse's missing-argument line, not advice to move 2048 before the options."""
    code = main(["fit", "--units", "batch_size", "2048", "--out", str(tmp_path / "x.nc")])
    line = cli_error_line(capsys.readouterr().err)
    assert code == EXIT_BAD_INPUT
    assert "the following arguments are required: runs" in line and "took" not in line


_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 2. a key given twice with two values ------------------------------------------------
def test_a_column_mapped_twice_is_refused_naming_both(simulated_runs_csv, tmp_path, capsys):
    argv = ["fit", simulated_runs_csv, "--column", "N=Model Size", "--column", "N=x",
            "--column", "D=D", "--out", tmp_path / "x.nc"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "column 'N' is mapped twice" in line
    assert "--column N=Model Size" in line and "--column N=x" in line


@pytest.mark.parametrize(
    "option, pairs", [("--units", ["N=1", "N=millions"]), ("--option", ["a=1", "a=2"])]
)
def test_a_key_given_twice_with_two_values_is_refused(
    option, pairs, simulated_runs_csv, tmp_path, capsys
):
    argv = ["fit", simulated_runs_csv, option, *pairs, "--out", tmp_path / "x.nc"]
    if option == "--option":  # --option is repeatable, one pair each
        argv = ["fit", simulated_runs_csv, option, pairs[0], option, pairs[1],
                "--out", tmp_path / "x.nc"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert f"{option}: '{pairs[0][0]}' is given twice" in line
    assert repr(pairs[0]) in line and repr(pairs[1]) in line


def test_a_key_repeated_with_the_same_value_is_accepted():
    assert _key_values(["N=1e6", "N=1000000"], "--units", "COLUMN=MULTIPLIER") == {"N": 1e6}
    args = build_parser().parse_args(
        ["fit", "r.csv", "--out", "f.nc", "--column", "N=size", "--column", "N=size"]
    )
    assert column_mapping(args) == {"N": "size"}


# ---- 5. design --model default ----------------------------------------------------------
def test_design_help_gives_the_laws_model_default(capsys):
    assert main(["design", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the law's" in text and "'none' for laws" in text


def test_repro_help_says_the_warmup_and_the_default_scripts(capsys):
    code, out, err = cli_run(["repro", "--help"], capsys)
    text = " ".join(out.split())
    assert code == 0
    assert "draws (and warm-up) per chain" not in text
    assert "default: yin liang porian" in text, text
    assert "porian keeps its own warm-up of 500" in text, text
    assert "at least 1000" in text, text


# ---- 8. cosmetics ---------------------------------------------------------------------------
def test_ci_is_quoted_as_typed_and_exclusion_is_not_said_recorded_in_a_fit(
    simulated_fit_file, capsys
):
    argv = ["predict", simulated_fit_file, "--N", "1e9", "--D", "1e10", "--ci", "0"]
    code, out, err = cli_run(argv, capsys)
    assert code == 2
    line = cli_error_line(err)
    assert "--ci" in line and "got '0'" in line and "0.0" not in line, line
    for command in ("plot", "report"):
        assert main([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "recorded with its reason in the fit" not in text
        assert "row exclusion (rows of the --runs table left out" in text
    assert main(["fit", "--help"]) == 0
    assert "recorded with its reason in the fit" in " ".join(capsys.readouterr().out.split())
