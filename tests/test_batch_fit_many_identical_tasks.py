"""fit_many warns when tasks would give identical draws (same runs, law, options and seed)
(review 6)."""

from __future__ import annotations

import warnings

import pandas as pd

from bayeslaws.inference.batch import InProcessExecutor, fit_many, fits


# ---- fit_many: identical tasks ------------------------------------------------------------------
def _stub_fit(task, save_dir=None):
    return task.name


def _identical_warnings(tasks) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_many(tasks, InProcessExecutor(), show_progress=False)
    return [str(w.message) for w in caught if "draws will be identical" in str(w.message)]


def test_tasks_with_the_same_runs_law_options_and_seed_are_warned_about(monkeypatch):
    monkeypatch.setattr(fits, "fit_task", _stub_fit)
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
