"""A fixed-vs-optimal answer whose N_opt search hit its edge is not "settled" (the session's tiny
law "sweep" fit of a SIMULATED video-DiT sweep)."""

from __future__ import annotations

import warnings

import pytest

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning


@pytest.fixture(scope="module")
def sweep_fit(small_sweep_sweep_fit):
    return small_sweep_sweep_fit


# ---- 3. fixed_vs_optimal at the edge of its N_opt search ----------------------------------------
def test_fixed_vs_optimal_is_not_settled_when_the_search_hit_its_edge(sweep_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # 1e30 is far beyond the runs
        with pytest.warns(UserWarning, match="edge of the searched sizes"):
            out = bl.fixed_vs_optimal(sweep_fit, 1e30, n_draws=10).iloc[0]
    assert out["at_boundary"] > 0.5
    assert not out["settled"]
    assert out["verdict"].startswith("not settled")
    assert "hit the edge of the searched sizes" in out["verdict"]
