"""bayeslaws.design, review 11: a budget fill with repeats allowed, integer unit labels, the
candidates' impossible values, and a target the law cannot value.

1. With the repeat cap off (``Guardrails(None, False)``) a fill (k=None) stopped after one pick
   per cheapest unit (0.5% of the budget) and the warning blamed the guardrails; k above the
   number of units stopped there too ("there are only 12 candidate unit(s)"). Now repeats go
   on until the budget or k; a fill stops at most at ``MAX_FILL_PICKS`` picks, and says so.
2. Plans of candidates without a unit column showed unit 10.0 and n_runs 4.0 (floats).
3. N = 0.5, a D below one token derived from C, and True/False values only warned.
4. A target the law cannot value (law hyperparams, loss_level 'free', at an unfitted cell) got
   "target draws are not finite": the message now names the component and the law's remedy.

All data SIMULATED (conftest fits)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.design import batch, targets
from bayeslaws.design.candidates import check_candidates
from bayeslaws.runs.checks import ArgumentTypeError

NEAR = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range (60M-6B params, 1B-100B tokens)
# three units inside the fitted range, of 6e17, 1.8e19 and 3.6e20 FLOPs
THREE = pd.DataFrame({"N": [1e8, 6e8, 3e9], "D": [1e9, 5e9, 2e10]})
OFF = design.Guardrails(None, False)
OPTS = {"model": "none", "max_draws": 100}


def _run(fit, cands, **options):
    """next_runs with its warnings recorded: (plan, [message, ...])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = design.next_runs(fit, cands, NEAR, **{**OPTS, **options})
    return plan, [str(w.message) for w in caught]


# ---- 1. repeats fill the budget ------------------------------------------------------------------
def test_a_fill_with_repeats_allowed_spends_the_budget(simulated_fit):
    """Budget 10 times the cheapest unit, repeats allowed: the fill went on only while distinct
    units fit (3 picks); now it picks until no unit fits what is left, with no warning blaming
    the guardrails (they are off)."""
    flops = 6 * THREE["N"] * THREE["D"]
    budget = 10 * float(flops.min())
    plan, said = _run(simulated_fit, THREE, k=None, budget=budget, guardrails=OFF)
    spent = float(plan["flops"].sum())
    assert spent <= budget * (1 + 1e-9)
    assert budget - spent < float(flops.min())  # nothing more fits
    assert len(plan) > len(THREE)  # so some unit was picked again
    assert not any("guardrails" in s for s in said), said


def test_k_above_the_number_of_units_is_reached_with_repeats(simulated_fit):
    """k=5 of 3 units with repeats allowed: 5 picks, not 3 with "there are only 3"."""
    plan, said = _run(simulated_fit, THREE, k=5, guardrails=OFF, cost=None)
    assert len(plan) == 5
    assert not any("asked for k" in s for s in said), said


def test_a_repeat_cap_of_two_allows_two_picks_of_each_unit(simulated_fit):
    """max_repeats=2, two units: a fill makes 4 picks (each unit as often as the cap allows,
    so it says nothing, as a fill of each unit once does), and a short k=5 batch names the
    cap; a third unit at the first's design point is refused by the guardrails, and that is
    said."""
    two = THREE.iloc[:2]
    rails = design.Guardrails(max_repeats=2, ratio_diversity=False)
    plan, said = _run(simulated_fit, two, k=None, budget=1e25, guardrails=rails)
    assert len(plan) == 4 and sorted(plan["unit"].value_counts()) == [2, 2]
    assert not [s for s in said if "spends" in s], said
    short, said = _run(simulated_fit, two, k=5, guardrails=rails)
    assert len(short) == 4
    assert any("there are only 2 candidate unit(s)" in s and "max_repeats=2" in s for s in said)
    shared = pd.concat([two, two.iloc[:1]], ignore_index=True)  # unit 2: unit 0's point
    plan, said = _run(simulated_fit, shared, k=None, budget=1e25, guardrails=rails)
    assert len(plan) == 4
    assert [s for s in said if "although 1 unit(s) still fit" in s and "max_repeats=2" in s]


def test_a_fill_stopped_by_its_most_picks_says_so(simulated_fit, monkeypatch):
    """A fill makes at most MAX_FILL_PICKS picks (or one per unit when there are more): a
    budget that affords more stops there, with a warning naming that cap, not the guardrails."""
    monkeypatch.setattr(batch, "MAX_FILL_PICKS", 5)  # small, so that the test stays fast
    plan, said = _run(simulated_fit, THREE, k=None, budget=1e25, guardrails=OFF)
    assert len(plan) == 5
    (stopped,) = [s for s in said if "stopped at 5 picks" in s]
    assert "k=" in stopped and "guardrails" not in stopped
    assert batch.most_picks(np.array([1.0, 2.0]), None, 100.0, None) == 5
    assert batch.most_picks(np.array([1.0, 2.0]), None, 100.0, 1) == 2  # no repeats: the units
    assert batch.most_picks(np.array([1.0, 2.0]), 9, 100.0, None) == 9  # k asks for more


def test_most_picks_counts_the_cheapest_fill():
    """The pick count a budget affords: each unit at most max_repeats times, cheapest first."""
    flops = np.array([4.0, 1.0, 2.0])
    assert batch.most_picks(flops, 50, 7.0, None) == 7  # 7 picks of the 1-FLOP unit
    assert batch.most_picks(flops, 50, 7.0, 2) == 4  # 1, 1, 2, 2
    assert batch.most_picks(flops, 50, 7.0, 1) == 3  # 1, 2, 4
    assert batch.most_picks(flops, 50, 6.9, 1) == 2


def test_guard_default_guardrails_fill_unchanged(simulated_fit):
    """Guard (passes on the old code too): with the default repeat cap a fill still picks each
    unit at most once and spends what the distinct units allow."""
    plan, _ = _run(simulated_fit, THREE, k=None, budget=1e25)
    assert plan["unit"].is_unique and len(plan) == len(THREE)


# ---- 2. integer unit labels ----------------------------------------------------------------------
def test_unit_and_n_runs_stay_integers(simulated_fit):
    plan, _ = _run(simulated_fit, THREE, k=2)
    assert plan["unit"].dtype.kind == "i" and plan["n_runs"].dtype.kind == "i"
    assert set(plan["unit"]) <= {0, 1, 2}


# ---- 3. impossible candidate values --------------------------------------------------------------
def test_fewer_than_one_parameter_or_token_is_refused(simulated_fit):
    tiny = pd.DataFrame({"N": [1e8, 0.5], "D": [2e9, 2e10]})
    with pytest.raises(ValueError, match=r"column 'N' has values below 1 parameter at rows 1 "):
        check_candidates(simulated_fit, tiny)
    short = pd.DataFrame({"N": [1e8, 1e9, 1e9], "C": [1e18, 1.0, 3.0]})  # D = C / 6N < 1
    with pytest.raises(ValueError, match=r"column 'D' \(derived from C.* at rows 1, 2 "):
        design.rank_candidates(simulated_fit, short, NEAR)


def test_true_false_values_are_refused(simulated_fit):
    flags = pd.DataFrame({"N": [True, True], "D": [2e9, 2e10]})
    with pytest.raises(ArgumentTypeError, match=r"cands\['N'\] holds True/False .* rows 0, 1 "):
        design.rank_candidates(simulated_fit, flags, NEAR)
    mixed = pd.DataFrame({"N": [1e8, 1e9], "D": pd.Series([2e9, True], dtype=object)})
    with pytest.raises(ArgumentTypeError, match=r"cands\['D'\] holds True/False .* rows 1 "):
        check_candidates(simulated_fit, mixed)
    with pytest.raises(ArgumentTypeError, match=r"cands\['gpu_hours'\] holds True/False"):
        design.next_runs(simulated_fit, THREE.assign(gpu_hours=True), NEAR, cost="gpu_hours")


# ---- 4. a target the law cannot value ------------------------------------------------------------
def test_an_unvalued_target_names_its_component_and_the_remedy(small_sweep_hp_fit):
    """Law hyperparams (loss_level 'free') knows the loss only at its fitted cells: the target's
    loss components at an unfitted cell are named, with the law's remedy; its eta_opt is not."""
    fit = small_sweep_hp_fit
    hint = fit.law.missing_values_hint
    assert hint  # the law's own remedy, which the message must carry
    for target, label in [
        (design.HyperparamOpt(N=1e9, D=2e10, which="all"), "loss_opt(N=1e+09, D=2e+10)"),
        (
            design.Loss(N=1e9, D=2e10, lr=1e-3, batch_size=2e5),
            "L(N=1e+09, D=2e+10, lr=0.001, B=2e+05)",
        ),
    ]:
        with pytest.raises(ValueError) as err, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            targets.target_draws(fit, target, 0, None)
        said = str(err.value)
        assert label in said and hint in said
        assert "eta_opt(" not in said
    cands = pd.DataFrame({"N": [0.057e9], "D": [5e9], "lr": [2e-4], "batch_size": [1e5]})
    with pytest.raises(ValueError, match=r"loss_opt\(N=1e\+09, D=2e\+10\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design.rank_candidates(fit, cands, design.HyperparamOpt(N=1e9, D=2e10, which="loss"))


def test_an_unvalued_target_of_a_law_without_a_remedy_says_why_in_general():
    """A law with no ``missing_values_hint``: the component and count are named, and that some
    laws predict no value away from their fitted points."""
    fit = SimpleNamespace(law=SimpleNamespace(name="mine", missing_values_hint=""))
    draws = np.array([[0.1, np.nan], [0.2, np.nan], [0.3, 0.4]])
    said = targets.unvalued_message(fit, draws, ["a", "b"])
    assert "b (2 of 3 draws)" in said and "a (" not in said
    assert "law 'mine'" in said and "loss_level='surface'" in said
