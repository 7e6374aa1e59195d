"""map_tasks with a caller's executor of another kind that breaks: the task it was sent counts
one attempt and carries the error, the tasks never sent count 0."""

from __future__ import annotations


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
