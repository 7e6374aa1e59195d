"""Input checks of the allocation functions: budgets in FLOPs (:func:`budget_array`),
candidate sizes on an isoFLOP line (:func:`check_isoflop_sizes`) and the compute model in use,
the fit's unless one is given (:func:`compute_model_of`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...runs.compute import as_compute_model
from ..draws import check_range, positive_array


def budget_array(C, name: str = "C") -> np.ndarray:
    if C is None:
        raise ValueError(f"{name} is required: one or more compute budgets in FLOPs")
    return positive_array(name, C)  # names the argument on strings, NaN, <= 0, empty


def check_isoflop_sizes(fit, N, C: float, model, group=None) -> None:
    """Candidate sizes N (params) on the isoFLOP line of C FLOPs: each must leave at least one
    token (else ValueError naming them); sizes far outside the fitted range (``group``'s own
    runs' for a fitted group) warn (:func:`~..draws.check_range`)."""
    tokens = np.asarray(model.tokens(N, C), float)
    short = np.flatnonzero(~(tokens >= 1))
    if short.size:
        raise ValueError(
            f"N = {N[short[0]]:.3g} at C = {C:.3g} FLOPs leaves {tokens[short[0]]:.3g} tokens "
            f"(sorted positions {short.tolist()[:10]}): C is in FLOPs (about 6 N D), N in "
            "parameters"
        )
    sizes = pd.DataFrame({"N": N, "D": tokens})
    check_range(fit, sizes, group=group)


def compute_model_of(fit, compute_model):
    if compute_model is not None:
        return as_compute_model(compute_model)
    return fit.compute_model
