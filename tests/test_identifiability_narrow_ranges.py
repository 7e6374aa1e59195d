"""A run table whose N or D covers too narrow a range (max / min < identifiability.MIN_RANGE) is
warned before sampling, naming the range, with advice that widens it; well-designed tables stay
silent (SIMULATED runs, and the real tables when ../shared/data is present)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import IDENTIFIABILITY_TRUTH as TRUTH
from conftest import (
    chinchilla_design,
    identifiability_problems,
    identifiability_runs_at,
    shared_or_skip,
)

import bayeslaws as bl
from bayeslaws.inference import IdentifiabilityWarning
from bayeslaws.runs import simulate


# ---- 1. a narrow range of N or D --------------------------------------------------------------
@pytest.mark.parametrize(
    "tokens, said",
    [
        ([1e10, 1.05e10, 1.1e10], r"D covers only 1\.1x \(1e\+10 to 1\.1e\+10 tokens"),
        ([1e10, 1.5e10, 2.2e10], r"D covers only 2\.2x \(1e\+10 to 2\.2e\+10 tokens"),
    ],
)
def test_a_narrow_range_of_token_counts_is_warned_before_sampling(tokens, said):
    """The reviewer's tables (6 sizes x 3 close token counts; the 1.1x one fitted beta 0.39 sd
    0.21, its prior, and missed E): warned before sampling, naming the range, with advice
    that widens it to 10x."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        with pytest.raises(IdentifiabilityWarning, match=said) as caught:
            bl.fit(identifiability_runs_at(tokens), law="chinchilla", chains=1, warmup=5, draws=5)
    message = str(caught.value)
    assert "exponent in D" in message and "prior" in message
    assert "D = 1e+11" in message  # 10x the smallest


def test_a_narrow_range_of_model_sizes_is_warned_too():
    sizes = np.array([2e8, 2.1e8, 2.2e8, 2.3e8])[:, None]
    runs = identifiability_runs_at(np.geomspace(1e9, 1e11, 5), sizes=sizes)
    problems = identifiability_problems(runs)
    assert any(p.startswith("N covers only 1.15x (2e+08 to 2.3e+08 params") for p in problems)


def test_the_sweep_law_on_a_narrow_range_of_token_counts_is_warned():
    tokens = [1e10, 1.5e10, 2.2e10]
    df = simulate.simulate_video_dit_sweep(seed=0, tokens=tokens, grid_points=(3, 3))
    assert any(p.startswith("D covers only 2.2x") for p in identifiability_problems(df, "sweep"))
    # the hyperparams law (linear in ln D, no floor): a caveat, warned and noted
    problems = identifiability_problems(df, "hyperparams")
    assert any(p.startswith("D covers only 2.2x") for p in problems)


def test_two_close_token_counts_are_told_to_widen_the_range():
    """Two D values 1e10 and 1.2e10 were told to add a third at 1.44e10: still 1.44x."""
    (problem,) = identifiability_problems(identifiability_runs_at([1e10, 1.2e10]))
    assert "only 2 distinct token counts (D = 1e+10, 1.2e+10, covering only 1.2x)" in problem
    assert "add runs at a third D (e.g. 1e+11)" in problem
    assert "1.44e+10" not in problem


def test_wide_designs_stay_silent():
    """The simulated Chinchilla grid of the tests (60M-6B x 1B-100B), the bundled sweep under
    every law that fits it, the small sweep grids and a 3-budget isoFLOP design: no range (or
    other) problem."""
    N, D = chinchilla_design()
    grid = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    assert identifiability_problems(grid) == []
    for law in ("chinchilla", "hyperparams", "sweep"):
        assert identifiability_problems(bl.load_bundled(), law) == [], law
    small = simulate.simulate_video_dit_sweep(
        seed=1, sizes=(0.017e9, 0.057e9, 0.26e9), tokens=(2e9, 5e9, 12e9)
    )
    assert identifiability_problems(small, "hyperparams") == []
    isoflop = simulate.simulate_liang_isoflop(seed=0, budgets=(1e17, 6e17, 3e18))
    for law in ("isoflop", "chinchilla"):
        assert identifiability_problems(isoflop, law) == [], law


def test_real_designs_stay_silent():
    """Epoch's Chinchilla points, Step Law and isoFLOP compendium tables (../shared/data)."""
    bundled = shared_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tables' own notes
        tables = {
            ("epoch", "chinchilla"): bundled.epoch_chinchilla(),
            ("steplaw", "hyperparams"): bundled.steplaw_dense(),
            ("llama_3", "isoflop"): bundled.isoflop_compendium("llama_3"),
            ("marin comma", "isoflop"): bundled.isoflop_compendium("marin_202603", "comma"),
        }
    for (name, law), table in tables.items():
        assert identifiability_problems(table, law) == [], name
