"""Posterior draws of the allocation whose optimum lies far outside the data at a
budget inside it (the drift pulls them out there, e.g. N_opt 1e3-3e6 params and L_opt below
the floor on Epoch's Chinchilla fit, whose smallest model is 5.7e7) show in a column
``far_outside`` and warn (:class:`ExtrapolationWarning`), where before only the share of them at
the search edge warned, as if the interval's end were the search's edge (small SIMULATED fit,
the session's ``simulated_fit``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayeslaws.posterior import allocation
from bayeslaws.posterior.allocation import (
    ExtrapolationWarning,
    band,
    near_optimal,
    optimal_allocation,
    tables,
)

NEW = "some posterior draws put the optimum far outside the data"


def _moved(monkeypatch, fit, far_share: float = 0.10, floor_share: float = 0.05):
    """allocation_draws with the first ``far_share`` of draws' N_opt moved 3 decades below the
    fitted N and the next ``floor_share`` of draws' L_opt below the law's floor: what the drift
    does to a few draws at a budget inside the data (a stand-in, exact shares)."""
    real = allocation.allocation_draws
    low = fit.record.ranges["N"][0]

    def moved(fit_, C, *args, **kwargs):
        out = {k: np.array(v, copy=True) for k, v in real(fit_, C, *args, **kwargs).items()}
        S = out["N_opt"].shape[0]
        n_far, n_floor = round(far_share * S), round(floor_share * S)
        out["N_opt"][:n_far] = low * 1e-3
        out["L_opt"][n_far : n_far + n_floor] = 1e-3  # the floor E is ~1.8
        return out

    # where each caller looks it up: optimal_allocation (tables), near_optimal (band), and the
    # tests' own allocation.allocation_draws
    for module in (allocation, tables, band):
        monkeypatch.setattr(module, "allocation_draws", moved)


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]


def test_fitted_laws_draws_inside_the_data_have_none_far_outside_and_do_not_warn(simulated_fit):
    """Under extrapolation='none' (and the default) a budget inside the fitted range has no
    draw far outside: the column is 0 and nothing warns; the numbers are the draws' quantiles,
    the new column sits beside at_boundary."""
    low, high = simulated_fit.record.ranges["C"]
    budgets = np.geomspace(low, high, 4)
    for method in ("none", "gp"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ExtrapolationWarning)
            table = optimal_allocation(simulated_fit, C=budgets, extrapolation=method)
            near = near_optimal(simulated_fit, budgets[2], extrapolation=method, n_grid=21)
        assert (table["far_outside"] == 0).all() and near.far_outside == 0
    columns = list(table.columns)
    assert columns[columns.index("at_boundary") + 1] == "far_outside"
    draws = allocation.allocation_draws(simulated_fit, budgets, extrapolation="gp")
    np.testing.assert_array_equal(table["N_opt"], np.median(draws["N_opt"], axis=0))


def test_drift_draws_far_outside_the_data_at_budgets_inside_it_show_and_warn(simulated_fit):
    """Under extrapolation='drift' some 5-13% of the draws at budgets inside the data put N_opt
    more than 2 decades outside the fitted sizes or L_opt below the floor E (the drift pulls
    them there), and only those at the search edge warned: the column far_outside is their
    share (checked against the draws and E), and one ExtrapolationWarning names each budget
    and share, the method, that those draws set the interval's end, and the remedy."""
    low, high = simulated_fit.record.ranges["C"]
    budgets = np.geomspace(low, high, 3)
    table, said = _caught(
        lambda: optimal_allocation(simulated_fit, C=budgets, extrapolation="drift")
    )
    draws = allocation.allocation_draws(simulated_fit, budgets, extrapolation="drift")
    n_low, n_high = simulated_fit.record.ranges["N"]
    E = np.asarray(simulated_fit.draws(["E"])["E"], float).reshape(-1, 1)
    N_opt = draws["N_opt"]
    far = (N_opt < n_low / 100) | (N_opt > n_high * 100) | (draws["L_opt"] < E)
    np.testing.assert_allclose(table["far_outside"], far.mean(axis=0))
    share = table["far_outside"]
    assert (share > 0.03).all() and (share > table["at_boundary"]).all()  # more than the edge's
    assert (table["N_outside_decades"].abs() < 2).all()  # every median answer is near the data
    assert len(said) == 1 and said[0].startswith(f"optimal_allocation: {NEW}")
    for C, share in zip(budgets, table["far_outside"], strict=True):
        assert f"{share:.1%} of draws at C = {C:.3g} FLOPs (N_opt more than 2 decades" in said[0]
    assert "under extrapolation 'drift': its drift (0 inside the data" in said[0]
    assert "stretch the interval toward them" in said[0] and "extrapolation='none'" in said[0]
    near, said = _caught(
        lambda: near_optimal(simulated_fit, budgets[1], extrapolation="drift", n_grid=21)
    )
    assert near.far_outside == pytest.approx(table["far_outside"].iloc[1])
    assert len(said) == 1 and said[0].startswith(f"near_optimal: {NEW}")


def test_the_warning_names_each_part_and_blames_the_fitted_law_without_a_drift(
    monkeypatch, simulated_fit
):
    """10% of draws with N_opt 3 decades below the fitted sizes and 5% with L_opt below the
    floor (a stand-in, exact shares) at a budget inside the data, under extrapolation='none':
    the column says 15%, the warning names both parts, and, no drift being drawn, puts the
    spread on the fitted law's posterior; the interval's end is those draws'."""
    low, high = simulated_fit.record.ranges["C"]
    C = float(np.sqrt(low * high))
    _moved(monkeypatch, simulated_fit)
    table, said = _caught(lambda: optimal_allocation(simulated_fit, C=[C], extrapolation="none"))
    assert table["far_outside"].iloc[0] == pytest.approx(0.15)
    assert table["N_outside_decades"].iloc[0] == 0  # the median is inside: no range warning
    assert len(said) == 1 and said[0].startswith(f"optimal_allocation: {NEW}")
    assert (
        f"15.0% of draws at C = {C:.3g} FLOPs (N_opt more than 2 decades below it in 10.0%, "
        "L_opt below the law's floor in 5.0%), under extrapolation 'none': the fitted law's "
        "posterior itself"
    ) in said[0]
    lower = np.quantile(allocation.allocation_draws(simulated_fit, [C])["N_opt"][:, 0], 0.05)
    assert table["N_opt_lower"].iloc[0] == lower  # the moved draws' end
    near, said = _caught(lambda: near_optimal(simulated_fit, C, extrapolation="none", n_grid=21))
    assert near.far_outside == pytest.approx(0.15)
    assert len(said) == 1 and said[0].startswith(f"near_optimal: {NEW}")


def test_a_draw_or_two_far_out_shows_in_the_column_without_a_warning(monkeypatch, simulated_fit):
    """0.5% of the draws far out (3 in 600) barely move a 90% interval's end: the column says
    so, no warning (FAR_SHARE, 1%)."""
    low, high = simulated_fit.record.ranges["C"]
    C = float(np.sqrt(low * high))
    _moved(monkeypatch, simulated_fit, far_share=0.005, floor_share=0.0)
    table, said = _caught(lambda: optimal_allocation(simulated_fit, C=[C], extrapolation="none"))
    assert table["far_outside"].iloc[0] == pytest.approx(0.005) and said == []


def test_a_budget_far_outside_is_left_to_the_range_warning(monkeypatch, simulated_fit):
    """A budget 4 decades above the data, whose median answer already lies beyond 2 decades,
    warns once (the range warning), not again for its draws; its column still says how many
    draws lie far out."""
    far = simulated_fit.record.ranges["C"][1] * 1e4
    table, said = _caught(lambda: optimal_allocation(simulated_fit, C=[far]))
    assert len(said) == 1 and NEW not in said[0] and "extrapolating more than" in said[0]
    assert table["far_outside"].iloc[0] > 0
