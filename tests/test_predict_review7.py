"""Review 7 of the prediction layer: split arguments that were silently ignored, the location
of the far-value warning through loss_penalty, a given N or D below one refused as a derived
one is, and the row labels of a broadcast length-1 Series (SIMULATED fits from conftest)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import shared_or_skip

import bayeslaws as bl
from bayeslaws.posterior import splits
from bayeslaws.posterior.draws import query_frame
from bayeslaws.runs import PlausibilityWarning


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


# ---- 2. the far-value warning names the user's line ----
def test_far_value_warnings_point_at_the_callers_line(simulated_fit, small_sweep_hp_fit):
    """check_range warned with a fixed stacklevel, one frame short through loss_penalty (the
    warning named predict.py); predict, loss_penalty and query_frame called directly now all
    name this file (the first frame outside the package)."""
    calls = [
        lambda: bl.predict(simulated_fit, N=1e17, D=1e12),
        lambda: bl.loss_penalty(small_sweep_hp_fit, N=1e9, D=1e10, lr=0.3, batch_size=2**17),
        lambda: query_frame(simulated_fit, N=1e17, D=1e12),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        far = [w for w in caught if issubclass(w.category, PlausibilityWarning)]
        where = [(w.filename, w.lineno) for w in far]
        assert far and all(w.filename == __file__ for w in far), where


# ---- 3. a given N or D below one is an error, as a derived one is ----
@pytest.mark.parametrize(
    "inputs, message",
    [
        (dict(N=0.5, D=1e10), "N = 0.5 is below one parameter (at positions [0])"),
        (dict(N=[1e9, 0.2], C=1e21), "N = 0.2 is below one parameter (at positions [1])"),
        (dict(N=1e9, D=[1e10, 0.5, 0.1]), "D = 0.5 is below one token (at positions [1, 2])"),
        (dict(D=0.9, C=1e20), "D = 0.9 is below one token"),
    ],
)
def test_a_given_size_below_one_is_refused(simulated_fit, inputs, message):
    """predict(fit, N=0.5, D=1e10) answered (loss ~27.8) with only a PlausibilityWarning
    while a derived N below one was a ValueError; query_frame (every stage's queries) now
    refuses both, naming the argument and its value."""
    for call in (bl.predict, query_frame):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match=re.escape(message)):
                call(simulated_fit, **inputs)


def test_a_derived_size_below_one_is_still_refused_and_one_is_accepted(simulated_fit):
    with pytest.raises(ValueError, match="imply D below one token"):
        query_frame(simulated_fit, N=1e9, C=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        frame = query_frame(simulated_fit, N=1.0, D=1e10)
    assert frame["N"].iloc[0] == 1.0


# ---- 4. a broadcast length-1 Series loses its label (documented) ----
def test_a_broadcast_length_one_series_leaves_the_index_by_position(simulated_fit):
    out = bl.predict(simulated_fit, N=pd.Series([1e9], index=["a"]), D=[1e10, 2e10])
    assert list(out.index) == [0, 1]
    assert "length-1 Series broadcast" in bl.predict.__doc__
