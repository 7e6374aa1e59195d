"""simulate_campaign keeps the warnings of choosing the next runs: they were silenced
(``simplefilter("ignore")`` around ``next_runs``), so a batch smaller than asked, a
GuardrailWarning or a DesignWarning left no trace. They are recorded per step in the history
column ``design_warnings`` (as a replay's) and named once, aggregated, at the user's line
(SIMULATED data: VideoDiTTruth)."""

from __future__ import annotations

import warnings

import pandas as pd

from bayeslaws.app.replay import split_warnings
from bayeslaws.design import DesignWarning, GuardrailWarning

TINY = {"chains": 1, "warmup": 100, "draws": 100}


def _run(**kwargs):
    """simulate_campaign under "always", with every warning it shows."""
    from bayeslaws.app import campaign

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = campaign.simulate_campaign(fit_options=TINY, max_draws=50, **kwargs)
    return res, caught


def _step_cells(history: pd.DataFrame, strategy: str) -> dict:
    """{step: design_warnings cell} of one strategy (seed 0)."""
    h = history[history["strategy"] == strategy].drop_duplicates("step")
    return dict(zip(h["step"], h["design_warnings"], strict=True))


def test_design_warnings_are_recorded_per_step_and_named_once(monkeypatch):
    """next_runs warning at every choice (a GuardrailWarning and a DesignWarning): each step that
    chose holds both texts; random (no next_runs) and the last step (no choice) hold ""; the
    texts are not shown one by one but in one DesignWarning, with counts, at this file's line."""
    from bayeslaws.app import campaign

    def next_runs(fit, candidates, **options):
        warnings.warn("fake guardrail relaxed", GuardrailWarning, stacklevel=2)
        warnings.warn("fake design trouble", DesignWarning, stacklevel=2)
        return candidates.iloc[: options["k"]]

    monkeypatch.setattr(campaign, "next_runs", next_runs)
    res, caught = _run(strategies=("ours", "random"), seeds=0, batch=1, max_steps=2)
    ours = _step_cells(res.history, "ours")
    assert sorted(ours) == [0, 1, 2]
    for step in (0, 1):
        assert split_warnings(ours[step]) == [
            "GuardrailWarning: fake guardrail relaxed",
            "DesignWarning: fake design trouble",
        ], step
    assert ours[2] == ""
    assert set(_step_cells(res.history, "random").values()) == {""}
    shown = [str(w.message) for w in caught]
    assert not any(m.startswith("fake") for m in shown), shown  # not one warning per step
    design = [w for w in caught if w.category is DesignWarning]
    assert len(design) == 1, shown
    text = str(design[0].message)
    assert "choosing the next runs warned at 2 of 6 history rows" in text
    assert "ours seed 0 step 0 (GuardrailWarning, DesignWarning)" in text
    assert "ours seed 0 step 1" in text and "random seed" not in text
    assert "The first: GuardrailWarning: fake guardrail relaxed" in text
    assert design[0].filename == __file__


def test_a_batch_smaller_than_asked_is_no_longer_silent():
    """The real next_runs (information alone) buys the one large cell that leaves no room for
    a second: its "asked for k=2 units, picked 1" warning was dropped; now the step's
    design_warnings hold it and a DesignWarning names the step."""
    from bayeslaws.app import campaign

    truth = campaign.VideoDiTTruth()
    start = campaign.paper_start()
    pool = pd.DataFrame({"N": [0.017e9, 0.03e9, 0.26e9], "D": [1e9, 1e9, 12e9]})
    costs = truth.flops(pool["N"], pool["D"])
    # the large cell and half the cheapest: any first pick leaves room for at most one more
    budget = float(truth.flops(start["N"], start["D"]).sum() + costs[2] + 0.5 * costs[0])
    res, caught = _run(
        strategies="ours_no_cost", seeds=0, pool=pool, budget=budget, batch=2, max_steps=1
    )
    bought = res.runs[res.runs["step"] == 1]
    assert len(bought) == 1  # the scenario: fewer runs than batch=2
    cell = _step_cells(res.history, "ours_no_cost")[0]
    assert any(
        t.startswith("UserWarning: asked for k=2 units, picked 1")
        for t in split_warnings(cell)
    ), cell
    design = [str(w.message) for w in caught if w.category is DesignWarning]
    assert len(design) == 1 and "ours_no_cost seed 0 step 0 (" in design[0]
