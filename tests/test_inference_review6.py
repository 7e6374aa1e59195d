"""Review 6 of inference: an update numbers its new runs past fitted row labels given as text
("0".."29"), not from 0 (fitted run "3" and new run 3 were one label to screening); fit_many
warns when tasks would give identical draws (same runs, law, options and seed); a caller's
pool that breaks records the tasks it never started as not run (attempts 0), not as failed
twice at its refused resubmissions."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayeslaws.inference import batch
from bayeslaws.inference.batch import InProcessExecutor, fit_many, map_tasks
from bayeslaws.inference.fit import Fit
from bayeslaws.inference.update import (
    combined_table,
    label_number,
    next_label,
    refuse_label_clashes,
)


# ---- fit.update: row labels are text ------------------------------------------------------------
def test_new_runs_are_numbered_past_fitted_labels_given_as_text():
    assert next_label(pd.Index(["0", "1", "29"])) == 30
    assert next_label(pd.Index([0, "7", "a"]), taken=["-1", "12"]) == 13
    assert [label_number(r) for r in (7, np.int64(7), "7", "-2", "7.0", "a", "²")] == [
        7, 7, 7, -2, None, None, None
    ]  # fmt: skip


def test_a_new_label_with_a_fitted_labels_text_is_refused():
    with pytest.raises(ValueError, match=r"\['3'\] have the text of row labels the fit"):
        refuse_label_clashes(pd.Index(["2", "3"]), [3, 4])
    with pytest.raises(ValueError, match=r"\['5'\]"):
        refuse_label_clashes(pd.Index(["2"]), [5], taken=["5"])  # an excluded row's label
    refuse_label_clashes(pd.Index(["2", "3"]), [4, 5])  # no clash: nothing raised


def test_an_update_of_a_fit_with_text_row_labels_adds_no_second_label(simulated_fit):
    stored = simulated_fit.record.training_runs
    record = replace(
        simulated_fit.record, training_runs={**stored, "row": [str(r) for r in stored["row"]]}
    )
    fit = Fit(simulated_fit.idata, record, compute_model=simulated_fit.compute_model)
    new = pd.DataFrame({"N": [3e9, 4e9], "D": [6e10, 8e10], "loss": [2.0, 1.98]})
    labels = [str(r) for r in combined_table(fit, new).runs.df.index]
    n = len(stored["row"])
    assert len(set(labels)) == len(labels)
    assert labels[-2:] == [str(n), str(n + 1)]


# ---- fit_many: identical tasks ------------------------------------------------------------------
def _stub_fit(task, save_dir=None):
    return task.name


def _identical_warnings(tasks) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_many(tasks, InProcessExecutor(), show_progress=False)
    return [str(w.message) for w in caught if "draws will be identical" in str(w.message)]


def test_tasks_with_the_same_runs_law_options_and_seed_are_warned_about(monkeypatch):
    monkeypatch.setattr(batch, "fit_task", _stub_fit)
    df = pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9], "loss": [3.0, 2.9]})
    same = [{"runs": df, "name": "rep1"}, {"runs": df.copy(), "name": "rep2", "seed": 0}]
    (message,) = _identical_warnings([*same, {"runs": df, "name": "other", "seed": 1}])
    assert "'rep1', 'rep2'" in message and "'other'" not in message
    assert "seed 0" in message
    seeded = [{"runs": df, "name": f"rep{k}", "seed": k} for k in range(2)]
    assert _identical_warnings(seeded) == []
    changed = df.assign(loss=[3.0, 2.8])
    assert _identical_warnings([{"runs": df, "name": "a"}, {"runs": changed, "name": "b"}]) == []


def test_fit_manys_docstring_says_a_task_without_a_seed_uses_seed_0():
    assert "seed 0" in fit_many.__doc__


# ---- a caller's broken executor -----------------------------------------------------------------
def die_once(item):
    """("die", path): ends its worker process (and leaves ``path``); anything else: itself."""
    if isinstance(item, tuple):
        Path(item[1]).touch()
        os._exit(1)
    return item


def test_the_tasks_a_callers_broken_pool_never_started_are_not_run(tmp_path):
    items = [("die", str(tmp_path / "died")), 5, 6, 7]
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = map_tasks(die_once, items, pool, retries=1, show_progress=False)
    assert (tmp_path / "died").exists()
    assert [r.attempts for r in result] == [1, 0, 0, 0]
    assert "broke while this task was in it" in result[0].error
    for r in result[1:]:
        assert r.error.startswith("BrokenProcessPool: not run: the caller's executor broke")
        assert "pass executor=None" in r.error


def _fail():
    raise RuntimeError("the worker thread cannot start")


def test_a_pool_broken_before_any_task_started_runs_none_and_counts_none():
    with cf.ThreadPoolExecutor(1, initializer=_fail) as pool:
        result = map_tasks(str, ["a", "b", "c"], pool, retries=2, show_progress=False)
    assert [r.attempts for r in result] == [0, 0, 0]
    assert all("BrokenThreadPool: not run:" in r.error for r in result)
