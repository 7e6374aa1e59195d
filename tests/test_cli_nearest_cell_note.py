"""The command line's nearest-cell note names only the fitted cells a row nearly asked for."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from bayeslaws.app.cli.fit_commands import _nearest_cells_note


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
    note = _nearest_cells_note(fit, None, table)
    assert "row 0: nearest fitted cell N 4.292608e+08" in note
    assert "row 1" not in note  # 1e9 is 0.6 decades beyond every cell: another model
    assert _nearest_cells_note(fit, None, table.iloc[[1]].reset_index(drop=True)) == ""
