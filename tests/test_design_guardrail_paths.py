"""bayeslaws.design: the size guardrail of a batch that ends early.
``Guardrails(min_size_spread=...)`` is applied at a batch's last pick; a batch the budget or the
candidates ended sooner came back with sizes spanning less, with no GuardrailWarning and no
"relaxed" (the ratio rule already said so for its own case).

All data SIMULATED (conftest's ``simulated_fit``: Chinchilla's law, 60M-6B params x 1B-100B
tokens)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design

TARGET = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range
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
    from bayeslaws.design.guardrails import one_ratio, spans, unmet_rules

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
