"""The backtest splits (bayeslaws.posterior.splits.simulated_split, steplaw_split) check their
arguments."""

from __future__ import annotations

import numpy as np
import pytest

from bayeslaws.posterior import splits


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_per_budget=0), "n_per_budget must be an integer >= 1"),
        (dict(n_per_budget=-3), "n_per_budget must be an integer >= 1"),
        (dict(n_per_budget=2.5), "n_per_budget must be an integer >= 1"),
        (dict(noise_sd=-1), "noise_sd must be a finite number >= 0"),
        (dict(noise_sd=np.nan), "noise_sd must be a finite number >= 0"),
        (dict(seed=None), "seed must be an integer >= 0, got None"),
    ],
)
def test_simulated_split_checks_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        splits.simulated_split(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(d_holdout="8e10"), "d_holdout must be a positive number"),
        (dict(n_holdout="1e9"), "n_holdout must be a positive number"),
        (dict(d_holdout=np.nan), "d_holdout must be a positive number"),
    ],
)
def test_steplaw_split_checks_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        splits.steplaw_split(**kwargs)
