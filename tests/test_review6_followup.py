"""Review 6 follow-up: runs given to an updated fit are matched to the runs the update added by
their values (SIMULATED runs, tiny fits)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.posterior import extrapolation as ex
from bayeslaws.posterior.extrapolation import stacking
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """16 SIMULATED Chinchilla runs (4 sizes x 4 token counts), labels 0-15."""
    N, D = chinchilla_design(4, 4)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)


@pytest.fixture(scope="module")
def updated(table):
    """A fit of the 12 smaller-budget runs (the 4 largest held out by exclusion), updated with
    those 4: the update labels them past every earlier label (here 26-31)."""
    runs = bl.load_runs(table)
    top = runs.df["C"] >= np.sort(runs.df["C"].to_numpy())[-4]
    fit = bl.fit(runs.exclude(top, "held out"), likelihood="gaussian", seed=0, warn=False, **TINY)
    fit2 = fit.update(runs.subset(top, "new"), warn=False, warmup=100, draws=100)
    assert not set(fit2.training_runs().df.index[-4:]) & set(table.index)  # labels renumbered
    return fit2


def test_an_updated_fit_accepts_the_table_it_was_fitted_to(table, updated):
    """prepare(fit2, "gp", the whole table) raised "runs lack 4 of the fit's 16 training runs
    (row labels 16, ...); pass the table the fit was fitted to": the runs the update added are
    now matched by their values, and the fit's own runs are used, with no unused-runs warning."""
    own = updated.training_runs().df
    with warnings.catch_warnings():
        warnings.simplefilter("error", stacking.UnusedRunsWarning)
        used = stacking.runs_for(updated, table.iloc[::-1], "test")
        ex.prepare(updated, "gp", table)
    assert used.df.equals(own)
    assert updated.cache["gp"] is not None


def test_a_table_lacking_an_added_run_still_raises_naming_it(table, updated):
    """A table missing one of the runs the update added is refused, the run named by label and
    values, and the error no longer tells the user to pass the table they passed."""
    own = updated.training_runs().df
    label = own.index[-1]
    same = np.isclose(table["N"], own.at[label, "N"]) & np.isclose(table["D"], own.at[label, "D"])
    gone = table[~same]
    assert len(gone) == len(table) - 1
    lacks = rf"runs lack 1 of the fit's 16 .*row {label}\b.*N="
    with pytest.raises(ValueError, match=lacks) as e:
        ex.prepare(updated, "gp", gone)
    assert "pass the table the fit was fitted to" not in str(e.value)
    assert "added" in str(e.value)


def test_a_table_with_another_run_warns_of_that_run_only(table, updated):
    """A row that is none of the fit's runs is the only one the unused-runs warning names."""
    extra = table.iloc[[0]].assign(loss=table["loss"].iloc[0] * 1.5).set_axis(["x"], axis=0)
    named = r"1 of the 17 runs given \(row labels 'x'\)"
    with pytest.warns(stacking.UnusedRunsWarning, match=named):
        stacking.runs_for(updated, pd.concat([table, extra]), "test")


def test_the_report_header_gives_the_ranges_its_distances_use_with_nominal_budgets(table):
    """Runs whose C is a nominal budget (0.8 x 6ND, as Marin's are): the header printed the
    runs' own C range while the distances are measured from the range of 6ND. It now prints
    the latter, says so, and gives the nominal range too."""
    from dataclasses import replace

    from bayeslaws.app.report import fit_report
    from bayeslaws.posterior.extrapolation.distance import group_ranges

    runs = bl.load_runs(table[["N", "D", "loss"]])  # as bundled.isoflop_compendium loads Marin
    nominal = runs.df.assign(C=0.8 * 6 * runs.df["N"] * runs.df["D"])
    fit = bl.fit(replace(runs, df=nominal), likelihood="gaussian", seed=0, warn=False, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preamble = fit_report(fit, budgets=[1e20]).preamble
    low, high = group_ranges(fit)["C"]
    assert low == pytest.approx(6 * nominal["N"].min() * nominal["D"].min(), rel=1e-9)
    (header,) = [line for line in preamble if line.startswith("fitted ranges: ")]
    assert f"C [{low:.3g}, {high:.3g}] FLOPs" in header
    own_low, own_high = fit.record.ranges["C"]
    note = preamble[preamble.index(header) + 1]
    assert "measured as the compute model's FLOPs (6ND) of the runs' N and D" in note
    own = f"C [{own_low:.3g}, {own_high:.3g}] FLOPs"
    assert note.endswith(f"the runs' own C are nominal budgets: {own}")


def test_a_broken_executor_without_start_marks_counts_its_tasks_as_run():
    """TaskResult said "a task never run counts 0" for any executor the caller gives; only
    process and thread pools keep start marks. An executor of another kind that breaks before
    running a task it was sent: that task counts one attempt and carries its error; the tasks
    never sent to it count 0 ("not run")."""
    import concurrent.futures as cf

    from bayeslaws.inference.batch import TaskResult, map_tasks

    class Broken(cf.Executor):
        def submit(self, fn, *args, **kwargs):
            future = cf.Future()
            future.set_exception(cf.BrokenExecutor("gone"))  # never runs fn
            return future

    first, *rest = map_tasks(abs, [1, -2, 3], executor=Broken(), retries=1)
    assert first.attempts == 1 and "broke while this task was in it" in first.error
    assert all(r.attempts == 0 and "not run" in r.error for r in rest)
    doc = " ".join(TaskResult.__doc__.split())
    assert "ThreadPoolExecutor`` the caller gave never started" in doc
    assert "any other broken executor of the caller's keeps no marks" in doc


def test_the_hp_design_prints_the_ranking_its_order_sentence_compares(simulated_fit):
    """The hyperparameter design said "so the two orders differ" against a ranking of each
    sweep alone that the report never printed: the ranking is now a table of the section."""
    from conftest import flat_text
    from test_plan_report_cautions import _design_plan

    from bayeslaws.app import plan_report
    from bayeslaws.app.report import Report

    _, hsec = plan_report._design_sections(_design_plan(), simulated_fit, simulated_fit, "90%")
    text = flat_text(Report("probe", sections=[hsec]).to_text())
    assert "the two orders agree" in text  # the batch h1, h2; alone h1, h2
    (ranking,) = [t for caption, t in hsec.tables if caption.startswith("Each sweep alone")]
    assert list(ranking["rank alone"]) == [1, 2]
    assert list(ranking["info (nats)"]) == [0.04, 0.06]
    assert "the table 'Each sweep alone'" in text
