"""One rule for "the same design point" (runs.repeats.same_design_value: within MATCH_RTOL, 1%):
the design caps (a candidate near an earlier run is that run: Guardrails.after + next_runs) and
Campaign.record (a recorded run near a proposed run is that run) agree at its boundary, a run
0.99% away matching and one 1.01% away not. All data SIMULATED (conftest's ``simulated_fit``:
Chinchilla's law, 60M-6B params x 1B-100B tokens)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, quiet

from bayeslaws import design
from bayeslaws.design.campaign import RecordWarning
from bayeslaws.runs import simulate
from bayeslaws.runs.repeats import MATCH_RTOL, same_design_value

TARGET = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range
QUICK = {"warmup": 100, "draws": 100, "seed": 2}  # a small refit
INSIDE, OUTSIDE = 0.99 * MATCH_RTOL, 1.01 * MATCH_RTOL  # 0.99% and 1.01% away in N
# far apart, and none of them a fitted run (conftest's chinchilla_design)
CANDS = pd.DataFrame({"N": [1e8, 2e9], "D": [2e9, 2e11]})  # D/N 20 and 100


def moved(df: pd.DataFrame, offset: float) -> pd.DataFrame:
    """``df`` with N moved up by ``offset`` (relative)."""
    return df.assign(N=df["N"] * (1 + offset))


def rule(offset: float) -> bool:
    """The one rule's verdict on a run ``offset`` (relative) away in N from another."""
    n = float(CANDS["N"].iloc[0])
    return bool(same_design_value(np.log(n * (1 + offset)), np.log(n)))


def test_the_rule_holds_its_boundary():
    assert rule(INSIDE) and not rule(OUTSIDE)
    assert bool(same_design_value(np.nan, np.nan))  # both missing (e.g. no lr): the same
    assert not bool(same_design_value(np.nan, 0.0))


@pytest.mark.parametrize("offset", [INSIDE, OUTSIDE])
def test_the_caps_count_a_candidate_near_an_earlier_run_by_the_rule(simulated_fit, offset):
    """A candidate ``offset`` away from a trained run is that run for the repeat cap (not
    proposed) exactly when the rule says so."""
    trained = CANDS.iloc[[0]]
    rails = design.Guardrails().after(trained)
    opts = {"cost": None, "model": "none", "max_draws": 100, "k": 1}
    plan = quiet(design.next_runs, simulated_fit, moved(trained, offset), guardrails=rails, **opts)
    assert plan.empty == rule(offset)
    fresh = quiet(design.next_runs, simulated_fit, moved(trained, offset), **opts)
    assert len(fresh) == 1  # without the earlier run it is proposable


def test_record_matches_a_run_to_its_proposed_run_by_the_rule(simulated_fit):
    """Two proposed runs trained 0.99% and 1.01% off in N: the first is matched to its
    proposed run (proposed_N), the second matches none (a RecordWarning names it), as the
    caps count them."""
    camp = design.Campaign.start(simulated_fit, TARGET, seed=0, model="none")
    quiet(camp.propose, CANDS, k=2)
    proposed = camp.proposed_runs()[["N", "D"]].reset_index(drop=True)
    offsets = [INSIDE, OUTSIDE]
    given = proposed.assign(N=proposed["N"] * (1 + np.array(offsets)))
    truth = {**TRUTH, "N": given["N"].to_numpy(float), "D": given["D"].to_numpy(float)}
    given["loss"] = simulate.simulate_chinchilla_runs(truth, noise_sd=0.01, seed=9)["loss"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp.record(given, **QUICK)
    told = [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]
    matched = camp.runs["proposed_N"].notna().tolist()
    assert matched == [rule(o) for o in offsets] == [True, False]
    np.testing.assert_allclose(camp.runs["proposed_N"].iloc[0], proposed["N"].iloc[0])
    (unmatched,) = [m for m in told if "match no run proposed" in m]
    assert "rows 1 match" in unmatched
