"""bayeslaws.posterior.splits' arguments: the held-out splits' (epoch_split, steplaw_split) are
used or refused, never ignored, and their defaults hold out what they did (../shared/data when
present); the backtest splits (simulated_split, steplaw_split) check theirs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import shared_or_skip

from bayeslaws.posterior import splits


# ---- 1. split arguments are used or refused, never ignored ----
@pytest.mark.parametrize(
    "call, named",
    [
        (lambda: splits.epoch_split(c_max=1e20, axis="N"), "c_max=1e+20"),
        (lambda: splits.epoch_split(c_max=1e20, axis="D"), "c_max=1e+20"),
        (lambda: splits.epoch_split(c_max=1e20, cut=1e21), "c_max=1e+20 and cut=1e+21"),
        (lambda: splits.steplaw_split(n_holdout=1e9, d_holdout=8e10), "n_holdout=1e+09"),
    ],
)
def test_an_overridden_split_argument_is_refused(call, named):
    """epoch_split(c_max=1e20, axis="N") held out the same runs as the default N cut (c_max
    was ignored); steplaw_split(n_holdout=..., d_holdout=...) ignored n_holdout. Each now
    raises a ValueError naming the argument (before reading any data)."""
    with pytest.raises(ValueError, match=re.escape(named)):
        call()


def test_split_defaults_and_their_own_arguments_are_unchanged():
    """The defaults hold out what they did (C > 1e21: 23 runs; N > 2e9; N ~ 1.07e9), and
    c_max, cut, n_holdout and d_holdout each still choose the cut when given alone."""
    shared_or_skip()
    _, held = splits.epoch_split()
    assert len(held) == 23 and (held["C"] > 1e21).all()
    _, held_c = splits.epoch_split(c_max=1e20)
    assert len(held_c) > 23 and (held_c["C"] > 1e20).all()
    _, held_cut = splits.epoch_split(cut=1e20)
    assert len(held_cut) == len(held_c)
    train_n, held_n = splits.epoch_split(axis="N")
    assert (held_n["N"] > 2e9).all() and (train_n.df["N"] <= 2e9).all()
    _, held_n2 = splits.epoch_split(axis="N", cut=1e9)
    assert len(held_n2) > len(held_n)
    _, held_s = splits.steplaw_split()
    assert np.allclose(held_s["N"], 1.07e9, rtol=0.01)
    _, held_s2 = splits.steplaw_split(n_holdout=held_s["N"].iloc[0])
    assert len(held_s2) == len(held_s)
    _, held_d = splits.steplaw_split(d_holdout=8e10)
    assert (held_d["D"] >= 8e10 * (1 - 1e-9)).all()


# ---- 2. the backtest splits check their arguments ----
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
