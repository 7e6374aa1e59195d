"""The allocation says how far outside the fitted range a budget and its optimum lie, and that
D_opt is the compute model's token count on a fit of nominal budgets (small fits, < 60 s)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from conftest import quiet

import bayeslaws as bl
from bayeslaws.posterior.allocation import (
    ExtrapolationWarning,
    NominalComputeWarning,
    near_optimal,
    optimal_allocation,
)
from bayeslaws.posterior.predict import outside_decades
from bayeslaws.runs import simulate

RANGE_COLUMNS = ["C_outside_decades", "N_outside_decades", "D_outside_decades"]
TINY = {"chains": 1, "warmup": 150, "draws": 150, "dense_mass": False, "warn": False}


def _quiet(call):
    """``call()`` with every warning but the two under test ignored, those recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ExtrapolationWarning)
        warnings.simplefilter("always", NominalComputeWarning)
        out = call()
    return out, [w for w in caught if issubclass(w.category, ExtrapolationWarning)], caught


def test_allocation_table_says_how_far_outside_the_fitted_range(simulated_fit):
    """optimal_allocation answered C 5.5 decades beyond the data with no sign (predict has
    *_outside_decades columns): the table now has them, the query C's and the median N_opt's
    and D_opt's, signed, 0 inside; a budget more than 2 decades out warns once per call,
    naming it and how far each lies; in-range and nearer budgets warn not."""
    low, high = simulated_fit.record.ranges["C"]
    inside, near, far = np.sqrt(low * high), high * 10, high * 1e4  # 0, 1, 4 decades above
    budgets = [inside, near, far]
    table, extrapolated, _ = _quiet(lambda: optimal_allocation(simulated_fit, C=budgets))
    ranges = simulated_fit.record.ranges
    for axis, value in (("C", "C"), ("N", "N_opt"), ("D", "D_opt")):
        expected = outside_decades(table[value].to_numpy(), *ranges[axis])
        np.testing.assert_allclose(table[f"{axis}_outside_decades"], expected)
    assert table["C_outside_decades"].tolist() == pytest.approx([0.0, 1.0, 4.0])
    assert table.loc[0, RANGE_COLUMNS].tolist() == [0.0, 0.0, 0.0]
    assert table.loc[2, "N_outside_decades"] > 1 and table.loc[2, "D_outside_decades"] > 1
    assert len(extrapolated) == 1
    message = str(extrapolated[0].message)
    assert message.startswith("optimal_allocation: extrapolating more than 2 decades outside")
    assert f"C = {far:.3g} FLOPs (C 4 decades above, N_opt " in message
    assert f"C = {near:.3g}" not in message  # 1 decade out: the columns say it, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", ExtrapolationWarning)
        optimal_allocation(simulated_fit, C=[inside, near])


def test_near_optimal_says_how_far_outside_the_fitted_range(simulated_fit):
    """near_optimal's result (and its repr, what the CLI prints) now carries the distance of C
    and of the median N_opt, D_opt outside the fitted range, and far out warns as
    optimal_allocation does; inside the range: zeros, no note, no warning."""
    low, high = simulated_fit.record.ranges["C"]
    out, extrapolated, _ = _quiet(lambda: near_optimal(simulated_fit, high * 1e4, n_grid=21))
    assert set(out.outside_decades) == {"C", "N_opt", "D_opt"}
    assert out.outside_decades["C"] == pytest.approx(4.0)
    assert out.outside_decades["N_opt"] > 1
    assert "outside the fitted range by C +4 decades" not in repr(out)  # N_opt, D_opt too
    assert "outside the fitted range by C +4, N_opt +" in repr(out)
    assert len(extrapolated) == 1
    assert str(extrapolated[0].message).startswith("near_optimal: extrapolating more than 2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", ExtrapolationWarning)
        inside = near_optimal(simulated_fit, np.sqrt(low * high), n_grid=21)
    assert inside.outside_decades["C"] == 0.0 and inside.range_note == ""
    assert "outside the fitted range" not in repr(inside)


@pytest.fixture(scope="module")
def nominal_fits():
    """Two tiny isoFLOP fits of the same SIMULATED runs: C = 6ND, and C a nominal budget (each
    run's tokens 0.8 .. 1.1 x C / (6N), as Marin's budgets are 0.74 .. 1.07 x 6ND)."""
    runs = bl.load_runs(
        simulate.simulate_liang_isoflop(
            seed=2, budgets=(1e17, 3e17, 1e18, 3e18), n_per_budget=5, spread_decades=0.8
        )
    )
    factor = np.random.default_rng(0).uniform(0.8, 1.1, len(runs.df))
    nominal = replace(runs, df=runs.df.assign(D=runs.df["D"] * factor))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            kind: bl.fit(table, law="isoflop", likelihood="gaussian", seed=0, **TINY)
            for kind, table in (("exact", runs), ("nominal", nominal))
        }


def test_nominal_budgets_warn_that_d_opt_is_the_compute_models(nominal_fits):
    """On an isoFLOP fit of nominal budgets (Marin's: C != 6ND) D_opt = C / (6 N_opt) was
    reported as tokens, 5-25% off the runs' real tokens: it now warns that D_opt is the compute
    model's C / flops_per_token(N_opt), giving the runs' C / 6ND range; a fit with C = 6ND
    warns not."""
    fit = nominal_fits["nominal"]
    runs = fit.record.training_runs
    ratio = np.asarray(runs["C"]) / (6 * np.asarray(runs["N"]) * np.asarray(runs["D"]))
    _, _, caught = _quiet(lambda: optimal_allocation(fit, C=[3e17, 1e18]))
    said = [str(w.message) for w in caught if issubclass(w.category, NominalComputeWarning)]
    assert len(said) == 1
    assert said[0].startswith("optimal_allocation: the fit's budgets are nominal")
    assert f"{ratio.min():.3g}-{ratio.max():.3g} x the compute model's FLOPs" in said[0]
    assert "not the tokens a run at that nominal budget trains on" in said[0]
    _, _, caught = _quiet(lambda: near_optimal(fit, 1e18, n_grid=21))
    assert any(
        issubclass(w.category, NominalComputeWarning) and str(w.message).startswith("near_opt")
        for w in caught
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", NominalComputeWarning)
        optimal_allocation(nominal_fits["exact"], C=[3e17, 1e18])
        near_optimal(nominal_fits["exact"], 1e18, n_grid=21)


def test_figures_and_reports_state_the_distance_without_the_warning(simulated_fit):
    """A report's numbers say how far outside the range each lies and a figure shows its
    bands, so neither repeats the ExtrapolationWarning (the demo printed it five times for
    one budget); the allocation they draw on still warns when called directly."""
    from bayeslaws import plot
    from bayeslaws.app.report import fit_report

    far = simulated_fit.record.ranges["C"][1] * 1e4  # 4 decades above
    _, direct, _ = _quiet(lambda: optimal_allocation(simulated_fit, C=[far]))
    assert len(direct) == 1
    _, from_report, _ = _quiet(lambda: fit_report(simulated_fit, budgets=[far]))
    _, from_figure, _ = _quiet(lambda: plot.isoflop(simulated_fit, C=[far]))
    assert from_report == [] and from_figure == []


def test_a_budget_is_measured_in_the_fits_flops_under_another_compute_model(simulated_fit):
    """``C_outside_decades`` compared the budget, given under ``compute_model=2`` (C = 2ND),
    with the fitted range of C in the fit's FLOPs (6ND): a budget whose optimum is 3x larger
    in the fit's FLOPs read 0.48 decades closer than ``predict`` measures that optimum, and
    the 100x warning could be missed. Now it is the fit's FLOPs of the optimum, as predict
    counts them, for optimal_allocation, allocation_laws and near_optimal alike."""
    fit = simulated_fit
    C_high = fit.record.ranges["C"][1]
    C = C_high * 30.0
    other, own = (
        quiet(bl.optimal_allocation, fit, C=C, compute_model=k) for k in (2, None)
    )
    n, d = other["N_opt"].iloc[0], other["D_opt"].iloc[0]
    expected = np.log10(fit.compute_model.flops(n, d) / C_high)
    assert other["C_outside_decades"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert expected - np.log10(C / C_high) == pytest.approx(np.log10(3.0), rel=1e-3)
    assert own["C_outside_decades"].iloc[0] == pytest.approx(np.log10(30.0), rel=1e-6)
    as_predicted = quiet(bl.predict, fit, N=n, D=d)["C_outside_decades"].iloc[0]
    assert other["C_outside_decades"].iloc[0] == pytest.approx(as_predicted, rel=1e-6)
    band = quiet(bl.near_optimal, fit, C, compute_model=2)
    assert band.outside_decades["C"] > np.log10(30.0) + 0.4
