"""Review of review 7's own changes: the nearest-cell note names only cells a NaN row nearly
asked for; the unmarked-high-runs warning is located at the user's line; overlapping
``quiet_arviz`` blocks (fits in threads) leave ArviZ's logger as they found it; an unknown
option before the subcommand is the top level's."""

from __future__ import annotations

import logging
import threading
import time
import types
import warnings

import numpy as np
import pandas as pd
from test_review7_misc import _sweep_with_high_runs

import bayeslaws as bl
from bayeslaws.app import cli
from bayeslaws.inference.diagnostics import quiet_arviz


def _fit_with_cells(cells):
    """A stand-in fit whose stored training runs sit at the (N, D) ``cells``."""
    df = pd.DataFrame(cells, columns=["N", "D"])
    return types.SimpleNamespace(
        groups=["all"], training_runs=lambda: types.SimpleNamespace(df=df)
    )


def test_nearest_cell_is_named_only_for_a_row_that_nearly_asked_for_it():
    fit = _fit_with_cells([(429260800.0, 8e9), (2.6e8, 4e9)])
    table = pd.DataFrame(
        {"N": [4.29e8, 1e9], "D": [8e9, 4e9], "loss_median": [np.nan, np.nan]}
    )
    note = cli._nearest_cells_note(fit, None, table)
    assert "row 0: nearest fitted cell N 4.292608e+08" in note
    assert "row 1" not in note  # 1e9 is 0.6 decades beyond every cell: another model
    assert cli._nearest_cells_note(fit, None, table.iloc[[1]].reset_index(drop=True)) == ""


def test_unmarked_high_runs_warning_points_at_the_callers_line():
    """Through bl.fit (it had pointed into bayeslaws/inference/nuts.py)."""
    runs = _sweep_with_high_runs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.fit(runs, law="hyperparams", chains=1, warmup=10, draws=10, seed=0)
    (high,) = [w for w in caught if "not marked as diverged" in str(w.message)]
    assert high.filename == __file__


def test_overlapping_quiet_blocks_restore_arviz_s_logger():
    logger = logging.getLogger("arviz")
    level = logger.level
    try:
        logger.setLevel(logging.NOTSET)
        first, second = quiet_arviz(), quiet_arviz()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # the first in leaves first
        assert logger.level >= logging.ERROR  # the second block is still muting
        second.__exit__(None, None, None)
        assert logger.level == logging.NOTSET

        barrier = threading.Barrier(2)

        def work(delay):
            with quiet_arviz():
                barrier.wait()
                time.sleep(delay)

        threads = [threading.Thread(target=work, args=(d,)) for d in (0.0, 0.2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert logger.level == logging.NOTSET
    finally:
        logger.setLevel(level)


def test_an_unknown_option_before_the_subcommand_is_the_top_levels(capsys):
    code = cli.main(["--foo", "fit", "x.csv", "--out", "a.nc"])
    err = capsys.readouterr().err
    assert code != 0
    assert "--foo (given before the command 'fit'; see 'bayeslaws --help')" in err
    assert "bayeslaws fit --help" not in err
