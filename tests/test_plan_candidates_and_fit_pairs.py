"""``bayeslaws plan``: its candidate isoFLOP lines, the fits it plans from together, its cells.

Fixed in ``bayeslaws plan``: the N_opt design's candidate isoFLOP lines sat at
3e19 and 1e20 FLOPs whatever the fit (4,500x a 1e17 budget on a small sweep; deep inside the
data at Chinchilla scale); two fits of unrelated data sets were planned from together, a real
loss surface scored against the simulator's truth; the hyperparameter design's two cell sizes
could be near-duplicates (2e9 and 2.147e9 params). Units: N parameters, D tokens, C FLOPs.

SIMULATED data throughout (conftest's tiny fits; stand-ins with a relabelled record, no refit)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error_line, cli_run, quiet

from bayeslaws.app import plan, plan_report
from bayeslaws.runs import best_run_per_cell
from bayeslaws.runs.bundled import DEFAULT_DATASET, load_bundled

# the demo's lines: 3e19 and 1e20 FLOPs beside its bundled sweep's largest budget
DEMO_LINES = (3e19, 1e20)


def _largest_C(fit) -> float:
    return float(fit.record.ranges["C"][1])


def _lines(cands) -> list[float]:
    return sorted({float(c) for c in cands["C"]})


def _stand_in(fit, runs: pd.DataFrame | None = None, **data):
    """``fit`` with its record's fitted runs (N, D, C, loss of ``runs``) and provenance
    (``record.data`` updated with ``data``) replaced: no refit, the checks read only these."""
    out = copy.copy(fit)
    changes = {"data": {**fit.record.data, **data}}
    if runs is not None:
        columns = ("N", "D", "C", "loss")
        changes["training_runs"] = {c: runs[c].astype(float).tolist() for c in columns}
    out.record = dataclasses.replace(fit.record, **changes)
    return out


# ---- 1. the candidate isoFLOP lines follow the fit, never above the budget ---------------------
def test_candidate_lines_lie_just_beyond_the_fits_own_budgets(simulated_fit):
    """simulated_fit's runs reach 3.6e21 FLOPs: the old lines, 3e19 and 1e20, lay inside them."""
    largest = _largest_C(simulated_fit)
    lines = _lines(quiet(plan.nopt_candidates, simulated_fit))
    ratios = np.array(lines) / largest
    assert len(lines) == 2 and (ratios > 1).all(), (lines, largest)
    # the demo's ratios (3e19 and 1e20 to its sweep's largest), to the two-figure rounding
    demo_ratios = np.array(DEMO_LINES) / load_bundled(DEFAULT_DATASET).df["C"].max()
    np.testing.assert_allclose(ratios, demo_ratios, rtol=0.05)


def test_candidate_lines_never_above_the_budget(simulated_fit):
    """A budget between the two lines caps the upper one; a budget below both is the one line."""
    largest = _largest_C(simulated_fit)
    uncapped = plan.design_budgets(simulated_fit)
    between = 0.5 * (uncapped[0] + uncapped[1])
    assert plan.design_budgets(simulated_fit, budget=between) == (uncapped[0], between)
    assert plan.design_budgets(simulated_fit, budget=largest / 2) == (largest / 2,)
    cands = quiet(plan.nopt_candidates, simulated_fit, None, between)
    assert _lines(cands) == pytest.approx([uncapped[0], between], rel=1e-9)


def test_the_demos_lines_are_unchanged(small_sweep_hp_fit):
    """The demo's bundled sweep reaches 1.872e19 FLOPs, as the small sweep does: its lines stay
    3e19 and 1e20 FLOPs, exactly."""
    bundled_largest = float(load_bundled(DEFAULT_DATASET).df["C"].max())
    assert _largest_C(small_sweep_hp_fit) == pytest.approx(bundled_largest, rel=1e-12)
    assert plan.design_budgets(small_sweep_hp_fit) == DEMO_LINES
    assert plan.design_budgets(small_sweep_hp_fit, budget=1e22) == DEMO_LINES  # the demo's


def test_next_runs_plan_candidates_on_the_fits_lines(small_sweep_hp_fit, simulated_fit):
    """The plan's N_opt candidates lie on its own lines: beyond the surface fit's largest
    budget, at most the budget, and the plan says which."""
    largest = _largest_C(simulated_fit)
    budget = 3 * largest
    out = quiet(plan.next_runs_plan, small_sweep_hp_fit, simulated_fit, 1.07e9, 2e10, budget)
    lines = _lines(out["design_table"])
    assert lines == pytest.approx(list(out["design_budgets"]), rel=1e-9)
    assert min(lines) > largest and max(lines) <= budget


def _design_plan(fit, budget: float) -> dict:
    lines = plan.design_budgets(fit, budget=budget)
    return {
        "design_budgets": lines,
        "allocation": pd.DataFrame({"C": [budget]}),
        "group": None,
    }


def test_report_says_where_the_lines_are_and_why(simulated_fit):
    largest = _largest_C(simulated_fit)
    table = pd.DataFrame({"C": []})
    far = plan_report.design_lines_words(_design_plan(simulated_fit, 1e3 * largest), table,
                                         simulated_fit)  # fmt: skip
    assert f"1.6x and 5.3x the largest fitted budget, {largest:.3g} FLOPs" in far, far
    assert "never above the budget" not in far
    capped = plan_report.design_lines_words(_design_plan(simulated_fit, 2 * largest), table,
                                            simulated_fit)  # fmt: skip
    assert "never above the budget" in capped and f"{2 * largest:.3g} FLOPs" in capped, capped


def test_report_says_the_budget_is_no_cap_on_the_next_runs():
    """Sweeps of 1.8e22 FLOPs beside --budget 1e21 read as a cap overrun: the report now says
    the budget is the compute N_opt is planned at, not a cap."""
    words = plan_report.budget_not_a_cap_words({"allocation": pd.DataFrame({"C": [1e21]})})
    assert "1e+21 FLOPs, --budget) is the compute N_opt is planned at, not a cap" in words


# ---- 3. two fits of unrelated data sets are refused; a truth only for simulated fits ---------
class _Stop(Exception):
    """Raised by a stand-in for the first computation of planning."""


def _stop(*args, **kwargs):
    raise _Stop


def test_planning_refuses_fits_of_unrelated_runs(small_sweep_hp_fit, simulated_fit, monkeypatch):
    """A hyperparameter fit of a video-DiT sweep and a Chinchilla surface of other runs: refused
    before any computation (planning's first prediction is never reached)."""
    monkeypatch.setattr(plan, "predict", _stop)
    with pytest.raises(ValueError, match="not fitted to the hyperparameter fit's runs") as err:
        quiet(plan.planning, small_sweep_hp_fit, simulated_fit, target_N=1e9, target_D=2e10,
               budget=1e21)  # fmt: skip
    message = str(err.value)
    assert "law 'chinchilla'" in message and "law 'hyperparams'" in message


def test_best_cell_pair_of_one_sweep_passes(small_sweep, small_sweep_hp_fit, simulated_fit):
    """A surface on each cell's best run of the hyperparameter fit's own sweep is accepted."""
    best = best_run_per_cell(small_sweep).df
    surface = _stand_in(simulated_fit, best)
    plan.check_same_runs(small_sweep_hp_fit, surface)  # no error
    plan.check_same_runs(small_sweep_hp_fit, small_sweep_hp_fit)
    other = _stand_in(simulated_fit, best.assign(N=best["N"] * 1.5))
    with pytest.raises(ValueError, match=r"\d+ of its \d+ \(N, D\) cells are none"):
        plan.check_same_runs(small_sweep_hp_fit, other)


def test_cli_plan_refuses_unrelated_fits_in_one_line(
    small_sweep_hp_fit, simulated_fit, tmp_path, capsys, monkeypatch
):
    hp_file, surface_file = tmp_path / "hp.nc", tmp_path / "surface.nc"
    small_sweep_hp_fit.save(hp_file)
    simulated_fit.save(surface_file)
    monkeypatch.setattr(plan, "predict", _stop)  # never reached: refused first
    argv = ["plan", hp_file, surface_file, "--target-N", "1e9", "--target-D", "2e10",
            "--budget", "1e21", "--out", tmp_path / "out", "--no-figures"]  # fmt: skip
    code, _, err = cli_run(argv, capsys)
    assert code == 2, err
    line = cli_error_line(err)
    assert "not fitted to the hyperparameter fit's runs" in line
    assert not (tmp_path / "out").exists()  # refused before the folder was made


def test_no_truth_for_a_real_surface_beside_a_simulated_sweep(small_sweep_hp_fit, simulated_fit):
    """known_truth looked only at the hyperparameter fit: a real surface was scored against the
    video-DiT simulator."""
    real = _stand_in(simulated_fit, source="chin.csv", simulated="none")
    assert plan.known_truth(small_sweep_hp_fit) is not None  # the sweep alone: its truth
    assert plan.known_truth(small_sweep_hp_fit, None, (real,)) is None
    assert plan.known_truth(small_sweep_hp_fit, None, (small_sweep_hp_fit,)) is not None
    note = plan.unknown_truth_note(small_sweep_hp_fit, None, (real,))
    assert "not all of the loss-surface fit's are" in note
    words = " ".join(plan_report._known_values_words(small_sweep_hp_fit, None, (real,)))
    assert "so every number can be checked against the simulator's truth" not in words


# ---- 7. the hyperparameter design's cells: no near-duplicate sizes ------------------------------
def test_hp_candidates_merge_near_duplicate_sizes(small_sweep_hp_fit):
    """target_N 7% above twice the largest fitted size: one size, the target's (two sweeps)."""
    largest = float(small_sweep_hp_fit.record.ranges["N"][1])
    target_N, target_D = 2.14 * largest, 1e10
    cands = quiet(plan.hp_candidates, small_sweep_hp_fit, target_N, target_D)
    assert sorted(set(cands["N"])) == [target_N]
    assert cands["unit"].nunique() == 2
    far = quiet(plan.hp_candidates, small_sweep_hp_fit, 3 * largest, target_D)
    assert sorted(set(far["N"])) == pytest.approx([2 * largest, 3 * largest], rel=1e-12)
