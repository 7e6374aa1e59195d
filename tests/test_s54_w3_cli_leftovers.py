"""Command-line leftovers: a remedy whose command-line form holds brackets (a column "D
(tokens)"), argument errors said under their subcommand, a --where column named like a sampler
setting, the candidates' batch in the unit the fitted runs gave theirs in (and the files with
that column read back by 'design'), and the isoFLOP figure's missing budgets.

SIMULATED data (the bundled simulators), tiny fits."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import TRUTH, chinchilla_design, cli_error_line, cli_run  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.app.cli.design_commands import _without_batch_as_given  # noqa: E402
from bayeslaws.app.cli.errors import CLIError  # noqa: E402
from bayeslaws.app.cli.hints import with_cli_hints  # noqa: E402
from bayeslaws.runs import simulate  # noqa: E402

TINY = ["--chains", "1", "--warmup", "100", "--draws", "100"]
SEQUENCE = 2048  # tokens per sequence


# ---- a remedy's command-line form with brackets in it -------------------------------------
def test_a_column_name_with_brackets_is_kept_whole_in_the_remedy(tmp_path, capsys):
    N, D = chinchilla_design(3, 3)
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    table = tmp_path / "runs.csv"
    df[["N", "D", "loss"]].rename(columns={"D": "D (tokens)"}).to_csv(table, index=False)
    code, _, err = cli_run(["fit", table, "--out", tmp_path / "f.nc", *TINY], capsys)
    line = cli_error_line(err)
    assert code == 2 and "on the command line: --column 'D=D (tokens)'" in line, line
    assert "Python:" not in line, line


@pytest.mark.parametrize("command", ["fit", "design"])
def test_both_forms_keep_bracketed_text_of_the_command_line_form(command):
    message = (
        "column 'D (tokens)' looks like 'D' with a unit in brackets: map it (Python: "
        "load_runs(..., D='D (tokens)'); command line: --column 'D=D (tokens)'); D is read in "
        "tokens"
    )
    said = with_cli_hints(message, command)
    assert "map it; on the command line: --column 'D=D (tokens)'; D is read in tokens" in said


# ---- argument errors -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, head",
    [
        (["predict", "f.nc", "--N", "1e9", "--D", "1e10", "--ci", "90"],
         "bayeslaws predict: error: argument --ci:"),
        (["fit", "runs.csv", "--out", "f.nc", "--chains", "x"],
         "bayeslaws fit: error: argument --chains:"),
        (["fit"], "bayeslaws fit: error: the following arguments are required"),
        (["nosuch"], "bayeslaws: error: argument command: invalid choice"),
    ],
)  # fmt: skip
def test_argument_errors_are_said_under_their_subcommand(argv, head, capsys):
    code, _, err = cli_run(argv, capsys)
    assert code == 2 and cli_error_line(err).startswith(head), err


# ---- a --where column named like a sampler setting ----------------------------------------
def test_a_where_condition_on_a_warmup_column_gets_no_sampler_option():
    stacked = (
        "the table looks like several configurations stacked. Fit one configuration (Python: "
        "df.query(\"warmup == 'short'\") on the DataFrame before load_runs; command line: --where "
        "warmup=short)"
    )
    said = with_cli_hints(stacked)
    assert "--where warmup=short" in said and "--warmup N" not in said, said
    advice = with_cli_hints("sampler trouble: warm up longer (warmup=350 or more)")
    assert advice.endswith("on the command line: --warmup N"), advice


# ---- the candidates' batch in the fitted runs' unit ----------------------------------------
@pytest.fixture(scope="module")
def sequences_fit(small_sweep, tmp_path_factory):
    """A tiny hyperparams fit of the small SIMULATED sweep whose batch was given in sequences of
    2048 tokens (--units batch_size=2048)."""
    folder = tmp_path_factory.mktemp("w3")
    df = small_sweep.df.drop(columns=["source", "C"], errors="ignore")
    table = folder / "sweep.csv"
    df.assign(batch_size=df["batch_size"] / SEQUENCE).to_csv(table, index=False)
    fit = folder / "hp.nc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", str(table), "--law", "hyperparams", "--units",
                                f"batch_size={SEQUENCE}", "--out", str(fit), *TINY])  # fmt: skip
    assert code == 0
    return folder, fit


def _candidates(fit, cands, capsys) -> tuple[pd.DataFrame, str]:
    """``bayeslaws candidates FIT --sweep 1e8 5e9 --out cands``: the table written, stdout."""
    code, out, err = cli_run(["candidates", fit, "--sweep", "1e8", "5e9", "--out", cands], capsys)
    assert code == 0, err
    return pd.read_csv(cands), out


def test_candidates_give_the_batch_in_the_fitted_runs_unit(sequences_fit, capsys):
    folder, fit = sequences_fit
    cands = folder / "cands.csv"
    table, out = _candidates(fit, cands, capsys)
    columns = list(table.columns)
    assert columns.index("batch_size_as_given") == columns.index("batch_size") + 1
    expected = np.maximum(np.rint(table["batch_size"].to_numpy(float) / SEQUENCE), 1)
    np.testing.assert_array_equal(table["batch_size_as_given"].to_numpy(float), expected)
    assert f"batch_size_as_given: whole units of {SEQUENCE} tokens" in out, out
    # read back by 'design', and so is the file of picks 'design --out' writes
    picks = folder / "picks.csv"
    design = ["design", fit, "--hparams", "1e8", "5e9", "--k", "1"]
    code, _, err = cli_run([*design, "--candidates", cands, "--out", picks], capsys)
    assert code == 0, err
    written = pd.read_csv(picks)
    assert set(written["batch_size"]) <= set(table["batch_size"])
    code, _, err = cli_run([*design, "--candidates", picks], capsys)
    assert code == 0, err


def test_design_refuses_a_batch_as_given_that_disagrees_with_batch_size(sequences_fit, capsys):
    folder, fit = sequences_fit
    cands = folder / "edited.csv"
    table, _ = _candidates(fit, cands, capsys)
    table.loc[2, "batch_size_as_given"] += 3  # the user edited the wrong column
    table.to_csv(cands, index=False)
    code, _, err = cli_run(
        ["design", fit, "--hparams", "1e8", "5e9", "--k", "1", "--candidates", cands], capsys
    )
    line = cli_error_line(err)
    assert code == 2 and "column 'batch_size_as_given' disagrees with batch_size" in line, line
    assert "at rows 2 (0-based data rows" in line, line


def test_a_batch_as_given_without_a_unit_to_restate_is_refused():
    """Stand-ins for the fit (only its units are read) and for the candidates read."""
    cands = pd.DataFrame({"N": [1e8], "D": [5e9], "batch_size": [4096.0],
                          "batch_size_as_given": [2.0]})  # fmt: skip
    with pytest.raises(CLIError, match="gave their batch in tokens"):
        _without_batch_as_given(cands, SimpleNamespace(units={}), "c.csv")
    with pytest.raises(CLIError, match="no batch_size column"):
        _without_batch_as_given(cands.drop(columns="batch_size"),
                                SimpleNamespace(units={"batch_size": 2048.0}), "c.csv")  # fmt: skip
    kept = _without_batch_as_given(cands, SimpleNamespace(units={"batch_size": 2048.0}), "c.csv")
    assert list(kept.columns) == ["N", "D", "batch_size"]


# ---- the isoFLOP figure without budgets ----------------------------------------------------
def test_isoflop_figure_without_budgets_names_the_fitted_range(sequences_fit, capsys):
    folder, fit = sequences_fit
    code, _, err = cli_run(
        ["plot", fit, "--kind", "isoflop", "--out", folder / "iso.png"], capsys
    )
    line = cli_error_line(err)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        C = bl.load_fit(fit).training_runs().df["C"]
    assert code == 2 and "--kind isoflop needs budgets" in line, line
    assert f"the fit's runs span C = {C.min():.3g} to {C.max():.3g}" in line, line
