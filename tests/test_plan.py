"""The demo's planning numbers and report (bayeslaws.app.plan, .plan_report, .demo) on the small
session fit of tests/conftest.py: published references only where they belong, the simulator's
near-optimal truth at any tolerance, cautions for answers set by a search's edge, and the demo's
inputs checked before its fit (which is saved before planning). No new NUTS fit here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app import demo, plan, plan_report
from bayeslaws.app.plan import truth_near_optimal
from bayeslaws.app.report import Section
from bayeslaws.runs import published
from bayeslaws.runs.simulate import VideoDiTTruth


def _plan(fit, N: float, D: float, ci: float = 0.9) -> dict:
    """The parts of a plan that build_report reads before its allocation, fixed-vs-optimal and
    next-runs sections (those three are replaced in the test): target (N params, D tokens)."""
    hyper = pd.DataFrame(
        {
            "N": [N, N],
            "D": [D, D],
            "kind": ["mean", "new_run"],
            **{
                f"{q}_{s}": [1.0, 1.0]
                for q in ("eta_opt", "B_opt")
                for s in ("median", "lower", "upper")
            },
        }
    )
    loss = pd.concat(
        [bl.predict(fit, N=N, D=D, ci=ci, kind=k, seed=0) for k in ("mean", "new_run")],
        ignore_index=True,
    )
    return {"hyperparams": hyper, "law_table": pd.DataFrame(), "loss": loss, "ci": ci}


def _published_losses(fit, runs, N: float, D: float) -> list[float]:
    report = plan_report.build_report(_plan(fit, N, D), fit, runs=runs, truth=VideoDiTTruth())
    table = plan_report.comparison_table(report)
    rows = table[table["section"].str.startswith("Predicted loss")]
    assert (rows["reference"] == "truth: VideoDiTTruth").sum() == 2  # the truth, always
    published_rows = rows[rows["reference"].str.startswith("published")]
    assert len(published_rows) in (0, 2)  # both kinds (mean, new_run) or neither
    # each row's kind of reference as a column (notebooks counted it from the reference text)
    assert rows["kind"].tolist() == [
        "published" if r.startswith("published") else "truth" for r in rows["reference"]
    ]
    return sorted(set(published_rows["value"]))


def test_published_loss_is_a_reference_only_at_its_own_target(
    simulated_fit, simulated_runs, monkeypatch
):
    """Yin et al.'s loss at 1.07B params on 10B tokens (0.51266) is no reference for another
    target (it was attached to any, with a verdict); at that target (within 1%) it is."""
    for name in ("_allocation_section", "_fixed_vs_optimal_section"):
        monkeypatch.setattr(plan_report, name, lambda *a, **k: Section("skipped"))
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # targets outside the small fit's range
        assert _published_losses(simulated_fit, simulated_runs, 3e7, 2e9) == []
        assert _published_losses(simulated_fit, simulated_runs, 1.07e9, 1e10) == [
            published.YIN_ANCHOR_L_1P07B_10B
        ]
        assert _published_losses(simulated_fit, simulated_runs, 1.075e9, 0.995e10) == [
            published.YIN_ANCHOR_L_1P07B_10B
        ]
        assert _published_losses(simulated_fit, simulated_runs, 1.07e9, 2e10) == []


def test_hyperparameter_optima_at_the_target_have_yins_law_as_a_published_reference(
    simulated_fit, simulated_runs, monkeypatch
):
    """eta_opt and B_opt at the planned run had only the simulator's truth as a reference,
    though Yin et al.'s published laws give a value at any target (the comparison table
    promises every known value)."""
    for name in ("_allocation_section", "_fixed_vs_optimal_section"):
        monkeypatch.setattr(plan_report, name, lambda *a, **k: Section("skipped"))
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])
    N, D = 1.07e9, 1e10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a target outside the small fit's range
        report = plan_report.build_report(
            _plan(simulated_fit, N, D), simulated_fit, runs=simulated_runs, truth=VideoDiTTruth()
        )
    table = plan_report.comparison_table(report)
    for label, law in (("eta_opt", published.yin_eta_opt), ("B_opt", published.yin_b_opt)):
        rows = table[table["quantity"].str.startswith(f"{label} (")]
        assert len(rows[rows["kind"] == "truth"]) == 2, rows  # the law and a new sweep's
        published_rows = rows[rows["kind"] == "published"]
        assert len(published_rows) == 2, rows
        assert published_rows["value"].to_numpy() == pytest.approx(float(law(N, D)), rel=1e-12)


def _smallest_within(truth, C, tolerance, relative_to, decades=8):
    """Brute force: the smallest N (params) within the tolerance at C FLOPs, on a wide grid."""
    n_opt = float(truth.n_opt(C))
    N = np.geomspace(n_opt / 10.0**decades, n_opt, 2000 * decades + 1)
    L_opt = float(truth.loss_star(n_opt, truth.d_opt(C)))
    base = L_opt - truth.E if relative_to == "reducible" else L_opt
    D = C / (truth.flops_per_param_token * N)  # tokens on the truth's own isoFLOP line
    return float(N[np.argmax(truth.loss_star(N, D) - L_opt <= tolerance * base)])


@pytest.mark.parametrize(
    "tolerance, relative_to", [(0.05, "reducible"), (5.0, "reducible"), (0.5, "total")]
)
def test_truth_near_optimal_is_not_cut_off_by_its_grid(tolerance, relative_to):
    """The simulator's smallest near-optimal size searched only down to N_opt / 100, so for a
    large tolerance it returned that edge (2.4e7 at 1e22 FLOPs instead of 3.1e6)."""
    truth, C = VideoDiTTruth(), 1e22
    expected = _smallest_within(truth, C, tolerance, relative_to)
    assert truth_near_optimal(truth, C, tolerance, relative_to) == pytest.approx(expected, rel=2e-3)


def test_truth_near_optimal_searches_the_truths_own_isoflop_line():
    """A truth with C = 8ND was searched along C = 6ND: its smallest near-optimal size at 1e22
    FLOPs came out 6.72e8 instead of 8.66e8 (22% low), and sizes on that line beat L_opt."""
    truth, C = VideoDiTTruth(flops_per_param_token=8.0), 1e22
    expected = _smallest_within(truth, C, 0.05, "reducible")
    assert truth_near_optimal(truth, C, 0.05, "reducible") == pytest.approx(expected, rel=2e-3)


def test_allocation_section_says_when_a_search_edge_sets_the_answer(simulated_fit):
    """N_opt draws at the isoFLOP search's edge (at_boundary > 0) and a near-optimal band that
    reaches the edge of its size grid (50% of the reducible loss on a grid 0.2 decades either
    side of N_opt) each get a CAUTION, and the band's end at the grid's edge is not scored
    against the truth."""
    C = 1e22
    with pytest.warns(UserWarning, match="extends beyond the search"):
        near = bl.near_optimal(
            simulated_fit, C, 0.5, relative_to="reducible", seed=0, span_decades=0.2
        )
    assert near.band_at_edge[0]
    allocation = bl.optimal_allocation(simulated_fit, C=C, seed=0).assign(at_boundary=0.25)
    plan = {"allocation": allocation, "tokens_per_param": (20.0, 15.0, 25.0), "near_optimal": near}
    notes = " ".join(plan_report._allocation_section(plan, simulated_fit, VideoDiTTruth()).notes)
    assert "CAUTION: N_opt sits at the edge of the isoFLOP search range in 25.0% of draws" in notes
    assert "the search range's edge, not the data's" in notes
    assert "CAUTION: near_optimal: the band at C = 1e+22 FLOPs reaches the edge" in notes
    assert "the smallest size searched: the band extends below it" in notes
    assert "ABOVE it" not in notes and "BELOW it" not in notes


@pytest.mark.parametrize(
    "kwargs, flag",
    [
        ({"budget": 0.0}, "--budget"),
        ({"budget": float("nan")}, "--budget"),
        ({"target_N": -1e9}, "--target-N"),
        ({"target_D": float("inf")}, "--target-D"),
        ({"tolerance": 3.0}, "--tolerance"),
        ({"tolerance": 0.0}, "--tolerance"),
        ({"ci": 1.5}, "ci"),
    ],
)
def test_run_demo_checks_its_inputs_before_fitting(kwargs, flag, monkeypatch, tmp_path):
    """A bad budget, target, tolerance or ci is refused before the NUTS fit (it was checked
    only after it, naming C rather than --budget), naming the argument and its flag."""

    def no_fit(*args, **kw):
        raise AssertionError("fitted before the inputs were checked")

    monkeypatch.setattr(demo, "fit_laws", no_fit)
    with pytest.raises(ValueError, match=flag):
        demo.run_demo(tmp_path, figures=False, progress=False, quiet=True, **kwargs)


def test_run_demo_saves_the_fits_before_planning(simulated_fit, monkeypatch, tmp_path):
    """A failure in planning no longer loses the fit: it is saved as soon as it is done."""

    def failing(*args, **kwargs):
        raise ValueError("probe: planning failed")

    monkeypatch.setattr(demo, "fit_laws", lambda runs, sampler, route: (simulated_fit,) * 2)
    monkeypatch.setattr(plan, "planning", failing)  # what run_demo calls (bl.demo.planning
    # is only the deprecated alias)
    with pytest.raises(ValueError, match="probe"):
        demo.run_demo(tmp_path, figures=False, progress=False, quiet=True)
    saved = bl.load_fit(tmp_path / "sweep_fit.nc")
    assert saved.diagnostics.n_draws == simulated_fit.diagnostics.n_draws


# ---- real data: no simulator, the source named; cautions; what planning needs ------------------
def _relabelled(fit, **data):
    """The same fit, its record's run provenance (``record.data``) updated with ``data``."""
    import copy
    import dataclasses

    out = copy.copy(fit)
    out.record = dataclasses.replace(fit.record, data={**fit.record.data, **data})
    return out


def _report_text(fit, monkeypatch, **build) -> str:
    """The planning report of ``fit`` (all but the next-runs sections) at 1e22 FLOPs."""
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the target and budget lie outside the small fit
        plan = _plan(fit, 1.07e9, 1e10)
        plan["allocation"] = bl.optimal_allocation(fit, C=1e22, seed=0)
        plan["tokens_per_param"] = (20.0, 15.0, 25.0)
        plan["near_optimal"] = bl.near_optimal(fit, 1e22, seed=0)
        plan["fixed_vs_optimal"] = None
        return plan_report.build_report(plan, fit, **build).to_text()


def test_report_of_real_data_names_its_source_and_no_simulator(simulated_fit, monkeypatch):
    """A plan of a fit to real runs was reported as "'video_dit_sweep_simulated' (SIMULATED
    data ...)" and checked against the video-DiT simulator's truth, whatever the fit's data.
    Now the title names the fit's own source; the SIMULATED preamble and the truth appear only
    for SIMULATED data (or a truth given explicitly)."""
    real = _relabelled(simulated_fit, source="measured/step_law_runs.csv")
    text = _report_text(real, monkeypatch)
    title = text.splitlines()[0]
    assert "measured/step_law_runs.csv" in title and "video_dit" not in title, title
    for word in ("SIMULATED", "simulator truth", "Simulator truth", "VideoDiTTruth", "Yin"):
        assert word not in text, word
    assert "== Compute-optimal allocation at C = 1e+22 FLOPs" in text

    simulated = _report_text(simulated_fit, monkeypatch, truth=VideoDiTTruth())
    assert "SIMULATED" in simulated.splitlines()[0]
    assert "The runs are SIMULATED" in simulated and "simulator truth (VideoDiTTruth)" in simulated
    unknown = _report_text(simulated_fit, monkeypatch)  # Chinchilla-simulated: no sweep truth
    assert "no number is checked against a truth" in unknown and "simulator truth" not in unknown
    given = _report_text(real, monkeypatch, truth=VideoDiTTruth())  # a truth asked for
    assert "SIMULATED" not in given and "simulator truth (VideoDiTTruth)" in given


def test_fixed_vs_optimal_plan_has_a_truth_only_for_simulated_data(simulated_fit, monkeypatch):
    """fixed_vs_optimal_plan always added the video-DiT simulator's answer ('truth'), also for a
    fit to real runs; now only for SIMULATED data or a truth given."""
    from bayeslaws.app import plan as plan_module

    row = {"C": 1e22, "lr": 1e-3, "batch_size": 1e6, "size_change_median": 0.1}
    monkeypatch.setattr(plan_module, "fixed_vs_optimal", lambda *a, **k: pd.DataFrame([row]))
    real = _relabelled(simulated_fit, source="measured runs.csv")
    assert "truth" not in plan_module.fixed_vs_optimal_plan(real, 1e22)
    assert plan_module.known_truth(real) is None
    # simulated_fit's runs are of the Chinchilla simulator, not the video-DiT sweep's: no truth
    assert "truth" not in plan_module.fixed_vs_optimal_plan(simulated_fit, 1e22)
    given = plan_module.fixed_vs_optimal_plan(simulated_fit, 1e22, truth=VideoDiTTruth())
    assert np.isfinite(given["truth"])
    assert "truth" in plan_module.fixed_vs_optimal_plan(real, 1e22, truth=VideoDiTTruth())
    partly = _relabelled(simulated_fit, source="runs.csv (partly SIMULATED: 3 of 30 rows)")
    assert plan_module.known_truth(partly) is None


def test_fits_section_reports_the_screening(simulated_fit, monkeypatch):
    """Runs flagged far off the law at fit time (fit.record.data['screening']) went unmentioned
    in the planning report's fit-health section."""
    screening = {
        "action": "warn",
        "threshold": 8.0,
        "n_screened": 30,
        "flagged": [{"row": "7", "z": 12.4, "ratio": 1.1}, {"row": "3", "z": -9.2, "ratio": 0.9}],
    }
    fit = _relabelled(simulated_fit, screening=screening)
    text = " ".join(_report_text(fit, monkeypatch).split())
    start = text.index("== Fits and sampler health ==")
    health = text[start : text.index("==", start + 30)]
    assert (
        "screening: 2 run(s) > 8 robust sd off the fitted law, kept in the fit: rows 7 (z +12), "
        "3 (z -9)" in health
    ), health


def test_fixed_vs_optimal_section_cautions_at_the_search_edge(simulated_fit):
    """A share of draws whose refitted N_opt sits at the edge of the sizes searched
    (answer['at_boundary'], 0.655 at 1e29 FLOPs on the demo's fit) cuts the interval off; the
    report said nothing."""
    answer = {
        "ci": 0.9,
        "lr": 1e-3,
        "batch_size": 1e6,
        "n_opt_fixed": 2e9,
        "n_opt_optimal": 1e9,
        "size_change_median": 1.0,
        "size_change_lower": 0.2,
        "size_change_upper": 3.0,
        "verdict": "settled",
        "n_draws": 100,
        "at_boundary": 0.655,
    }
    plan = {"allocation": pd.DataFrame({"C": [1e29]}), "fixed_vs_optimal": answer}
    notes = " ".join(plan_report._fixed_vs_optimal_section(plan, simulated_fit).notes)
    assert "CAUTION: in 65.5% of draws the refitted N_opt is at the search edge" in notes
    assert "the interval is cut off" in notes
    plan["fixed_vs_optimal"] = {**answer, "at_boundary": 0.0}
    notes = " ".join(plan_report._fixed_vs_optimal_section(plan, simulated_fit).notes)
    assert "CAUTION" not in notes


def test_planning_says_which_laws_it_needs(simulated_fit, monkeypatch):
    """Planning a Chinchilla fit failed deep inside with "law 'chinchilla' defines no law
    table"; now it says at once that planning needs law 'sweep' (or 'hyperparams' plus a
    loss-surface fit), before any costly preparation."""
    from bayeslaws.app import plan as plan_module
    from bayeslaws.laws.contract import LawCapabilityError

    def no_prepare(*args, **kwargs):
        raise AssertionError("prepared before the laws were checked")

    monkeypatch.setattr(plan_module.extrapolation, "prepare", no_prepare)
    with pytest.raises(LawCapabilityError, match="planning needs a fit of law 'sweep'"):
        plan_module.planning(simulated_fit)


# ---- R6 (s37): what a pick is worth, groups, far inputs ------------------------------------------
def test_pick_values_clip_the_loss_saved_at_zero():
    """A pick that leaves the cumulative width where it was saved "-0" loss, worth "-0" FLOPs,
    "gain / cost = -0"; now 0, and never below."""
    batch = pd.DataFrame({"rank": [1, 2, 3], "flops": [1e19, 1e19, 1e19]})
    shrink = np.array([0.1, 0.1, 0.12])  # pick 2 flat, pick 3 wider (Monte Carlo error)
    values = plan.pick_values(batch, 1e-4, shrink, 1e22, -0.003)
    saved = values["loss_saved"].to_numpy()
    assert saved[0] == pytest.approx(0.9e-4)
    assert (saved[1:] == 0).all() and not np.signbit(saved).any(), saved
    assert not np.signbit(values["worth_flops"].to_numpy()).any()
    assert all("-0" not in v for v in values["verdict"]), list(values["verdict"])


def test_nopt_picks_are_valued_on_the_allocations_posterior(small_sweep_hp_fit, simulated_fit):
    """Best-cell route (a widened Chinchilla surface): the regret came from the allocation's
    N_opt posterior (the fitted law's own) but each pick's shrink from a design under the drift
    (N_opt's 90% interval ~1e17 wide against the allocation's ~4e8), so a pick "removed 99% of
    the regret" and the next ones saved "-0". Now the design uses the allocation's model: its
    width now is the allocation's interval, and the regret falls pick by pick."""
    C = 1e22
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the budget and target lie outside the small fits
        out = plan.next_runs_plan(small_sweep_hp_fit, simulated_fit, 1.07e9, 1e10, C, seed=0)
        a = bl.optimal_allocation(simulated_fit, C=C, seed=0).iloc[0]
    label = f"N_opt(C={C:.0e})"
    now = out["design_nopt"][f"width_now[{label}]"].to_numpy(float)
    assert now == pytest.approx(a.N_opt_upper - a.N_opt_lower, rel=0.02)
    value = out["value_nopt"]
    assert (value["loss_saved"] >= 0).all() and not np.signbit(value["loss_saved"]).any()
    after = out["design_nopt"][f"width_after[{label}]"].to_numpy(float)
    expected = value["regret_before"].iloc[0] * (after / now) ** 2
    assert value["regret_after"].to_numpy() == pytest.approx(expected, rel=1e-9)


def test_planning_refuses_a_grouped_fit_without_group(
    small_sweep_hp_fit, grouped_fit, simulated_fit
):
    """A fit of groups A and B was planned for a NEW group (wider answers, only warnings, which
    the notebook silences); now group= is required, naming the fit's groups, and checked."""
    with pytest.raises(ValueError, match=r"group=None: surface_fit is a fit of 2 groups \['A', "):
        plan.planning(small_sweep_hp_fit, grouped_fit)
    with pytest.raises(ValueError, match=r"group='Z' is not one of surface_fit's groups"):
        plan.planning(small_sweep_hp_fit, grouped_fit, group="Z")
    with pytest.raises(ValueError, match="group='A': the fits were fitted without groups"):
        plan.planning(small_sweep_hp_fit, simulated_fit, group="A")
    # next_runs_plan, public too, refuses as planning does (it designed for a new group)
    with pytest.raises(ValueError, match=r"group=None: surface_fit is a fit of 2 groups"):
        plan.next_runs_plan(small_sweep_hp_fit, grouped_fit, 1.07e9, 1e10, 1e22)


def test_planning_answers_for_the_group_asked(small_sweep_hp_fit, grouped_fit, monkeypatch):
    """planning(..., group="A"): the allocation, near-optimal sizes and N_opt design are group
    A's (as bl.optimal_allocation(..., group="A") gives), and the report says so."""
    # the two fixtures are of different sweeps, which planning refuses (plan.check_same_runs,
    # tested in test_plan_candidates_and_fit_pairs); this test is about groups only
    monkeypatch.setattr(plan, "check_same_runs", lambda *fits: None)
    C = 1e22
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the budget and target lie outside the small fits
        p = plan.planning(small_sweep_hp_fit, grouped_fit, budget=C, group="A")
        own = bl.optimal_allocation(grouped_fit, C=C, seed=0, group="A").iloc[0]
        new = bl.optimal_allocation(grouped_fit, C=C, seed=0).iloc[0]
    a = p["allocation"].iloc[0]
    assert p["group"] == "A" and p["fixed_vs_optimal"] is None
    assert a.N_opt_lower == pytest.approx(own.N_opt_lower, rel=1e-9)
    assert a.N_opt_upper == pytest.approx(own.N_opt_upper, rel=1e-9)
    assert not np.isclose(a.N_opt_upper, new.N_opt_upper, rtol=0.01)  # not a new group's
    width = p["design_nopt"][f"width_now[N_opt(C={C:.0e})]"].iloc[0]
    assert width == pytest.approx(own.N_opt_upper - own.N_opt_lower, rel=0.02)
    text = " ".join(plan_report.build_report(p, small_sweep_hp_fit, grouped_fit).to_text().split())
    assert "Group: every answer below is for fitted group 'A' (of ['A', 'B'])" in text
    assert "The hyperparameter fit has no groups: it answers from all its runs." in text
    assert "Not answered for group 'A': bl.fixed_vs_optimal takes no group" in text


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 1e5}, r"budget = 1e\+05 lies 12\.\d decades below the fitted range of C"),
        ({"budget": float("nan")}, r"budget must be a positive number \(FLOPs"),
        ({"target_N": 1.07}, r"target_N = 1\.07 lies \d\.\d decades below the fitted range of N"),
        ({"target_D": -1.0}, r"target_D must be a positive number \(tokens\)"),
    ],
)
def test_planning_refuses_bad_or_far_inputs(kwargs, match, small_sweep_hp_fit, simulated_fit):
    """planning(fit, budget=1e5) planned a 155-parameter N_opt with a warning only (12 decades
    below the fitted budgets: most likely other units), and budget=nan was refused as "C must
    be finite and positive". Now each input is checked first, by its own name."""
    with pytest.raises(ValueError, match=match):
        plan.planning(small_sweep_hp_fit, simulated_fit, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 1e5}, r"budget \(--budget\) = 1e\+05 lies 12\.\d decades below"),
        ({"target_N": 1.07}, r"target_N \(--target-N\) = 1\.07 lies"),
    ],
)
def test_run_demo_refuses_far_inputs_before_fitting(kwargs, match, monkeypatch, tmp_path):
    """The demo fitted for minutes and then planned a budget of 1e5 FLOPs (12 decades below
    its runs); now the far check planning applies is made on its runs before the fit."""

    def no_fit(*args, **kw):
        raise AssertionError("fitted before the inputs were checked")

    monkeypatch.setattr(demo, "fit_laws", no_fit)
    with pytest.raises(ValueError, match=match):
        demo.run_demo(tmp_path, figures=False, progress=False, quiet=True, **kwargs)
