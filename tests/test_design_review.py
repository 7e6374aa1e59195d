"""bayeslaws.design, review round 2: candidates' own compute model, a campaign's starting runs,
the candidates' group column and numbers given as text."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.design import campaign, discrepancy
from bayeslaws.design.candidates import with_model
from bayeslaws.runs.compute import linear

FAR = design.Loss(N=3e10, D=6e11)  # beyond the fitted range (60M-6B params, 1B-100B tokens)
OPTS = {"cost": None, "max_draws": 100, "seed": 0}


def _keys(df) -> set:
    return set(zip(np.round(np.log(df["N"]), 6), np.round(np.log(df["D"]), 6), strict=True))


def test_candidates_own_compute_model_only_costs_them(simulated_fit):
    """Candidates whose C is counted by another compute model (12ND) than the fit's (6ND) were
    compared with the fit's C range in their own FLOPs: the fit's largest run, trained again,
    seemed to widen the range along C (0.14 nats instead of 2e-5). The range, the law and the
    drift measure C as the fit does; the candidates' model only costs them."""
    base = pd.DataFrame({"N": [6e9, 1e9, 2e10], "D": [1e11, 3e10, 3e11]})  # largest, inside, beyond
    own = with_model(base.copy(), linear(12.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = design.rank_candidates(simulated_fit, base, FAR, **OPTS).sort_values("unit")
        twelve = design.rank_candidates(simulated_fit, own, FAR, **OPTS).sort_values("unit")
        plan6 = design.next_runs(simulated_fit, base, FAR, k=2, **OPTS)
        plan12 = design.next_runs(simulated_fit, own, FAR, k=2, **OPTS)
    np.testing.assert_allclose(twelve["info"], plain["info"], rtol=1e-9, atol=1e-12)
    assert plain["info"].iloc[0] < 1e-3  # the largest run again: (almost) nothing to learn
    np.testing.assert_allclose(twelve["flops"], 2 * plain["flops"], rtol=1e-12)  # costed by 12ND
    np.testing.assert_allclose(twelve["C"], 12 * base["N"] * base["D"], rtol=1e-12)  # reported
    assert plan12["unit"].tolist() == plan6["unit"].tolist()
    np.testing.assert_allclose(plan12["cumulative_info"], plan6["cumulative_info"], rtol=1e-9)
    # the fit's own model: the very same frame, so those values stay bit-identical
    frame = base.assign(C=6 * base["N"] * base["D"])
    assert discrepancy.in_fit_flops(simulated_fit, frame, simulated_fit.compute_model) is frame
    np.testing.assert_allclose(
        discrepancy.in_fit_flops(simulated_fit, frame.assign(C=2 * frame["C"]), linear(12.0))["C"],
        frame["C"],
        rtol=1e-12,
    )


def test_a_campaign_never_proposes_the_runs_its_fit_was_trained_on(simulated_fit, tmp_path):
    """Campaign.propose counted only the runs recorded during the campaign, so its first pick
    was the starting fit's largest run trained again (the simulator counts every run); the
    starting runs are kept with the state, and a folder saved before they were kept loads with
    the saved fit's training runs less the recorded ones."""
    trained = simulated_fit.training_runs().df[["N", "D"]]
    fresh = pd.DataFrame({"N": [3e9, 8e9], "D": [3e10, 4e10]})
    cands = pd.concat([trained, fresh], ignore_index=True)
    folder = tmp_path / "camp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = design.Campaign.start(simulated_fit, FAR, folder=folder, model="none", **OPTS)
        plan = camp.propose(cands, k=3)
    assert len(plan) >= 1 and not (_keys(plan) & _keys(trained))
    assert len(design.Campaign.load(folder).start_runs) == len(trained)
    # a folder of the earlier format, two of the fit's runs recorded by the campaign
    camp.runs = trained.iloc[[0, 5]].assign(loss=3.0, step=0)
    camp.save()
    (folder / campaign.START_RUNS_FILE).unlink()
    old = design.Campaign.load(folder)
    assert len(old.start_runs) == len(trained) - 2
    assert _keys(old.start_runs) == _keys(trained.drop(index=[0, 5]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = old.propose(cands, k=3)
    assert len(again) >= 1 and not (_keys(again) & _keys(trained))


def test_the_candidates_group_column_is_the_group_they_are_valued_as(grouped_fit, simulated_fit):
    """A group column was used by the guardrails but not by the values: candidates labelled "B"
    were valued as group= ("A", or a new group when None). One label with group=None is used;
    a disagreement, or several groups in one table, is refused for a grouped fit."""
    N0 = float(np.median(grouped_fit.record.training_runs["N"]))
    D0 = float(np.median(grouped_fit.record.training_runs["D"]))
    cands = pd.DataFrame({"N": [N0, 3 * N0, 10 * N0], "D": [D0, 2 * D0, 10 * D0]})
    target = design.Loss(N=30 * N0, D=30 * D0, group="B")
    opts = {**OPTS, "model": "none"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_b = design.rank_candidates(grouped_fit, cands, target, group="B", **opts)
        column = design.rank_candidates(grouped_fit, cands.assign(group="B"), target, **opts)
        as_new = design.rank_candidates(grouped_fit, cands, target, **opts)
    np.testing.assert_array_equal(
        column.sort_values("unit")["info"], as_b.sort_values("unit")["info"]
    )
    assert not np.allclose(as_new.sort_values("unit")["info"], as_b.sort_values("unit")["info"])
    with pytest.raises(ValueError, match=r"cands\['group'\] is 'B' but group='A'"):
        design.next_runs(grouped_fit, cands.assign(group="B"), target, group="A", k=1, **opts)
    with pytest.raises(ValueError, match=r"cands\['group'\] holds several groups \['A', 'B'\]"):
        design.rank_candidates(grouped_fit, cands.assign(group=["A", "B", "A"]), target, **opts)
    # a label the fit has not seen: a new group (as group=None), not an error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unseen = design.rank_candidates(grouped_fit, cands.assign(group="new"), target, **opts)
    np.testing.assert_array_equal(
        unseen.sort_values("unit")["info"], as_new.sort_values("unit")["info"]
    )
    # a fit without groups: values do not depend on a group; the column labels runs only
    ranked = design.rank_candidates(simulated_fit, cands.assign(group=["a", "b", "a"]), **opts)
    assert len(ranked) == 3


def test_numbers_given_as_text_are_read_as_numbers(simulated_fit):
    """N given as text ("1e8") passed the positivity check and crashed later with an unrelated
    TypeError (float / str); it is read as the number it spells."""
    text = pd.DataFrame({"N": ["1e8", "1e9"], "D": [5e9, 1e10]})
    numbers = pd.DataFrame({"N": [1e8, 1e9], "D": [5e9, 1e10]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = design.next_runs(simulated_fit, text, FAR, k=1, **OPTS)
        b = design.next_runs(simulated_fit, numbers, FAR, k=1, **OPTS)
    pd.testing.assert_frame_equal(a, b)
    assert bl.design.rank_candidates(simulated_fit, text, FAR, **OPTS)["N"].dtype == float
