"""map_tasks on a caller's pool that breaks: the tasks it never started are recorded as not run
(attempts 0), not as failed twice at refused resubmissions (review 6); on a caller's executor of
another kind that breaks, the task it was sent counts one attempt and carries the error."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from pathlib import Path

from bayeslaws.inference.batch import map_tasks


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


# ---- a caller's executor of another kind that breaks ---------------------------------------------
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
