"""``optima_drift`` (law "sweep") and ``units`` (law tables) refuse booleans and take numbers."""

from __future__ import annotations

import numpy as np
import pytest

from bayeslaws.laws.hyperparams import units_factor
from bayeslaws.laws.sweep import SweepLaw
from bayeslaws.runs.checks import ArgumentTypeError


# ---- 4. booleans refused -----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [True, False, np.True_, (True, 0.5), [0.5, np.False_]])
def test_optima_drift_refuses_booleans(bad):
    with pytest.raises(ArgumentTypeError, match="optima_drift"):
        SweepLaw(optima_drift=bad)


def test_optima_drift_still_takes_numbers():
    assert SweepLaw(optima_drift=np.float32(0.5)).optima_drift == (0.5, 0.5)
    assert SweepLaw(optima_drift=np.array([0.25, 1])).optima_drift == (0.25, 1.0)
    assert SweepLaw(optima_drift=1).optima_drift == (1.0, 1.0)


@pytest.mark.parametrize("bad", [True, np.True_, None])
def test_units_refuses_booleans(bad):
    with pytest.raises(ArgumentTypeError, match="units"):
        units_factor(bad)
    assert units_factor(1e9) == units_factor("billions")
