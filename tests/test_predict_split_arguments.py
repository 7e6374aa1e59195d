"""The held-out splits' arguments (epoch_split, steplaw_split) are used or refused, never ignored;
their defaults hold out what they did (../shared/data when present)."""

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
