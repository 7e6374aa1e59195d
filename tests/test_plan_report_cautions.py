"""The planning report's cautions: sampler trouble, design values, linearisation, tolerances.

Fixed in the planning report (``bayeslaws demo``): a fit's SamplerWarning reached neither
a Python caller of run_demo nor the report's Warnings section, and nothing at the top said that
every verdict inherits a sampler that did not converge; the hyperparameter design's value was
the law-level penalty with no word of the much larger penalty against a new run's own optimum;
the batch-vs-ranking sentence said picks lose value where they gained it; the linearisation
check claimed a disagreement from a reweighted value with almost no effective draws; the
fixed-vs-optimal 'where' left out how far N_opt(fixed) lies; the near-optimal tolerance was
stated on two scales as if equal; the progress lines were out of order, and ``bayeslaws
report``'s fan caption did not say its points are each cell's best run. Synthetic plans and
conftest's small fits; no demo run."""

from __future__ import annotations

import copy
import dataclasses
import types
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import flat_text, report_section  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402
from bayeslaws.app import demo, plan, plan_report  # noqa: E402
from bayeslaws.app import report as reports  # noqa: E402
from bayeslaws.app.report import Report, Section  # noqa: E402
from bayeslaws.design import batch as design_batch  # noqa: E402
from bayeslaws.inference import SamplerWarning  # noqa: E402
from bayeslaws.posterior.allocation import NearOptimal  # noqa: E402

C = 1e22  # FLOPs: the demo's budget
N_T, D_T = 5e7, 4e9  # params, tokens: a target inside the small sweep's cells
NOPT = "N_opt(C=1e+22)"
ETA, BOPT = "eta_opt(N=5e+07, D=4e+09)", "B_opt(N=5e+07, D=4e+09)"
TROUBLE = "sampler trouble: probe: R-hat > 1.1 for ['alpha']"


def _shaky(fit):
    """The same fit, its diagnostics saying the sampler did not converge (R-hat 1.43, ESS 10)."""
    out = copy.copy(fit)
    out.diagnostics = dataclasses.replace(
        fit.diagnostics, max_r_hat=1.43, min_ess_bulk=10.0, problems=["R-hat > 1.1 for ['alpha']"]
    )
    return out


def _head_plan(fit) -> dict:
    """The parts of a plan build_report reads before its allocation section (target N_T, D_T)."""
    hyper = pd.DataFrame(
        {"N": [N_T, N_T], "D": [D_T, D_T], "kind": ["mean", "new_run"],
         **{f"{q}_{s}": [1.0, 1.0] for q in ("eta_opt", "B_opt")
            for s in ("median", "lower", "upper")}}
    )  # fmt: skip
    loss = pd.concat(
        [bl.predict(fit, N=N_T, D=D_T, kind=k, seed=0) for k in ("mean", "new_run")],
        ignore_index=True,
    )
    return {"hyperparams": hyper, "law_table": pd.DataFrame(), "loss": loss, "ci": 0.9}


def _design_plan(batch_info=(0.10, 0.056), alone_info=(0.10, 0.014)) -> dict:
    """A made-up two-pick N_opt batch and hyperparameter batch (no fit): ``batch_info`` the
    picks' information given the earlier picks, ``alone_info`` each one's alone (nats)."""
    units = ["u1", "u2", "u3"]
    nopt = pd.DataFrame(
        {"N": [2e8, 2e7], "D": [2.5e10, 2.5e11], "C": [3e19, 3e19], "unit": units[:2],
         "rank": [1, 2], "info": list(batch_info), "flops": [3e19, 3e19], "guardrail": ["", ""],
         f"width_now[{NOPT}]": [1e9, 1e9], f"width_after[{NOPT}]": [9e8, 8e8]}
    )  # fmt: skip
    alone = pd.DataFrame(
        {"rank_alone": [1, 2, 3], "N": [2e8, 9e7, 2e7], "D": [2.5e10, 5e10, 2.5e11],
         "C": [3e19] * 3, "unit": ["u1", "u3", "u2"],
         "info": [alone_info[0], 0.05, alone_info[1]], "info_per_flop": [3e-21, 2e-21, 5e-22],
         f"width_after[{NOPT}]": [9e8, 9.5e8, 9.9e8], "batch_pick": [1, 0, 2]}
    )  # fmt: skip
    hp = pd.DataFrame(
        {"N": [1e8, 1e8], "D": [4e9, 1e10], "n_runs": [15, 15], "flops": [3.6e19, 9e19],
         "unit": ["h1", "h2"], "rank": [1, 2], "info": [0.04, 0.01], "guardrail": ["", ""],
         f"width_now[{ETA}]": [7e-5, 7e-5], f"width_after[{ETA}]": [6.9e-5, 6.8e-5],
         f"width_now[{BOPT}]": [3e4, 3e4], f"width_after[{BOPT}]": [2.9e4, 2.8e4]}
    )  # fmt: skip
    hp_alone = pd.DataFrame(
        {"rank_alone": [1, 2], "unit": ["h1", "h2"], "N": [1e8, 1e8], "D": [4e9, 1e10],
         "n_runs": [15, 15], "info": [0.04, 0.06]}
    )  # fmt: skip
    value_nopt = plan.pick_values(nopt, 1e-5, np.array([0.81, 0.64]), C, -0.0016).assign(
        slope_dL_dlnC=-0.0016, regret_now_relative=2e-5
    )
    value_hp = plan.pick_values(hp, 6.7e-6, np.array([0.95, 0.9]), 3.7e20, -0.0056).assign(
        slope_dL_dlnD=-0.0056, regret_now_relative=1.3e-5, regret_new_run_relative=1.1e-3,
        regret_new_run=5.6e-4,
    )  # fmt: skip
    return {
        "allocation": pd.DataFrame({"C": [C]}),
        "design_nopt": nopt, "design_table": alone, "value_nopt": value_nopt,
        "design_hp": hp, "design_hp_table": hp_alone, "value_hp": value_hp,
        "guardrails_nopt": {}, "guardrails_hp": {}, "design_nopt_model": "none",
        "design_nopt_cautions": [], "design_hp_cautions": [],
    }  # fmt: skip


FIXED = {  # a fixed-vs-optimal row, as bl.fixed_vs_optimal gives it (made up)
    "C": C, "lr": 2.4e-4, "batch_size": 4.9e4, "n_opt_optimal": 2.3e9, "n_opt_fixed": 9.1e9,
    "size_change_median": 3.0, "size_change_lower": 2.6, "size_change_upper": 3.7,
    "settled": True, "at_boundary": 0.0, "ci": 0.9, "n_draws": 200,
    "verdict": "settled under the fitted law: with the hyperparameters fixed the "
    "compute-optimal model is larger (+300%)",
}  # fmt: skip


def _full_plan(fit) -> dict:
    """A whole plan on ``fit`` (a Chinchilla fit): its allocation and near-optimal sizes at C,
    the made-up fixed-vs-optimal row and design."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the budget lies far beyond the small fit
        allocation = bl.optimal_allocation(fit, C=C, seed=0)
        near = bl.near_optimal(fit, C, seed=0)
    return {
        **_head_plan(fit), **_design_plan(), "allocation": allocation,
        "tokens_per_param": (20.0, 15.0, 25.0), "near_optimal": near,
        "fixed_vs_optimal": dict(FIXED), "warnings": [],
    }  # fmt: skip


def _report(plan_: dict, fit, **kw) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plan_report.build_report(plan_, fit, **kw).to_text()


# ---- 1. sampler problems: the caller, the Warnings section, a CAUTION on top, the verdicts ---
@pytest.fixture
def stubbed_demo(simulated_fit, monkeypatch):
    """run_demo with a fit that warns of sampler trouble (and has problems), a made-up plan and
    no figures drawn; returns the calls to write_figures."""
    shaky = _shaky(simulated_fit)

    def fit_laws(runs, sampler, route):
        warnings.warn(TROUBLE, SamplerWarning, stacklevel=2)
        return shaky, shaky

    drawn = []
    monkeypatch.setattr(demo, "fit_laws", fit_laws)
    monkeypatch.setattr(plan, "planning", lambda *a, **k: {**_head_plan(shaky), "warnings": []})
    monkeypatch.setattr(demo, "write_figures", lambda *a, **k: drawn.append(a) or [])
    for name in ("_allocation_section", "_fixed_vs_optimal_section"):
        monkeypatch.setattr(plan_report, name, lambda *a, **k: Section("skipped"))
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])
    return drawn


def test_run_demo_gives_the_fits_warnings_to_the_caller_and_the_report(stubbed_demo, tmp_path):
    """run_demo(progress=False) swallowed the fit's SamplerWarning (recorded, printed only as a
    progress note) and its report's Warnings section listed only the planning warnings."""
    with pytest.warns(SamplerWarning, match="probe"):
        text = demo.run_demo(tmp_path, figures=False, progress=False, quiet=True)
    assert f"SamplerWarning: {TROUBLE}" in report_section(text, "Warnings")
    top = text.splitlines()[1]
    assert top.startswith("CAUTION: the sampler did not converge cleanly for the joint sweep"), top
    assert "R-hat 1.430" in top and "min bulk ESS 10" in top and "every interval and verdict" in top


def test_progress_lines_follow_the_work(stubbed_demo, tmp_path, capsys):
    """'[4/5] writing the report' was printed before '[5/5] drawing the figures', though the
    report is written after them (it lists them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        demo.run_demo(tmp_path, figures=True, progress=True, quiet=True)
    assert stubbed_demo, "the figures were not drawn"
    steps = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    assert steps[-2].startswith("[4/5") and "] drawing the figures into" in steps[-2], steps
    assert steps[-1].startswith("[5/5") and steps[-1].endswith("] writing the report"), steps


def test_report_on_a_shaky_fit_cautions_on_top_and_tags_its_verdicts(simulated_fit):
    """With R-hat 1.43 and ESS 10 the report said so only inside 'Fits and sampler health';
    the fixed-vs-optimal and design verdicts read as if the fit were sound."""
    text = _report(_full_plan(_shaky(simulated_fit)), _shaky(simulated_fit))
    assert text.splitlines()[1].startswith("CAUTION: the sampler did not converge cleanly")
    fixed = report_section(text, "Fixed vs optimal")
    assert "Verdict: settled" in fixed, fixed
    assert "(+300%); but it rests on the unreliable joint sweep model (see the CAUTION" in fixed
    assert "whose sampler did not converge cleanly" in fixed
    for title in ("Next runs to narrow N_opt", "Next runs to narrow eta_opt"):
        section = report_section(text, title)
        assert "CAUTION: the widths, values and verdicts below rest on" in section, section
        assert section.count("worth it (gain / cost") == section.count("[unreliable fit]") == 2
    healthy = _report(_full_plan(simulated_fit), simulated_fit)
    assert "CAUTION: the sampler" not in healthy and "[unreliable fit]" not in healthy
    assert "Verdict: settled" in report_section(healthy, "Fixed vs optimal")


def test_a_verdict_that_names_the_failed_sampler_check_is_not_tagged_again(simulated_fit):
    """bl.fixed_vs_optimal now says itself that the fit's sampler check failed (sampler_ok
    False); the report added "; but it rests on the unreliable ..." to that same sentence."""
    plan = _full_plan(_shaky(simulated_fit))
    plan["fixed_vs_optimal"] = {
        **FIXED, "settled": False, "sampler_ok": False,
        "verdict": "not settled: the fit's sampler check failed: R-hat > 1.01; refit with more "
        "draws (the size change there: +300%, 90% interval [+260%, +370%])",
    }  # fmt: skip
    fixed = report_section(_report(plan, _shaky(simulated_fit)), "Fixed vs optimal")
    assert "Verdict: not settled: the fit's sampler check failed" in fixed, fixed
    assert "but it rests on the unreliable" not in fixed, fixed


# ---- 2. the hyperparameter design's value: the law's optimum, and a new run's ---------------
def test_hp_value_adds_the_new_run_penalty_loss_penalty_gives(small_sweep_hp_fit, simulated_fit):
    """hp_value priced only the law-level penalty (predict's kind "mean"); the penalty a new
    run at the target pays (bl.loss_penalty's default, kind "new_run") is now beside it, and
    the design numbers are unchanged."""
    fit = small_sweep_hp_fit
    batch = _design_plan()["design_hp"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = plan.hp_value(fit, simulated_fit, batch, N_T, D_T, seed=0)
        opt = bl.predict(fit, N=N_T, D=D_T, seed=0).iloc[0]
        setting = {"lr": opt["eta_opt_median"], "batch_size": opt["B_opt_median"], "seed": 0}
        law = bl.predict(fit, N=N_T, D=D_T, **setting).iloc[0]
        new_run = bl.loss_penalty(fit, N_T, D_T, **setting).iloc[0]
    row = table.iloc[0]
    assert row["regret_now_relative"] == pytest.approx(law["rel_penalty_mean"])
    assert row["regret_new_run_relative"] == pytest.approx(new_run["rel_penalty_mean"])
    assert row["regret_new_run_relative"] > row["regret_now_relative"]
    assert row["regret_new_run"] / row["regret_before"] == pytest.approx(
        row["regret_new_run_relative"] / row["regret_now_relative"]
    )


def test_hp_design_says_its_value_is_against_the_laws_optimum(simulated_fit):
    """The section said 'now costs an expected 0.0013%' with no word that this is against the
    law's optimum; a new run's penalty (0.11% in the demo) and why no sweep elsewhere removes
    the difference are now stated beside it."""
    _, hsec = plan_report._design_sections(_design_plan(), simulated_fit, simulated_fit, "90%")
    text = flat_text(Report("probe", sections=[hsec]).to_text())
    assert "The design target is the fitted law's optimum" in text
    assert "relative to it, not to a new sweep's optimum" in text
    assert "costs an expected 0.0013% loss (6.7e-06)" in text
    assert "costs an expected 0.11% loss (0.00056; bl.loss_penalty's default" in text, text
    assert "no sweep at other cells removes: only a sweep at the target cell itself" in text


# ---- 3. why the batch and the ranking differ, from the tables ---------------------------------
def test_pick_order_sentence_follows_the_table(simulated_fit):
    """'The two orders differ because runs that carry the same information lose value once one
    of them is picked' while pick 2 was worth 0.0564 nats given pick 1 against 0.0142 alone."""
    sec, _ = plan_report._design_sections(_design_plan(), simulated_fit, simulated_fit, "90%")
    rose = flat_text(Report("probe", sections=[sec]).to_text())
    assert "lose value once one of them is picked" not in rose
    assert "falls for a run that carries the same information" in rose
    assert "rises for runs that complement each other" in rose
    assert "pick 2 is worth 0.056 nats given the earlier picks against 0.014 alone (more" in rose
    fell = _design_plan(batch_info=(0.10, 0.01), alone_info=(0.10, 0.05))
    sec, _ = plan_report._design_sections(fell, simulated_fit, simulated_fit, "90%")
    text = flat_text(Report("probe", sections=[sec]).to_text())
    assert "pick 2 is worth 0.01 nats given the earlier picks against 0.05 alone (less" in text


# ---- 4. the linearisation check on too few effective draws ------------------------------------
def _linearisation_warnings(monkeypatch, gauss, rw: dict) -> list[str]:
    """The DesignWarnings of _check_linearisation for units of Gaussian values ``gauss`` and
    reweighted values ``rw`` (value, se, ess, n_skipped per unit; 40 outer draws), both stubbed:
    unit 0 is the pick."""
    U = len(gauss)
    monkeypatch.setattr(design_batch, "_gains", lambda *a: (np.asarray(gauss, float), None))

    class Reweighting:
        def __init__(self, p, seed, criterion):
            pass

        def values(self, picked, DP, MU, units=None):
            return {**{k: np.asarray(v, float) for k, v in rw.items()}, "n_outer": 40}

    monkeypatch.setattr(design_batch, "JointReweighting", Reweighting)
    p = types.SimpleNamespace(
        drift_terms=lambda picked: (np.zeros((1, 1)), np.zeros((U, 1, 1))),
        A=np.zeros((40, 2)),
        labels=[f"sweep {i}" for i in range(U)],
    )
    law = types.SimpleNamespace(name="sweep")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        design_batch._check_linearisation(p, [0], None, 1.0, np.ones(U), None, 0, "marginal", law)
    return [str(w.message) for w in caught if issubclass(w.category, design_batch.DesignWarning)]


def test_linearisation_check_claims_no_disagreement_from_too_few_draws(monkeypatch):
    """'worth 0.0501 by the Gaussian value but -0.157 +- 0 by reweighting; pick with
    estimator='reweighted'' came from a value that skipped 39 of 40 outer draws (ESS 3)."""
    starved = {"value": [-0.157, 0.02], "se": [0.0, 0.001], "ess": [3.0, 4.0],
               "n_skipped": [39, 38]}  # fmt: skip
    said = _linearisation_warnings(monkeypatch, [0.0501, 0.02], starved)
    assert len(said) == 1, said
    assert "values disagree with" not in said[0] and "-0.157" not in said[0], said[0]
    assert "estimator='reweighted'" not in said[0]
    assert "the check could not be made reliably" in said[0]
    assert "sweep 0: mean ESS 3.0, 39 of 40 outcomes skipped" in said[0]
    sound = {"value": [0.2, 0.02], "se": [0.01, 0.001], "ess": [300.0, 300.0],
             "n_skipped": [0, 0]}  # fmt: skip
    said = _linearisation_warnings(monkeypatch, [0.0501, 0.02], sound)
    assert len(said) == 1 and "sweep 0 is worth 0.0501 by the Gaussian value but 0.2" in said[0]
    assert "could not be made reliably" not in said[0]
    agree = {**sound, "value": [0.05, 0.02]}
    assert _linearisation_warnings(monkeypatch, [0.0501, 0.02], agree) == []


# ---- 5. where N_opt(fixed) lies ------------------------------------------------------------------
def test_fixed_vs_optimal_where_names_n_opt_fixed(simulated_fit):
    """The 'where' gave only C's distance, not N_opt(fixed)'s (1.54 decades beyond the fitted
    sizes in the demo; column N_fixed_outside_decades)."""
    plan_ = {"allocation": pd.DataFrame({"C": [C]}), "fixed_vs_optimal": dict(FIXED)}
    sec = plan_report._fixed_vs_optimal_section(plan_, simulated_fit)
    where = sec.numbers[0].distance
    n_hi = simulated_fit.record.ranges["N"][1]
    d_fixed = simulated_fit.compute_model.tokens(FIXED["n_opt_fixed"], C)
    assert f"at N_opt(fixed) 9.1e+09 params on {d_fixed:.3g} tokens" in where, where
    assert f"N {np.log10(9.1e9 / n_hi):.2f} decades above the largest fitted size N" in where
    assert "D " in where.split("N_opt(fixed)")[1] and where.startswith("C ")


# ---- 6. the near-optimal tolerance on two scales ------------------------------------------------
def _near(relative_to: str = "reducible") -> NearOptimal:
    """A NearOptimal with a band, made up (no fit); the reducible share 2% [1.6, 2.4]."""
    smallest = {
        "N": 6e8, "size_vs_optimal": -0.4, "excess": 0.0005, "excess_lower": 0.0002,
        "excess_upper": 0.0008, "excess_reducible": 0.02, "excess_reducible_lower": 0.01,
        "excess_reducible_upper": 0.03,
    }  # fmt: skip
    return NearOptimal(
        C=C, tolerance=0.05, prob=0.9, ci=0.9, table=pd.DataFrame(), N_opt=1e9, N_opt_lower=7e8,
        N_opt_upper=1.4e9, band=(6e8, 1.6e9), smallest=smallest, relative_to=relative_to,
        floor=(0.49, 0.48, 0.50), reducible_share=(0.02, 0.016, 0.024),
    )  # fmt: skip


def test_near_optimal_tolerance_on_the_other_scale_is_only_about(simulated_fit):
    """'(= 0.0977% of the total loss, 5% of the reducible loss ...)' stated the tolerance on
    two scales as equal, while the conversion holds at the median reducible share only."""
    text = flat_text(reports.near_optimal_sentence(_near()))
    assert "(= " not in text
    assert "about 0.1% of the total loss at the median reducible share" in text, text
    assert "the reducible part is 2% of L_opt (90% interval [1.6, 2.4])" in text
    assert "each posterior draw applies the tolerance to its own reducible loss L_opt - E" in text
    total = flat_text(reports.near_optimal_sentence(_near("total")))
    assert "about 250% of the reducible loss L_opt - E at the median reducible share" in total


# ---- 7. bayeslaws report's fan caption -------------------------------------------------------
def test_fit_report_fan_caption_names_the_points_drawn(
    small_sweep_hp_fit, simulated_fit, monkeypatch, tmp_path
):
    """The planning report's fan caption says its points are each cell's best run; bayeslaws
    report's said nothing of them, though for the optima's laws they are the same."""
    def save(fig, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(reports.PNG_START)
        return path

    monkeypatch.setattr(plot, "save", save)
    for name in ("fan", "isoflop", "pairs"):
        monkeypatch.setattr(plot, name, lambda *a, **k: None)
    captions = {}
    for label, fit in (("hyperparams", small_sweep_hp_fit), ("chinchilla", simulated_fit)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = reports.fit_report(fit, figure_dir=tmp_path / label)
        captions[label] = dict((p.name, c) for s in report.sections for c, p in s.figures)
    assert "points: each (N, D) cell's best run" in captions["hyperparams"]["fan.png"]
    assert captions["chinchilla"]["fan.png"].endswith("points: the runs")
