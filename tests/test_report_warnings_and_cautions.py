"""What fit_report and the planning report caution about: exclusions, warnings, far budgets, NaN.

Both reports list the fit's exclusions and notes (one helper, report.data_lines) and a
"Warnings" section with the warnings issued while the report was computed (a near-optimal band
that is not one interval, N_opt at the isoFLOP search edge, a fit of other law code loaded by
``bayeslaws report``); an allocation at a budget more than WARN_DECADES outside the fitted range
says its interval is the fitted law's uncertainty alone, not the risk that the law bends out
there; a target at which the law gives no value of a quantity (NaN) is said, with the law's
remedy.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import flat_text, quiet, report_section  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import posterior  # noqa: E402
from bayeslaws.app import plan, plan_report  # noqa: E402
from bayeslaws.app import report as reports  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.app.report import Section, fit_report  # noqa: E402
from bayeslaws.posterior.allocation import (  # noqa: E402
    WARN_DECADES,
    SearchEdgeWarning,
    edge_message,
    interval_note,
)
from bayeslaws.posterior.extrapolation import DEFAULT_METHOD  # noqa: E402

LAW_EXCLUSION = {  # as bl.fit records the sweep law's own exclusion of NaN-loss runs
    "by": "law",
    "count": 3,
    "reason": "not in the bowls: 3 with a missing (NaN) loss (law 'sweep')",
    "rows": ["3", "40", "77"],
}


LAW_NOTE = (
    "3 of 30 runs excluded from the bowls: 3 with a missing (NaN) loss at rows 3, 40, 77 "
    "(0-based data rows, header not counted)"
)


GAP = (
    "near_optimal: the sizes within tolerance at C = 1e+22 are not one interval: N = 2.3e+09, "
    "inside the band [1.22e+09, 2.66e+09], has prob_within 0.89 < 0.9 (see .table for every size)"
)


def _with_exclusions(fit):
    """The same fit, its record saying the law excluded 3 of 30 runs (as the sweep law records
    NaN-loss runs: record.data["exclusions"] with "by": "law", and a note)."""
    out = copy.copy(fit)
    data = {**fit.record.data, "exclusions": [LAW_EXCLUSION], "n_rows_used": 27,
            "n_input_rows": 30}  # fmt: skip
    out.record = dataclasses.replace(fit.record, data=data, notes=[LAW_NOTE])
    return out


def _plan(fit, N: float = 1e9, D: float = 2e10) -> dict:
    """The parts of a plan build_report reads before its allocation, fixed-vs-optimal and
    next-runs sections (replaced in the tests): target N params on D tokens."""
    hyper = pd.DataFrame(
        {"N": [N, N], "D": [D, D], "kind": ["mean", "new_run"],
         **{f"{q}_{s}": [1.0, 1.0] for q in ("eta_opt", "B_opt")
            for s in ("median", "lower", "upper")}}
    )  # fmt: skip
    loss = pd.concat(
        [bl.predict(fit, N=N, D=D, kind=k, seed=0) for k in ("mean", "new_run")],
        ignore_index=True,
    )
    return {"hyperparams": hyper, "law_table": pd.DataFrame(), "loss": loss, "ci": 0.9}


@pytest.fixture
def sections_skipped(monkeypatch):
    """build_report without its allocation, fixed-vs-optimal and design sections (they need a
    whole plan; these tests look at the fits section and the warnings)."""
    for name in ("_allocation_section", "_fixed_vs_optimal_section"):
        monkeypatch.setattr(plan_report, name, lambda *a, **k: Section("skipped"))
    monkeypatch.setattr(plan_report, "_design_sections", lambda *a, **k: [])


# ---- 1. the runs a fit excluded, in both reports ------------------------------------------------
def test_planning_report_lists_the_runs_the_fit_excluded(simulated_fit, sections_skipped):
    """The planning report's only run line was the run table's repr ('0 excluded'); the law's
    exclusions (count, reason, by whom), the runs used of those given and the fit's notes were
    in fit_report only."""
    fit = _with_exclusions(simulated_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the target lies outside the small fit's range
        text = plan_report.build_report(_plan(fit), fit).to_text()
    fits = report_section(text, "Fits and sampler health")
    assert "27 runs used of 30" in fits, fits
    assert (
        "excluded by the law: 3 rows, reason: not in the bowls: 3 with a missing (NaN) loss "
        "(law 'sweep')" in fits
    ), fits
    assert flat_text(LAW_NOTE) in fits
    assert "the runs the fit used; what it excluded, and why, is under" in flat_text(text)


def test_both_reports_state_the_exclusions_by_one_helper(simulated_fit, sections_skipped):
    """fit_report and the planning report say a fit's runs in the same words (data_lines),
    naming who excluded each: the law, the outlier screening or the run table given."""
    screened = {"count": 2, "reason": "screening: more than 8 robust sd off the fitted law",
                "rows": ["0", "1"]}  # fmt: skip
    given = {"count": 5, "reason": "bad tokenizer", "rows": ["2", "3", "4", "5", "6"]}
    fit = _with_exclusions(simulated_fit)
    fit.record = dataclasses.replace(
        fit.record,
        data={**fit.record.data, "exclusions": [LAW_EXCLUSION, screened, given]},
    )
    lines = reports.data_lines(fit)
    assert "excluded by the outlier screening: 2 rows" in lines[2]
    assert "excluded in the run table given to the fit: 5 rows, reason: bad tokenizer" in lines[3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        planned = flat_text(plan_report.build_report(_plan(fit), fit).to_text())
        reported = flat_text(fit_report(fit).to_text())
    for line in lines:
        assert flat_text(line) in reported, line
        assert flat_text(line) in planned, line


# ---- 2. warnings issued while a report is computed ----------------------------------------------
def test_fit_report_lists_a_warning_issued_while_it_was_computed(simulated_fit, monkeypatch):
    """near_optimal's warning that the sizes within tolerance are not one interval went to
    stderr only; the report printed 'sizes A to B' as one band. It is listed now (category and
    message, once however often issued), and still issued (stderr), under the caller's own
    filters."""
    real = posterior.near_optimal

    def gapped(*args, **kwargs):
        warnings.warn(GAP, UserWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(posterior, "near_optimal", gapped)
    with pytest.warns(UserWarning, match="not one interval"):
        report = fit_report(simulated_fit, budgets=[1e21, 2e21])  # two budgets: warned twice
    text = report.to_text()
    assert [s.title for s in report.sections][:2] == ["Sampler health", "Warnings"]
    assert report_section(text, "Warnings").count("not one interval") == 1
    assert f"UserWarning: {GAP}" in report_section(text, "Warnings")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the caller's filters hide it on stderr...
        quiet = fit_report(simulated_fit, budgets=[1e21]).to_text()
    assert f"UserWarning: {GAP}" in flat_text(quiet)  # the report lists it all the same


def test_fit_report_cautions_on_the_search_edge(simulated_fit, monkeypatch):
    """optimal_allocation's SearchEdgeWarning (N_opt at the isoFLOP search range's edge in a
    share of draws) was missing from fit_report's allocation section; the planning report had
    it as a CAUTION. fit_report says it there now, by the same helper, and its Warnings section
    does not repeat it."""
    real = posterior.optimal_allocation

    def at_edge(fit, C, **kwargs):
        out = real(fit, C, **kwargs)
        out["at_boundary"] = 0.25
        warnings.warn(
            edge_message(out["C"], out["at_boundary"], DEFAULT_METHOD),
            SearchEdgeWarning,
            stacklevel=2,
        )
        return out

    monkeypatch.setattr(posterior, "optimal_allocation", at_edge)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(simulated_fit, budgets=[1e21]).to_text()
    alloc = report_section(text, "Compute-optimal allocation")
    assert "CAUTION: N_opt sits at the edge of the isoFLOP search range in 25.0% of draws" in alloc
    assert "SearchEdgeWarning" not in text  # said once, in the allocation section


def test_report_command_lists_the_warnings_of_loading_the_fit(
    simulated_fit, tmp_path, monkeypatch, capsys
):
    """`bayeslaws report FIT.nc` on a fit whose law code changed since: the LawChangedWarning
    of loading it was on stderr only; the report (text and page) lists it now."""
    from bayeslaws.inference import exported
    from bayeslaws.inference.fit import LawChangedWarning

    path = tmp_path / "fit.nc"
    simulated_fit.save(path)
    monkeypatch.setattr(exported, "law_source_digest", lambda law: "0" * 16)
    out = tmp_path / "r.html"
    with pytest.warns(LawChangedWarning, match="other code of law"):  # on stderr, as before
        assert main(["report", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    warned = report_section(printed.out, "Warnings")
    assert "LawChangedWarning: " in warned, warned
    assert "was fitted with other code of law 'chinchilla' than this process has" in warned
    assert "was fitted with other code of law" in out.read_text()


def test_planning_report_lists_the_plan_warnings(simulated_fit, sections_skipped):
    """A warning issued while the plan was computed (plan["warnings"]) and one issued while
    the report is built are listed in the planning report's Warnings section, after the fits'
    health; repeats and warnings the report already states as a CAUTION are not."""
    fit = simulated_fit
    p = {**_plan(fit), "warnings": [f"UserWarning: {GAP}", f"UserWarning: {GAP}"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = plan_report.build_report(p, fit)
    text = report.to_text()
    assert [s.title for s in report.sections][:2] == ["Fits and sampler health", "Warnings"]
    assert report_section(text, "Warnings").count("not one interval") == 1


def test_planning_records_its_warnings(small_sweep_sweep_fit):
    """planning(...) keeps the distinct warnings issued while it computes (plan["warnings"]),
    whatever the caller's filters, and the planning report lists them: the budget 1e22 FLOPs
    lies far beyond the small sweep, which optimal_allocation warns of."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = plan.planning(small_sweep_sweep_fit, seed=0)
        text = plan_report.build_report(p, small_sweep_sweep_fit).to_text()
    far = [w for w in p["warnings"] if w.startswith("ExtrapolationWarning: optimal_allocation")]
    assert len(far) == 1, p["warnings"]
    assert flat_text(far[0]) in report_section(text, "Warnings")


# ---- 2. the far-extrapolation caveat -------------------------------------------------------------
def test_an_allocation_far_outside_the_range_says_what_its_interval_holds(simulated_fit):
    """N_opt at a budget 3 decades above the fitted ones was given with its distance only: the
    caveat of the warning the report keeps off (its interval is the law's uncertainty alone,
    not the risk that the law bends out there) was in neither rendering."""
    high = simulated_fit.record.ranges["C"][1]
    near, far = high * 3, high * 10 ** (WARN_DECADES + 1)
    report = quiet(lambda: fit_report(simulated_fit, budgets=[near, far], ci=0.8))
    section = report_section(report.to_text(), "Compute-optimal allocation")
    note = interval_note(bool(simulated_fit.law.widened), DEFAULT_METHOD)
    assert note in section
    assert "bends out there" in note  # the caveat the review found missing
    assert f"CAUTION: at C = {far:.3g} FLOPs" in section  # the far budget alone is named
    assert f"{near:.3g} FLOPs the budget" not in section and f"{near:.3g}," not in section
    assert f"more than {WARN_DECADES:g} decades outside the fitted range" in section
    assert html.escape(note) in report.to_html()


def test_an_allocation_within_the_range_has_no_far_caution(simulated_fit):
    high = simulated_fit.record.ranges["C"][1]
    report = quiet(lambda: fit_report(simulated_fit, budgets=[high * 3], ci=0.8))
    section = report_section(report.to_text(), "Compute-optimal allocation")
    assert "bends" not in section and "decades outside the fitted range" not in section


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---- 3. a quantity the law gives no value of ----------------------------------------------------
def test_a_target_without_a_loss_says_so(small_sweep_hp_fit):
    """--target N D on a hyperparams fit dropped loss_opt (NaN off the fitted cells) without a
    word, where --C says the law defines none; the report now says so with the law's remedy."""
    fit = small_sweep_hp_fit
    fitted = (0.057e9, 5e9)  # a fitted cell: loss_opt is known there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(fit, targets=[(1e9, 1e11), fitted]).to_text()
    section = _one_line(text[text.index("== Predictions") :])
    note = "loss_opt: this fit's law gives no value at N 1e+09, D 1e+11 (its prediction is NaN"
    assert note in section, section
    assert _one_line(fit.law.missing_values_hint) in section
    assert "N 5.7e+07, D 5e+09 (its" not in section  # the fitted cell has its loss
    assert "loss_opt at N 5.7e+07, D 5e+09 (mean)" in section
