"""Every registered law, and a law defined here, through every stage: fit -> summary -> predict
-> optimal_allocation (where the law defines one) -> design.next_runs -> save -> load ->
identical predictions. The stages know laws only through their contract."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.laws import LAWS, law_ref
from bayeslaws.laws.contract import LawCapabilityError
from bayeslaws.laws.surface import LossSurfaceLaw
from bayeslaws.runs import simulate

TINY = {"chains": 2, "warmup": 150, "draws": 150, "warn": False, "seed": 0}


class SharedExponent(LossSurfaceLaw):
    """A user's law, defined outside the package: L = E + A/N^alpha + B/D^alpha (one exponent)."""

    name = "shared_exponent"
    description = "L = E + A/N^alpha + B/D^alpha"
    parameters = ("alpha", "a", "b", "e")
    pooled = ("alpha", "a", "b", "e")

    def default_priors(self):
        return {
            "alpha": dist.Beta(2.0, 3.0),
            "a": dist.Normal(-2.0, 2.0),
            "b": dist.Normal(-2.0, 2.0),
            "e": dist.Normal(-0.5, 1.0),
        }

    def log_loss(self, theta, x, y, scales):
        size_term = theta["a"] - theta["alpha"] * x
        data_term = theta["b"] - theta["alpha"] * y
        return jnp.logaddexp(jnp.logaddexp(size_term, data_term), theta["e"])

    def derived(self, theta, scales):
        return {"E": jnp.exp(theta["e"] + scales["loss"])}


def surface_runs():
    N, D = chinchilla_design(5, 4)
    return bl.load_runs(simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, seed=2))


def sweep_runs():
    df = simulate.simulate_video_dit_sweep(
        seed=3, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 4e9, 8e9)
    )
    return bl.load_runs(df)


def small_sweep_runs():
    """SIMULATED: 3 sizes x 2 token budgets (6 cells, one more than the surface's parameters),
    the middle 4 x 4 of each cell's LR x batch grid: 96 runs."""
    df = simulate.simulate_video_dit_sweep(
        seed=3, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 8e9)
    )
    keep = []
    for _, cell in df.groupby(["N", "D"]):
        lrs, bs = np.sort(cell["lr"].unique())[1:5], np.sort(cell["batch_size"].unique())[1:5]
        keep.append(cell[cell["lr"].isin(lrs) & cell["batch_size"].isin(bs)])
    return bl.load_runs(pd.concat(keep, ignore_index=True))


def isoflop_runs():
    return bl.load_runs(simulate.simulate_liang_isoflop(seed=4))


CASES = {
    "chinchilla": (surface_runs, "isoflop"),
    "kaplan": (surface_runs, "isoflop"),
    "chinchilla_gamma": (surface_runs, "isoflop"),
    "farseer": (surface_runs, "isoflop"),
    "hyperparams": (sweep_runs, "sweep"),
    "hyperparams_two_stage": (sweep_runs, "sweep"),
    "isoflop": (isoflop_runs, "isoflop"),
    "isoflop_cubic": (isoflop_runs, "isoflop"),
    "sweep": (small_sweep_runs, "sweep"),
    "user law": (surface_runs, "isoflop"),
}


def test_every_registered_law_has_a_case():
    assert set(LAWS) <= set(CASES), sorted(set(LAWS) - set(CASES))


def _candidates(fit, kind):
    if kind == "sweep":
        N, D = fit.record.ranges["N"][1] * 2, fit.record.ranges["D"][1]
        return bl.design.hyperparameter_candidates([N, N / 2], [D, D], fit=fit)
    C = fit.record.ranges["C"][1]
    return bl.design.isoflop_candidates(C=[C, 3 * C], n_per_budget=5, fit=None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_law_works_at_every_stage(name, tmp_path):
    make_runs, cand_kind = CASES[name]
    law = SharedExponent() if name == "user law" else name
    fit = bl.fit(make_runs(), law, **TINY)
    summary = fit.summary()
    assert len(summary) > 0 and np.isfinite(summary["mean"]).all()

    query = dict(N=[1e8, 1e9], C=[1e19, 1e20])
    mean = bl.predict(fit, **query)
    new = bl.predict(fit, kind="new_run", seed=1, **query)
    primary = fit.law.primary
    first = "median" if primary else f"{fit.law.quantities[0]}_median"
    assert np.isfinite(mean[first]).all() and np.isfinite(new[first]).all()
    lo = "lower" if primary else f"{fit.law.quantities[0]}_lower"
    hi = "upper" if primary else f"{fit.law.quantities[0]}_upper"
    # a new run adds noise (and a law's scatter) to the mean: its interval is not narrower, up
    # to the Monte Carlo error of 90% quantiles from TINY's 300 draws (a few %: where the added
    # noise is small next to the law's own spread the two widths are nearly equal)
    assert (new[hi] - new[lo] >= 0.9 * (mean[hi] - mean[lo])).all()

    try:
        alloc = bl.optimal_allocation(fit, C=[1e21, 1e22])
    except LawCapabilityError:
        alloc = None  # a law without a compute-optimal allocation says so
    else:
        assert (alloc["N_opt_lower"] <= alloc["N_opt"]).all()
        assert (alloc["N_opt"] <= alloc["N_opt_upper"]).all()
    assert (alloc is None) == (name in ("hyperparams", "hyperparams_two_stage"))

    cands = _candidates(fit, cand_kind)
    picks = bl.design.next_runs(fit, cands, k=2, seed=0)
    assert len(picks) == 2 and (picks["info"] >= 0).all()

    path = fit.save(tmp_path / "fit.nc")
    same = bl.load_fit(path)
    assert same.record.law == law_ref(fit.law)
    pd.testing.assert_frame_equal(bl.predict(same, **query), mean)
    pd.testing.assert_frame_equal(bl.predict(same, kind="new_run", seed=1, **query), new)
    pd.testing.assert_frame_equal(bl.design.next_runs(same, cands, k=2, seed=0), picks)
