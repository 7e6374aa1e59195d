"""Diverged runs logged as NaN or +inf: the errors name the remedy (in Python and on the command
line), and allow_missing_loss=True reads +inf as a missing loss. No sampling."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import tokens_batch_frame

import bayeslaws as bl
from bayeslaws.app.cli import LOSS_MISSING, with_cli_hints
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams import HyperparamsLaw
from bayeslaws.laws.hyperparams.data import diverged_mask
from bayeslaws.runs import RunTableError
from bayeslaws.runs import simulate as sim


def tiny_sweep() -> pd.DataFrame:
    """SIMULATED: 2 sizes x 2 budgets x the simulator's lr x batch grid (batch in tokens)."""
    return sim.simulate_video_dit_sweep(seed=3, sizes=(0.017e9, 0.057e9), tokens=(2e9, 4e9))


# ---- 2. diverged runs logged as NaN or +inf ---------------------------------------------------
@pytest.mark.parametrize(
    "value, first",
    [
        (np.nan, r"column 'loss' has missing values at rows 1 "),
        (np.inf, r"column 'loss' must be finite and positive; bad values at rows 1 "),
    ],
)
def test_a_missing_or_infinite_loss_names_the_diverged_remedy(value, first):
    df = tokens_batch_frame()
    df.loc[1, "loss"] = value
    with pytest.raises(RunTableError, match=first) as err:
        bl.load_runs(df)
    message = str(err.value)
    assert "runs that diverged" in message
    assert "load_runs(..., allow_missing_loss=True)" in message
    assert "hyperparameter and sweep laws count as diverged" in message
    assert "runs.exclude(runs.df['loss'].isna(), reason=...)" in message


def test_the_missing_loss_message_keeps_the_command_line_retry():
    """The command line leaves runs without a loss out (--exclude-rows) when load_runs'
    message matches its pattern; the remedy must keep that message recognisable."""
    df = tokens_batch_frame()
    df.loc[1, "loss"] = np.nan
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    assert LOSS_MISSING.search(str(err.value))
    assert "--exclude-rows ROWS --exclude-reason TEXT" in with_cli_hints(str(err.value), "fit")


def test_a_negative_infinite_loss_is_no_diverged_run():
    df = tokens_batch_frame()
    df.loc[1, "loss"] = -np.inf
    for allow in (False, True):
        with pytest.raises(RunTableError, match=r"must be finite and positive") as err:
            bl.load_runs(df, allow_missing_loss=allow)
        assert "diverged" not in str(err.value)


def test_allow_missing_loss_reads_a_positive_infinite_loss_as_missing():
    df = tiny_sweep()
    as_nan, as_inf = df.copy(), df.copy()
    as_nan.loc[[2, 7], "loss"] = np.nan
    as_inf.loc[2, "loss"], as_inf.loc[7, "loss"] = np.inf, np.nan  # +inf and NaN alike
    nan_runs = bl.load_runs(as_nan, allow_missing_loss=True)
    inf_runs = bl.load_runs(as_inf, allow_missing_loss=True)
    assert len(inf_runs) == len(df) and inf_runs.n_input_rows == len(df)  # nothing dropped
    assert inf_runs.df.index[inf_runs.df["loss"].isna()].tolist() == [2, 7]
    pd.testing.assert_frame_equal(inf_runs.df, nan_runs.df)
    assert np.isposinf(as_inf.loc[2, "loss"])  # the caller's frame is untouched
    # the laws record them the same way as NaN losses
    mask, reasons = diverged_mask(HyperparamsLaw(), inf_runs.df)
    assert mask[[2, 7]].all() and reasons[0] == "2 with a missing (NaN) or +inf loss"
    np.testing.assert_array_equal(mask, diverged_mask(HyperparamsLaw(), nan_runs.df)[0])
    sweep_mask, sweep_reasons = sweep.SweepLaw().excluded_mask(inf_runs.df)
    nan_mask, nan_reasons = sweep.SweepLaw().excluded_mask(nan_runs.df)
    np.testing.assert_array_equal(sweep_mask, nan_mask)
    assert sweep_reasons == nan_reasons and sweep_mask[[2, 7]].all()


def test_messages_show_the_infinite_loss_as_typed():
    df = tokens_batch_frame()
    df.loc[3, "loss"] = np.inf
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    assert re.search(r"rows 3 \(0-based data rows, header not counted\) \(e\.g\. \[inf\]\)",
                     str(err.value))  # fmt: skip


def test_the_command_line_keeps_or_leaves_out_runs_logged_as_inf(tmp_path, capsys):
    """A run logged as +inf could not be fitted from the command line at all: --exclude-rows
    retried only on the missing-loss message, and nothing kept diverged runs for the laws that
    count them. Now the error names both ways, --exclude-rows leaves the +inf row out, and
    --keep-diverged reads it as a missing loss (a diverged run)."""
    from argparse import Namespace

    from bayeslaws.app.cli.run_tables import read_runs

    df = tokens_batch_frame()
    df.loc[1, "loss"] = np.inf
    path = tmp_path / "inf.csv"
    df.to_csv(path, index=False)
    with pytest.raises(RunTableError) as err:
        bl.load_runs(df)
    line = with_cli_hints(str(err.value), "fit")
    assert "--keep-diverged" in line and "--exclude-rows ROWS --exclude-reason TEXT" in line
    assert "Python:" not in line and "load_runs(" not in line
    base = {"command": "fit", "units": None, "compute_model": None, "column": None}
    kept = read_runs(str(path), Namespace(**base, keep_diverged=True, exclude_rows=None))
    assert len(kept) == len(df) and np.isnan(kept.df["loss"].iloc[1])
    left = read_runs(
        str(path),
        Namespace(**base, keep_diverged=False, exclude_rows=["1"], exclude_reason="diverged"),
    )
    assert len(left) == len(df) - 1 and np.isfinite(left.df["loss"]).all()


def test_a_missing_and_an_infinite_loss_are_named_together():
    """Runs with a missing loss and runs logged as +inf are both runs without a loss: the
    message named only the missing ones, so leaving those out brought the +inf ones back."""
    import pandas as pd

    import bayeslaws as bl

    df = pd.DataFrame(
        {"N": [1e8, 2e8, 4e8, 8e8], "D": [2e9] * 4, "loss": [3.0, np.nan, 2.8, np.inf]}
    )
    with pytest.raises(bl.RunTableError, match=r"has missing values \(or \+inf\) at rows 1, 3 "):
        bl.load_runs(df)
