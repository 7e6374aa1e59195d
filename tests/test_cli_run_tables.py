"""Run tables on the command line and in load_runs: runs without a loss (--keep-diverged, the
missing-loss messages), a diverged-runs flags column under another name, N in millions."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line, cli_run, flagged_runs  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, main, with_cli_hints  # noqa: E402
from bayeslaws.laws import resolve_law  # noqa: E402
from bayeslaws.runs import PlausibilityWarning, RunTableError  # noqa: E402


# ---- 3. --keep-diverged and laws that need every loss ------------------------------------
def test_keep_diverged_is_refused_for_a_law_that_needs_every_loss(
    missing_loss_csv, tmp_path, capsys
):
    code = main(["fit", str(missing_loss_csv), "--law", "chinchilla", "--keep-diverged",
                 "--out", str(tmp_path / "x.nc"), "--chains", "1", "--warmup", "5",
                 "--draws", "5"])  # fmt: skip
    line = cli_error_line(capsys.readouterr().err)
    assert code == EXIT_BAD_INPUT
    assert "--keep-diverged" in line and "'chinchilla'" in line
    assert "--exclude-rows ROWS --exclude-reason TEXT" in line
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("law", ["hyperparams", "hyperparams_two_stage", "sweep"])
def test_laws_that_count_diverged_runs_accept_missing_losses(law):
    """--keep-diverged is for these laws (the contract's accepts_missing_loss)."""
    assert resolve_law(law).accepts_missing_loss
    assert not resolve_law("chinchilla").accepts_missing_loss


def test_the_laws_missing_loss_message_counts_rows_and_gives_both_forms(missing_loss_csv):
    runs = bl.load_runs(missing_loss_csv, allow_missing_loss=True)
    with pytest.raises(RunTableError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bl.fit(runs, law="chinchilla", chains=1, warmup=5, draws=5)
    message = str(err.value)
    assert "in 12 of 14 runs" in message and ", ...)" in message
    assert "(Python: runs.exclude(runs.df['loss'].isna(), reason=...); command line: " \
        "--exclude-rows ROWS --exclude-reason TEXT)" in message
    cli = with_cli_hints(message)
    assert "Python:" not in cli and "--exclude-rows ROWS --exclude-reason TEXT" in cli


def test_the_isoflop_laws_missing_loss_message_is_the_same(missing_loss_csv):
    df = pd.read_csv(missing_loss_csv)
    runs = bl.load_runs(df.assign(C=6 * df["N"] * df["D"]).drop(columns="D"),
                        allow_missing_loss=True)  # fmt: skip
    with pytest.raises(RunTableError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bl.fit(runs, law="isoflop", chains=1, warmup=5, draws=5)
    message = str(err.value)
    assert "in 12 of 14 runs" in message and "command line: --exclude-rows ROWS" in message


_run = cli_run  # conftest: bayeslaws argv in-process -> (code, stdout, stderr)


# ---- 3. runs without a loss ----------------------------------------------------------------
@pytest.fixture
def lossless_csv(simulated_runs, tmp_path):
    """The SIMULATED runs with the loss missing at row 7 and +inf at row 9."""
    df = simulated_runs.df[["N", "D", "loss"]].reset_index(drop=True)
    df.loc[7, "loss"] = np.nan
    df.loc[9, "loss"] = np.inf
    path = tmp_path / "lossless.csv"
    df.to_csv(path, index=False)
    return path


def test_the_missing_loss_message_names_the_inf_rows_too(lossless_csv, tmp_path, capsys):
    code, _, err = _run(["fit", lossless_csv, "--out", tmp_path / "x.nc"], capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "'loss' has missing values (or +inf) at rows 7, 9 (0-based data rows" in line
    assert "--exclude-rows ROWS --exclude-reason" in line and "Python" not in line


def test_after_exclude_rows_the_message_names_the_rows_still_without_a_loss(
    lossless_csv, tmp_path, capsys
):
    argv = ["fit", lossless_csv, "--exclude-rows", "7", "--exclude-reason", "diverged",
            "--out", tmp_path / "x.nc"]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    line = cli_error_line(err)
    assert "at rows 9 (0-based data rows, header not counted), still after --exclude-rows 7" \
        in line
    assert "at rows 7" not in line


def _quiet_load(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.load_runs(data, **kwargs)


# ---- 1. a diverged-runs column under another name --------------------------------------------
def test_a_flags_column_under_another_name_is_read_when_mapped():
    runs = _quiet_load(flagged_runs(), diverged="is_diverged")
    assert "is_diverged" not in runs.df
    assert runs.df["diverged"].dtype == bool
    assert runs.df.index[runs.df["diverged"]].tolist() == [3, 7]


def test_an_unmapped_flags_like_column_is_named_with_the_fix_in_both_forms():
    with pytest.warns(PlausibilityWarning, match="'is_diverged' looks like diverged-run flags"):
        runs = bl.load_runs(flagged_runs())
    assert "diverged" not in runs.df  # kept as an extra, as before, but said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.load_runs(flagged_runs())
    text = " ".join(str(w.message) for w in caught if "diverg" in str(w.message))
    assert "load_runs(..., diverged='is_diverged')" in text
    assert "--column diverged=is_diverged" in text
    line = with_cli_hints(text, "fit")
    assert "Python:" not in line and "on the command line: --column diverged=is_diverged" in line


def test_a_flags_like_column_beside_a_read_flags_column_names_the_one_read():
    df = flagged_runs("Is Diverged").assign(diverged=False)
    with pytest.warns(PlausibilityWarning, match="the flags are read from column 'diverged'"):
        bl.load_runs(df)


def test_no_flags_warning_for_a_table_without_such_a_column():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.load_runs(flagged_runs("diverged"))
    assert not [w for w in caught if "looks like diverged-run flags" in str(w.message)]


@pytest.mark.parametrize(
    "kwargs, df_change, match",
    [
        ({"diverged": "nope"}, {}, r"column 'nope' \(given for diverged\) is not in the table"),
        ({"diverged": "loss"}, {}, "column 'loss' is used for both loss and diverged"),
        ({"diverged": "is_diverged"}, {"diverged": False}, "a column 'diverged' besides"),
        (
            {"diverged": "is_diverged"},
            {"is_diverged": "maybe"},
            r"column 'is_diverged' \(diverged\) must hold true/false flags",
        ),
    ],
)
def test_a_bad_flags_mapping_is_an_error_naming_the_column(kwargs, df_change, match):
    df = flagged_runs().assign(**df_change)
    with pytest.raises(RunTableError, match=match):
        _quiet_load(df, **kwargs)


def test_diverged_takes_a_column_name():
    with pytest.raises(TypeError, match="diverged= takes the name"):
        _quiet_load(flagged_runs(), diverged=3)


def test_column_diverged_maps_the_flags_on_the_command_line(tmp_path, capsys):
    """--column diverged=NAME is read (it was refused: 'diverged' is not one of ...), so a law
    that fits every run as converged refuses the flagged runs, in command-line words."""
    path = tmp_path / "runs.csv"
    flagged_runs().to_csv(path, index=False)
    argv = [
        "fit",
        path,
        "--out",
        tmp_path / "f.nc",
        "--column",
        "diverged=is_diverged",
        "--chains",
        "1",
        "--warmup",
        "10",
        "--draws",
        "10",
        "--no-discrepancy",
    ]
    code, _, err = _run(argv, capsys)
    line = cli_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "flags 2 of 12 runs (rows 3, 7)" in line
    assert "on the command line: --exclude-rows ROWS --exclude-reason TEXT" in line
    assert "Python:" not in line and "runs.exclude(" not in line


# ---- 7. a table whose N is in millions -------------------------------------------------------
def test_n_in_millions_is_named_not_c():
    """C / 6ND = 1e6 at every row read as C in other units: units={'C': 1e-06}, which made
    both N and C wrong."""
    N = np.geomspace(7e7, 2.8e9, 6)
    D = 20 * N
    frame = pd.DataFrame({"N": N / 1e6, "D": D, "C": 6 * N * D, "loss": np.linspace(3.2, 2.4, 6)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RunTableError) as err:
            bl.load_runs(frame)
        message = str(err.value)
        assert "column 'N' (parameters) has median" in message, message
        assert "units={'N': 1e+06} (millions)" in message, message
        assert "units={'C'" not in message, message
        fixed = bl.load_runs(frame, units={"N": 1e6})  # the advice followed loads
        assert np.allclose(fixed.df["N"], N)
        # N plausible but C 1000 x 6ND: any of the three could be in other units
        with pytest.raises(RunTableError, match=r"N, D or C is in other units") as err:
            bl.load_runs(frame.assign(N=N / 1e3))
        assert "N in thousands (units={'N': 1000})" in str(err.value)
        assert "C (units={'C': 0.001})" in str(err.value)
