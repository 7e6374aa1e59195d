"""map_tasks on Dask: a lone task failed with KilledWorker (possibly an innocent task sharing a
dying worker) is submitted once more, alone, and a task failed so again is recorded with a
cause that says it may be innocent (review 8)."""

from __future__ import annotations

import concurrent.futures as cf

from bayeslaws.inference.batch import map_tasks


def square(x):
    return x * x


# ---- KilledWorker: one more submission for a lone task -----------------------------------------
class KilledWorker(Exception):
    """What map_tasks takes for Dask's ``distributed.KilledWorker`` (by class name and
    module): distributed need not be installed."""

    __module__ = "distributed.scheduler"


class Killing(cf.Executor):
    """An executor (as a Dask client's adapter, in process) that fails a submission holding
    item x with KilledWorker the first ``kills[x]`` times; ``sent``: the items of each."""

    def __init__(self, kills: dict):
        self.kills = dict(kills)
        self.sent: list = []

    def submit(self, fn, /, *args, **kwargs):
        chunk = args[1]
        self.sent.append(list(chunk))
        future = cf.Future()
        doomed = [x for x in chunk if self.kills.get(x, 0) > 0]
        for x in doomed:
            self.kills[x] -= 1
        if doomed:
            future.set_exception(KilledWorker("Attempted to run task 'run_chunk-1' on 4 workers"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_a_lone_task_dask_failed_with_killed_worker_is_submitted_once_more():
    """An innocent task queued on a worker that another task killed is failed too."""
    pool = Killing({2: 1})  # 2 shared a dying worker once
    result = map_tasks(square, [1, 2, 3], pool, retries=1, show_progress=False)
    assert result.values == [1, 4, 9]
    assert [r.attempts for r in result] == [1, 2, 1]
    assert pool.sent.count([2]) == 2


def test_a_task_killed_again_is_recorded_with_a_cause_that_says_it_may_be_innocent():
    pool = Killing({2: 99})  # 2 kills its workers every time
    result = map_tasks(square, [1, 2], pool, retries=3, show_progress=False)
    assert result.values == [1, None]
    assert result[1].attempts == 2 and pool.sent.count([2]) == 2  # once more, not 3 more
    error = result[1].error
    assert error.startswith("KilledWorker: Attempted to run")
    assert "shared a worker with one that killed it" in error
    assert "failed the same way when bayeslaws submitted it once more" in error
    # retries=0: recorded at once, saying that it may be innocent and what resubmits it
    pool = Killing({2: 1})
    result = map_tasks(square, [1, 2], pool, retries=0, show_progress=False)
    assert result[1].attempts == 1 and pool.sent.count([2]) == 1
    assert "can be failed this way too" in result[1].error
    assert "once more when retries allow it" in result[1].error


def test_a_killed_chunks_items_run_again_alone_once():
    """A chunk's items (which one its worker ran unknown) run again alone, uncounted: that is
    their one more submission, so one failed so again is recorded."""
    pool = Killing({2: 2})
    result = map_tasks(square, [1, 2], pool, retries=3, chunk_size=2, show_progress=False)
    assert pool.sent == [[1, 2], [1], [2]]
    assert result.values == [1, None] and [r.attempts for r in result] == [1, 1]
    assert "failed the same way when bayeslaws submitted it once more" in result[1].error


class Lazy(cf.Executor):
    """An executor (as a Dask client's adapter, in process) whose tasks run only when the batch
    waits for them (``release``, called from ``concurrent.futures.wait``), so that several are
    in flight at once, with no thread and no clock; the first submission holding "k" fails
    with KilledWorker at once. ``in_flight``: per submission, its items and how many of the
    executor's earlier tasks were still in flight."""

    def __init__(self):
        self.queued: list = []
        self.in_flight: list = []
        self.killed = False

    def submit(self, fn, /, *args, **kwargs):
        chunk = args[1]
        self.in_flight.append((list(chunk), len(self.queued)))
        future = cf.Future()
        if "k" in chunk and not self.killed:
            self.killed = True
            future.set_exception(KilledWorker("Attempted to run task 'run_chunk-1' on 4 workers"))
        else:
            self.queued.append((future, fn, args, kwargs))
        return future

    def release(self):
        queued, self.queued = self.queued, []
        for future, fn, args, kwargs in queued:
            future.set_result(fn(*args, **kwargs))


def test_a_killed_task_runs_again_with_no_other_task_beside_it(monkeypatch):
    """Resubmitted beside the batch's other tasks, an innocent task could share a dying worker
    again (a LocalCluster run failed it twice beside the killer's own resubmission)."""
    pool = Lazy()
    real_wait = cf.wait

    def wait(futures, *args, **kwargs):
        pool.release()
        return real_wait(futures, *args, **kwargs)

    monkeypatch.setattr(cf, "wait", wait)
    result = map_tasks(str.upper, ["a", "k", "b"], pool, retries=1, show_progress=False)
    assert result.values == ["A", "K", "B"]
    assert [r.attempts for r in result] == [1, 2, 1]
    resubmitted = [n for items, n in pool.in_flight if items == ["k"]][1]
    assert resubmitted == 0  # nothing else in flight: "a" had finished, "b" waited
    assert [items for items, _ in pool.in_flight] == [["a"], ["k"], ["k"], ["b"]]
