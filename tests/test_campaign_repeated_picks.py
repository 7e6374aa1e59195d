"""A campaign's runs recorded in the user's units, and units picked more than once (runs_of_plan,
proposed and recorded). All data SIMULATED (conftest's ``simulated_fit``: Chinchilla's law,
60M-6B params x 1B-100B tokens)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, quiet

from bayeslaws import design
from bayeslaws.design.batch import runs_of_plan
from bayeslaws.design.campaign import RecordWarning, guardrail_runs
from bayeslaws.runs import simulate

TARGET = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range


QUICK = {"warmup": 100, "draws": 100, "seed": 2}  # a small refit


# none of them a fitted run; 1e10 x 2e11 and 3e9 x 6e10 share D/N = 20, 2e9 x 2e11 is 100
CANDS = pd.DataFrame({"N": [1e8, 1e9, 3e9, 1e10], "D": [2e9, 2e10, 6e10, 2e11]})


BIG, SAME_RATIO, OTHER_RATIO = (1e10, 2e11), (3e9, 6e10), (2e9, 2e11)


REPEATS = design.Guardrails(max_repeats=None, ratio_diversity=False)


@pytest.fixture(scope="module")
def fit(simulated_fit):
    """The SIMULATED fit the tests share (its training runs: conftest's chinchilla_design)."""
    return simulated_fit


def _trained(runs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SIMULATED losses of ``runs`` (N, D): N, D, loss."""
    truth = {**TRUTH, "N": runs["N"].to_numpy(float), "D": runs["D"].to_numpy(float)}
    out = simulate.simulate_chinchilla_runs(truth, noise_sd=0.01, seed=seed)
    return out[["N", "D", "loss"]].reset_index(drop=True)


def _recorded(camp, new_runs, **options) -> list:
    """Campaign.record with its RecordWarnings' messages returned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp.record(new_runs, **options, **QUICK)
    return [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]


def _plan(fit, cands, **options):
    """next_runs (no costs, the fitted law alone) with its warnings: (plan, [warning, ...])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = design.next_runs(fit, cands, TARGET, cost=None, model="none", **options)
    return plan, list(caught)


# ---- 1. a DataFrame recorded in other units ----------------------------------------------------
def test_runs_recorded_in_millions_match_their_proposal_and_are_kept_canonical(fit, tmp_path):
    """The proposed run trained and logged with N in millions, recorded with units=: no
    RecordWarning, the campaign's runs (and runs.csv) hold N in parameters matched to the
    proposed run, and the next proposal does not offer that point again."""
    camp = design.Campaign.start(fit, TARGET, folder=tmp_path / "c", seed=0, model="none")
    quiet(camp.propose, CANDS, k=1)
    proposed = camp.proposed_runs()
    new = _trained(proposed, seed=9)
    given = new.assign(N=new["N"] / 1e6)  # the user's log: N in millions
    assert _recorded(camp, given, units={"N": "millions"}) == []
    np.testing.assert_allclose(camp.runs["N"], proposed["N"], rtol=1e-12)
    np.testing.assert_allclose(camp.runs["proposed_N"], proposed["N"], rtol=1e-12)
    saved = quiet(design.Campaign.load, tmp_path / "c")
    np.testing.assert_allclose(saved.runs["N"], proposed["N"], rtol=1e-12)
    again = quiet(camp.propose, CANDS, k=1)
    picked = list(zip(proposed["N"], proposed["D"], strict=True))
    assert not set(zip(again["N"], again["D"], strict=True)) & set(picked)


# ---- 2. repeated picks ---------------------------------------------------------------------------
def test_runs_of_plan_gives_one_row_per_pick(fit):
    """A unit picked 4 times (repeats allowed) gives its run 4 times, each with its pick's rank
    and info; a budget fill of one unit alike; cands with sweep units repeat each sweep."""
    plan, _ = _plan(fit, CANDS.iloc[[0, 3]], k=4, guardrails=REPEATS)
    assert len(plan) == 4 and plan["unit"].nunique() < 4  # some unit picked again
    runs = runs_of_plan(CANDS.iloc[[0, 3]], plan, fit)
    assert runs["rank"].tolist() == plan["rank"].tolist()
    assert runs["unit"].tolist() == plan["unit"].tolist()
    np.testing.assert_allclose(runs["info"], plan["info"])
    np.testing.assert_allclose(runs["N"], plan["N"])
    one = CANDS.iloc[[3]]
    budget = 3 * 6 * BIG[0] * BIG[1]  # three picks of the one unit
    fill, _ = _plan(fit, one, k=None, budget=budget, guardrails=REPEATS)
    assert len(fill) == 3
    assert len(runs_of_plan(one, fill, fit)) == 3
    sweeps = pd.DataFrame({"N": [1e8, 2e8, 3e8], "unit": ["a", "b", "a"]}, index=list("xyz"))
    picks = pd.DataFrame({"unit": ["a", "b", "a"], "rank": [1, 2, 3], "info": [0.5, 0.3, 0.2]})
    out = runs_of_plan(sweeps, picks)
    assert out.index.tolist() == ["x", "z", "y", "x", "z"]
    assert out["rank"].tolist() == [1, 1, 2, 3, 3]
    assert out["info"].tolist() == [0.5, 0.5, 0.3, 0.2, 0.2]


def test_a_campaign_proposes_and_records_a_repeated_pick(fit):
    """Repeats up to 2 per design point: one unit picked twice is proposed as two runs; both
    trained runs (sizes rounded as a log prints them) match it, no RecordWarning, and the
    guardrails count both, so the point is not proposed a third time."""
    rails = design.Guardrails(max_repeats=2, ratio_diversity=False)
    camp = design.Campaign.start(fit, TARGET, guardrails=rails, seed=0, model="none")
    plan = quiet(camp.propose, CANDS.iloc[[3]], k=2)
    proposed = camp.proposed_runs()
    assert len(plan) == 2 and len(proposed) == 2
    assert proposed["rank"].tolist() == [1, 2]
    new = _trained(proposed.assign(N=proposed["N"] * np.array([1.003, 0.998])), seed=4)
    assert _recorded(camp, new) == []
    np.testing.assert_allclose(camp.runs["proposed_N"], [BIG[0], BIG[0]], rtol=1e-12)
    assert len(guardrail_runs(camp.runs).drop_duplicates(["N", "D"])) == 1
    again = quiet(camp.propose, CANDS.iloc[[3]], k=1)
    assert again.empty


# ---- runs logged without C or D, read as the update reads them --------------------------------
# Campaign.record matched the new runs on its own scaling of the given columns while fit.update
# read them with load_runs: runs logged as N (in millions) and C, without D, were fitted with D
# from the compute model but matched no proposed run, and runs logged as N and D were kept
# without the C the fit gave them.
def _fitted_new_runs(camp, n: int) -> pd.DataFrame:
    """The last ``n`` runs of the campaign's (refitted) fit: the new runs as the update read
    them."""
    return camp.fit.training_runs().df.iloc[-n:].reset_index(drop=True)


@pytest.mark.parametrize("given", ["N and D", "N and C"])
def test_runs_given_without_c_or_d_in_millions_match_and_are_kept_as_fitted(
    simulated_fit, given
):
    """The proposed run logged with N in millions and either D (no C) or C (no D, rounded to 4
    figures as a log prints it), recorded with units=: no RecordWarning, matched to the
    proposed run, and the campaign's runs hold N, D and C as the refit holds them (C or D
    completed by the fit's compute model). Old code: the N-and-C run matched nothing (no D),
    and the N-and-D run was kept without C."""
    camp = design.Campaign.start(simulated_fit, TARGET, seed=0, model="none")
    quiet(camp.propose, CANDS, k=1)
    proposed = camp.proposed_runs()
    new = _trained(proposed, seed=9)
    logged = new.assign(N=new["N"] / 1e6)  # the user's log: N in millions
    if given == "N and C":
        flops = camp.fit.compute_model.flops(new["N"], new["D"])
        logged = logged.assign(C=[float(f"{c:.4g}") for c in flops]).drop(columns="D")
    assert _recorded(camp, logged, units={"N": "millions"}) == []
    np.testing.assert_allclose(camp.runs["proposed_N"], proposed["N"], rtol=1e-12)
    np.testing.assert_allclose(camp.runs["proposed_D"], proposed["D"], rtol=1e-12)
    fitted = _fitted_new_runs(camp, len(new))
    for column in ("N", "D", "C"):
        np.testing.assert_allclose(camp.runs[column], fitted[column], rtol=1e-12)
