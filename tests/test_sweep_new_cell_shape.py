"""Law 'sweep''s ``new_run`` draws at a new cell carry the cell's bowl-shape scatter, as its
observations do, and without shape scatter are the law's bowl (the session's tiny sweep fit)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from bayeslaws.laws import sweep


# ---- 1. a new cell's bowl shape in draws(kind="new_run") -----------------------------------
def _with_shape_scatter(post, scatter: float):
    """``post`` with every bowl-shape scatter draw set to ``scatter`` (a copy)."""
    draws = dict(post.draws)
    for name in sweep.SHAPE_SCATTER:
        draws[f"{name}_scatter"] = np.full(post.n_draws, scatter)
    return dataclasses.replace(post, draws=draws)


def test_new_run_draws_carry_a_new_cells_shape_scatter(small_sweep_sweep_fit):
    """draws(kind="new_run") at a new cell built its bowl from the law's shape only, while
    observations() (and so best_run) moved it by the cell's shape deviations: with shape
    scatter the penalties' spread was understated. Now both give the same bowl, draw by draw:
    the difference between two runs of the new cell (its level cancels) agrees."""
    law = sweep.SweepLaw(shape_scatter=True)
    q = pd.DataFrame({"N": [3e7, 3e7, 3e7], "D": [3e9, 3e9, 3e9],  # a new cell, inside the range
                      "lr": [1e-4, 4e-4, 1.5e-3], "batch_size": [1e5, 4e5, 1e6]})  # fmt: skip
    post = small_sweep_sweep_fit.posterior()
    assert (law.fitted_cells(post, 3e7, 3e9) == -1).all()
    spread = {}
    for scatter in (0.0, 0.8):
        p = _with_shape_scatter(post, scatter)
        d = law.draws(p, q, kind="new_run", group=None, rng=np.random.default_rng(0))
        o = law.observations(p, q, group=None, rng=np.random.default_rng(0))
        bowl = np.log1p(d["rel_penalty"])  # (S, Q) ln L(lr, B) - ln L_opt
        np.testing.assert_allclose(bowl[:, 1:] - bowl[:, :1], o.mean[:, 1:] - o.mean[:, :1],
                                   rtol=1e-6, atol=1e-9)  # fmt: skip
        spread[scatter] = np.std(bowl[:, 2])
    assert spread[0.8] > 1.5 * spread[0.0]  # the scatter widens the penalty far up the wall


def test_new_run_draws_without_shape_scatter_are_the_laws_bowl(small_sweep_sweep_fit):
    """With the scatters 0 (a fit without shape_scatter) the new cell's bowl is the law's shape
    at the cell's own optimum: unchanged by the fix."""
    post = small_sweep_sweep_fit.posterior()
    law = small_sweep_sweep_fit.law
    q = pd.DataFrame({"N": [3e7], "D": [3e9], "lr": [4e-4], "batch_size": [4e5]})
    d = law.draws(post, q, kind="new_run", group=None, rng=np.random.default_rng(1))
    th = {k: v[:, None] for k, v in law.theta_draws(post, None, None).items()}
    sc = post.scales
    shape = law.cell_shape(th, sc.centre("N", q["N"])[None, :], sc.centre("D", q["D"])[None, :])
    u = np.log(q["lr"].to_numpy())[None, :] - np.log(d["eta_opt"])
    v = np.log(q["batch_size"].to_numpy())[None, :] - np.log(d["B_opt"])
    bowl = np.asarray(law.bowl_value(shape, u, v), float)
    np.testing.assert_allclose(np.log1p(d["rel_penalty"]), bowl, rtol=1e-6, atol=1e-12)
