"""Runs flagged in a ``diverged`` column: the laws that count diverged runs (hyperparams,
sweep) read the flags; every other law refuses a flagged run as it refuses a missing loss,
naming the rows and the remedy (contract.require_converged_runs), instead of fitting it as a
converged run. All tables here are SIMULATED; nothing is sampled (prepare, or a fit refused
before sampling)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design, cli_error_line

import bayeslaws as bl
from bayeslaws.app.cli import EXIT_BAD_INPUT, main
from bayeslaws.laws import resolve_law
from bayeslaws.laws.contract import Scales
from bayeslaws.runs import RunTableError, simulate

SURFACE_LAWS = ("chinchilla", "kaplan", "farseer", "chinchilla_gamma")
FLAGGED = [6, 13]  # rows of the SIMULATED tables below marked diverged


def surface_frame(diverged=None) -> pd.DataFrame:
    """A SIMULATED Chinchilla table of 30 runs (6 sizes x 5 token counts); with ``diverged``
    (a list of rows) a ``diverged`` column, True at those rows (their loss x5 at the first)."""
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    df = df.drop(columns="source", errors="ignore")
    if diverged is not None:
        df["diverged"] = df.index.isin(diverged)
        if len(diverged):
            df.loc[diverged[0], "loss"] *= 5.0
    return df


def isoflop_frame(diverged=None) -> pd.DataFrame:
    """SIMULATED isoFLOP profiles (6 budgets x 7 sizes), flagged as :func:`surface_frame`."""
    df = simulate.simulate_liang_isoflop(seed=1, n_per_budget=7).drop(columns="source")
    if diverged is not None:
        df["diverged"] = df.index.isin(diverged)
        if len(diverged):
            df.loc[diverged[0], "loss"] *= 5.0
    return df


def load(df, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the x5 loss is warned about at load unless flagged
        return bl.load_runs(df, **options)


def prepare(law: str, runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identifiability and the like: not what is tested
        return resolve_law(law).prepare(runs)


# ---- refused, naming the rows and the remedy ------------------------------------------------
@pytest.mark.parametrize(
    "law, frame", [(law, surface_frame) for law in SURFACE_LAWS] + [("isoflop", isoflop_frame)]
)
def test_a_law_that_counts_no_diverged_run_refuses_flagged_rows(law, frame):
    runs = load(frame(FLAGGED))
    with pytest.raises(RunTableError) as err:
        prepare(law, runs)
    message = str(err.value)
    assert f"law {law!r}" in message
    n = len(runs.df)
    assert f"column 'diverged' flags 2 of {n} runs (rows 6, 13) as diverged" in message
    assert "(0-based data rows, header not counted)" in message
    assert (
        "(Python: runs.exclude(runs.df['diverged'], reason=...); command line: --exclude-rows "
        "ROWS --exclude-reason TEXT)"
    ) in message


def test_bl_fit_refuses_before_sampling_and_the_remedy_then_fits():
    """The reviewer's case: bl.fit(..., law='chinchilla') on flagged rows fitted them as
    converged, with no word. Now it is refused; the Python remedy the message gives, run as
    written, leaves them out (recorded) and the law prepares the rest."""
    runs = load(surface_frame(FLAGGED))
    with pytest.raises(RunTableError, match=r"rows 6, 13\) as diverged"):
        bl.fit(runs, law="chinchilla", chains=1, warmup=5, draws=5)
    with pytest.raises(RunTableError) as err:
        prepare("chinchilla", runs)
    mask = re.search(r"runs\.exclude\((.*?), reason=\.\.\.\)", str(err.value)).group(1)
    kept = runs.exclude(eval(mask, {"runs": runs}), reason="diverged")  # noqa: S307
    assert kept.exclusions[-1].rows == tuple(FLAGGED)
    assert len(prepare("chinchilla", kept).runs) == len(runs) - 2


def test_rows_already_excluded_are_not_counted():
    runs = load(surface_frame(FLAGGED)).exclude(lambda df: df.index == 6, reason="diverged")
    with pytest.raises(RunTableError) as err:
        prepare("chinchilla", runs)
    assert "flags 1 of 29 runs (rows 13) as diverged" in str(err.value)


def test_a_missing_loss_and_a_flag_are_named_together():
    df = surface_frame(FLAGGED)
    df.loc[3, "loss"] = np.nan
    runs = load(df, allow_missing_loss=True)
    with pytest.raises(RunTableError) as err:
        prepare("kaplan", runs)
    message = str(err.value)
    assert "needs a loss for every run" in message
    assert "column 'loss' is missing in 1 of 30 runs (rows 3)" in message
    assert "column 'diverged' flags 2 of 30 runs (rows 6, 13) as diverged" in message
    assert "runs.exclude(runs.df['loss'].isna() | runs.df['diverged'], reason=...)" in message
    mask = runs.df["loss"].isna() | runs.df["diverged"]
    assert len(prepare("kaplan", runs.exclude(mask, reason="no converged loss")).runs) == 27


def test_a_table_with_its_own_labels_is_named_by_them():
    df = surface_frame(FLAGGED)
    df.index = [f"run{i}" for i in range(len(df))]
    with pytest.raises(RunTableError) as err:
        prepare("chinchilla", load(df))
    assert "(rows run6, run13) as diverged (labels of the DataFrame's index)" in str(err.value)


# ---- unchanged where nothing is flagged, and for the laws that count diverged runs --------
@pytest.mark.parametrize(
    "law, frame", [("chinchilla", surface_frame), ("farseer", surface_frame),
                   ("isoflop", isoflop_frame)],
)  # fmt: skip
def test_an_all_false_or_absent_diverged_column_prepares_as_before(law, frame):
    plain = prepare(law, load(frame()))
    for flagged in (frame([]), frame([]).assign(diverged="no")):  # bools, and text flags
        prepared = prepare(law, load(flagged))
        assert prepared.static == plain.static and prepared.notes == plain.notes == ()
        assert len(prepared.runs) == len(plain.runs)
        for name, value in plain.data.items():
            if not isinstance(value, Scales):
                np.testing.assert_array_equal(np.asarray(prepared.data[name]), np.asarray(value))


@pytest.mark.parametrize("law", ["hyperparams", "hyperparams_two_stage", "sweep"])
def test_the_laws_that_count_diverged_runs_still_take_flagged_rows(law):
    df = simulate.simulate_video_dit_sweep(seed=1, sizes=(0.017e9, 0.057e9, 0.26e9),
                                           tokens=(2e9, 5e9, 12e9))  # fmt: skip
    df["diverged"] = False
    df.loc[df.index[-1], "diverged"] = True
    prepared = prepare(law, load(df))  # no RunTableError: these laws read the flags
    assert any("diverged" in note for note in prepared.notes), prepared.notes


# ---- the command line ---------------------------------------------------------------------
def test_the_command_line_refuses_flagged_rows_in_one_line(tmp_path, capsys):
    df = surface_frame(FLAGGED).assign(diverged=lambda d: np.where(d["diverged"], "yes", "no"))
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "fit.nc"
    code = main(["fit", str(path), "--law", "chinchilla", "--out", str(out), "--chains", "1",
                 "--warmup", "5", "--draws", "5"])  # fmt: skip
    line = cli_error_line(capsys.readouterr().err)
    assert code == EXIT_BAD_INPUT and not out.exists()
    assert "law 'chinchilla'" in line and "(rows 6, 13) as diverged" in line
    assert "--exclude-rows ROWS --exclude-reason TEXT" in line
