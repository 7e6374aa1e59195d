"""Arguments of the simulators (bayeslaws.runs.simulate): one Liang size per budget at the
optimum, scalar video-DiT sizes/tokens, lr/batch grid dicts lacking a size, and Chinchilla
constants that must be finite and positive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaws.runs import simulate
from bayeslaws.runs import simulate as sim


def test_liang_one_size_per_budget_is_the_optimum():
    truth = simulate.LiangTruth()
    budgets = (1e17, 1e18)
    df = simulate.simulate_liang_isoflop(0, budgets=budgets, n_per_budget=1, noise_sd=0)
    assert len(df) == 2
    np.testing.assert_allclose(df["N"], truth.n_opt(np.array(budgets)), rtol=1e-12)
    np.testing.assert_allclose(df["loss"], truth.l_opt(np.array(budgets)), rtol=1e-12)
    # more than one size: still the symmetric spread (the ends 10x off at spread_decades=1)
    three = simulate.simulate_liang_isoflop(0, budgets=(1e18,), n_per_budget=3, noise_sd=0)
    np.testing.assert_allclose(three["N"] / truth.n_opt(1e18), [0.1, 1.0, 10.0], rtol=1e-12)


def test_video_dit_sweep_takes_scalar_sizes_and_tokens():
    one = simulate.simulate_video_dit_sweep(sizes=1e8, tokens=4e9, grid_points=(2, 2))
    same = simulate.simulate_video_dit_sweep(sizes=[1e8], tokens=[4e9], grid_points=(2, 2))
    pd.testing.assert_frame_equal(one, same)
    assert one["N"].unique().tolist() == [1e8] and one["D"].unique().tolist() == [4e9]
    sizes_only = simulate.simulate_video_dit_sweep(sizes=1e8, grid_points=(2, 2))
    assert len(sizes_only) == 4 * 2 * 2  # the four default token budgets
    with pytest.raises(ValueError, match=r"sizes must be a number or a 1-D sequence.*\(2, 1\)"):
        simulate.simulate_video_dit_sweep(sizes=[[1e8], [2e8]])
    with pytest.raises(ValueError, match="tokens must be finite and positive"):
        simulate.simulate_video_dit_sweep(tokens=-1.0)

CHIN = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37, "N": [1e8, 1e9]}


# -- lr_grid / batch_grid dicts lacking a size --------------------------------------------------
@pytest.mark.parametrize("argument", ["lr_grid", "batch_grid"])
def test_a_grid_dict_lacking_a_size_is_a_value_error_naming_it(argument):
    grid = {1.7e7: [1e-4, 2e-4]} if argument == "lr_grid" else {1.7e7: [1e5, 2e5]}
    with pytest.raises(ValueError, match=rf"{argument} has no grid for size 57000000\.0") as err:
        sim.simulate_video_dit_sweep(seed=0, sizes=(1.7e7, 5.7e7), **{argument: grid})
    assert "17000000.0" in str(err.value)  # the sizes it has


def test_a_grid_dict_with_every_size_still_works():
    grids = {"lr_grid": {1.7e7: [1e-4, 2e-4]}, "batch_grid": {1.7e7: 1e5}}
    df = sim.simulate_video_dit_sweep(seed=0, sizes=(1.7e7,), tokens=(2e9,), **grids)
    assert sorted(df["lr"]) == [1e-4, 2e-4] and set(df["batch_size"]) == {1e5}


# -- Chinchilla constants -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [("E", np.nan), ("E", -0.1), ("E", np.inf), ("A", 0.0), ("A", -400.0), ("B", np.inf),
     ("alpha", -0.3), ("alpha", 0.0), ("beta", np.nan), ("beta", "0.3"), ("A", None)],
)
def test_chinchilla_constants_must_be_finite_and_positive(name, value):
    params = {**CHIN, "D": 1e10, name: value}
    bound = ">= 0" if name == "E" else "> 0"
    with pytest.raises(ValueError, match=rf"params\['{name}'\] must be a finite number {bound}"):
        sim.simulate_chinchilla_runs(params)


def test_chinchilla_accepts_e_zero_and_numpy_scalars():
    params = {**CHIN, "D": 1e10, "E": 0, "alpha": np.float64(0.35), "A": np.int64(480)}
    df = sim.simulate_chinchilla_runs(params, seed=1)
    assert np.isfinite(df["loss"]).all()
    plain = sim.simulate_chinchilla_runs({**params, "E": 0.0, "alpha": 0.35, "A": 480.0}, seed=1)
    pd.testing.assert_frame_equal(df, plain)
