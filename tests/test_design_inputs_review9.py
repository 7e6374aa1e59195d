"""Design inputs (review 9): the drift calibration's refit trouble reaches the caller, and the
candidate generators refuse inputs that repeat runs or do not line up, with messages naming the
argument."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayeslaws import design
from bayeslaws.design import discrepancy
from bayeslaws.inference.diagnostics import SamplerWarning

TARGET = design.Loss(N=7e9, D=1.4e11)  # beyond the simulated runs (<= 6e9 params, <= 1e11 tokens)
# refits too short to converge (3 warm-up iterations: no adapted step size), on one split only
# (each split is a refit; drift.calibrate takes folds= beside the NUTS settings)
SHORT = {"chains": 2, "warmup": 3, "draws": 30, "folds": (("C", 0.3),)}


@pytest.fixture(scope="module")
def rough_fit(simulated_runs):
    """A fit of its own (the drift calibration writes its cache): short, sampler warnings off."""
    import bayeslaws as bl

    return bl.fit(simulated_runs, likelihood="gaussian", chains=2, warmup=60, draws=60, warn=False)


def _refit_warnings(caught) -> list:
    return [w for w in caught if issubclass(w.category, SamplerWarning)]


def test_drift_calibration_passes_the_refits_sampler_warning(rough_fit):
    """discrepancy.calibrate silenced every warning of drift.calibrate, so a drift rate learned
    from unconverged scale-out refits was used unsaid; the one SamplerWarning naming the failed
    splits now reaches the caller, located at the caller's line."""
    from bayeslaws.posterior.extrapolation import distance

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        discrepancy.calibrate(rough_fit, seed=0, **SHORT)
    refits = rough_fit.cache["drift"]["refit_diagnostics"]
    trouble = distance.refit_trouble(refits, 'the drift rate of methods "drift" and "model"')
    assert trouble is not None
    said = _refit_warnings(caught)
    assert [str(w.message) for w in said] == [trouble]
    assert {w.filename for w in said} == {__file__}


def test_campaign_start_with_drift_calibration_warns_of_failed_refits(rough_fit, monkeypatch):
    """Campaign.start(..., calibrate_drift=True) (the user's way in) says so too, at the line
    of the user's call (the calibration's NUTS settings shortened so that the refits fail)."""
    monkeypatch.setattr(discrepancy, "DRIFT_CALIBRATION", dict(SHORT))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp = design.Campaign.start(rough_fit, TARGET, calibrate_drift=True, max_draws=100)
    said = _refit_warnings(caught)
    assert len(said) == 1 and "scale-out refits did not converge" in str(said[0].message)
    assert 'the drift rate of methods "drift"' in str(said[0].message)
    assert said[0].filename == __file__
    assert camp.fit.cache["drift"]["refit_diagnostics"]


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
