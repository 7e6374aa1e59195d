"""The ``fit`` argument of every public function taking a fit is checked where it enters
(bayeslaws.posterior.draws.check_fit): a path (the saved .nc file instead of
bl.load_fit(path)), a RunTable (the runs, not yet fitted) or None is an ArgumentTypeError giving
the remedy, not an AttributeError from deep inside (review 10)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app import plan as app_plan
from bayeslaws.design import candidates as design_candidates
from bayeslaws.posterior import draws as posterior_draws
from bayeslaws.runs.checks import ArgumentTypeError

QUERY = pd.DataFrame({"N": [1e9], "D": [1e10], "C": [6e19]})
CANDS = pd.DataFrame({"N": [1e8, 2e8], "D": [2e9, 4e9]})

# name -> a call of a public function with ``fit`` in its fit argument
CALLS = {
    "predict": lambda fit: bl.predict(fit, N=1e9, D=1e10),
    "optimal_allocation": lambda fit: bl.optimal_allocation(fit, C=1e21),
    "near_optimal": lambda fit: bl.near_optimal(fit, 1e21),
    "allocation_laws": lambda fit: bl.allocation_laws(fit),
    "loss_penalty": lambda fit: bl.loss_penalty(fit, 1e9, 1e10, 1e-3, 1e6),
    "fixed_vs_optimal": lambda fit: bl.fixed_vs_optimal(fit, 1e21),
    "allocation_draws": lambda fit: bl.posterior.allocation_draws(fit, 1e21),
    "quantity_draws": lambda fit: bl.posterior.quantity_draws(fit, QUERY),
    "log_loss_draws": lambda fit: bl.posterior.log_loss_draws(fit, QUERY),
    "query_frame": lambda fit: bl.posterior.query_frame(fit, N=1e9, D=1e10),
    "isoflop_candidates": lambda fit: bl.design.isoflop_candidates([1e19], fit=fit),
    "hyperparameter_candidates": lambda fit: bl.design.hyperparameter_candidates(
        1e9, 1e10, fit=fit
    ),
    "pool_units": lambda fit: bl.design.pool_units(fit, CANDS),
    "next_runs": lambda fit: bl.design.next_runs(fit, CANDS, k=1),
    "rank_candidates": lambda fit: bl.design.rank_candidates(fit, CANDS),
    "bounds": lambda fit: bl.design.bounds(fit, CANDS),
    "check_candidates": lambda fit: design_candidates.check_candidates(fit, CANDS),
    "plan.planning": lambda fit: app_plan.planning(fit),
    "plot.fan": lambda fit: bl.plot.fan(fit, None),
    "plot.bowls": lambda fit: bl.plot.bowls(fit, None),
    "plot.isoflop": lambda fit: bl.plot.isoflop(fit, [1e19]),
    "plot.n_opt": lambda fit: bl.plot.n_opt(fit),
    "plot.pairs": lambda fit: bl.plot.pairs(fit),
    "Campaign.start": lambda fit: bl.design.Campaign.start(fit, bl.design.NOpt(C=1e21)),
    "Campaign": lambda fit: bl.design.Campaign(fit, bl.design.NOpt(C=1e21)),
    "runs_of_plan": lambda fit: bl.design.runs_of_plan(CANDS, pd.DataFrame(), fit=fit),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("path", ["base.nc", Path("fits") / "base.nc"], ids=["str", "Path"])
def test_a_path_says_to_load_the_fit(name, path):
    with pytest.raises(ArgumentTypeError, match=r"use bl\.load_fit\(path\)") as info:
        CALLS[name](path)
    assert "base.nc" in str(info.value)
    assert "hp_fit" in str(info.value) if name == "plan.planning" else "fit must" in str(
        info.value
    )


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_run_table_says_to_fit_it_first(name, simulated_runs):
    with pytest.raises(ArgumentTypeError, match=r"fit it first: bl\.fit\(runs, law=\.\.\.\)"):
        CALLS[name](simulated_runs)


# fit=None: no fit (their default)
OPTIONAL_FIT = {"isoflop_candidates", "hyperparameter_candidates", "runs_of_plan"}


@pytest.mark.parametrize("name", sorted(set(CALLS) - OPTIONAL_FIT))
def test_none_is_named(name):
    with pytest.raises(ArgumentTypeError, match="must be a bayeslaws Fit.*got None"):
        CALLS[name](None)


def test_other_types_are_named():
    with pytest.raises(ArgumentTypeError, match="got dict"):
        bl.predict({"law": "chinchilla"}, N=1e9, D=1e10)
    with pytest.raises(ArgumentTypeError, match="fit it first"):
        bl.predict(pd.DataFrame({"N": [1e9]}), N=1e9, D=1e10)


def test_planning_checks_its_surface_fit(simulated_fit):
    with pytest.raises(ArgumentTypeError, match=r"surface_fit must .*bl\.load_fit\(path\)"):
        app_plan.planning(simulated_fit, "surface.nc")
    with pytest.raises(ArgumentTypeError, match="surface_fit must .*fit it first"):
        app_plan.planning(simulated_fit, bl.load_runs(pd.DataFrame(
            {"N": [1e8, 2e8], "D": [2e9, 4e9], "loss": [3.0, 2.9]}
        )))  # fmt: skip


def test_a_fit_still_passes(simulated_fit):
    posterior_draws.check_fit(simulated_fit)  # no error
    assert len(bl.predict(simulated_fit, N=1e9, D=1e10)) == 1
