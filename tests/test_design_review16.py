"""Review 16 of the design layer: the guardrails count a candidate within 1% of an earlier run
as that design point (a rounded trained size is not proposed again, nor does it free a cell),
Campaign.record names the proposed runs it was not given, the guardrail column names the rule
that restricted a pick, a scalar budget's error says the value, and ``bayeslaws design``
prints its sizes to 5 significant figures and proposes none of the fit's own runs. All data
SIMULATED (conftest's ``simulated_fit``: Chinchilla's law, 60M-6B params x 1B-100B tokens)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, quiet

from bayeslaws import design
from bayeslaws.app.cli import main
from bayeslaws.design.campaign import RecordWarning
from bayeslaws.runs import simulate
from bayeslaws.runs.repeats import MATCH_RTOL

TARGET = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range
QUICK = {"warmup": 100, "draws": 100, "seed": 2}  # a small refit
NEW = pd.DataFrame({"N": [1e8, 1e10], "D": [2e11, 2e11]})  # no fitted run near either


@pytest.fixture(scope="module")
def fit(simulated_fit):
    return simulated_fit


def _trained(fit) -> pd.DataFrame:
    """The fit's training runs: N, D."""
    return fit.training_runs().df[["N", "D"]].reset_index(drop=True)


def _near_any(runs: pd.DataFrame, others: pd.DataFrame) -> np.ndarray:
    """Per row of ``runs``, whether a row of ``others`` lies within MATCH_RTOL in N and D."""
    close = np.ones((len(runs), len(others)), bool)
    for c in ("N", "D"):
        a, b = runs[c].to_numpy(float)[:, None], others[c].to_numpy(float)[None, :]
        close &= np.abs(a / b - 1) <= MATCH_RTOL
    return close.any(axis=1)


def _rounded(runs: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``runs`` with N and D rounded to ``digits`` significant figures, as logs print them."""
    return runs.map(lambda v: float(f"{v:.{digits - 1}e}"))


def _plan(fit, cands, **options):
    return quiet(design.next_runs, fit, cands, TARGET, cost=None, model="none", **options)


def test_rounded_trained_sizes_are_not_proposed_again(fit):
    """Candidates at the starting fit's runs rounded to 3 significant figures (within 1%, not
    within the keys' 1e-6) are the runs the campaign started from: never proposed, though k
    asks for every candidate."""
    trained = _trained(fit)
    changed = (_rounded(trained) != trained).any(axis=1).to_numpy()
    rounded = _rounded(trained[changed].iloc[:4])
    assert len(rounded) == 4
    cands = pd.concat([NEW, rounded], ignore_index=True)
    camp = design.Campaign.start(fit, TARGET, cost=None, model="none")
    plan = quiet(camp.propose, cands, k=len(cands))
    assert len(plan) == len(NEW)
    assert not _near_any(plan, trained).any(), plan[["N", "D"]]


def test_cell_cap_counts_runs_within_one_percent(fit):
    """max_per_cell=2 with one trained run at a point: of three candidates within 1% of it
    (exact, rounded, 0.4% larger) one more run is picked, so the cell holds 2, though k asks
    for each candidate twice."""
    trained = _trained(fit)
    point = trained.iloc[[7]]
    assert (_rounded(point) != point).any(axis=None)
    near = pd.concat(
        [point, _rounded(point), point.assign(N=point["N"] * 1.004)], ignore_index=True
    )
    cands = pd.concat([NEW, near], ignore_index=True)
    rails = design.Guardrails(max_repeats=2, max_per_cell=2, ratio_diversity=False)
    plan = _plan(fit, cands, k=2 * len(cands), guardrails=rails.after(trained))
    in_cell = _near_any(plan, point)
    assert in_cell.sum() == 1, plan[["N", "D"]]
    assert _near_any(plan, NEW).sum() == len(plan) - 1  # the rest: the new points


def test_record_names_proposed_runs_left_out(fit):
    """Recording two of the three proposed runs (the third diverged, say) warns, naming the
    third by N and D, that it stays proposable."""
    camp = design.Campaign.start(fit, TARGET, cost=None, model="none")
    cands = pd.DataFrame({"N": [1e8, 1e9, 3e9, 1e10], "D": [2e9, 2e10, 6e10, 2e11]})
    quiet(camp.propose, cands, k=3)
    proposed = camp.proposed_runs()
    kept = proposed.iloc[:2]
    truth = {**TRUTH, "N": kept["N"].to_numpy(float), "D": kept["D"].to_numpy(float)}
    runs = simulate.simulate_chinchilla_runs(truth, noise_sd=0.01, seed=4)[["N", "D", "loss"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp.record(runs.reset_index(drop=True), **QUICK)
    said = [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]
    left = proposed.iloc[2]
    named = [m for m in said if "not recorded" in m]
    assert len(named) == 1, said
    assert f"N {left['N']:.4g}, D {left['D']:.4g}" in named[0]
    assert "1 of the 3 run(s) proposed at step 0" in named[0]


def test_guardrail_column_names_the_rule(fit):
    """The best unit blocked by an earlier run at its point: its replacement's guardrail names
    the cap that blocked it (max_repeats, max_per_cell, or both)."""
    cands = pd.DataFrame({"N": [1e8, 1e9, 3e9, 1e10], "D": [2e9, 2e10, 6e10, 2e11]})
    free = _plan(fit, cands, k=1)
    best = free[["N", "D"]].iloc[:1]
    cases = {
        "restricted: max_repeats": design.Guardrails(),
        "restricted: max_per_cell": design.Guardrails(max_repeats=None, max_per_cell=1),
        "restricted: max_repeats, max_per_cell": design.Guardrails(max_per_cell=1),
    }
    for said, rails in cases.items():
        plan = _plan(fit, cands, k=1, guardrails=rails.after(best))
        assert plan["guardrail"].iloc[0] == said, (said, plan["guardrail"].tolist())
        assert not _near_any(plan, best).any()


@pytest.mark.parametrize("budget", [0, -1.0, np.nan, np.inf])
def test_scalar_budget_error_says_the_value(fit, budget):
    with pytest.raises(ValueError) as err:
        design.next_runs(fit, NEW, TARGET, k=1, budget=budget)
    message = str(err.value)
    assert f"got {budget!r}" in message and "positions" not in message, message


def test_cli_design_prints_5_figures_and_skips_trained_runs(fit, tmp_path, capsys):
    """``bayeslaws design`` on candidates holding three of the fit's runs and two new ones of
    many digits: the trained runs are not proposed (as a campaign counts the runs it started
    from); the printed table gives N, D, C and flops to 5 significant figures, PICKS.csv the
    full values."""
    path = tmp_path / "fit.nc"
    quiet(fit.save, path)
    odd = pd.DataFrame({"N": [105737126.3440564, 9.87654321e9], "D": [2.1234567e11, 2.0e11]})
    cands = pd.concat([_trained(fit).iloc[[0, 7, 13]], odd], ignore_index=True)
    cands.to_csv(tmp_path / "cands.csv", index=False)
    out = tmp_path / "picks.csv"
    argv = ["design", str(path), "--candidates", str(tmp_path / "cands.csv"), "--k", "5"]
    assert quiet(main, [*argv, "--cost", "none", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    picks = pd.read_csv(out)
    assert "105737126.3" not in printed and "1.0574e+08" in printed, printed
    assert "2.1235e+11" in printed and "2.1234567e+11" not in printed, printed
    assert not _near_any(picks, _trained(fit)).any(), picks[["N", "D"]]
    assert sorted(picks["N"]) == sorted(odd["N"])  # full precision in the file
