"""The design's drift calibration passes its scale-out refits' SamplerWarning on to the caller
(discrepancy.calibrate and Campaign.start(..., calibrate_drift=True))."""

from __future__ import annotations

import warnings

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
