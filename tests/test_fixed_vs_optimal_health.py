"""fixed_vs_optimal is not "settled" on a fit whose sampler check failed (fit.diagnostics.problems:
R-hat, ESS, divergences): it said "settled" from the interval alone, so a user acting on it acted
on an unconverged posterior. The session's tiny law "sweep" fit (1 chain x 150 draws) is such a
fit; a copy of it with its problems cleared stands for a healthy one (same draws, same answer)."""

from __future__ import annotations

import warnings

import numpy as np
from conftest import with_problems

import bayeslaws as bl
from bayeslaws.posterior import fixed_hyperparams as fh

SIZE_COLUMNS = ["n_opt_optimal", "n_opt_fixed", "size_change_lower", "size_change_upper"]


def _answer(fit, C):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fixed_vs_optimal(fit, C, n_draws=12).iloc[0]


def test_an_unhealthy_fit_is_not_settled_and_the_verdict_says_why(small_sweep_sweep_fit):
    fit = small_sweep_sweep_fit
    assert fit.diagnostics.problems  # 150 draws of one chain: too few, low ESS
    C = float(np.sqrt(np.prod(fit.record.ranges["C"])))  # inside the fitted budgets
    healthy = _answer(with_problems(fit), C)
    row = _answer(fit, C)
    # the healthy copy is settled by its interval: the case the old code passed on to the user
    assert healthy["settled"] == (
        healthy["size_change_lower"] > 0 or healthy["size_change_upper"] < 0
    )
    assert healthy["settled"], "precondition: the interval at this budget excludes 0"
    assert healthy["verdict"].startswith("settled: ")
    # the same draws give the same numbers; only the health differs
    assert [row[c] for c in SIZE_COLUMNS] == [healthy[c] for c in SIZE_COLUMNS]
    assert not row["settled"]
    assert healthy["sampler_ok"] and not row["sampler_ok"]
    assert row["verdict"].startswith("not settled: the fit's sampler check failed (max R-hat ")
    assert "refit with more draws" in row["verdict"]
    assert fh.sampler_trouble(fit.diagnostics) in row["verdict"]


def test_a_named_sampler_problem_alone_unsettles_it(small_sweep_sweep_fit):
    """One R-hat problem, given by hand, is enough; the verdict gives the fit's figures (from
    its Diagnostics fields, not the problems' text, which holds advice lines too)."""
    fit = small_sweep_sweep_fit
    C = float(np.sqrt(np.prod(fit.record.ranges["C"])))
    problem = "R-hat > 1.01 for ['alpha' (1.2)]"
    row = _answer(with_problems(fit, [problem, "more draws (draws=, warmup=) may help"]), C)
    assert not row["settled"]
    assert not row["sampler_ok"]
    d = fit.diagnostics
    assert (
        f"sampler check failed (max R-hat {d.r_hat_text}, min bulk ESS {d.min_ess_bulk:.0f}, "
        f"{d.divergences} divergent transitions); refit with more draws" in row["verdict"]
    )
    assert "may help" not in row["verdict"]


def test_sampler_trouble_is_the_diagnostics_figures(small_sweep_sweep_fit):
    assert fh.sampler_trouble(with_problems(small_sweep_sweep_fit).diagnostics) == ""
    d = small_sweep_sweep_fit.diagnostics
    assert fh.sampler_trouble(d) == (
        f"max R-hat {d.r_hat_text}, min bulk ESS {d.min_ess_bulk:.0f}, {d.divergences} "
        "divergent transitions"
    )


def test_verdict_with_sampler_trouble_says_the_interval_once():
    trouble = "max R-hat 1.200, min bulk ESS 31, 2 divergent transitions"
    text = fh._verdict(0.34, 0.29, 0.37, 0.9, 0.0, trouble=trouble)
    assert text == (
        f"not settled: the fit's sampler check failed ({trouble}); refit with more draws (the "
        "size change there: +34%, 90% interval [+29%, +37%])"
    )
    text = fh._verdict(0.1, -0.1, 0.3, 0.9, 0.0, trouble=trouble)
    assert text.count("90% interval [-10%, +30%]") == 1, text
    # far outside the range: the interval still leaves out the risk that the law bends there
    text = fh._verdict(0.34, 0.29, 0.37, 0.9, 0.0, ("C_outside_decades", 2.7), trouble=trouble)
    assert text.startswith("not settled: the fit's sampler check failed")
    assert text.endswith("does not include the risk that the law bends there")
    # so is a search that hit its edge
    text = fh._verdict(0.34, 0.29, 0.37, 0.9, 0.8, trouble=trouble)
    assert "; in 80% of the draws a refitted N_opt also hit the edge of the searched sizes" in text
    # a setting off the sweep is said too
    text = fh._verdict(0.34, 0.29, 0.37, 0.9, 0.0, off="the fixed lr (1) lies far", trouble=trouble)
    assert "; also, the fixed lr (1) lies far: an extrapolation of the bowl" in text


def test_with_problems_copies_the_fit_and_leaves_it_alone(small_sweep_sweep_fit):
    """One helper (conftest.with_problems) stands for the copies with problems cleared that
    this file and test_fixed_vs_optimal_review16.py each built: same draws, only the problems
    differ, and the shared fit keeps its own."""
    fit = small_sweep_sweep_fit
    before = list(fit.diagnostics.problems)
    healthy, named = with_problems(fit), with_problems(fit, ("R-hat > 1.01",))
    assert healthy.diagnostics.problems == [] and named.diagnostics.problems == ["R-hat > 1.01"]
    assert healthy.idata is fit.idata and named.record is fit.record
    assert healthy.diagnostics.min_ess_bulk == fit.diagnostics.min_ess_bulk
    assert fit.diagnostics.problems == before
