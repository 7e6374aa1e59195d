"""Prediction queries: the far-value warning names the caller's line (through loss_penalty too), a
given N or D below one is refused as a derived one is, and a broadcast length-1 Series leaves the
index by position (SIMULATED fits from conftest)."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.posterior.draws import query_frame
from bayeslaws.runs import PlausibilityWarning


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
