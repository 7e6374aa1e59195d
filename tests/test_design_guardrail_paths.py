"""bayeslaws.design: the size guardrail of a batch that ends early, and a campaign's recorded
runs read as the update reads them.

1. ``Guardrails(min_size_spread=...)`` is applied at a batch's last pick; a batch the budget or
   the candidates ended sooner came back with sizes spanning less, with no GuardrailWarning and
   no "relaxed" (the ratio rule already said so for its own case).
2. ``Campaign.record`` matched the new runs on its own scaling of the given columns while
   ``fit.update`` read them with ``load_runs``: runs logged as N (in millions) and C, without
   D, were fitted with D from the compute model but matched no proposed run (no D to match
   on), and runs logged as N and D were kept without the C the fit gave them.

All data SIMULATED (conftest's ``simulated_fit``: Chinchilla's law, 60M-6B params x 1B-100B
tokens)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, quiet

from bayeslaws import design
from bayeslaws.design.campaign import RecordWarning
from bayeslaws.runs import simulate

TARGET = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range
QUICK = {"warmup": 100, "draws": 100, "seed": 2}  # a small refit
# BIG and NEAR: sizes a factor 3.3 apart, one D/N (20); FAR: 20x smaller than BIG, D/N 20
BIG, NEAR, FAR = (1e10, 2e11), (3e9, 6e10), (5e8, 1e10)
SPREAD = design.Guardrails(ratio_diversity=False, min_size_spread=10.0)
CANDS = pd.DataFrame({"N": [1e8, 1e9, 3e9, 1e10], "D": [2e9, 2e10, 6e10, 2e11]})


def _plan(fit, cands, **options):
    """next_runs (no costs, the fitted law alone): (plan, its GuardrailWarnings' messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = design.next_runs(fit, cands, TARGET, cost=None, model="none", **options)
    said = [str(w.message) for w in caught if issubclass(w.category, design.GuardrailWarning)]
    return plan, said


def _flops(*runs) -> float:
    return float(sum(6 * n * d for n, d in runs))


# ---- 1. the size rule of a batch that ends early ------------------------------------------------
@pytest.mark.parametrize("ended_by", ["candidates", "budget"])
def test_a_batch_ended_early_below_the_size_spread_warns_and_is_labelled_relaxed(
    simulated_fit, ended_by
):
    """k=3 of two units 3.3x apart in N (the candidates end the batch), or of three where the
    budget affords only those two (FAR, which spans the factor, no longer fits after them):
    one GuardrailWarning naming min_size_spread, and the last pick "relaxed"."""
    if ended_by == "candidates":
        plan, said = _plan(simulated_fit, pd.DataFrame([BIG, NEAR], columns=["N", "D"]), k=3,
                           guardrails=SPREAD)  # fmt: skip
    else:
        cands = pd.DataFrame([BIG, NEAR, FAR], columns=["N", "D"])
        budget = _flops(BIG, NEAR) + _flops(FAR) / 2
        plan, said = _plan(simulated_fit, cands, k=3, budget=budget, guardrails=SPREAD)
    assert len(plan) == 2, plan[["N", "D"]]
    assert plan["N"].max() / plan["N"].min() < SPREAD.min_size_spread
    assert len(said) == 1 and "min_size_spread=10" in said[0], said
    assert "ratio_tol" not in said[0]  # the ratio rule is off
    assert plan["guardrail"].tolist()[-1] == "relaxed"


def test_both_rules_broken_at_an_early_end_warn_once_naming_both(simulated_fit):
    """Two units at one D/N and 3.3x apart in N, k=3: one warning naming both rules."""
    rails = design.Guardrails(min_size_spread=10.0)
    plan, said = _plan(simulated_fit, pd.DataFrame([BIG, NEAR], columns=["N", "D"]), k=3,
                       guardrails=rails)  # fmt: skip
    assert len(plan) == 2 and len(said) == 1, said
    assert "ratio_tol=1.5" in said[0] and "min_size_spread=10" in said[0]
    assert plan["guardrail"].tolist()[-1] == "relaxed"


def test_a_batch_ended_early_that_spans_the_sizes_says_nothing(simulated_fit):
    """Two units 20x apart in N, k=3: the batch ends early but meets the size rule."""
    plan, said = _plan(simulated_fit, pd.DataFrame([BIG, FAR], columns=["N", "D"]), k=3,
                       guardrails=SPREAD)  # fmt: skip
    assert len(plan) == 2 and said == []
    assert "relaxed" not in plan["guardrail"].tolist()


def test_the_rules_one_test_each():
    """one_ratio and spans state the rules the picks and the early end both apply: D/N within
    the factor counts as one ratio; sizes exactly a factor apart (round-off in the logs)
    span it."""
    from bayeslaws.design.batch import one_ratio, spans, unmet_rules

    assert one_ratio(np.array([20.0, 29.0]), 1.5) and not one_ratio(np.array([20.0, 31.0]), 1.5)
    assert spans(np.log(1e9), np.log(1e9 * 10.0), 10.0)
    assert not spans(np.log(1e9), np.log(9.9e9), 10.0)
    rails = design.Guardrails(min_size_spread=10.0)
    ratio, sizes = np.array([20.0, 20.0]), np.array([1e10, 3e9])
    assert [name for name, _, _ in unmet_rules(rails, ratio, sizes)] == [
        "the ratio guardrail",
        "the size guardrail",
    ]
    assert unmet_rules(design.Guardrails(), np.array([20.0, 100.0]), sizes) == []


# ---- 2. a campaign's recorded runs, read as the update reads them --------------------------------
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
