"""The command line on a real LR x batch sweep (review s10): NaN predictions explained, batch
sizes labelled as tokens, --keep-diverged refused for laws that need every loss (and the laws'
own message in both forms), an option of several values that swallowed the run table, and the
design --model default as the help says it."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import cli_error_line  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.cli import EXIT_BAD_INPUT, build_parser, main, with_cli_hints  # noqa: E402
from bayeslaws.laws import resolve_law  # noqa: E402
from bayeslaws.runs import RunTableError  # noqa: E402


@pytest.fixture(scope="module")
def hp_file(small_sweep_hp_fit, tmp_path_factory):
    """``small_sweep_hp_fit`` (law 'hyperparams', loss_level 'free') saved, and one of its
    fitted cells."""
    path = tmp_path_factory.mktemp("review2") / "hp.nc"
    small_sweep_hp_fit.save(path)
    N, D = small_sweep_hp_fit.training_runs().df[["N", "D"]].iloc[0]
    return {"fit": path, "N": float(N), "D": float(D)}


@pytest.fixture
def nan_table(tmp_path):
    """A Chinchilla-like table of 14 runs whose loss is missing in 12 (more than the 10 rows a
    message lists)."""
    N, D = np.meshgrid(np.geomspace(1e8, 1e9, 7), [2e9, 2e10])
    loss = 1.8 + 480 / N.ravel() ** 0.35 + 2100 / D.ravel() ** 0.37
    loss[2:] = np.nan
    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": N.ravel(), "D": D.ravel(), "loss": loss}).to_csv(path, index=False)
    return path


# ---- 1. NaN columns are explained ---------------------------------------------------------
def test_predict_names_the_rows_a_hyperparams_fit_has_no_loss_at(hp_file, capsys):
    """At a fitted cell and an unfitted one, the loss (loss_*), loss_opt_* and penalty_* of a
    hyperparams fit (loss_level 'free') are NaN at the unfitted one: stderr says so in one line
    naming that row and the remedy in the command line's form."""
    N, D = hp_file["N"], hp_file["D"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["predict", str(hp_file["fit"]), "--N", str(N), "3e9", "--D", str(D), "6e10",
                     "--lr", "3e-4", "--batch-size", "1e5"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    notes = [line for line in err.splitlines() if "are NaN at" in line]
    assert len(notes) == 1, err
    note = notes[0]
    for name in ("loss_*", "loss_opt_*", "penalty_*"):
        assert name in note
    assert "rel_penalty_*" not in note  # the bowl's relative penalty is known everywhere
    assert "row 1 (N 3e+09, D 6e+10)" in note and "row 0" not in note
    assert "--law sweep" in note and "--option loss_level=surface" in note
    assert "Python:" not in note


def test_predict_says_nothing_when_every_value_is_there(hp_file, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["predict", str(hp_file["fit"]), "--N", str(hp_file["N"]),
                     "--D", str(hp_file["D"])])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "are NaN at" not in err


# ---- 2. batch sizes in tokens ------------------------------------------------------------
def test_predict_candidates_and_design_say_batch_sizes_are_tokens(hp_file, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["predict", str(hp_file["fit"]), "--N", "3e9", "--D", "6e10"])
    err = capsys.readouterr().err
    assert code == 0 and "batch sizes (batch_size, B_opt) are in tokens" in err
    out = tmp_path / "cands.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["candidates", str(hp_file["fit"]), "--sweep", "3e9", "6e10", "--out",
                     str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "batch_size in tokens" in printed
    assert list(pd.read_csv(out).columns[:5]) == ["N", "D", "C", "lr", "batch_size"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["design", str(hp_file["fit"]), "--candidates", str(out), "--hparams",
                     "3e9", "6e10", "--k", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "batch sizes (batch_size, B_opt) are in tokens" in err


def test_report_labels_batch_sizes_as_tokens(small_sweep_hp_fit):
    from bayeslaws.app.report import fit_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(small_sweep_hp_fit, targets=[(3e9, 6e10)]).to_text()
    ranges = next(line for line in text.splitlines() if line.startswith("fitted ranges"))
    assert "] tokens" in ranges.split("batch_size")[1].split(";")[0]
    assert "lr [" in ranges and "] tokens" not in ranges.split("lr [")[1].split(";")[0]
    b_opt = [line for line in text.splitlines() if line.strip().startswith("B_opt at")]
    assert b_opt and all(line.rstrip().endswith("tokens") for line in b_opt)


# ---- 3. --keep-diverged and laws that need every loss ------------------------------------
def test_keep_diverged_is_refused_for_a_law_that_needs_every_loss(nan_table, tmp_path, capsys):
    code = main(["fit", str(nan_table), "--law", "chinchilla", "--keep-diverged",
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


def test_the_laws_missing_loss_message_counts_rows_and_gives_both_forms(nan_table):
    runs = bl.load_runs(nan_table, allow_missing_loss=True)
    with pytest.raises(RunTableError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bl.fit(runs, law="chinchilla", chains=1, warmup=5, draws=5)
    message = str(err.value)
    assert "in 12 of 14 runs" in message and ", ...)" in message
    assert "(Python: runs.exclude(runs.df['loss'].isna(), reason=...); command line: " \
        "--exclude-rows ROWS --exclude-reason TEXT)" in message
    cli = with_cli_hints(message)
    assert "Python:" not in cli and "--exclude-rows ROWS --exclude-reason TEXT" in cli


def test_the_isoflop_laws_missing_loss_message_is_the_same(nan_table):
    df = pd.read_csv(nan_table)
    runs = bl.load_runs(df.assign(C=6 * df["N"] * df["D"]).drop(columns="D"),
                        allow_missing_loss=True)  # fmt: skip
    with pytest.raises(RunTableError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bl.fit(runs, law="isoflop", chains=1, warmup=5, draws=5)
    message = str(err.value)
    assert "in 12 of 14 runs" in message and "command line: --exclude-rows ROWS" in message


# ---- 4. an option of several values does not swallow the positional ----------------------
@pytest.mark.parametrize(
    "before",
    [["--units", "batch_size=2048"], ["--exclude-rows", "3", "4"]],
)
def test_an_option_of_several_values_leaves_the_run_table(before, nan_table):
    args = build_parser().parse_args(
        ["fit", *before, str(nan_table), "--out", "x.nc", "--exclude-reason", "r"]
    )
    assert args.runs == str(nan_table)
    assert getattr(args, before[0][2:].replace("-", "_")) == before[1:]


def test_predict_numbers_leave_the_fit_file(hp_file):
    args = build_parser().parse_args(["predict", "--N", "1e9", str(hp_file["fit"]), "--D", "2e10"])
    assert args.fit == str(hp_file["fit"]) and args.N == ["1e9"]


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


# ---- 5. design --model default ----------------------------------------------------------
def test_design_help_gives_the_laws_model_default(capsys):
    assert main(["design", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the law's" in text and "'none' for laws" in text
