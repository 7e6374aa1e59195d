"""A loss surface's C range for the extrapolation widenings is measured as its queries' C (6ND), so
nominal budgets do not put training runs outside it; tables of FLOPs and laws taking C keep the
runs' C. Tiny fits of SIMULATED runs."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.laws import get_law
from bayeslaws.posterior.extrapolation import distance, drift

TINY = {"likelihood": "gaussian", "chains": 1, "warmup": 100, "draws": 100, "seed": 0}


def _quiet_fit(runs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, warn=False, **{**TINY, **options})


@pytest.fixture(scope="module")
def nominal_fit(simulated_runs):
    """Chinchilla on ``simulated_runs`` whose C is a nominal budget, 1.1 x 6ND at the smallest
    run down to 0.8 x at the largest (as Marin's bundled tables, 0.74-1.07; the simulated
    losses are those of N and D)."""
    runs = simulated_runs
    nominal = runs.df["C"] * np.linspace(1.1, 0.8, len(runs.df))
    return _quiet_fit(dataclasses.replace(runs, df=runs.df.assign(C=nominal)))


def test_training_runs_of_a_nominal_budget_table_lie_inside_the_c_range(nominal_fit):
    """A loss surface is asked at C = 6ND, but its C range was the runs' nominal budgets: its
    own training runs, asked by N and D, came out outside it (here the smallest and the
    largest, 0.097 decades; 0.13 on Marin), and the drift widened them as extrapolations. The
    range is now that of 6ND."""
    runs = nominal_fit.training_runs().df
    flops = nominal_fit.compute_model.flops(runs["N"], runs["D"])
    assert distance.group_ranges(nominal_fit)["C"] == [flops.min(), flops.max()]
    assert distance.ranges_of(nominal_fit)["C"][1] == pytest.approx(flops.max(), rel=1e-12)
    N, D = runs["N"].to_numpy(), runs["D"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bl.predict(nominal_fit, N=N, D=D)
        drifted = bl.predict(nominal_fit, N=N, D=D, extrapolation="drift", seed=1)
    assert np.all(out["C_outside_decades"] == 0.0)
    ranges = distance.group_ranges(nominal_fit)  # the drift's distances at the runs: none
    assert np.all(drift.axis_distances(N, D, flops, ranges) == 0.0)
    # inside the range the drift is 0: "drift" is the law plus the GP pattern there, the same
    # at the smallest and largest runs (C nominally outside before) as at the others
    width = np.log(drifted["upper"] / drifted["lower"]) / np.log(out["upper"] / out["lower"])
    edges = [int(np.argmin(flops)), int(np.argmax(flops))]
    assert width.iloc[edges].max() < 1.05 * np.delete(width.to_numpy(), edges).max()


def test_c_range_is_the_runs_own_where_c_is_flops_or_a_law_input(simulated_fit):
    """A table whose C is 6ND keeps the fitted range itself (the same object: predictions are
    unchanged), and a law that takes C (isoflop, indexed by the budget) keeps the runs' C."""
    assert distance.group_ranges(simulated_fit) is simulated_fit.record.ranges
    assert distance.stored_queried_flops(simulated_fit) is None
    N, D = np.array([1e8, 1e9]), np.array([1e10, 1e11])
    nominal = 0.8 * 6 * N * D
    model = simulated_fit.compute_model
    assert distance.queried_flops(get_law("isoflop"), model, N, D, nominal) is None
    np.testing.assert_allclose(
        distance.queried_flops(get_law("chinchilla"), model, N, D, nominal), 6 * N * D
    )
