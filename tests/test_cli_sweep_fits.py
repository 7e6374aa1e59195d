"""The command line on LR x batch sweep fits: NaN predictions name their rows and the nearest
fitted cell, batch sizes are said to be tokens, a picked sweep gives its runs' ranges."""

from __future__ import annotations

import types
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from conftest import cli_run  # noqa: E402

from bayeslaws.app import cli  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.app.cli.fit_commands import _nearest_cells_note  # noqa: E402
from bayeslaws.app.cli.output import exact_text  # noqa: E402


# ---- 1. NaN columns are explained ---------------------------------------------------------
def test_predict_names_the_rows_a_hyperparams_fit_has_no_loss_at(hp_fit_file, capsys):
    """At a fitted cell and an unfitted one, the loss (loss_*), loss_opt_* and penalty_* of a
    hyperparams fit (loss_level 'free') are NaN at the unfitted one: stderr says so in one line
    naming that row and the remedy in the command line's form."""
    N, D = hp_fit_file["N"], hp_fit_file["D"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["predict", str(hp_fit_file["fit"]), "--N", str(N), "3e9", "--D", str(D),
                     "6e10", "--lr", "3e-4", "--batch-size", "1e5"])  # fmt: skip
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


def test_predict_says_nothing_when_every_value_is_there(hp_fit_file, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["predict", str(hp_fit_file["fit"]), "--N", str(hp_fit_file["N"]),
                     "--D", str(hp_fit_file["D"])])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "are NaN at" not in err


# ---- 2. batch sizes in tokens ------------------------------------------------------------
def test_predict_candidates_and_design_say_batch_sizes_are_tokens(hp_fit_file, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["predict", str(hp_fit_file["fit"]), "--N", "3e9", "--D", "6e10"])
    err = capsys.readouterr().err
    assert code == 0 and "batch sizes (batch_size, B_opt) are in tokens" in err
    out = tmp_path / "cands.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["candidates", str(hp_fit_file["fit"]), "--sweep", "3e9", "6e10", "--out",
                     str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "batch_size in tokens" in printed
    assert list(pd.read_csv(out).columns[:5]) == ["N", "D", "C", "lr", "batch_size"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["design", str(hp_fit_file["fit"]), "--candidates", str(out), "--hparams",
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


# ---- F3: the nearest fitted cell of a NaN prediction, in the package ---------------------------
def _fit_with_cells(cells):
    """A stand-in fit whose stored training runs sit at the (N, D) ``cells``."""
    df = pd.DataFrame(cells, columns=["N", "D"])
    return types.SimpleNamespace(groups=["all"], training_runs=lambda: types.SimpleNamespace(df=df))


def test_package_finds_the_nearest_fitted_cell_of_a_nan_row():
    from bayeslaws.posterior.predict import NEAREST_LN_DISTANCE, nearest_fitted_cells

    cells = [(429260800.0, 8e9), (2.6e8, 4e9)]
    fit = _fit_with_cells(cells)
    near = cells[0][0] * np.exp(NEAREST_LN_DISTANCE / 2)  # a rounding of the first cell's N
    table = pd.DataFrame(
        {"N": [near, 1e9, cells[1][0]], "D": [8e9, 4e9, 4e9],
         "loss_median": [np.nan, np.nan, 3.0]}
    )  # fmt: skip
    assert nearest_fitted_cells(fit, table) == [(0, *cells[0])]
    # the command line's note is the package's answer in words, in full precision
    note = _nearest_cells_note(fit, None, table)
    assert f"row 0: nearest fitted cell N {exact_text(cells[0][0])}" in note
    assert "row 1" not in note and "row 2" not in note


def test_cli_note_names_at_most_three_rows_from_the_package():
    from bayeslaws.posterior.predict import nearest_fitted_cells

    fit = _fit_with_cells([(429260800.0, 8e9)])
    table = pd.DataFrame({"N": [4.29e8] * 5, "D": [8e9] * 5, "median": [np.nan] * 5})
    found = nearest_fitted_cells(fit, table)
    assert [row for row, *_ in found] == list(range(len(table)))
    note = _nearest_cells_note(fit, None, table)
    assert note.count("nearest fitted cell") == cli.NEAREST_SHOWN and note.endswith("; ...")


def test_nearest_cell_is_named_only_for_a_row_that_nearly_asked_for_it():
    fit = _fit_with_cells([(429260800.0, 8e9), (2.6e8, 4e9)])
    table = pd.DataFrame(
        {"N": [4.29e8, 1e9], "D": [8e9, 4e9], "loss_median": [np.nan, np.nan]}
    )
    note = _nearest_cells_note(fit, None, table)
    assert "row 0: nearest fitted cell N 4.292608e+08" in note
    assert "row 1" not in note  # 1e9 is 0.6 decades beyond every cell: another model
    assert _nearest_cells_note(fit, None, table.iloc[[1]].reset_index(drop=True)) == ""


SWEEPS = ["--sweep", "1e8", "3e9", "--sweep", "2e8", "8e9", "--sweep", "3e8", "1e10"]


# ---- 1. what to run: the ranges of a picked sweep, every run in a CSV ------------------------
def test_design_rows_give_a_sweeps_ranges_and_out_lists_every_run(sweep_fit_file, tmp_path, capsys):
    """A picked 15-run sweep's row showed lr and batch_size of its first run (the lowest of
    each), which read as the setting to use; no file listed the runs to train."""
    picks = tmp_path / "picks.csv"
    argv = ["design", sweep_fit_file, *SWEEPS, "--hparams", "5e8", "2e10", "--k", "2",
            "--out", picks]  # fmt: skip
    code, out, err = cli_run(argv, capsys)
    assert code == 0, err
    runs = pd.read_csv(picks)
    assert list(runs.columns) == ["pick", "unit", "N", "D", "C", "lr", "batch_size"]
    assert sorted(runs["pick"].unique()) == [1, 2] and len(runs) == 30
    for _, one in runs.groupby("pick"):
        assert one["lr"].nunique() == 5 and one["batch_size"].nunique() == 3
        assert one[["N", "D"]].drop_duplicates().shape[0] == 1
    table = out.split("\n", 1)[1]
    first = runs[runs["pick"] == 1]
    low, high = first["lr"].min(), first["lr"].max()
    assert f"{low:.3g}..{high:.3g} (5 values)" in table, table
    b_low, b_high = first["batch_size"].min(), first["batch_size"].max()
    assert f"{b_low:.0f}..{b_high:.0f} (3 values)" in table, table
    assert repr(low) not in table and f"{low:.5g}" not in table  # not the first run's alone
    assert f"wrote {picks}" in out and "30 runs of the 2 picks" in out
