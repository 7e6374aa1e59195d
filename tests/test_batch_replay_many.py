"""replay_many: its campaigns' warnings raised again at the caller's line, each with its
category and campaign's name, and its batch generator closed when log or checkpoint raises
(review 8 of the batch layer; all data SIMULATED, no fit: the campaigns' fits are stubbed)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import tiny_loss_pool

from bayeslaws.app import replay
from bayeslaws.app.replay import fits, many
from bayeslaws.app.replay import steps as replay_steps


# ---- replay_many: the campaigns' warnings, and its batch closed on an error -------------------
@pytest.fixture
def no_fits(monkeypatch):
    """Campaigns without fits: the start's fit and its score are stubs (in process only)."""
    for module in (fits, replay_steps):  # the start fit (fit_start) and the steps' refits
        monkeypatch.setattr(module, "fit_runs", lambda *args: "a fit")
        monkeypatch.setattr(module, "calibrated", lambda pool, fit, seed: fit)

    def scored(pool, strategy, seed, budget, trained, fit, seconds):
        row = {"pool": pool.name, "strategy": strategy, "seed": seed, "budget": budget}
        return row, pd.DataFrame({"strategy": [strategy], "budget": [budget]})

    monkeypatch.setattr(replay_steps, "_scored", scored)  # campaign_steps' lookup


def _overspent_budgets(pool: replay.Pool) -> tuple[float]:
    """A budget below what the start design of seed 0 spends: a BudgetWarning."""
    share = pool.runs.loc[pool.start(0), "C"].sum() / pool.compute
    return (float(share / 2),)


def test_replay_many_raises_its_campaigns_warnings_again_with_their_category(no_fits):
    pool = tiny_loss_pool()
    budgets = _overspent_budgets(pool)
    with warnings.catch_warnings(record=True) as single:
        warnings.simplefilter("always")
        replay.replay(pool, ("random",), (0, 1), budgets=budgets)  # what replay shows
    expected = [str(w.message) for w in single if w.category is replay.BudgetWarning]
    assert len(expected) == 2 and "seed 1:" in expected[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history, _ = replay.replay_many(
            pool, ("random",), (0, 1), budgets=budgets, show_progress=False
        )
    assert len(history) == 4  # the start and one budget, per campaign
    raised = [w for w in caught if w.category is replay.BudgetWarning]
    assert [str(w.message) for w in raised] == [
        f"replay_many: 'tiny (SIMULATED) random seed {seed}': {message}"
        for seed, message in enumerate(expected)
    ]
    assert {w.filename for w in raised} == {__file__}  # at the caller's line


def test_replay_many_closes_its_batch_when_a_checkpoint_raises(no_fits, monkeypatch):
    """The batch generator was left to garbage collection, which the traceback (kept by a
    notebook, or here by pytest) put off: the local pool's workers ran on."""
    closed = []
    real = many.iter_map_tasks

    def spied(*args, **kwargs):
        try:
            yield from real(*args, **kwargs)
        finally:
            closed.append(True)

    monkeypatch.setattr(many, "iter_map_tasks", spied)  # replay_many's lookup

    def checkpoint(history, components):
        raise RuntimeError("checkpoint failed (disk full)")

    pool = tiny_loss_pool()
    with (
        warnings.catch_warnings(),
        pytest.raises(RuntimeError, match="disk full") as raised,
    ):
        warnings.simplefilter("ignore", replay.BudgetWarning)
        replay.replay_many(
            pool, ("random",), (0, 1), budgets=_overspent_budgets(pool), checkpoint=checkpoint,
            show_progress=False,
        )  # fmt: skip
    assert raised.traceback  # the traceback (and replay_many's frame) is still held
    assert closed == [True]
