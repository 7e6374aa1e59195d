"""The compute and cost of candidate units: each run's FLOPs (the candidates' compute model, or a
column of them, :func:`run_flops`) and, per unit, its FLOPs and the cost a greedy batch divides
its value by (``cost="flops"``, a column such as GPU-hours, or None, :func:`unit_costs`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .candidates import candidates_model, number_column
from .gaussian import Problem


def run_flops(fit, df: pd.DataFrame, flops_column: str | None = None) -> np.ndarray:
    """FLOPs per candidate run: the column ``flops_column`` of ``df`` when given (e.g. a replay
    pool's nominal C), else the candidates' compute model of N and D."""
    if flops_column is None:
        return np.asarray(candidates_model(fit, df).flops(df["N"], df["D"]), float)
    if not isinstance(flops_column, str) or flops_column not in df:
        raise ValueError(
            f"flops_column={flops_column!r} is not a column of cands {list(df)} (give the name "
            "of a column of each run's FLOPs, or None for the compute model)"
        )
    return number_column(df, flops_column)


def unit_costs(fit, p: Problem, cost, flops_column: str | None = None):
    """(FLOPs per unit (U,) (:func:`run_flops`), cost per unit (U,) or None, cost name)."""
    df, U = p.cands, len(p.labels)
    flops_row = run_flops(fit, df, flops_column)
    flops = np.bincount(p.row_unit, weights=flops_row, minlength=U)
    if cost is None:
        return flops, None, "none"
    if isinstance(cost, str) and cost == "flops":
        return flops, flops, "flops"
    if isinstance(cost, str):
        if cost not in df:
            raise ValueError(f"cost={cost!r} is neither 'flops' nor a column of cands {list(df)}")
        col = number_column(df, cost)
        return flops, np.bincount(p.row_unit, weights=col, minlength=U), cost
    raise ValueError(f"cost must be 'flops', a column name of cands, or None; got {cost!r}")
