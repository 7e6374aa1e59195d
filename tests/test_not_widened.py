"""A law that is not widened (its new points carry their own fitted scatter: law "sweep",
"isoflop") gives the same draws under every extrapolation method; asking for one explicitly says
so once per fit (the tour's sweep fit took extrapolation="model" silently), and the design's
default method for it is "none" (the same draws, named honestly)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.design.discrepancy import design_method
from bayeslaws.inference.fit import Fit


@pytest.fixture
def unwidened(simulated_fit, monkeypatch):
    """A fresh copy of the simulated fit (own cache) whose law says it is not widened."""
    fit = Fit(simulated_fit.idata, simulated_fit.record)
    monkeypatch.setattr(type(fit.law), "widened", False)
    return fit


def test_an_explicit_method_on_a_law_not_widened_warns_once(unwidened):
    base = bl.predict(unwidened, N=3e10, D=6e11, kind="new_run", extrapolation="none")
    with pytest.warns(UserWarning, match=r"extrapolation 'model': law 'chinchilla' is not widen"):
        model = bl.predict(unwidened, N=3e10, D=6e11, kind="new_run", extrapolation="model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drift = bl.predict(unwidened, N=3e10, D=6e11, kind="new_run", extrapolation="drift")
        bl.predict(unwidened, N=3e10, D=6e11, kind="new_run")  # the default: silent
    for other in (model, drift):
        np.testing.assert_array_equal(other["median"], base["median"])


def test_the_design_default_for_a_law_not_widened_is_none(unwidened):
    assert design_method(None, unwidened) == "none"
    assert design_method(None) != "none"  # without a fit (a widened law's default): as before
    assert design_method("drift", unwidened) == "drift"  # asked for: kept (and warned at use)
