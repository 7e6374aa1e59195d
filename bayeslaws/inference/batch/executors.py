"""The executors a batch runs on: :class:`InProcessExecutor` (this process, one task at a
time), the local ``spawn`` pool (:func:`local_executor`), a Dask client (:func:`dask_client`;
its ``concurrent.futures`` adapter, its worker threads, a warning for a cluster without
workers) or a caller's ``concurrent.futures`` executor, told apart by :func:`as_executor`
(which refuses a pool that forks); what a failed task says about a worker that died
(:func:`killed_worker`, :func:`chunk_culprit`); and how a batch left early stops its tasks on
each (:func:`terminate_pool`, :func:`cancel_pending`)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import time
import warnings

from ...runs.checks import ArgumentTypeError
from ...runs.warn import user_stacklevel
from .worker import init_worker


class InProcessExecutor(cf.Executor):
    """Runs each task in this process when it is submitted (one at a time): the
    ``concurrent.futures`` interface with no workers, for small batches and for callers whose
    default is to stay in process (``sbc``, ``backtests``, ``replay_many``)."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # recorded on the future, as a pool would
            future.set_exception(err)
        return future


def dask_client(address: str | None):
    """A Dask ``Client`` of the scheduler at ``address`` ("tcp://host:8786"), or None for None
    (no cluster): what a script's ``--scheduler`` option becomes."""
    if address is None:
        return None
    try:
        from distributed import Client
    except ImportError as err:
        raise ImportError(
            f"a Dask scheduler ({address}) needs dask[distributed]: "
            "pip install 'bayeslaws[cluster]'"
        ) from err
    return Client(address)


def local_executor(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """Local worker processes started by ``spawn`` (JAX is not fork-safe)."""
    workers = workers or os.cpu_count() or 1
    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
    )


def is_dask_client(executor) -> bool:
    """Whether ``executor`` is a ``dask.distributed.Client`` (it has ``get_executor``)."""
    return callable(getattr(type(executor), "get_executor", None))


def killed_worker(err) -> bool:
    """Whether ``err`` is Dask's ``distributed.KilledWorker``: the scheduler gave the task up
    after the workers running it died ``distributed.scheduler.allowed-failures`` + 1 times
    (4 by default); it has retried it itself. By class name: ``distributed`` stays optional."""
    return any(
        c.__name__ == "KilledWorker" and c.__module__.split(".")[0] == "distributed"
        for c in type(err).__mro__
    )


def chunk_culprit(client, key: list | None, group: list[int]) -> int | None:
    """The item (index into the batch) of the chunk ``group`` that was running when its last
    worker died, from the position its Dask worker set at ``key`` (:func:`run_chunk`); None
    when unknown (no key, no position, an asynchronous client)."""
    if key is None:
        return None
    try:
        position = client.get_metadata(key, None)
    except Exception:  # the scheduler is unreachable: unknown
        return None
    if not isinstance(position, int) or isinstance(position, bool):
        getattr(position, "close", lambda: None)()  # an asynchronous client's coroutine
        return None
    return group[position] if 0 <= position < len(group) else None


def as_executor(executor, label: str = "map_tasks"):
    """(a concurrent.futures executor, whether it is a local pool we make). ``label``: the
    batch's name, for the error (what None means is its caller's: local processes for
    :func:`map_tasks` and :func:`fit_many`, this process for ``sbc``, ``backtests`` and
    ``replay_many`` without ``workers``)."""
    if executor is None:
        return None, True
    if is_dask_client(executor):  # its concurrent.futures adapter
        # pure=False: a resubmitted task is a new task, never the failed one's cached result
        return executor.get_executor(pure=False), False
    if not callable(getattr(executor, "submit", None)):
        raise ArgumentTypeError(
            f"{label}: executor must be None (the default), a dask.distributed Client or a "
            "concurrent.futures executor with submit() (e.g. "
            f"bayeslaws.inference.batch.InProcessExecutor()); got {type(executor).__name__}"
        )
    if _forks(executor):
        raise ValueError(
            "executor: this ProcessPoolExecutor starts its workers by fork, and JAX is not "
            "fork-safe (a forked worker of a process that has used JAX deadlocks); make it with "
            "mp_context=multiprocessing.get_context('spawn'), or pass executor=None for "
            "bayeslaws' own local pool"
        )
    return executor, False


def _forks(executor) -> bool:
    """Whether ``executor`` is a ``ProcessPoolExecutor`` whose start method is fork."""
    context = getattr(executor, "_mp_context", None)  # set by ProcessPoolExecutor.__init__
    if not isinstance(executor, cf.ProcessPoolExecutor) or context is None:
        return False
    return context.get_start_method() == "fork"


def worker_count(pool) -> int | None:
    """How many tasks ``pool`` (the executor given, or the local pool made for None) runs at
    once: a Dask client's worker threads (``Client.nthreads()``, read at submission: a cluster
    that is still starting or scaling counts only the workers it has then), a
    ``concurrent.futures`` pool's ``max_workers``; None when it cannot tell (then ``"auto"``
    does not chunk)."""
    if isinstance(pool, InProcessExecutor):
        return None  # one task at a time, as it is submitted: nothing to save by chunking
    if is_dask_client(pool):
        threads = dask_threads(pool)
        return sum(threads.values()) if threads else None  # none, or no workers: unknown
    count = getattr(pool, "_max_workers", None)
    return count if isinstance(count, int) and count >= 1 else None


def dask_threads(client) -> dict | None:
    """A (synchronous) Dask ``client``'s worker threads at this moment, ``Client.nthreads()``:
    worker address -> threads ({} for a cluster without workers); None when it cannot tell
    (an asynchronous client's coroutine, or a client-like executor without ``nthreads``)."""
    count = getattr(client, "nthreads", None)
    if count is None:
        return None
    threads = count()
    if not isinstance(threads, dict):  # an asynchronous client's coroutine: unknown
        getattr(threads, "close", lambda: None)()
        return None
    return threads


def warn_no_workers(client, label: str) -> None:
    """Warn (UserWarning) that the (synchronous) Dask ``client``'s cluster has no workers at
    submission: its tasks wait, without end, until one joins. Silent for an asynchronous
    client (its count is unknown here), for a client-like executor without ``nthreads`` and
    for a cluster with workers."""
    threads = dask_threads(client)
    if threads is None:
        return
    if not threads:
        warnings.warn(
            f"{label}: the Dask cluster at {client.scheduler.address} has no workers: the "
            "batch's tasks wait until one joins (start `dask worker <scheduler address>` on a "
            "node, or call client.wait_for_workers(n) before the batch)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def terminate_pool(pool: cf.ProcessPoolExecutor, timeout: float = 10.0) -> None:
    """End the local pool at once, for a batch left early (an exception, Ctrl-C, its results
    closed): its queued tasks cancelled and its worker processes terminated (SIGTERM; SIGKILL
    for those still alive ``timeout`` seconds later) and reaped, instead of waiting, as
    ``shutdown(wait=True)`` does, for the running tasks (fits of minutes) to finish. A worker
    that Ctrl-C reached too (a terminal sends it to the whole process group) would otherwise
    record its task's ``KeyboardInterrupt`` and go on with the next one.

    ``ProcessPoolExecutor`` has no public way to do this before Python 3.14
    (``terminate_workers``), which does the same: its worker processes are read from its
    private ``_processes`` (pid -> ``multiprocessing.Process``) before ``shutdown`` drops
    them, then terminated; the pool's own manager thread sees them die, fails the tasks they
    ran (nobody reads them) and joins them too. Futures are not cancelled one by one here:
    Python 3.11's pool fails a cancelled future still in its queue when its workers die, with
    an error of its own thread (``shutdown(cancel_futures=True)`` cancels them safely)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # none started: {}
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(ProcessLookupError, ValueError):  # ended, or closed, already
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(ValueError):
            process.join(max(0.0, deadline - time.monotonic()))  # reaped: no zombie left
            if process.is_alive():  # it ignored SIGTERM (a task's own signal handler)
                process.kill()
                process.join(timeout)


def cancel_pending(pool, pending: list, adapter: bool) -> None:
    """Cancel the tasks ``pending`` (futures) that a batch left early leaves on an executor it
    was given: on a Dask cluster (``adapter``: ``pool`` is the client's ``concurrent.futures``
    adapter made for this batch) every task of the batch in one message
    (``ClientExecutor.shutdown(wait=False)`` calls ``Client.cancel``), and on any executor
    each future's ``cancel()`` (a Dask adapter's future cancels its Dask future; a pool's
    future already running cannot be cancelled, and its task finishes)."""
    if adapter:
        with contextlib.suppress(Exception):  # a scheduler that is gone has nothing to cancel
            pool.shutdown(wait=False)
    for future in pending:
        future.cancel()
