"""Batches of fits: :func:`fit_many` and :func:`iter_fit_many` check and name the tasks
(:func:`as_tasks`), warn about tasks whose fits would be identical or whose saved files would
not load in another process, refuse in the client a law whose class the worker processes cannot
import, and run :func:`~.worker.fit_task` on each task through
:func:`~.mapping.iter_map_tasks`, the fits coming back in memory or saved in ``save_dir``."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import os
import pickle
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

# MAIN_MODULES: the main script's module, and its name in a worker
from ...laws import MAIN_MODULES
from ...runs.checks import ArgumentTypeError
from ...runs.warn import user_stacklevel
from .checks import check_unique, main_importable
from .executors import is_dask_client
from .mapping import iter_map_tasks
from .tasks import BatchResult, FitTask, TaskResult, collect
from .worker import fit_task

TASK_KEYS = ("runs", "law", "name")


def as_tasks(tasks: Iterable) -> list[FitTask]:
    """Tasks checked and named: :class:`FitTask` objects, or dicts ``{"runs": ..., "law": ...,
    "name": ..., **fit options}``; names default to ``task0``, ``task1``, ... and must be
    unique (they name saved files)."""
    if isinstance(tasks, str | bytes | dict | FitTask) or not isinstance(tasks, Iterable):
        raise ArgumentTypeError(
            "tasks must be a list of FitTask objects or dicts with a 'runs' key, got "
            f"{type(tasks).__name__}"
        )
    out = []
    for i, task in enumerate(tasks):
        if isinstance(task, dict):
            if "runs" not in task:
                raise ValueError(f"task {i} has no 'runs' (the run table to fit)")
            options = {k: v for k, v in task.items() if k not in TASK_KEYS}
            task = FitTask(task["runs"], task.get("law", "chinchilla"), options, task.get("name"))
        if not isinstance(task, FitTask):
            raise ArgumentTypeError(
                f"task {i} must be a FitTask or a dict, got {type(task).__name__}"
            )
        if not isinstance(task.options, dict):
            raise ArgumentTypeError(
                f"task {i}: options must be a dict, got {type(task.options).__name__}"
            )
        name = f"task{i}" if task.name is None else task.name
        if not isinstance(name, str) or not name or "/" in name or os.sep in name:
            raise ValueError(f"task {i}: name must be a non-empty string without '/', got {name!r}")
        out.append(FitTask(task.runs, task.law, dict(task.options), name))
    if not out:
        raise ValueError("tasks is empty: nothing to fit")
    check_unique([t.name for t in out], "task names")
    return out


def _save_folder(save_dir) -> str | None:
    if save_dir is None:
        return None
    folder = Path(save_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"save_dir {str(folder)!r} is not an existing folder")
    return str(folder.resolve())


def iter_fit_many(
    tasks,
    executor=None,
    *,
    workers: int | None = None,
    retries: int = 1,
    chunk_size: int | str = 1,
    save_dir=None,
    show_progress: bool = True,
) -> Iterator[TaskResult]:
    """Yield a :class:`TaskResult` per task as each finishes (completion order); see
    :func:`fit_many` for the arguments. Closing the generator (or an exception in it) stops
    the batch's fits, as for :func:`iter_map_tasks`."""
    tasks = as_tasks(tasks)
    _warn_identical_tasks(tasks)
    save_dir = _save_folder(save_dir)
    if save_dir is not None:
        _warn_unportable_saves(tasks)
    spawned = executor is None or isinstance(executor, cf.ProcessPoolExecutor)
    remote = spawned or is_dask_client(executor)  # the law must reach worker processes
    results = iter_map_tasks(
        functools.partial(fit_task, save_dir=save_dir),
        tasks,
        executor,
        names=[t.name for t in tasks],
        workers=workers,
        retries=retries,
        chunk_size=chunk_size,
        show_progress=show_progress,
        label="fit_many",
        refuse=functools.partial(_law_refusal, spawned=spawned) if remote else None,
    )
    with contextlib.closing(results):  # closing this closes the batch
        for result in results:
            if result.ok and save_dir is None:
                result.fit = result.value
            elif result.ok:
                result.path = result.value
            yield result


def _warn_identical_tasks(tasks: list[FitTask]) -> None:
    """Warn (UserWarning, naming them) when two or more tasks have the same runs, law and
    options, seed included (a task without one has :func:`~.nuts.fit`'s default, seed 0):
    their fits, and so their draws, will be identical (:func:`_task_identity`)."""
    named: dict = {}
    for task in tasks:
        named.setdefault(_task_identity(task), []).append(task.name)
    repeats = [names for names in named.values() if len(names) > 1]
    if not repeats:
        return
    shown = "; ".join(", ".join(repr(n) for n in names) for names in repeats[:5])
    warnings.warn(
        f"fit_many: tasks {shown}{' ...' if len(repeats) > 5 else ''} have the same runs, law "
        "and options, seed included (a task without a 'seed' uses seed 0): their draws will be "
        "identical. For independent replicates give each task its own seed (e.g. "
        "{'seed': k} in task k)",
        UserWarning,
        stacklevel=user_stacklevel(),  # fit_many's caller (the generator runs inside collect)
    )


def _task_identity(task: FitTask) -> tuple:
    """What makes two tasks' fits the same: a hash of their runs' table (its values, index and
    columns; for anything but a table, its ``repr``), their law and the ``repr`` of their
    options with the seed they run with (0 when not given, as :func:`~.nuts.fit`)."""
    options = {"seed": 0, **task.options}
    return (
        _runs_digest(task.runs),
        _law_digest(task.law),
        repr(sorted(options.items(), key=lambda kv: str(kv[0]))),
    )


def _runs_digest(runs) -> str:
    """A hash of a run table's values (a RunTable's ``df``, or a DataFrame) with its index and
    columns; the ``repr`` of anything else (a path); a unique text when the table cannot be
    hashed (then it is never taken for another)."""
    df = runs.df if isinstance(getattr(runs, "df", None), pd.DataFrame) else runs
    if not isinstance(df, pd.DataFrame):
        return f"{type(df).__name__}:{df!r}"
    try:
        rows = pd.util.hash_pandas_object(df, index=True).to_numpy()
    except (TypeError, ValueError):  # a cell pandas cannot hash (a list)
        return f"unhashable:{id(runs)}"
    digest = hashlib.sha1(rows.tobytes())
    digest.update(repr([str(c) for c in df.columns]).encode())
    return digest.hexdigest()


def _law_digest(law) -> str:
    """A law name as it is; a law object by its pickled bytes' hash (its class and
    parameters), or its identity when it does not pickle."""
    if isinstance(law, str):
        return law
    try:
        return hashlib.sha1(pickle.dumps(law)).hexdigest()
    except Exception:  # refused later, with its reason (_law_refusal, or the fit's error)
        return f"object:{id(law)}"


def _law_refusal(task: FitTask, spawned: bool = False) -> str | None:
    """Why a task's law object cannot be fitted in a worker process (None: it can): its class
    is defined inside a function, which a worker cannot import (Dask sends it by value, but
    then as ``__main__.Name``, so its fits could not be used even here); or, for ``spawn``
    processes (``spawned``), in a ``__main__`` they cannot import (a notebook's)."""
    from ...laws import Law, class_ref

    if not isinstance(task.law, Law):
        return None
    cls = type(task.law)
    ref = class_ref(cls)
    if "<locals>" in cls.__qualname__:
        return (
            f"task {task.name!r}: its law {ref!r} is a class defined inside a function, which a "
            "worker process cannot import (and a fit records its law by import path, to "
            "rebuild it in predictions and when loaded): define it at module level in an "
            "importable module, or pass 'module:ClassName'"
        )
    if spawned and cls.__module__ in MAIN_MODULES and not main_importable():
        return (
            f"task {task.name!r}: its law {ref!r} is a class defined in __main__ (a notebook, or "
            "code run with -c), which the local worker processes (started by spawn) cannot "
            "import: define it at module level in an importable module (e.g. mylaws.py, then "
            f"`from mylaws import {cls.__qualname__}`) and pass the object or "
            f"'mylaws:{cls.__qualname__}', or fit on a Dask cluster or in this process "
            "(executor=bayeslaws.inference.batch.InProcessExecutor())"
        )
    return None


def _warn_unportable_saves(tasks: list[FitTask]) -> None:
    """Warn in the client (:class:`~.fit.UnportableLawWarning`, once per law class) when tasks
    whose fits are saved have a law object of a class another process cannot import (defined
    in a script or notebook, ``__main__``): the saved files will not load elsewhere."""
    from ...laws import Law, class_ref, unportable_reason
    from ..fit import UnportableLawWarning

    named: dict[str, list[str]] = {}
    for task in tasks:
        if isinstance(task.law, Law) and "<locals>" not in type(task.law).__qualname__:
            ref = class_ref(type(task.law))
            if unportable_reason(ref):
                named.setdefault(ref, []).append(task.name)
    for ref, names in named.items():
        qualname = ref.partition(":")[2]
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        warnings.warn(
            f"fit_many: save_dir: the fits of task(s) {shown} will record their law as {ref!r}, "
            f"and {unportable_reason(ref)}: bl.load_fit elsewhere will fail to rebuild the law. "
            f"To load them elsewhere, move the class to a module of its own (e.g. mylaws.py, "
            f"then `from mylaws import {qualname}`) and refit, or define the same class in "
            "every script or notebook that loads the files, before loading them",
            UnportableLawWarning,
            stacklevel=user_stacklevel(),  # fit_many's caller (the generator runs inside collect)
        )


def fit_many(
    tasks,
    executor=None,
    *,
    workers: int | None = None,
    retries: int = 1,
    chunk_size: int | str = 1,
    save_dir=None,
    show_progress: bool = True,
) -> BatchResult:
    """Fit many run tables, in parallel, through an executor (:func:`map_tasks` of
    :func:`fit_task`).

    Parameters
    ----------
    tasks : list of :class:`FitTask`, or of dicts ``{"runs": RunTable, "law": "chinchilla",
        "name": "sim3", **bl.fit options}`` (e.g. ``chains``, ``draws``, ``seed``). A task
        without a ``seed`` is fitted with ``bl.fit``'s default, seed 0, so replicate fits of one
        table need a seed each (``{"runs": table, "name": f"rep{k}", "seed": k}``): tasks with
        the same runs, law and options, seed included, are warned about (UserWarning naming
        them), as their draws will be identical.
    executor : None (local ``spawn`` processes, ``workers`` of them, default one per core,
        started with :func:`worker_env`), a
        ``dask.distributed.Client`` (a ``LocalCluster`` or ``Client("tcp://scheduler:8786")``),
        or a ``concurrent.futures`` executor. A ``ProcessPoolExecutor`` of the caller's is
        broken for good when one of its workers dies: nothing more is sent to it, the tasks it
        had started (the one whose worker died among them) are recorded with its
        ``BrokenProcessPool`` error, not retried, and those it never started as "not run" with
        ``attempts`` 0, to rerun (with ``executor=None`` bayeslaws restarts its own pool and
        runs them again); a ``ThreadPoolExecutor`` likewise. Any other executor of the
        caller's keeps no start marks: when it breaks, each task it had been sent, started or
        not, counts as run (an attempt) and carries its error; those never sent to it are "not
        run" (``attempts`` 0).
    retries : how many times a failed task is resubmitted before it is recorded as failed (not
        a ``ValueError``, ``TypeError`` or ``KeyError``: bad input, recorded at once; Dask's
        ``KilledWorker`` once at most, see :func:`map_tasks`). A law
        object that worker processes cannot import (its class defined inside a function, or
        in a notebook's ``__main__`` for the local pool) is refused in the client before
        submission, recorded as a ``TypeError`` with the remedy.
    chunk_size : fits per submission (default 1; ``"auto"``: four chunks per worker), for
        batches of short fits: see :func:`map_tasks`.
    save_dir : if given, each worker saves its fit as ``save_dir/<name>.nc`` and the result
        holds the path (a folder the workers and the client share); otherwise fits come back in
        memory. A law of a class defined in the script or notebook (``__main__``) is warned
        about here (``UnportableLawWarning``): its saved fits load only where it is defined.
    show_progress : one line on stderr per finished task (``BAYESLAWS_QUIET=1`` silences it).

    Returns a :class:`BatchResult`: every task's :class:`TaskResult` in task order, failures
    included (``.failed``, ``.table()``, ``.fits``, ``.raise_for_failures()``).
    """
    results = iter_fit_many(
        tasks,
        executor,
        workers=workers,
        retries=retries,
        chunk_size=chunk_size,
        save_dir=save_dir,
        show_progress=show_progress,
    )
    with contextlib.closing(results):  # stopped here when left early, not when collected
        return collect(results, "fit_many", "fits", " (sampler, identifiability or outliers)")
