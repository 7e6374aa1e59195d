"""The batch loop: :func:`map_tasks` and :func:`iter_map_tasks` cut the items into chunks,
submit them to the executor, and stream back a :class:`~.tasks.TaskResult` per item as each
finishes, with its progress line; a failed task is resubmitted while ``retries`` allow (alone
after its worker died, or after Dask's ``KilledWorker``), bayeslaws' own pool is restarted when
a worker dies, the tasks a caller's broken executor had started or never started are recorded
as such, and a batch left early stops its tasks."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import os
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator

from ...runs.checks import ArgumentTypeError
from .. import progress
from .checks import (
    as_items,
    check_main_spawnable,
    check_options,
    check_picklable,
    refusals,
    task_names,
)
from .executors import (
    as_executor,
    cancel_pending,
    chunk_culprit,
    is_dask_client,
    killed_worker,
    local_executor,
    terminate_pool,
    warn_no_workers,
    worker_count,
)
from .tasks import BatchResult, TaskResult, collect
from .worker import run_chunk, spawn_environment, worker_env


def _chunk_size(chunk_size, n_items: int, pool) -> int:
    """``chunk_size`` (checked by :func:`check_options`), with ``"auto"`` resolved as
    ``multiprocessing.Pool.map`` does: ``ceil(n_items / (4 * workers))``, four chunks per
    worker of ``pool`` (1 when its number of workers is unknown)."""
    if chunk_size != "auto":
        return chunk_size
    count = worker_count(pool)
    return 1 if count is None else max(1, -(-n_items // (4 * count)))


def _chunks(indices: list[int], size: int) -> list[list[int]]:
    """``indices`` cut in order into lists of ``size`` (the last one may be shorter)."""
    return [indices[k : k + size] for k in range(0, len(indices), size)]


def _report(label: str, result: TaskResult, done: int, total: int, failed: int, started: float):
    if not result.ok:
        status = f"FAILED after {result.attempts} attempt(s): {result.error}"
    elif result.retried_errors:
        status = f"ok after {result.attempts} attempts"
    else:
        status = "ok"
    if result.warnings:
        status += f", {len(result.warnings)} warning(s)"
    if result.retried_errors:  # the earlier attempts' errors, not only the last one's
        status += f"; {result.retried_text()}"
    elapsed = time.perf_counter() - started
    where = (
        f"{result.seconds:.1f} s on {result.worker}"
        if result.worker
        else "not run"
        if result.attempts == 0
        else "refused in the client"
        if result.seconds == 0.0
        else "no worker's result"
    )
    progress._write(
        f"{label}: {done}/{total} done ({failed} failed), {elapsed:.0f} s: {result.name!r} "
        f"{status} ({where})"
    )


def iter_map_tasks(
    fn: Callable,
    items,
    executor=None,
    *,
    names=None,
    workers: int | None = None,
    retries: int = 1,
    chunk_size: int | str = 1,
    show_progress: bool = True,
    label: str | None = None,
    refuse: Callable | None = None,
) -> Iterator[TaskResult]:
    """Yield a :class:`TaskResult` per item as each finishes (completion order; with
    ``chunk_size`` > 1, a chunk's items together when it comes back); see :func:`map_tasks`
    for the other arguments. ``refuse(item)``: why an item is bad input (text), or None; run
    in the client before submission (:func:`fit_many` refuses laws that its workers cannot
    import).

    Every chunk is submitted at once (the executor schedules them); finished ones are collected
    between submissions too, so an in-process executor's results stream one by one. In a
    ``spawn`` pool (the local one, or a ``ProcessPoolExecutor`` given), each item is pickled in
    the client first: one that does not pickle, or that refers to a class or function of a
    ``__main__`` the workers cannot import (a notebook's), is recorded at once as a
    ``TypeError`` (bad input), not left to fail or kill a worker.

    Leaving the batch early stops its tasks (see the module's notes): an exception in it
    (Ctrl-C while it waits), or ``close()`` of the generator, which a caller that stops
    reading the results should call (``with contextlib.closing(iter_map_tasks(...)) as
    results:``): a generator merely dropped is closed only when it is garbage-collected, which
    a traceback holding its caller's frame (a notebook keeps the last one) puts off."""
    if not callable(fn):
        raise ArgumentTypeError(f"fn must be callable, got {type(fn).__name__}")
    items = as_items(items)
    names = task_names(names, len(items))
    workers, retries, chunk_size = check_options(executor, workers, retries, chunk_size)
    label = label or getattr(fn, "__name__", "map_tasks")
    pool, own = as_executor(executor, label)
    adapter = is_dask_client(executor)  # pool: the client's adapter, made for this batch
    if adapter:
        warn_no_workers(executor, label)
    if own:
        check_main_spawnable()
        check_picklable(fn)
        pool = local_executor(workers)
    refused = refusals(items, refuse, sendable=isinstance(pool, cf.ProcessPoolExecutor))
    size = _chunk_size(chunk_size, len(items), pool if own else executor)
    env = worker_env() if own else {}
    show = show_progress and not progress.quiet()
    started = time.perf_counter()
    attempts = [0] * len(items)
    pending: dict = {}  # future -> the item indices it runs
    uncounted: set = set()  # the futures submitted with no attempt counted
    # once our pool has broken, or Dask failed a task with KilledWorker: (indices, count) to
    # run one at a time, each alone in the pool (none of the batch's other tasks beside it)
    held: list = []
    alone = None  # the future running alone, if any
    # on a (synchronous) Dask client, each chunk's worker tells the scheduler which of its
    # items it is running, under progress_key + [first index] (see chunk_culprit)
    track = is_dask_client(executor) and not getattr(executor, "asynchronous", False)
    progress_key = ["bayeslaws", "chunk_progress", uuid.uuid4().hex]
    keys: dict = {}  # future -> its chunk's progress key
    tracked = False  # whether any chunk was tracked (its keys are cleared at the end)
    # a caller's local pool cannot be restarted: once it breaks (caller_broken: its error)
    # nothing more is sent, and its tasks that never started (no start mark, or never sent:
    # unsent) are recorded as not run, no attempt counted (_caller_broken_outs)
    marks_dir = None if own else _marks_folder(pool)
    marks: dict = {}  # future -> each of its items' start mark (a file path)
    unsent: set = set()  # the futures the executor refused (never sent)
    caller_broken: BaseException | None = None
    # item index -> a TaskResult per earlier attempt that failed and was submitted again
    retried: dict = {}
    # the items Dask failed with KilledWorker once: each is submitted once more, alone (when
    # retries allow), as Dask fails every task a dying worker held, one merely queued there
    killed_once: set = set()

    def submit(group: list[int], count: bool = True) -> cf.Future:
        nonlocal tracked
        for i in group:
            attempts[i] += count
        key = [*progress_key, str(group[0])] if track and len(group) > 1 else None
        tracked = tracked or key is not None
        options = {} if key is None else {"progress": key}
        if marks_dir is not None:
            options["started"] = [os.path.join(marks_dir, uuid.uuid4().hex) for _ in group]
        task = functools.partial(run_chunk, **options) if options else run_chunk
        try:
            if caller_broken is not None:  # nothing more is sent to it
                raise caller_broken
            with spawn_environment(env):  # a local pool starts its processes on submit
                future = pool.submit(task, fn, [items[i] for i in group])
        except Exception as err:  # a broken or shut-down executor: recorded like a failed task
            future = cf.Future()
            future.set_exception(err)
            unsent.add(future)
        pending[future] = group
        if key is not None:
            keys[future] = key
        if "started" in options:
            marks[future] = options["started"]
        if not count:
            uncounted.add(future)
        return future

    def again(group: list[int], count: bool = True) -> None:
        """Resubmit ``group``: at once, or in turn while tasks run alone."""
        if held or alone is not None:
            held.append((group, count))
        else:
            submit(group, count)

    groups = _chunks([i for i in range(len(items)) if i not in refused], size)
    done = failed = submitted = 0
    completed = False  # False in the finally: the batch was left early
    try:
        for i, reason in refused.items():  # bad input: recorded at once, never submitted
            attempts[i] = 1
            result = TaskResult(
                index=i, name=names[i], error=f"TypeError: {reason}", attempts=1, seconds=0.0
            )
            done += 1
            failed += 1
            if show:
                _report(label, result, done, len(items), failed, started)
            yield result
        while submitted < len(groups) or pending or held:
            if held and not pending:  # the next task alone in the pool
                alone = submit(*held.pop(0))
            if alone is None and not held and submitted < len(groups):
                submit(groups[submitted])
                submitted += 1
                finished = [f for f in pending if f.done()]
            else:
                finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
            for future in finished:
                group = pending.pop(future, None)
                if group is None:  # to run again alone after its pool broke
                    continue
                key = keys.pop(future, None)
                mark = marks.pop(future, None)
                charged = future not in uncounted
                uncounted.discard(future)
                if future is alone:
                    alone = None
                culprit = killed = False
                try:
                    outs = future.result()
                except Exception as err:  # the worker died, or the executor failed the task
                    broken = isinstance(err, cf.BrokenExecutor)
                    killed = killed_worker(err)
                    if own and broken:
                        # a dead worker fails every task in flight in a ProcessPoolExecutor,
                        # which cannot say whose worker it was: a new pool runs each of them
                        # again alone, uncounted (they did not fail), and a task that breaks
                        # the pool alone is the one charged
                        pool.shutdown(wait=False)
                        pool = local_executor(workers)
                        lost = [f for f in pending if not f.done() or f.exception() is not None]
                        suspects = group + [i for f in lost for i in pending.pop(f)]
                        uncounted.difference_update(lost)
                        if len(suspects) > 1:
                            held.extend(([i], False) for i in suspects)
                            continue
                        attempts[group[0]] += not charged  # its run alone is an attempt
                        culprit = True
                    running = False  # Dask's KilledWorker of the item a chunk was running
                    if len(group) > 1 and not broken:
                        # which item of the chunk failed is unknown: each runs again alone, no
                        # attempt counted (a caller's broken pool takes no more work: below).
                        # Known for Dask's KilledWorker: the item its last worker was running,
                        # which Dask has retried as it would alone; it is recorded at once.
                        # The others' run alone is their one more submission after it
                        killer = chunk_culprit(executor, key, group) if killed else None
                        for i in group:
                            if i != killer:
                                again([i], count=False)
                                if killed:
                                    killed_once.add(i)
                        if killer is None:
                            continue
                        group, running = [killer], True
                    outs = []
                    for i in group:
                        # KilledWorker: Dask ran it on allowed-failures + 1 workers that all
                        # died, but counts every task a dying worker held: a lone task, maybe
                        # innocent, is submitted once more (if retries allow), never again
                        resubmit = killed and not running and i not in killed_once
                        outs.append({
                            "error": f"{type(err).__name__}: {err} ("
                            + _failure_cause(culprit, killed, running, i in killed_once) + ")",
                            "traceback": "".join(traceback.format_exception(err)),
                            "retry": resubmit or not killed,
                        })  # fmt: skip
                        if killed:
                            killed_once.add(i)
                    if broken and not own:  # a caller's pool: broken for good
                        caller_broken = err
                        ran = _started_items(group, mark, future in unsent)
                        for i in group:
                            if charged and i not in ran:  # never started: no attempt
                                attempts[i] -= 1
                        outs = _caller_broken_outs(err, group, ran, attempts, retried)
                for i, out in zip(group, outs, strict=True):
                    if "error" in out and out.pop("retry", True) and attempts[i] <= retries:
                        if caller_broken is not None:  # it takes no more tasks
                            out["error"] += f"; not retried: {CALLER_BROKEN}"
                        else:  # this attempt's error, traceback and warnings, kept
                            retried.setdefault(i, []).append(
                                TaskResult(index=i, name=names[i], attempts=attempts[i], **out)
                            )
                            if culprit or killed:
                                # alone again: it may break the pool again, or (KilledWorker)
                                # be innocent, failed beside a task that kills its workers:
                                # not beside it again
                                held.append(([i], True))
                            else:
                                again([i])
                            continue
                    result = TaskResult(
                        index=i, name=names[i], attempts=attempts[i],
                        retried_errors=tuple(retried.pop(i, ())), **out,
                    )  # fmt: skip
                    done += 1
                    failed += not result.ok
                    if show:
                        _report(label, result, done, len(items), failed, started)
                    yield result
        completed = True
    finally:
        if own and completed:
            pool.shutdown(wait=True, cancel_futures=True)
        elif own:  # an exception, Ctrl-C, or the results closed: end the running tasks now
            terminate_pool(pool)
        elif not completed:
            cancel_pending(pool, list(pending), adapter)
        if tracked:  # the scheduler's metadata keeps a key per chunk: clear this batch's
            with contextlib.suppress(Exception):
                executor.set_metadata(progress_key, None)
        if marks_dir is not None:
            shutil.rmtree(marks_dir, ignore_errors=True)


def _failure_cause(culprit: bool, killed: bool, running: bool, again: bool) -> str:
    """Why a task failed with no result from its worker, for its error text: ``culprit``, its
    worker died while it ran alone in the local pool; ``killed``, Dask's ``KilledWorker``:
    ``running``, of a chunk whose worker said it was running this item; ``again``, for the
    second time (bayeslaws had submitted it once more, alone)."""
    if culprit:
        return "the worker process running it died"
    if not killed:
        return "its worker process or the executor failed"
    if running:
        return (
            "Dask gave its chunk up after the workers holding it died allowed-failures + 1 "
            "times, the last one while running this item; the chunk's other items ran again "
            "alone"
        )
    cause = (
        "Dask gave the task up after the workers holding it died allowed-failures + 1 times; "
        "Dask counts every task a dying worker held, running or queued, so a task that only "
        "shared a worker with one that killed it can be failed this way too"
    )
    if again:
        return (
            f"{cause}; it failed the same way when bayeslaws submitted it once more alone, so "
            "it most likely kills its workers itself"
        )
    return (
        f"{cause}; bayeslaws submits such a task once more when retries allow it (retries >= 1 "
        "and an attempt left)"
    )


# why the tasks a caller's broken executor never started were not run
CALLER_BROKEN = (
    "the caller's executor broke (a worker died); rerun the task, or pass executor=None to let "
    "bayeslaws restart its own pool"
)


def _marks_folder(pool) -> str | None:
    """A new temporary folder for the start marks of the items sent to ``pool`` when it is a
    caller's local pool (a ``concurrent.futures`` process or thread pool, which breaks for good
    when a worker dies or fails to start); None for other executors (a Dask cluster retries
    lost tasks itself, :class:`InProcessExecutor` never breaks)."""
    if isinstance(pool, cf.ProcessPoolExecutor | cf.ThreadPoolExecutor):
        return tempfile.mkdtemp(prefix="bayeslaws-started-")
    return None


def _started_items(group: list[int], marks: list | None, unsent: bool) -> set:
    """The items of ``group`` (indices) that a caller's broken executor started: none when the
    submission was refused (``unsent``), those whose start mark exists (``marks``, a path
    per item), and all of them when the executor keeps no marks (unknown: counted as run)."""
    if unsent:
        return set()
    if marks is None:
        return set(group)
    return {i for i, mark in zip(group, marks, strict=True) if os.path.exists(mark)}


def _caller_broken_outs(
    err: BaseException, group: list[int], ran: set, attempts: list, retried: dict
) -> list[dict]:
    """A result dict per item of ``group`` failed by a caller's broken executor (``err``), none
    retried: an item it started (in ``ran``; the one whose worker died among them) keeps the
    executor's error; one it never started is "not run" (or "not run again", with its earlier
    attempt's error, when it was a retry; ``attempts``: the attempts it really made;
    ``retried``: item index -> its earlier failed attempts' :class:`TaskResult`)."""
    outs = []
    for i in group:
        if i in ran:
            error = (
                f"{type(err).__name__}: {err} (the caller's executor broke while this task was "
                "in it: a worker died, its own or another task's; not retried, as the executor "
                "takes no more tasks)"
            )
            trace = "".join(traceback.format_exception(err))
        elif retried.get(i):
            error = (
                f"{type(err).__name__}: not run again: {CALLER_BROKEN} (its attempt "
                f"{attempts[i]} failed: {retried[i][-1].error})"
            )
            trace = None
        else:
            error, trace = f"{type(err).__name__}: not run: {CALLER_BROKEN}", None
        outs.append({"error": error, "traceback": trace, "retry": False})
    return outs


def map_tasks(
    fn: Callable,
    items,
    executor=None,
    *,
    names=None,
    workers: int | None = None,
    retries: int = 1,
    chunk_size: int | str = 1,
    show_progress: bool = True,
    label: str | None = None,
    summary: bool = True,
) -> BatchResult:
    """Run ``fn(item)`` for every item, in parallel, through an executor.

    Parameters
    ----------
    fn : a function of one argument; it must pickle to reach worker processes (a module-level
        function, or a ``functools.partial`` of one), and so must its items and return values.
    items : list of the tasks' inputs, one task each.
    executor : None (local ``spawn`` processes, ``workers`` of them, default one per core,
        started with :func:`worker_env`), a ``dask.distributed.Client`` (a ``LocalCluster`` or
        ``Client("tcp://scheduler:8786")``), or a ``concurrent.futures`` executor
        (:class:`InProcessExecutor`: in this process). A Dask cluster with no workers at
        submission is warned about (:func:`warn_no_workers`: its tasks wait until one joins).
        A process or thread pool of the
        caller's that breaks (a worker dies) takes no more tasks: those it never started are
        recorded as "not run" (``attempts`` 0), the others with its error, none retried. Any
        other executor of the caller's keeps no start marks: when it breaks, each task it had
        been sent, started or not, counts as run (an attempt) and carries its error; those
        never sent to it are "not run" (``attempts`` 0).
    names : a unique name per item (default ``task0``, ``task1``, ...): progress lines, errors.
    retries : how many times a failed task is resubmitted before it is recorded as failed (not
        a ``ValueError``, ``TypeError`` or ``KeyError``: bad input, recorded at once). A task
        Dask failed with ``KilledWorker`` (Dask has already run it on allowed-failures + 1
        workers that died, but fails so every task a dying worker held, an innocent one too)
        is resubmitted once at most, alone (none of the batch's other tasks beside it); the
        item a chunk's worker was running, not at all.
    chunk_size : items per submission (default 1: each item its own task). For short tasks
        (well under a second, e.g. SBC's small fits) several per submission spare the
        executor's per-task messages (benchmarks/chunk_ab.py); ``"auto"``:
        ``ceil(len(items) / (4 * workers))`` as ``multiprocessing.Pool.map`` does (1 when the
        number of workers is unknown, and in process; on a Dask cluster the workers it has at
        submission: call ``client.wait_for_workers(n)`` first on a cluster that is starting or
        adaptive). Each item keeps its own result, warnings and retries; a chunk whose worker
        dies runs each of its items again alone, uncounted (in the local pool, as every task
        in flight when a worker dies does: only a task that kills its worker alone is
        charged; on Dask, a chunk failed with ``KilledWorker``: except the item its worker was
        running, which Dask has retried and which is recorded at once; each item of a chunk
        tells the scheduler when it starts, about a millisecond). Long tasks are best left at
        1: chunks balance the workers' load less finely and stream back less often.
    show_progress : one line on stderr per finished task (``BAYESLAWS_QUIET=1`` silences it).
    label : the batch's name in progress lines and errors (default ``fn``'s name).
    summary : one warning naming the tasks that failed and those that warned in their workers
        (:func:`~.tasks.collect`). False for a caller that does not return the result: it
        raises the tasks' warnings again (:func:`~.tasks.warn_again`) and their failures.

    Returns a :class:`BatchResult`: every task's :class:`TaskResult` in item order, failures
    included (``.values``, ``.failed``, ``.table()``, ``.raise_for_failures()``).
    """
    label = label or getattr(fn, "__name__", "map_tasks")
    results = iter_map_tasks(
        fn,
        items,
        executor,
        names=names,
        workers=workers,
        retries=retries,
        chunk_size=chunk_size,
        show_progress=show_progress,
        label=label,
    )
    with contextlib.closing(results):  # stopped here when left early, not when collected
        return collect(results, label, "tasks", summary=summary)
