"""bayeslaws.app.plan.hp_candidates: the LR x batch sweeps the planning report values for
eta_opt and B_opt at the target run. next_runs_plan built them inline (twice the largest fitted
size and target_N, x target_D / 2.5 and target_D tokens), so planning.ipynb hard-coded the
bundled sweep's cells (5.2e8 params, 4e9 tokens) and stopped valuing the report's candidates
once a reader changed its TARGET_D. Units: N parameters, D tokens."""

from __future__ import annotations

import warnings

import pytest

from bayeslaws.app import plan


def _cells(table) -> dict:
    """Each unit's (N, D) cell, one per unit."""
    return {u: (n, d) for u, n, d in zip(table["unit"], table["N"], table["D"], strict=True)}


def test_hp_candidates_are_the_plans_sweeps(small_sweep_hp_fit, simulated_fit):
    """A target off the default (2e10 tokens): the plan's ranked sweeps are hp_candidates'."""
    target_N, target_D = 1.07e9, 2e10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the budget and target lie outside the small fits
        out = plan.next_runs_plan(
            small_sweep_hp_fit, simulated_fit, target_N, target_D, 1e22, seed=0
        )
        cands = plan.hp_candidates(small_sweep_hp_fit, target_N, target_D)
    ranked = out["design_hp_table"]
    assert _cells(ranked) == _cells(cands)
    largest = small_sweep_hp_fit.record.ranges["N"][1]  # 2.6e8 params
    assert set(_cells(cands).values()) == {
        (n, d) for n in (2 * largest, target_N) for d in (target_D / 2.5, target_D)
    }


def test_hp_candidates_list_each_cell_once(small_sweep_hp_fit):
    """target_N twice the largest fitted size: two cells, not four."""
    largest = small_sweep_hp_fit.record.ranges["N"][1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands = plan.hp_candidates(small_sweep_hp_fit, 2 * largest, 1e10)
    assert sorted(set(_cells(cands).values())) == [(2 * largest, 4e9), (2 * largest, 1e10)]
    assert cands["unit"].nunique() == 2
    assert len(cands) == 2 * cands.groupby("unit").size().iloc[0]  # whole sweeps, same grid
    assert cands["N"].map(lambda n: n == pytest.approx(2 * largest)).all()
