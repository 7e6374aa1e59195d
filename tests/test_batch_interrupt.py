"""A batch left early (an exception in it, Ctrl-C, its streamed results closed) stops its tasks:
the local pool's worker processes are terminated at once, not waited for; on an executor the
caller gave, every pending future is cancelled (on a Dask cluster, its tasks too).

The tasks block on a file that is never written (bounded, so that a batch that is not stopped
fails these tests rather than hanging them): no test waits for a time to pass."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import bayeslaws.inference.batch.mapping as mapping
from bayeslaws.inference.batch import iter_map_tasks, map_tasks

pytestmark = pytest.mark.slow  # process and compiler machinery: .ci/run's slow step

BOUND = 15.0  # seconds a blocked task waits at most: only a batch not stopped reaches it
SAFETY = 60.0  # seconds a check polls at most; a stopped batch passes it at once


def blocker(item):
    """``(folder, n, interrupt)``: writes ``started<n>`` (its worker's pid); task 0 returns at
    once (after sending SIGINT to the pid ``interrupt``, if any: what a notebook's "interrupt"
    does to its kernel); the others wait for ``folder/release``, which the tests never write
    (at most BOUND seconds), then write ``finished<n>``."""
    folder, n, interrupt = item
    folder = Path(folder)
    partial = folder / f".started{n}.partial"  # renamed when written: a worker terminated
    partial.write_text(str(os.getpid()))  # between creating and writing it leaves no empty
    os.replace(partial, folder / f"started{n}")  # started file (CI read one as '')
    if n == 0:
        if interrupt is not None:
            os.kill(interrupt, signal.SIGINT)
        return n
    for _ in range(int(BOUND / 0.01)):
        if (folder / "release").exists():
            break
        time.sleep(0.01)
    (folder / f"finished{n}").write_text("done")
    return n


def quick(item):
    return item + 1


def _items(folder: Path, n: int, interrupt: int | None = None) -> list:
    return [(str(folder), k, interrupt) for k in range(n)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # a zombie (ended, not reaped) still counts
    except ProcessLookupError:
        return False
    return True


def _assert_stopped(folder: Path, n: int) -> None:
    """Every worker process that ran a task of ``folder`` is gone (ended and reaped), no
    blocked task finished, and a task not started then never starts."""
    pids = {int(p.read_text()) for p in folder.glob("started*")}
    assert pids  # at least task 0 ran
    deadline = time.monotonic() + SAFETY
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "worker processes left running (or unreaped)"
    started = {p.name for p in folder.glob("started*")}
    assert not list(folder.glob("finished*")), "a blocked task ran on to its end"
    assert len(started) < n  # the workers were gone before the queue emptied
    # nothing can start them now: no process of the batch is left
    assert {p.name for p in folder.glob("started*")} == started


def test_closing_the_streamed_results_terminates_the_local_pool(tmp_path):
    """It used to shut the pool down with wait=True: close() returned only after the running
    tasks, and a queued one, had run to their end."""
    results = iter_map_tasks(blocker, _items(tmp_path, 5), workers=2, show_progress=False)
    first = next(results)
    assert first.ok and first.value == 0
    results.close()
    _assert_stopped(tmp_path, 5)
    # a later batch in the same process gets a pool of its own
    assert map_tasks(quick, [1, 2, 3], workers=2, show_progress=False).values == [2, 3, 4]


def test_an_exception_in_the_batch_terminates_the_local_pool(tmp_path, monkeypatch):
    """An error raised inside the batch (here by its progress line) ends it as Ctrl-C does."""

    def failing_report(*args):
        raise RuntimeError("the progress line failed")

    monkeypatch.setattr(mapping, "_report", failing_report)
    with pytest.raises(RuntimeError, match="progress line failed"):
        map_tasks(blocker, _items(tmp_path, 5), workers=2, show_progress=True)
    _assert_stopped(tmp_path, 5)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread()
    or signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="SIGINT does not raise KeyboardInterrupt in this test's thread",
)
def test_ctrl_c_ends_a_local_batch_at_once(tmp_path):
    """SIGINT to this process (a notebook's interrupt), sent by task 0 itself, reaches the
    batch while it waits for the others: KeyboardInterrupt, with the workers ended, not after
    the running tasks finish (the review saw 70 s for tasks of 30 s)."""
    with pytest.raises(KeyboardInterrupt):
        map_tasks(blocker, _items(tmp_path, 5, os.getpid()), workers=2, show_progress=False)
    _assert_stopped(tmp_path, 5)


class Recording(cf.Executor):
    """An executor given by the caller: the tasks submitted ``finish``-th (0-based) finish
    at once, the others never start (their futures stay pending); ``futures`` keeps them all,
    ``shut`` the ``wait`` of each shutdown."""

    def __init__(self, finish=(2,)):
        self.finish = finish
        self.futures: list = []
        self.shut: list = []

    def submit(self, fn, /, *args, **kwargs):
        future = cf.Future()
        if len(self.futures) in self.finish:
            future.set_result(fn(*args, **kwargs))
        self.futures.append(future)
        return future

    def shutdown(self, wait=True, **kwargs):
        self.shut.append(wait)


class FakeClient:
    """What bayeslaws needs of a Dask client here: ``get_executor`` (its adapter)."""

    asynchronous = False

    def __init__(self):
        self.adapter = Recording()

    def get_executor(self, **kwargs):
        return self.adapter

    def set_metadata(self, key, value):
        pass


def test_closing_the_results_cancels_the_pending_futures_of_a_given_executor():
    """It used to leave them to run: only a pool bayeslaws made was shut down."""
    executor = Recording()
    results = iter_map_tasks(quick, [0, 1, 2, 3], executor, show_progress=False)
    assert next(results).value == 3  # the third task: the first two still pending
    results.close()
    assert len(executor.futures) == 3  # the fourth never submitted
    assert [f.cancelled() for f in executor.futures] == [True, True, False]
    assert executor.shut == []  # the caller's executor: not shut down


def test_an_exception_in_the_batch_cancels_a_dask_clusters_tasks(monkeypatch):
    """On a Dask client, the adapter made for the batch is shut down without waiting (one
    Client.cancel of every task) and each pending future is cancelled."""

    def failing_report(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(mapping, "_report", failing_report)
    client = FakeClient()
    with pytest.raises(KeyboardInterrupt):
        map_tasks(quick, [0, 1, 2], client, show_progress=True)
    assert client.adapter.shut == [False]
    assert [f.cancelled() for f in client.adapter.futures] == [True, True, False]


def test_a_finished_batch_cancels_nothing():
    executor = Recording(finish=(0, 1))
    assert map_tasks(quick, [0, 1], executor, show_progress=False).values == [1, 2]
    assert executor.shut == [] and not any(f.cancelled() for f in executor.futures)


def test_closing_the_results_cancels_the_tasks_on_a_dask_cluster(tmp_path):
    """A LocalCluster (in process: fast to start): the scheduler forgets the batch's tasks,
    none left queued or holding a result in the cluster's memory."""
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (pip install -e '.[cluster]')"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        try:
            results = iter_map_tasks(blocker, _items(tmp_path, 5), client, show_progress=False)
            assert next(results).value == 0
            results.close()

            def count(dask_scheduler):
                return len(dask_scheduler.tasks)

            def queued(dask_worker):
                """The worker's tasks not yet running: a freed task leaves this set when the
                worker has read the scheduler's message, which may come after the scheduler
                forgot it (a task still queued here when the blocked ones end would start)."""
                return sum(ts.state != "cancelled" for ts in dask_worker.state.tasks.values())

            def settled():
                on_workers = client.run(queued)
                return client.run_on_scheduler(count) == 0 and not any(on_workers.values())

            deadline = time.monotonic() + SAFETY
            while not settled() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.run_on_scheduler(count) == 0
            assert not any(client.run(queued).values()), "tasks left queued on a worker"
        finally:
            (tmp_path / "release").touch()  # the task a worker's thread runs ends now
    assert len(list(tmp_path.glob("started*"))) < 5  # queued tasks never started
