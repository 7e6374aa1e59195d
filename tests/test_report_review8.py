"""Eighth review of ``bayeslaws report`` (fit_report): (2) an allocation at a budget far (more
than WARN_DECADES) outside the fitted range lost the ExtrapolationWarning's caveat, that its
interval is the fitted law's uncertainty alone, not the risk that the law bends out there (the
report computes its numbers inside range_stated(), which keeps the warning off; the planning
report kept it); the allocation section now says so, in the text and on the page. (3b) The
sentence naming a run table drawn with ``--runs`` counted every row, while the fan draws no
point for a run without a finite loss (a --keep-diverged table), only each cell's best run for a
law of the hyperparameter optima, and only the fitted group's rows for a fitted group."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from conftest import flat_text, quiet, report_section  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.app.report import drawn_runs_sentence, fit_report  # noqa: E402
from bayeslaws.posterior.allocation import WARN_DECADES, interval_note  # noqa: E402
from bayeslaws.posterior.extrapolation import DEFAULT_METHOD  # noqa: E402


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


# ---- 3b. the runs drawn -------------------------------------------------------------------------
def _with_nan_losses(runs, n: int = 3) -> pd.DataFrame:
    df = runs.df.drop(columns=["source"]).copy()
    df.loc[df.index[:n], "loss"] = np.nan
    return df


def test_the_drawn_runs_sentence_counts_the_runs_drawn(simulated_fit, simulated_runs, tmp_path):
    """`bayeslaws report --runs T --keep-diverged` said "16 rows of 16" while the fan drew 13:
    a run without a finite loss is no point."""
    df = _with_nan_losses(simulated_runs)
    table = quiet(lambda: bl.load_runs(df, allow_missing_loss=True))
    n = len(df)
    report = quiet(
        lambda: fit_report(simulated_fit, runs=table, figure_dir=tmp_path / "figs", ci=0.8)
    )
    said = f"{n} rows of {n}; {n - 3} drawn, the 3 without a finite loss are not."
    assert said in flat_text(report.to_text())
    assert said in report.to_html()
    assert said in drawn_runs_sentence(table, True, simulated_fit)
    # every row finite: the sentence as before
    assert drawn_runs_sentence(simulated_runs, True, simulated_fit).endswith(
        f"not the fit's own: {n} rows of {n}."
    )


def test_a_hyperparameter_law_draws_each_cells_best_run(small_sweep_hp_fit, small_sweep):
    """The fan of law 'hyperparams' draws one point per (N, D) cell, its best run; a cell whose
    runs have no finite loss has none."""
    from bayeslaws.runs.cells import run_cells

    df = small_sweep.df.drop(columns=["source"]).copy()
    n, cells = len(df), len(np.unique(run_cells(df)))
    line = drawn_runs_sentence(small_sweep, True, small_sweep_hp_fit)
    assert f"{n} rows of {n}; drawn: each (N, D) cell's best run, {cells} points." in line
    first = (df["N"] == df["N"].min()) & (df["D"] == df["D"].min())
    df.loc[first, "loss"] = np.nan
    table = quiet(lambda: bl.load_runs(df, allow_missing_loss=True))
    line = drawn_runs_sentence(table, True, small_sweep_hp_fit)
    assert f"{cells - 1} points (1 cell without a finite loss, none drawn)." in line


def test_a_fitted_groups_figures_draw_its_own_rows(grouped_fit):
    """For a fitted group the fan draws that group's rows of a table with a group column."""
    df = pd.DataFrame(grouped_fit.record.training_runs)
    own = int((df["group"].astype(str) == "B").sum())
    line = drawn_runs_sentence(df, True, grouped_fit, "B")
    assert (
        f"{len(df)} rows of {len(df)}; the {len(df) - own} rows of other groups are not drawn "
        "(the figures are for group B)."
    ) in line
    # a new group: the fan draws every group's runs
    assert drawn_runs_sentence(df, True, grouped_fit, None).endswith(
        f"{len(df)} rows of {len(df)}."
    )


def test_a_new_groups_figures_draw_only_the_fitted_groups_rows(grouped_fit):
    """For a new group (group None) the fan draws one set of runs per fitted group
    (plot.fan_points): the rows of a group the fit does not have are no point. The sentence said
    "32 rows of 32" while the fan drew 26 (review 8, RX)."""
    from bayeslaws import plot

    df = pd.DataFrame(grouped_fit.record.training_runs)
    df.loc[df.index[:6], "group"] = "C"  # 6 rows of a group the fit does not have
    drawn = sum(len(s) for _, s in plot.fan_points(grouped_fit, df, None).sets)
    assert drawn == len(df) - 6
    line = drawn_runs_sentence(df, True, grouped_fit, None)
    assert line.endswith(
        f"{len(df)} rows of {len(df)}; the 6 rows of groups the fit does not have (C) are not "
        "drawn (the figures draw the fitted groups' runs)."
    )
    # a fitted group's figures: the other groups' rows, the unfitted one's among them
    own = int((df["group"] == "B").sum())
    assert f"the {len(df) - own} rows of other groups are not drawn" in drawn_runs_sentence(
        df, True, grouped_fit, "B"
    )
