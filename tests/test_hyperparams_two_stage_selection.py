"""The two-stage baseline selects each cell's best run by ``runs.best_in_cell``'s rule (ties in
loss to the smallest lr, then batch size), whatever the rows' order."""

from __future__ import annotations

import pandas as pd

import bayeslaws as bl
from bayeslaws.laws.hyperparams import TWO_STAGE
from bayeslaws.runs import best_in_cell


# ---- 2. the two-stage selection is independent of row order -----------------------------------
def _tied_grid() -> pd.DataFrame:
    """6 cells (3 sizes x 2 token counts), 4 lr x 3 batch sizes, the lowest loss tied at two
    learning rates (2e-4 and 4e-4) in every cell."""
    rows = []
    for N in (1e8, 3e8, 9e8):
        for D in (1e9, 4e9):
            for lr, loss in ((1e-4, 2.05), (2e-4, 2.0), (4e-4, 2.0), (8e-4, 2.1)):
                for B in (1e5, 2e5, 4e5):
                    rows.append({"N": N, "D": D, "lr": lr, "batch_size": B,
                                 "loss": loss + (0.0 if B == 2e5 else 0.01)})
    return pd.DataFrame(rows)


def test_two_stage_selection_does_not_depend_on_row_order():
    keys = ["N", "D", "lr", "batch_size"]
    picked = []
    for df in (_tied_grid(), _tied_grid().iloc[::-1].reset_index(drop=True)):
        runs = bl.load_runs(df)
        chosen = TWO_STAGE.select(runs.df)[keys].sort_values(keys).reset_index(drop=True)
        best = runs.df[best_in_cell(runs.df)][keys].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(chosen, best)  # runs.best_in_cell's rule
        picked.append(chosen)
    pd.testing.assert_frame_equal(picked[0], picked[1])
    assert (picked[0]["lr"] == 2e-4).all()  # ties to the smallest lr
