"""The planning report's wording of the hyperparameter design's value, the batches and the
best-cell route.

Fixed in the planning report (``bayeslaws plan``, ``bayeslaws demo``): the hyperparameter
section called the whole gap between a new run's penalty and the law's at a 1.07B target (0.11%
against 0.0012%) "the new cell's own scatter, which no sweep at other cells removes", though
almost all of it was law 'sweep''s drift of its optima beyond the fitted sizes, which sweeps
nearer the target reduce; the batch's caption said "run these" over rows all "NOT worth it",
with no summary; on the best-cell route a surface with sampler trouble was said to undermine the
hyperparameter widths (they come from the hyperparameter fit alone), the fixed-vs-optimal
section pointed only to the demo for a joint plan, and two width columns had no unit. Made-up
design tables and conftest's small fits; no planning run."""

from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import flat_text, report_section

import bayeslaws as bl
from bayeslaws.app import plan, plan_report
from bayeslaws.app.report import Report

C = 1e22  # FLOPs: the budget
N_T, D_T = 1.07e9, 1e10  # params, tokens: the target, beyond the small sweep's sizes (2.6e8)
NOPT = "N_opt(C=1e+22)"
ETA, BOPT = "eta_opt(N=1.07e+09, D=1e+10)", "B_opt(N=1.07e+09, D=1e+10)"


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _shaky(fit):
    """The same fit, its diagnostics saying the sampler did not converge."""
    out = copy.copy(fit)
    out.diagnostics = dataclasses.replace(
        fit.diagnostics, max_r_hat=1.43, min_ess_bulk=10.0, problems=["R-hat > 1.1 for ['alpha']"]
    )
    return out


def _sound(fit):
    """The same fit, its diagnostics reporting no sampler problem (conftest's tiny fits have
    some)."""
    out = copy.copy(fit)
    out.diagnostics = dataclasses.replace(fit.diagnostics, problems=[])
    return out


def _design(nopt_cost=(4.5e20, 4.5e20), hp_fit=None, surface_fit=None) -> dict:
    """A made-up two-pick N_opt batch (each pick costing ``nopt_cost`` FLOPs) and hyperparameter
    batch, valued by plan.pick_values (the hyperparameter value by plan.hp_value on ``hp_fit``
    and ``surface_fit`` when given)."""
    nopt = pd.DataFrame(
        {"N": [2e8, 2e7], "D": [2.5e10, 2.5e11], "C": [3e19, 3e19], "unit": ["u1", "u2"],
         "rank": [1, 2], "info": [0.10, 0.05], "flops": list(nopt_cost), "guardrail": ["", ""],
         f"width_now[{NOPT}]": [1e9, 1e9], f"width_after[{NOPT}]": [9e8, 8e8]}
    )  # fmt: skip
    alone = nopt.drop(columns=["rank", "guardrail"]).assign(
        rank_alone=[1, 2], info_per_flop=[2e-22, 1e-22], batch_pick=[1, 2]
    )
    hp = pd.DataFrame(
        {"N": [5.2e8, N_T], "D": [4e9, 4e9], "n_runs": [15, 15], "flops": [1.9e20, 3.9e20],
         "unit": ["h1", "h2"], "rank": [1, 2], "info": [0.05, 0.07], "guardrail": ["", ""],
         f"width_now[{ETA}]": [7e-5, 7e-5], f"width_after[{ETA}]": [6.9e-5, 6.8e-5],
         f"width_now[{BOPT}]": [3e4, 3e4], f"width_after[{BOPT}]": [2.9e4, 2.8e4]}
    )  # fmt: skip
    value_nopt = plan.pick_values(nopt, 1e-5, np.array([0.81, 0.64]), C, -0.0016).assign(
        slope_dL_dlnC=-0.0016, regret_now_relative=2e-5
    )
    if hp_fit is None:
        value_hp = plan.pick_values(hp, 6.7e-6, np.array([0.95, 0.9]), 6.4e19, -0.0056).assign(
            slope_dL_dlnD=-0.0056, regret_now_relative=1.3e-5
        )
        reference = None
    else:
        value_hp = _quiet(plan.hp_value, hp_fit, surface_fit, hp, N_T, D_T, seed=0)
        reference = _quiet(plan.new_run_reference, hp_fit, N_T, D_T, seed=0)
    return {
        "allocation": pd.DataFrame({"C": [C]}),
        "design_nopt": nopt, "design_table": alone, "value_nopt": value_nopt,
        "design_hp": hp, "design_hp_table": None, "value_hp": value_hp,
        "guardrails_nopt": {}, "guardrails_hp": {}, "design_nopt_model": "none",
        "design_nopt_cautions": [], "design_hp_cautions": [], "new_run_reference": reference,
    }  # fmt: skip


def _full_plan(fit, /, **design) -> dict:
    """A whole plan at target (N_T, D_T) and budget C: the predictions and allocation of
    ``fit`` (the loss surface's), made-up hyperparameter rows and law table, the design of
    :func:`_design` (``design``: its arguments)."""
    hyper = pd.DataFrame(
        {"N": [N_T, N_T], "D": [D_T, D_T], "kind": ["mean", "new_run"],
         **{f"{q}_{s}": [1.0, 1.0] for q in ("eta_opt", "B_opt")
            for s in ("median", "lower", "upper")}}
    )  # fmt: skip
    kinds = ("mean", "new_run")
    loss = pd.concat(
        [_quiet(bl.predict, fit, N=N_T, D=D_T, kind=k, seed=0) for k in kinds],
        ignore_index=True,
    )
    return {
        **_design(**design),
        "hyperparams": hyper, "law_table": pd.DataFrame(), "loss": loss, "ci": 0.9,
        "allocation": _quiet(bl.optimal_allocation, fit, C=C, seed=0),
        "tokens_per_param": (20.0, 15.0, 25.0),
        "near_optimal": _quiet(bl.near_optimal, fit, C, seed=0), "warnings": [],
    }  # fmt: skip


def _report(plan_: dict, hp_fit, surface_fit=None) -> str:
    return flat_text(_quiet(plan_report.build_report, plan_, hp_fit, surface_fit).to_text())


def _new_run_gap(fit, N, D) -> float:
    """A new run's relative penalty minus the law's at (N, D), both at the law's median
    optimum there (bl.loss_penalty's kinds "new_run" and "mean")."""
    opt = _quiet(bl.predict, fit, N=N, D=D, seed=0).iloc[0]
    setting = (opt["eta_opt_median"], opt["B_opt_median"])
    rel = [
        float(_quiet(bl.loss_penalty, fit, N, D, *setting, kind=k, seed=0)["rel_penalty_mean"][0])
        for k in ("new_run", "mean")
    ]
    return rel[0] - rel[1]


# ---- 1. what the gap between a new run's penalty and the law's is ------------------------------
def test_joint_report_says_the_gap_beyond_the_fitted_sizes_is_mostly_the_optimas_drift(
    small_sweep_sweep_fit,
):
    """The report said the whole gap at a target 0.61 decades beyond the fitted sizes was the
    new cell's scatter 'which no sweep at other cells removes'; on law 'sweep' almost all of it
    is the optima's drift beyond the fitted sizes, which sweeps nearer the target reduce."""
    fit = small_sweep_sweep_fit
    largest = fit.record.ranges["N"][1]
    inside, beyond = _new_run_gap(fit, largest / 1.01, D_T), _new_run_gap(fit, N_T, D_T)
    assert beyond > 2 * inside  # the premise: the gap grows beyond the fitted sizes
    text = _report(_full_plan(fit, hp_fit=fit, surface_fit=fit), fit)
    hsec = report_section(text, "Next runs to narrow eta_opt")
    assert "is mostly the drift the law allows its optima beyond the fitted runs" in hsec, hsec
    assert "grows with the distance from them" in hsec
    assert "sweeps nearer the target, such as the candidates here, reduce" in hsec
    at = "the nearest point inside the fitted range, a new run's penalty exceeds the law's by"
    assert f"{at} only {100 * inside:.2g}%" in hsec
    assert f"{largest / 1.01:.3g} params on {D_T:.3g} tokens" in hsec
    assert "The difference is the new cell's own scatter" not in hsec


def test_the_same_words_measure_a_law_without_drift(small_sweep_hp_fit, simulated_fit):
    """Law 'hyperparams' (no drift of its optima beyond the fitted sizes): the same code, no law
    name read, finds the gap mostly the new cell's scatter, and says so."""
    hp = small_sweep_hp_fit
    largest = hp.record.ranges["N"][1]
    inside, beyond = _new_run_gap(hp, largest / 1.01, D_T), _new_run_gap(hp, N_T, D_T)
    assert beyond < 2 * inside  # the premise: about as large inside the fitted range
    plan_ = _full_plan(simulated_fit, hp_fit=hp, surface_fit=simulated_fit)
    hsec = report_section(_report(plan_, hp, simulated_fit), "Next runs to narrow eta_opt")
    scatter = "is mostly the new cell's own scatter about the law, which no sweep at other cells"
    assert scatter in hsec, hsec
    assert f"a new run's penalty exceeds the law's by {100 * inside:.2g}%" in hsec
    assert "drift" not in hsec


def test_the_report_shows_the_plans_reference(small_sweep_sweep_fit):
    """The report ran predict and loss_penalty itself for the reference point, at seed 0,
    beside a gap the plan computed at its own seed; it now shows the plan's reference."""
    fit = small_sweep_sweep_fit
    plan_ = _full_plan(fit, hp_fit=fit, surface_fit=fit)
    made_up = {"N": 1.23e8, "D": 4.56e9, "law": 0.0007, "new_run": 0.0041}
    plan_["new_run_reference"] = made_up
    hsec = report_section(_report(plan_, fit), "Next runs to narrow eta_opt")
    gap = made_up["new_run"] - made_up["law"]
    assert f"{made_up['N']:.3g} params on {made_up['D']:.3g} tokens" in hsec, hsec
    says = (
        f"exceeds the law's by {100 * gap:.2g}% ({100 * made_up['new_run']:.2g}% against "
        f"{100 * made_up['law']:.2g}%)"
    )
    assert says in hsec, hsec


def test_next_runs_plan_measures_the_reference_at_its_own_seed(small_sweep_sweep_fit, monkeypatch):
    """next_runs_plan stores plan.new_run_reference's answer at the plan's seed (and group)."""
    seen, real = [], plan.new_run_reference

    def spy(*args, **kwargs):
        seen.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(plan, "new_run_reference", spy)
    fit = small_sweep_sweep_fit
    out = _quiet(plan.next_runs_plan, fit, None, N_T, D_T, C, seed=3)
    assert seen == [((fit, N_T, D_T, None), {"seed": 3})]
    assert out["new_run_reference"] == _quiet(real, fit, N_T, D_T, None, seed=3)


def test_a_target_inside_the_fitted_range_has_only_the_scatter(small_sweep_sweep_fit):
    """Inside the fitted range there is no drift: the gap is the new cell's scatter, unmeasured."""
    h0 = _design(hp_fit=small_sweep_sweep_fit, surface_fit=small_sweep_sweep_fit)["value_hp"]
    where = plan_report._target_where(small_sweep_sweep_fit, (5e7, 4e9))
    assert where == ""
    assert plan.new_run_reference(small_sweep_sweep_fit, 5e7, 4e9) is None
    words = plan_report.hp_value_words(h0.iloc[0], None, where)
    inside = "The target lies inside the fitted runs' range, so the difference is the new cell's"
    assert inside in words, words


# ---- 5. the batch's caption and summary ----------------------------------------------------------
@pytest.mark.parametrize(
    "cost, says",
    [
        ((4.5e20, 4.5e20), "None of its 2 picks pays for itself at the budget (1e+22 FLOPs)"),
        ((1e6, 4.5e20), "1 of its 2 picks pays for itself at the budget (1e+22 FLOPs)"),
        ((1e6, 1e6), "All 2 picks pay for themselves at the budget (1e+22 FLOPs)"),
    ],
)
def test_batch_caption_says_how_many_picks_pay_and_the_total(simulated_fit, cost, says):
    """'The batch (run these, in this order; ...)' stood over rows all 'NOT worth it', with no
    summary of how many pay for themselves or of what the batch costs."""
    design = _design(nopt_cost=cost)
    value = design["value_nopt"]
    worth = int((value["worth_flops"] >= value["cost_flops"]).sum())
    sec, _ = _quiet(plan_report._design_sections, design, simulated_fit, simulated_fit, "90%")
    caption = sec.tables[0][0]
    assert says in caption, caption
    assert f"the batch costs {sum(cost):.3g} FLOPs in all" in caption
    assert ("run these" in caption) == (worth == len(value)), caption
    rows = sec.tables[0][1]
    assert sum(not v.startswith("NOT") for v in rows["verdict"]) == worth


# ---- 6. the best-cell route: what rests on which fit, the joint command, units ------------------
def test_best_cell_caution_says_the_widths_rest_on_the_hyperparameter_fit(
    small_sweep_hp_fit, simulated_fit
):
    """With only the loss surface unsettled, the hyperparameter section said 'the widths, values
    and verdicts below rest on the loss surface'; the widths come from the hyperparameter fit."""
    shaky, hp = _shaky(simulated_fit), _sound(small_sweep_hp_fit)
    text = _report(_full_plan(shaky), hp, shaky)
    hsec = report_section(text, "Next runs to narrow eta_opt")
    assert "the widths, values and verdicts below rest on the loss surface" not in hsec, hsec
    assert "CAUTION: the values and verdicts below rest on the loss surface" in hsec
    assert "The widths do not rest on the loss surface: they come from the hyperparameter" in hsec
    assert "rest on the hyperparameter law" not in hsec
    assert hsec.count("[unreliable fit]") == 2
    nsec = report_section(text, "Next runs to narrow N_opt")
    assert "CAUTION: the widths, values and verdicts below rest on the loss surface" in nsec


def test_best_cell_fixed_vs_optimal_names_the_joint_plan_command(
    small_sweep_hp_fit, simulated_fit
):
    """It pointed to 'the joint route (the default, 'bayeslaws demo')': the demo's data, not
    the user's; the command making a joint plan of the user's runs is now named, and parses."""
    from bayeslaws.app.cli import build_parser

    hp = small_sweep_hp_fit
    text = _report(_full_plan(simulated_fit), hp, simulated_fit)
    fixed = report_section(text, "Fixed vs optimal")
    assert "'bayeslaws plan RUNS --route joint'" in fixed, fixed
    argv = ["plan", "RUNS", "--route", "joint", "--target-N", "1e9", "--target-D", "1e10",
            "--budget", "1e22"]
    assert build_parser().parse_args(argv).route == "joint"


def test_width_columns_give_their_units(simulated_fit):
    """'width after (now 1e+09)' (params) and 'B_opt width now -> after' (tokens) had no
    unit; eta_opt (a learning rate) has none."""
    sec, hsec = _quiet(plan_report._design_sections, _design(), simulated_fit, simulated_fit, "90%")
    assert "width after (now 1e+09 params)" in sec.tables[0][1].columns
    columns = list(hsec.tables[0][1].columns)
    assert "B_opt width now -> after (tokens)" in columns, columns
    assert "eta_opt width now -> after" in columns
    assert Report("probe", sections=[sec, hsec]).to_text()
