"""The compute models (bayeslaws.runs.compute) check their inputs, keep k in their names and
are compared by their FLOP count (an update takes runs loaded with an equal one)."""

from __future__ import annotations

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference.update import combined_table
from bayeslaws.posterior import splits
from bayeslaws.runs import compute as cm
from bayeslaws.runs.checks import ArgumentTypeError


# ---- 3. compute model inputs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: m.flops(-1e9, 1e10), r"N \(params\) must be finite and > 0, got -1e\+09"),
        (lambda m: m.flops(1e9, [1e10, np.nan]), r"D \(tokens\) .* got nan at positions \[1\]"),
        (lambda m: m.tokens(0.0, 6e19), r"N \(params\) must be finite and > 0, got 0"),
        (lambda m: m.tokens(1e9, -1.0), r"C \(FLOPs\) must be finite and > 0"),
        (lambda m: m.params_for(1e10, np.nan), r"C \(FLOPs\) must be finite and > 0, got nan"),
        (lambda m: m.params_for(0.0, 6e19), r"D \(tokens\) must be finite and > 0"),
        (lambda m: m.params_for(np.inf, 6e19), r"D \(tokens\) must be finite and > 0"),
    ],
)
def test_compute_model_refuses_values_that_are_not_positive_and_finite(call, match):
    with pytest.raises(ValueError, match=match):
        call(cm.linear())


def test_compute_model_refuses_text():
    with pytest.raises(ArgumentTypeError, match="N .* must be numbers"):
        cm.linear().flops("1e9", 1e10)


def test_params_for_strict_raises_where_no_size_gives_c():
    m = cm.linear()
    assert m.params_for(1e12, 1.0) == 1.0  # the edge, for callers that check it themselves
    with pytest.raises(ValueError, match="imply N below one parameter"):
        m.params_for(1e12, 1.0, strict=True)
    with pytest.raises(ValueError, match=r"imply N above 1e\+18 .* \(at positions \[1\]\)"):
        m.params_for([1e10, 1e10], [6e19, 1e40], strict=True)
    assert m.params_for(1e10, 6e19, strict=True) == pytest.approx(1e9)


# ---- 4. compute models compared by their FLOP count ---------------------------------------------
def test_linear_names_keep_k():
    assert cm.linear(6.0000001).name == "6.0000001ND"
    assert [cm.linear(k).name for k in (6, 12, 6.75)] == ["6ND", "12ND", "6.75ND"]


def test_video_dit_counting_6nd_is_the_6nd_model():
    assert cm.same_compute_model(cm.video_dit(2048, 2048), cm.linear(6.0))
    assert not cm.same_compute_model(cm.video_dit(4096, 2048), cm.linear(6.0))
    assert cm.same_compute_model(cm.video_dit(4096, 2048), cm.linear(6.75))


def _small_fit():
    train, test = splits.simulated_split(seed=0, n_per_budget=4)
    return bl.fit(train, law="chinchilla", chains=1, warmup=20, draws=20, seed=0), test


@pytest.mark.filterwarnings("ignore::bayeslaws.inference.diagnostics.SamplerWarning")
def test_update_takes_runs_loaded_with_an_equal_flop_count():
    fit, test = _small_fit()
    frame = test[["N", "D", "loss"]].reset_index(drop=True)
    new = bl.load_runs(frame, compute_model=cm.video_dit(2048, 2048))
    combined_table(fit, new)  # was: "their C would mix FLOP counts"
    other = bl.load_runs(frame, compute_model=cm.linear(6.0000001))
    with pytest.raises(ValueError, match=r"compute model '6.0000001ND' but the fit uses '6ND'"):
        combined_table(fit, other)
