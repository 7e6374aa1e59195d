"""A grouped fit's design says which group its runs are for (s54 H5).

``next_runs(fit, cands, group="A")`` with candidates that carry no ``group`` column (as
``isoflop_candidates(..., group="A")`` and ``hyperparameter_candidates`` make them) valued the
runs as group A's but returned them without a word of it: the picks, the runs to train
(``runs_of_plan``), ``bayeslaws design --out`` and the plan's ``next_runs.csv`` had no group
column, so a file shared with the team, or fed back to ``fit.update``, did not say which group
the runs belong to."""

from __future__ import annotations

import warnings

import pytest

from bayeslaws import design
from bayeslaws.app import plan

C_TARGET = 1e21  # FLOPs: the N_opt target of the design


@pytest.fixture(scope="module")
def group_a_candidates(grouped_fit):
    """Three sizes on two isoFLOP lines centred on group A's N_opt (no group column)."""
    return design.isoflop_candidates([3e18, 1e19], 3, fit=grouped_fit, group="A")


def design_quietly(fit, cands, target, group):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far budgets, tiny fits: not this test's subject
        batch = design.next_runs(fit, cands, target, k=2, group=group, model="none")
        ranked = design.rank_candidates(fit, cands, target, group=group, model="none")
    return batch, ranked


def test_picks_of_a_fitted_group_carry_its_label(grouped_fit, group_a_candidates):
    assert "group" not in group_a_candidates
    target = design.NOpt(C_TARGET, group="A")
    batch, ranked = design_quietly(grouped_fit, group_a_candidates, target, "A")
    assert batch["group"].tolist() == ["A", "A"]
    assert set(ranked["group"]) == {"A"}
    assert list(batch.columns).index("group") < list(batch.columns).index("unit")
    runs = design.runs_of_plan(group_a_candidates, batch, grouped_fit)
    assert set(runs["group"]) == {"A"}
    # the table of runs to train (bayeslaws design --out, the plan's next_runs.csv)
    picked = plan.picked_runs(grouped_fit, group_a_candidates, batch)
    assert set(picked["group"]) == {"A"}
    assert list(picked.columns)[:3] == ["pick", "unit", "N"]


def test_a_new_groups_picks_carry_no_label(grouped_fit, group_a_candidates):
    """group=None on a grouped fit values the runs as a NEW group's: there is no label to
    give them, and none is invented."""
    batch, ranked = design_quietly(grouped_fit, group_a_candidates, design.NOpt(C_TARGET), None)
    assert "group" not in batch and "group" not in ranked


def test_candidates_own_group_column_is_kept_as_given(grouped_fit, group_a_candidates):
    cands = group_a_candidates.assign(group="A")
    batch, _ = design_quietly(grouped_fit, cands, design.NOpt(C_TARGET, group="A"), None)
    assert batch["group"].tolist() == ["A", "A"]
    assert list(batch.columns).count("group") == 1
