"""``bayeslaws report`` (review 15): its search-edge CAUTION names the range the law searched
(Farseer: its fitted sizes +- 2 decades), as the allocation's warning does, not the whole
10 to 1e17 params; near_optimal's far-budget warning names no false --C position; a bad or
repeated --target, or a repeated --C, is refused naming it as typed; units on Kaplan's N_c,
D_c, isoflop's N_opt[C] and the near-optimal budget, and the HTML interval column's level.
SIMULATED fits: the shared Chinchilla one, one Farseer fit (2 x 300 + 300) and a tiny Kaplan
and isoFLOP fit (1 x 150 + 150)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import report_section
from test_farseer_search import FITTED_N

import bayeslaws as bl
from bayeslaws.app import plan_report
from bayeslaws.app.report import fit_report
from bayeslaws.posterior import splits
from bayeslaws.posterior.allocation import allocation_draws, searched_range
from bayeslaws.runs import PlausibilityWarning, simulate

TINY = {"chains": 1, "warmup": 150, "draws": 150, "dense_mass": False, "warn": False}
FAR_C = 1e27  # FLOPs: Farseer's draws reach its narrowed top there (test_search_edge_law_range)


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


@pytest.fixture(scope="module")
def farseer_fit():
    train = splits.simulated_split("farseer", seed=0)[0]
    return bl.fit(train, law="farseer", chains=2, warmup=300, draws=300, seed=0, warn=False)


# ---- 1. the search-edge CAUTION names the range searched --------------------------------------
def test_report_caution_names_the_narrowed_search_range(farseer_fit):
    """The allocation's column, its SearchEdgeWarning and the report's CAUTION name one range,
    the one searched (fitted sizes / 100 to x 100); the warning is then not listed again."""
    report = _quiet(fit_report, farseer_fit, budgets=[FAR_C], extrapolation="none")
    text = report.to_text()
    low, high = (float(v[0]) for v in searched_range(
        np.array([FAR_C]), _quiet(allocation_draws, farseer_fit, [FAR_C], extrapolation="none")
    ))  # fmt: skip
    assert low == pytest.approx(FITTED_N[0] / 100, rel=1e-9)
    assert high == pytest.approx(FITTED_N[1] * 100, rel=1e-9)
    section = report_section(text, "Compute-optimal allocation")
    said = f"(searched N {low:.3g} to {high:.3g} params)"
    assert "CAUTION: N_opt sits at the edge of the isoFLOP search range" in section
    assert said in section, section
    assert "searched N 10 to" not in text
    assert "SearchEdgeWarning: optimal_allocation: N_opt sits at the edge" not in text


def test_allocation_frame_carries_the_searched_range(farseer_fit):
    """optimal_allocation's N_searched_low, N_searched_high: the range its warning names."""
    table = _quiet(bl.optimal_allocation, farseer_fit, C=[FAR_C, 1e20], extrapolation="none")
    draws = _quiet(allocation_draws, farseer_fit, [FAR_C, 1e20], extrapolation="none")
    low, high = searched_range(np.array([FAR_C, 1e20]), draws)
    np.testing.assert_allclose(table["N_searched_low"], low, rtol=1e-12)
    np.testing.assert_allclose(table["N_searched_high"], high, rtol=1e-12)


def test_plan_report_allocation_caution_names_the_narrowed_range(farseer_fit):
    """The planning report's allocation section (a plan whose surface fit is Farseer's)."""
    alloc = _quiet(bl.optimal_allocation, farseer_fit, C=[FAR_C], extrapolation="none")
    near = _quiet(bl.near_optimal, farseer_fit, FAR_C, extrapolation="none", n_grid=21)
    plan = {"allocation": alloc, "tokens_per_param": (20.0, 10.0, 30.0), "near_optimal": near}
    sec = _quiet(plan_report._allocation_section, plan, farseer_fit, None)
    caution = next(n for n in sec.notes if n.startswith("CAUTION: N_opt sits at the edge"))
    low, high = alloc["N_searched_low"].iloc[0], alloc["N_searched_high"].iloc[0]
    assert f"(searched N {low:.3g} to {high:.3g} params)" in caution
    assert "searched N 10 to" not in caution


# ---- 2. near_optimal's far-budget warning in the report ----------------------------------------
def test_report_far_budget_warning_names_only_true_positions(simulated_fit):
    """--C 1e22 1e5: the allocation names 1e5 at position [1]; near_optimal, asked one budget at
    a time, said 'positions [0]' of it: now it names none and the report lists the one."""
    report = _quiet(fit_report, simulated_fit, budgets=[1e22, 1e5])
    lines = [x for x in report_section(report.to_text(), "Warnings").split("PlausibilityWarning")]
    said = [x for x in lines[1:] if x.startswith(": C = 1e+05")]
    assert len(said) == 1 and said[0].startswith(": C = 1e+05 (positions [1]) lies"), said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.near_optimal(simulated_fit, 1e5, n_grid=21)
    far = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    assert far and far[0].startswith("C = 1e+05 lies") and "positions" not in far[0]


# ---- 3, 4. targets and budgets checked together, as typed -------------------------------------
def test_bad_second_target_is_named_as_typed(simulated_fit):
    with pytest.raises(ValueError, match=r"the 2nd --target \(targets\[1\] in Python\), "
                                         r"N 1e\+09 D -5: D must be finite and positive"):
        _quiet(fit_report, simulated_fit, targets=[(1e9, 1e11), (1e9, -5.0)])
    with pytest.raises(ValueError, match=r"the 1st --target .*N must be finite"):
        _quiet(fit_report, simulated_fit, targets=[(np.nan, 1e11)])
    with pytest.raises(ValueError, match=r"the 2nd --target .*D = 0.5 is below one token"):
        _quiet(fit_report, simulated_fit, targets=[(1e9, 1e11), (1e9, 0.5)])


def test_repeated_budget_or_target_is_refused(simulated_fit):
    with pytest.raises(ValueError, match=r"--C 1e\+22 is given 2 times \(positions 1, 3 of "
                                         r"the --C values as typed; budgets\[0\], budgets\[2\]"):
        _quiet(fit_report, simulated_fit, budgets=[1e22, 1e21, 1e22])
    with pytest.raises(ValueError, match=r"--target 1e\+09 1e\+11 is given 2 times"):
        _quiet(fit_report, simulated_fit, targets=[(1e9, 1e11), (1e9, 1e11)])


def test_cli_report_names_the_bad_target(simulated_fit_file, tmp_path, capsys):
    from conftest import cli_error_line, cli_run

    argv = ["report", simulated_fit_file, "--out", tmp_path / "r.html", "--target", "1e9",
            "1e11", "--target", "1e9", "-5"]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    assert code != 0
    assert "the 2nd --target" in cli_error_line(err)


# ---- 5. units ----------------------------------------------------------------------------------
def test_units_of_kaplan_scales_near_optimal_budget_and_interval_header():
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 5), np.geomspace(4e8, 4e10, 5))
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    df = simulate.simulate_chinchilla_runs({**truth, "N": N, "D": D}, noise_sd=0.01, seed=2)
    fit = _quiet(bl.fit, df, law="kaplan", likelihood="gaussian", seed=0, **TINY)
    report = _quiet(fit_report, fit, budgets=[1e20], ci=0.8)
    units = {n.label: n.unit for s in report.sections for n in s.numbers}
    assert units["N_c"] == "parameters" and units["D_c"] == "tokens"
    assert units["alpha_N"] == "" and units["n_c"] == ""
    assert "Near-optimal at C 1e+20 FLOPs (" in report.to_text()
    page = report.to_html()
    assert "<th>80% interval</th>" in page and "<th>interval</th>" not in page


def test_units_of_isoflop_budget_rows():
    runs = bl.load_runs(
        simulate.simulate_liang_isoflop(
            seed=2, budgets=(1e17, 3e17, 1e18, 3e18), n_per_budget=5, spread_decades=0.8
        )
    )
    fit = _quiet(bl.fit, runs, law="isoflop", likelihood="gaussian", seed=0, **TINY)
    report = _quiet(fit_report, fit)
    params = next(s for s in report.sections if s.title == "Parameters")
    units = {n.label: n.unit for n in params.numbers}
    budget_rows = [k for k in units if k.startswith(("N_opt[", "L_opt["))]
    assert budget_rows
    assert all(units[k] == "parameters" for k in budget_rows if k.startswith("N_opt["))
    assert all(units[k] == "" for k in budget_rows if k.startswith("L_opt["))
    assert any("C in FLOPs" in note and "N_opt in parameters" in note for note in params.notes)
