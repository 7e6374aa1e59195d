"""fixed_vs_optimal says how far outside the fitted range its budget and refitted optima lie
(warned, and worded into the verdict, beyond WARN_DECADES) (hand-made verdicts and the shared
small sweep fit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.posterior import fixed_hyperparams as fh
from bayeslaws.posterior.allocation import (
    WARN_DECADES,
    ExtrapolationWarning,
)
from bayeslaws.posterior.predict import outside_decades

COLUMNS = [
    "C_outside_decades",
    "N_outside_decades",
    "D_outside_decades",
    "N_fixed_outside_decades",
    "D_fixed_outside_decades",
]


# ---- fixed_vs_optimal far outside the fitted range -------------------------------------------
def test_verdict_inside_the_range_is_worded_as_before():
    assert fh._verdict(0.34, 0.29, 0.37, 0.9, 0.0) == (
        "settled: with the hyperparameters fixed the compute-optimal model is larger "
        "(+34%, 90% interval [+29%, +37%])"
    )
    assert fh._verdict(0.1, -0.1, 0.3, 0.9, 0.0) == (
        "not settled: the 90% interval [-10%, +30%] includes 0"
    )
    assert fh.farthest({"C_outside_decades": 2.0, "N_outside_decades": -1.5}) is None


def test_verdict_far_out_says_settled_under_the_fitted_law_only():
    far = fh.farthest({"C_outside_decades": 2.73, "N_outside_decades": 0.9,
                       "D_fixed_outside_decades": -2.1})  # fmt: skip
    assert far == ("C_outside_decades", 2.73)
    text = fh._verdict(3.06, 2.48, 3.42, 0.9, 0.0, far)
    assert text.startswith(
        "settled under the fitted law, at a budget 2.7 decades above the fitted budgets: with "
        "the hyperparameters fixed the compute-optimal model is larger (+306%, 90% interval "
        "[+248%, +342%])"
    )
    assert text.endswith("does not include the risk that the law bends there")
    below = fh._verdict(0.1, -0.1, 0.3, 0.9, 0.0, ("D_fixed_outside_decades", -2.5))
    assert below.startswith("not settled: the 90% interval [-10%, +30%] includes 0; this far out")
    assert "with D_opt 2.5 decades below the fitted token counts" in below


def _answer(fit, C):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ExtrapolationWarning)
        row = bl.fixed_vs_optimal(fit, C, n_draws=12).iloc[0]
    return row, [str(w.message) for w in caught if w.category is ExtrapolationWarning]


def test_fixed_vs_optimal_says_how_far_out_and_warns_beyond_warn_decades(small_sweep_sweep_fit):
    """At C = 1e22 (2.7 decades above the fitted budgets) fixed_vs_optimal said "settled" with
    no warning while optimal_allocation warned: now it warns the same way, returns the
    distances, and its verdict says the sign is settled under the fitted law only."""
    fit = small_sweep_sweep_fit
    ranges = fit.record.ranges
    inside = np.sqrt(np.prod(ranges["C"]))
    row, said = _answer(fit, inside)
    assert not said
    assert row["C_outside_decades"] == 0.0
    assert all(abs(row[c]) <= WARN_DECADES for c in COLUMNS)
    assert row["verdict"].startswith(("settled: ", "not settled: "))
    assert "bends" not in row["verdict"]

    far = 1e22
    row, said = _answer(fit, far)
    assert row["C_outside_decades"] == pytest.approx(np.log10(far / ranges["C"][1]))
    tokens = fit.compute_model.tokens
    for name, col in (("n_opt_optimal", ""), ("n_opt_fixed", "_fixed")):
        n = row[name]
        assert row[f"N{col}_outside_decades"] == pytest.approx(
            outside_decades(np.array([n]), *ranges["N"])[0])  # fmt: skip
        assert row[f"D{col}_outside_decades"] == pytest.approx(
            outside_decades(np.array([tokens(n, far)]), *ranges["D"])[0])  # fmt: skip
    assert len(said) == 1 and said[0].startswith(
        "fixed_vs_optimal: extrapolating more than 2 decades outside the fitted range"
    )
    assert f"C = {far:.3g} FLOPs (C {row['C_outside_decades']:.2g} decades above" in said[0]
    assert "N_fixed_outside_decades" in said[0]
    if row["settled"]:
        assert row["verdict"].startswith(
            f"settled under the fitted law, at a budget {row['C_outside_decades']:.2g} decades "
            "above the fitted budgets: "
        )
    assert "does not include the risk that the law bends there" in row["verdict"]
