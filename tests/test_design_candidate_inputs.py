"""Candidate tables and generators: the candidates' own compute model, numbers given as text,
fewer than one parameter or token and True/False values refused, repeated sweep-grid values
and mismatched isoFLOP centres refused."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.design import discrepancy
from bayeslaws.design.candidates import check_candidates, with_model
from bayeslaws.runs.checks import ArgumentTypeError
from bayeslaws.runs.compute import linear

FAR = design.Loss(N=3e10, D=6e11)  # beyond the fitted range (60M-6B params, 1B-100B tokens)


OPTS = {"cost": None, "max_draws": 100, "seed": 0}


def test_candidates_own_compute_model_only_costs_them(simulated_fit):
    """Candidates whose C is counted by another compute model (12ND) than the fit's (6ND) were
    compared with the fit's C range in their own FLOPs: the fit's largest run, trained again,
    seemed to widen the range along C (0.14 nats instead of 2e-5). The range, the law and the
    drift measure C as the fit does; the candidates' model only costs them."""
    base = pd.DataFrame({"N": [6e9, 1e9, 2e10], "D": [1e11, 3e10, 3e11]})  # largest, inside, beyond
    own = with_model(base.copy(), linear(12.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = design.rank_candidates(simulated_fit, base, FAR, **OPTS).sort_values("unit")
        twelve = design.rank_candidates(simulated_fit, own, FAR, **OPTS).sort_values("unit")
        plan6 = design.next_runs(simulated_fit, base, FAR, k=2, **OPTS)
        plan12 = design.next_runs(simulated_fit, own, FAR, k=2, **OPTS)
    np.testing.assert_allclose(twelve["info"], plain["info"], rtol=1e-9, atol=1e-12)
    assert plain["info"].iloc[0] < 1e-3  # the largest run again: (almost) nothing to learn
    np.testing.assert_allclose(twelve["flops"], 2 * plain["flops"], rtol=1e-12)  # costed by 12ND
    np.testing.assert_allclose(twelve["C"], 12 * base["N"] * base["D"], rtol=1e-12)  # reported
    assert plan12["unit"].tolist() == plan6["unit"].tolist()
    np.testing.assert_allclose(plan12["cumulative_info"], plan6["cumulative_info"], rtol=1e-9)
    # the fit's own model: the very same frame, so those values stay bit-identical
    frame = base.assign(C=6 * base["N"] * base["D"])
    assert discrepancy.in_fit_flops(simulated_fit, frame, simulated_fit.compute_model) is frame
    np.testing.assert_allclose(
        discrepancy.in_fit_flops(simulated_fit, frame.assign(C=2 * frame["C"]), linear(12.0))["C"],
        frame["C"],
        rtol=1e-12,
    )


def test_numbers_given_as_text_are_read_as_numbers(simulated_fit):
    """N given as text ("1e8") passed the positivity check and crashed later with an unrelated
    TypeError (float / str); it is read as the number it spells."""
    text = pd.DataFrame({"N": ["1e8", "1e9"], "D": [5e9, 1e10]})
    numbers = pd.DataFrame({"N": [1e8, 1e9], "D": [5e9, 1e10]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = design.next_runs(simulated_fit, text, FAR, k=1, **OPTS)
        b = design.next_runs(simulated_fit, numbers, FAR, k=1, **OPTS)
    pd.testing.assert_frame_equal(a, b)
    assert bl.design.rank_candidates(simulated_fit, text, FAR, **OPTS)["N"].dtype == float


NEAR = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range (60M-6B params, 1B-100B tokens)


# three units inside the fitted range, of 6e17, 1.8e19 and 3.6e20 FLOPs
THREE = pd.DataFrame({"N": [1e8, 6e8, 3e9], "D": [1e9, 5e9, 2e10]})


# ---- 3. impossible candidate values --------------------------------------------------------------
def test_fewer_than_one_parameter_or_token_is_refused(simulated_fit):
    tiny = pd.DataFrame({"N": [1e8, 0.5], "D": [2e9, 2e10]})
    with pytest.raises(ValueError, match=r"column 'N' has values below 1 parameter at rows 1 "):
        check_candidates(simulated_fit, tiny)
    short = pd.DataFrame({"N": [1e8, 1e9, 1e9], "C": [1e18, 1.0, 3.0]})  # D = C / 6N < 1
    with pytest.raises(ValueError, match=r"column 'D' \(derived from C.* at rows 1, 2 "):
        design.rank_candidates(simulated_fit, short, NEAR)


def test_true_false_values_are_refused(simulated_fit):
    flags = pd.DataFrame({"N": [True, True], "D": [2e9, 2e10]})
    with pytest.raises(ArgumentTypeError, match=r"cands\['N'\] holds True/False .* rows 0, 1 "):
        design.rank_candidates(simulated_fit, flags, NEAR)
    mixed = pd.DataFrame({"N": [1e8, 1e9], "D": pd.Series([2e9, True], dtype=object)})
    with pytest.raises(ArgumentTypeError, match=r"cands\['D'\] holds True/False .* rows 1 "):
        check_candidates(simulated_fit, mixed)
    with pytest.raises(ArgumentTypeError, match=r"cands\['gpu_hours'\] holds True/False"):
        design.next_runs(simulated_fit, THREE.assign(gpu_hours=True), NEAR, cost="gpu_hours")


@pytest.mark.parametrize(
    ("grids", "name", "value", "option"),
    [
        ({"lr": [1e-3, 1e-3, 2e-3], "batch_size": [2**19, 2**20]}, "lr", "0.001", "--lr-grid"),
        (
            {"lr": [1e-3, 2e-3], "batch_size": [2**20, 2**19, 2**20]},
            "batch_size",
            "1048576.0",
            "--batch-grid",
        ),
    ],
)
def test_sweep_grids_refuse_a_repeated_value(grids, name, value, option):
    """A repeated lr or batch_size listed every run at it twice (its cost doubled; with
    per_cell=False two identical runs shared one unit label), as a repeated (N, D) cell did
    before it was refused."""
    for per_cell in (True, False):
        with pytest.raises(ValueError, match=rf"^{name} repeats the value\(s\) \[{value}\]") as err:
            design.hyperparameter_candidates(1e8, 2e9, per_cell=per_cell, **grids)
        assert f"(command line: {option})" in str(err.value)


def test_sweep_grids_of_distinct_values_are_kept():
    """Distinct values: one run per (lr, batch_size) pair and cell, in the given order."""
    cands = design.hyperparameter_candidates(
        [1e8, 2e8], 2e9, lr=[2e-3, 1e-3], batch_size=[2**19, 2**20], per_cell=False
    )
    assert len(cands) == 8 and cands["unit"].is_unique
    assert cands["lr"].tolist()[:2] == [2e-3, 1e-3]


def test_isoflop_center_must_be_one_or_one_per_budget():
    """Three centres for two budgets raised NumPy's broadcast error; the message now names
    center and the lengths. One centre, or one per budget, still works."""
    with pytest.raises(
        ValueError, match=r"center must be one value or one per budget \(2\), got 3"
    ):
        design.isoflop_candidates([1e19, 3e19], 3, center=[1e8, 2e8, 3e8])
    each = design.isoflop_candidates([1e19, 3e19], 3, center=[1e8, 2e8])
    one = design.isoflop_candidates([1e19, 3e19], 3, center=1e8)
    assert np.allclose(each["N"].to_numpy()[[1, 4]], [1e8, 2e8])
    assert np.allclose(one["N"].to_numpy()[[1, 4]], [1e8, 1e8])
