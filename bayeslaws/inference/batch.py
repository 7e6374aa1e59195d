"""Many tasks through one interface: :func:`map_tasks` runs a picklable top-level function on
each item of a batch through a ``concurrent.futures``-style executor, and :func:`fit_many` is
the batch of :func:`~.nuts.fit` calls built on it. Everything that needs many fits goes through
them: simulation-based calibration (``posterior.calibration.sbc``), the calibration backtests
(``posterior.calibration.backtests``) and replayed design campaigns over strategies and seeds
(``app.replay.replay_many``).

* ``executor=None``: local worker processes (``ProcessPoolExecutor`` with the ``spawn`` start
  method: JAX is not fork-safe), one per core by default.
* A Dask ``distributed.Client``: its tasks go to the cluster's workers through the client's
  ``concurrent.futures`` adapter (``client.get_executor(pure=False)``); a ``LocalCluster`` on
  one machine or ``Client("tcp://scheduler:8786")`` on many. Dask schedules; bayeslaws only
  submits.
* Any other object with ``submit(fn, *args)`` returning ``concurrent.futures.Future`` is used
  as it is (:class:`InProcessExecutor`: in this process, one task at a time), except a
  ``ProcessPoolExecutor`` that forks (Python 3.11's default on Linux): give it
  ``mp_context=multiprocessing.get_context("spawn")``. Tasks in threads
  of one process run one at a time (they fit, and NumPyro's effect handlers are per process),
  so a ``ThreadPoolExecutor`` or a Dask worker's extra threads give no speed-up: use processes
  (``LocalCluster(threads_per_worker=1)``, the default ``processes=True``).

Short tasks (well under a second: SBC's small fits) can go several per submission
(``chunk_size``; ``"auto"``: four chunks per worker), sparing the executor's per-task cost;
each item still gets its own result, warnings and retries.

Results stream back as they finish (:func:`iter_map_tasks`, :func:`iter_fit_many`, with a
progress line per task on stderr); a task that fails (an exception in the function, or its
worker dying) is resubmitted up to ``retries`` times, and then recorded with its error and
traceback: no task is lost, nor the errors of its earlier attempts (each one's error, traceback
and warnings: ``TaskResult.retried_errors``, shown in its progress line and in ``table()``),
also when a retry succeeds. A task that raised ``ValueError``, ``TypeError`` or ``KeyError``
(bad input: an unknown law or option, a malformed table) is recorded at once, since the same
input fails the same way again; so is, as a ``TypeError`` and never submitted, an item that
worker processes could not receive: one that does not pickle for a ``spawn`` pool, or a fit's
law of a class they cannot import (defined inside a function; for a ``spawn`` pool, in a
notebook's ``__main__``). A worker that dies takes with it every task in flight in the local
pool, which cannot say whose worker it was: a new pool then runs each of those tasks again
alone, one at a time and uncounted, and only a task that breaks the pool alone is charged the
attempt (a task that always kills its worker runs ``retries`` + 1 times, or twice with
``retries=0`` when other tasks were in flight). On a Dask cluster the scheduler itself retries
a task whose workers die (``distributed.scheduler.allowed-failures``), then fails it with
``KilledWorker``. As Dask counts every task a dying worker held, one merely queued behind the
task that killed it included, an innocent task can be failed so: bayeslaws submits a task
failed with ``KilledWorker`` once more, alone (when ``retries`` leaves it an attempt: after the
batch's tasks in flight finish, with none beside it), and records it when it is failed so
again. A chunk of several items failed so is recorded against the item its worker was running
(which the worker tells the scheduler), at once; its other items run again alone, uncounted
(their one more submission). A ``ProcessPoolExecutor`` the caller gives cannot be restarted by
bayeslaws: once one of its workers dies it is broken, so nothing more is sent to it; the tasks
it had run (the one whose worker died among them: the pool cannot say which) are recorded with
its ``BrokenProcessPool`` error, not retried, and those it never started (each worker marks a
task's start in a temporary folder) as not run, with no attempt counted (``attempts`` 0), to
rerun (or pass ``executor=None``: bayeslaws' own pool is restarted). A task's return value
comes back in ``TaskResult.value`` (it must pickle: one that does not is recorded as a
``TypeError``); fits come back as :class:`~.fit.Fit` objects (``TaskResult.fit``), or, with
``save_dir``, are saved by the worker as ``<name>.nc`` and come back as paths
(``TaskResult.path``; on a cluster ``save_dir`` must be a folder every worker and the client
can see).

Worker processes run one task at a time, so each should use about one core:
:func:`worker_env` is the environment for that (XLA's and BLAS's single-thread settings:
workers that each reach for every core contend for them). XLA still runs a computation on its
CPU client's own thread pool, which no setting sizes, so a lone worker takes a little more than
a core (1.06-1.15 CPU seconds per second on this project's 2-core machine, most of them on
XLA's threads: benchmarks/speed.py's batch section, benchmarks/xla_threads.py); to hold each
worker to exactly one core, start it under ``taskset -c K``. The local pool starts its
processes with :func:`worker_env`; give it to a Dask cluster's workers
(``LocalCluster(n_workers=2, threads_per_worker=1, env=bl.worker_env())``, or export it before
``dask worker`` on each node).

A batch left early (an exception, Ctrl-C, or its streamed results closed or dropped) stops
its tasks rather than leaving them to run: the local pool's worker processes are terminated at
once (the running fits are lost), a Dask cluster is told to cancel every task of the batch
(``Client.cancel``: those queued never start and no result stays in the cluster's memory; one a
worker has already started finishes there, as Dask cannot stop a running thread, and its result
is dropped), and on any other executor each task not yet started is cancelled
(``Future.cancel``; a given ``ProcessPoolExecutor``'s running tasks finish: the pool is the
caller's, to shut down as it sees fit).

Each worker process turns on JAX's persistent compilation cache
(:mod:`.compilation`), so a law's NUTS kernel compiled by one worker is read from disk by the
others (on a cluster, when the cache folder is shared or each worker reuses its own).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import io
import multiprocessing
import multiprocessing.reduction
import os
import pickle
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import types
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# MAIN_MODULES: the main script's module, and its name in a worker
from ..laws import MAIN_MODULES, class_ref
from ..runs.checks import ArgumentTypeError, check_integer, is_integer
from ..runs.warn import user_stacklevel
from . import progress

TASK_KEYS = ("runs", "law", "name")
# About one core per worker process: XLA's multi-threaded Eigen ops and BLAS threads off
# (XLA_FLAGS is read when JAX starts, so this must be the worker's environment from its start;
# XLA ignores a word without "--" there, and reads the whole value as a file name when its first
# word has none). XLA's CPU client still runs computations on a thread pool of its own, which
# no flag sizes (benchmarks/xla_threads.py).
WORKER_XLA_FLAGS = ("--xla_cpu_multi_thread_eigen=false",)
WORKER_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# JAX preallocates 75% of a GPU's memory in every process that starts it: local workers on one
# GPU would each ask for that much (no effect on CPU)
WORKER_PREALLOCATE = "XLA_PYTHON_CLIENT_PREALLOCATE"

# NumPyro's effect handlers live on one stack per process, so two fits tracing their models in
# threads of one process corrupt each other ("all sites must have unique names"): tasks (which
# fit) in threads of one process (a ThreadPoolExecutor, a Dask worker with several threads or
# a LocalCluster(processes=False)) run one at a time. Parallel fits need processes. Reentrant:
# a task may itself run a batch in process (InProcessExecutor) in the same thread.
_TASK_LOCK = threading.RLock()


class UnpicklableResultError(TypeError):
    """A task's return value does not pickle, so it cannot come back from a worker process (the
    task's own code to change, not an argument of the batch)."""


@dataclass(frozen=True)
class FitTask:
    """One fit of a batch: ``bl.fit(runs, law=law, **options)``, called ``name``."""

    runs: object
    law: object = "chinchilla"
    options: dict = field(default_factory=dict)
    name: str | None = None


@dataclass
class TaskResult:
    """How one task ended.

    ``value``: what the task's function returned (on success). For a fit (:func:`fit_many`)
    also ``fit`` (a :class:`~.fit.Fit`, when fits come back in memory) or ``path`` (the saved
    netCDF, with ``save_dir``). On failure ``error`` ("ExceptionType: message") and
    ``traceback`` of the last attempt. ``attempts`` counts its submissions by bayeslaws (not
    one cut short by another task's worker dying in the local pool, nor one that a
    ``ProcessPoolExecutor`` or ``ThreadPoolExecutor`` the caller gave never started because it
    broke: such a pool's tasks carry start marks, and one never run counts 0; any other broken
    executor of the caller's keeps no marks, so each task it had been sent, started or not,
    counts as run, an attempt, and carries its error (one never sent counts 0); a task refused
    in the client before submission, as bad input, counts 1); on a Dask cluster the scheduler's
    own retries of a task whose worker died (``distributed.scheduler.allowed-failures``) are
    not counted, since the client is not told of them. ``seconds`` is the wall time of the last
    attempt in its worker (``worker`` = host:pid; None for a task refused in the client),
    ``warnings`` the warnings the task emitted there (for fits: sampler, identifiability,
    outliers), as text ("Category: message"), and ``warning_categories`` each one's category
    class as its import path ``module:QualName`` (:func:`warn_again` raises them again in the
    client as those classes). ``retried_errors``: one record per earlier attempt that failed
    and was submitted again (its error lost otherwise when a retry succeeds), in attempt
    order, each a :class:`TaskResult` of that attempt alone, as a final failure is recorded:
    ``attempts`` its number (1-based), ``error``, ``traceback``, ``seconds``, ``worker``,
    ``warnings`` and ``warning_categories`` of that attempt (its warnings are not in this
    result's ``warnings``, which are the last attempt's); empty for a task that succeeded or
    failed at its first attempt. Not recorded: a run that was not an attempt (a chunk or a
    local pool failed by another task's worker dying, run again uncounted)."""

    index: int
    name: str
    value: object = None
    fit: object = None
    path: str | None = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    seconds: float = float("nan")
    worker: str | None = None
    warnings: list = field(default_factory=list)
    warning_categories: list = field(default_factory=list)
    # a plain default (a class attribute): a result pickled before this field reads it as ()
    retried_errors: tuple = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def retried_text(self) -> str | None:
        """The earlier attempts' errors, "attempt 1: ExceptionType: message; attempt 2: ..."
        (with ", N warning(s)" for an attempt that warned), or None when there were none."""
        if not self.retried_errors:
            return None
        return "; ".join(
            f"attempt {r.attempts}: {r.error}"
            + (f", {len(r.warnings)} warning(s)" if r.warnings else "")
            for r in self.retried_errors
        )

    def warnings_text(self) -> str | None:
        """The last attempt's warnings, one entry each: its first line ("Category: message"),
        a text repeated shown once with "(xN)", joined by " | " in order; None when there were
        none (the full texts: ``warnings``)."""
        return _warnings_summary(self.warnings)

    def load(self):
        """The fit: in memory, or read from ``path``."""
        if self.error is not None:
            raise RuntimeError(f"task {self.name!r} failed: {self.error}")
        if self.fit is not None:
            return self.fit
        from .fit import load_fit

        return load_fit(self.path)


def _warnings_summary(texts: Iterable[str]) -> str | None:
    """Warning texts ("Category: message", possibly several lines) as one line: each text's
    first line, in order of first appearance, one repeated shown once with " (xN)", joined by
    " | "; None for no texts."""
    counts: dict[str, int] = {}
    for text in texts:
        first = str(text).strip().partition("\n")[0].rstrip()
        counts[first] = counts.get(first, 0) + 1
    if not counts:
        return None
    return " | ".join(line + (f" (x{n})" if n > 1 else "") for line, n in counts.items())


class BatchResult(list):
    """The :class:`TaskResult` of every task, in task order; ``label`` names the batch in
    messages (``"fit_many"``, ``"backtests"``), ``noun`` its tasks (``"fits"``)."""

    def __init__(self, results=(), *, label: str = "map_tasks", noun: str = "tasks"):
        super().__init__(results)
        self.label = label
        self.noun = noun

    @property
    def failed(self) -> list:
        return [r for r in self if not r.ok]

    @property
    def values(self) -> list:
        """The tasks' return values in task order (None for a failed task)."""
        return [r.value if r.ok else None for r in self]

    @property
    def fits(self) -> list:
        """The fits in task order (None for a failed task); saved fits are loaded."""
        return [r.load() if r.ok else None for r in self]

    def table(self) -> pd.DataFrame:
        """One row per task: name, ok, attempts, seconds, worker, path, error, retried_errors
        (the earlier attempts' errors, :meth:`TaskResult.retried_text`; None when the task
        was not retried), warnings (the number of the last attempt's warnings) and
        warning_text (which they were: :meth:`TaskResult.warnings_text`, each one's first
        line; None when the task did not warn)."""
        return pd.DataFrame(
            [
                {
                    "name": r.name,
                    "ok": r.ok,
                    "attempts": r.attempts,
                    "seconds": r.seconds,
                    "worker": r.worker,
                    "path": r.path,
                    "error": r.error,
                    "retried_errors": r.retried_text(),
                    "warnings": len(r.warnings),
                    "warning_text": r.warnings_text(),
                }
                for r in self
            ]
        ).set_index("name")

    def raise_for_failures(self) -> None:
        """Raise one error naming every failed task and its error."""
        if self.failed:
            lines = "; ".join(f"{r.name!r}: {r.error}" for r in self.failed)
            raise RuntimeError(
                f"{self.label}: {len(self.failed)} of {len(self)} {self.noun} failed: {lines}"
            )


NOT_RETRIED = (ValueError, TypeError, KeyError)  # bad input fails the same way every time


# ---- the worker side ----------------------------------------------------------------------------
def run_item(fn: Callable, item) -> dict:
    """Run ``fn(item)`` in the current process (what a worker runs): ``{"value", "worker",
    "seconds", "warnings", "warning_categories"}``. Never raises for an error of ``fn``:
    returns ``{"error", "traceback"}`` instead, so that an exception that does not pickle
    cannot be lost on its way back. A return value that does not pickle is recorded here as a
    ``TypeError`` (not retried), in process too."""
    from .compilation import enable_compilation_cache

    enable_compilation_cache()
    started = time.perf_counter()
    out = {"worker": f"{socket.gethostname()}:{os.getpid()}"}
    caught: list = []
    try:
        with _TASK_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn(item)
        try:  # here, not on its way back: a value that does not pickle fails every time
            pickle.dumps(value)
        except Exception as err:
            raise UnpicklableResultError(
                f"the task's return value could not be pickled (a {type(value).__name__}), so "
                f"it cannot come back from a worker process: {type(err).__name__}: {err}"
            ) from err
        out["value"] = value
    except (Exception, SystemExit) as err:  # recorded per task, by design (sys.exit too:
        # a task's argparse error must not end the batch; Ctrl-C still does)
        out["error"] = f"{type(err).__name__}: {err}"
        out["traceback"] = traceback.format_exc()
        out["retry"] = not isinstance(err, (*NOT_RETRIED, SystemExit))
    out["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    out["warning_categories"] = [class_ref(w.category) for w in caught]  # text: it pickles
    out["seconds"] = time.perf_counter() - started
    return out


def run_chunk(
    fn: Callable, chunk: list, progress: list | None = None, started: list | None = None
) -> list[dict]:
    """:func:`run_item` of ``fn`` on each item of ``chunk`` in turn, in the current process:
    one result dict per item, in order (what a worker runs for several short tasks submitted
    as one, ``chunk_size`` > 1). On a Dask worker, ``progress`` (a metadata key) is set on the
    scheduler to each item's position in the chunk before it starts (:func:`_mark_progress`),
    so that the client can tell which item was running when the worker died. In a caller's
    local pool, ``started`` (a file path per item) are created as the items start
    (:func:`_mark_started`), so that the client can tell, when the pool breaks, which items it
    never started."""
    outs = []
    for j, item in enumerate(chunk):
        if progress is not None:
            _mark_progress(progress, j)
        if started is not None:
            _mark_started(started[j])
        outs.append(run_item(fn, item))
    return outs


def _mark_started(path: str) -> None:
    """Create the empty file ``path``: the item it stands for has started (a batch left early
    may have removed its folder: then nothing)."""
    with contextlib.suppress(OSError):
        open(path, "w").close()


def _mark_progress(key: list, position: int) -> None:
    """Set the Dask scheduler's metadata ``key`` to ``position`` (a synchronous message of
    about a millisecond; its failure fails the chunk, so no stale position is left behind)."""
    from distributed import get_client

    get_client().set_metadata(key, position)


def fit_task(task: FitTask, save_dir: str | None = None):
    """Fit one task in the current process: the :class:`~.fit.Fit`, or with ``save_dir`` the
    path of the fit saved there as ``<name>.nc``."""
    from .nuts import fit

    fitted = fit(task.runs, law=task.law, **task.options)
    if save_dir is not None:
        return str(fitted.save(Path(save_dir) / f"{task.name}.nc"))
    return fitted


def worker_env(environ=None) -> dict:
    """Environment variables (name -> value) for a process that runs one fit at a time, one
    process per core: XLA's single-thread flag (``XLA_FLAGS``, kept from ``environ`` --
    default ``os.environ`` -- with ``--xla_cpu_multi_thread_eigen=false`` added),
    single-threaded BLAS, quiet fits, and no up-front grab of GPU memory
    (``XLA_PYTHON_CLIENT_PREALLOCATE=false`` unless ``environ`` sets it: JAX otherwise takes 75%
    of a GPU's memory in each worker process). For ``LocalCluster(..., env=bl.worker_env())``
    or a ``dask worker`` node's environment. XLA's CPU client keeps a thread pool of its own, so
    a worker may still use a little more than one core (see the module's notes)."""
    environ = os.environ if environ is None else environ
    flags = environ.get("XLA_FLAGS", "").split()
    flags += [f for f in WORKER_XLA_FLAGS if f.split("=")[0] not in " ".join(flags)]
    preallocate = environ.get(WORKER_PREALLOCATE, "false")  # a user's own value is kept
    return {
        "XLA_FLAGS": " ".join(flags),
        "BAYESLAWS_QUIET": "1",
        WORKER_PREALLOCATE: preallocate,
    } | dict.fromkeys(WORKER_THREADS, "1")


@contextlib.contextmanager
def _environment(values: dict):
    """``os.environ`` updated with ``values`` inside the block (restored after): the local pool
    starts its ``spawn`` processes, which copy the environment, inside it."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _init_worker() -> None:
    """Start-up of a local worker process: quiet fits (the parent reports progress)."""
    os.environ.setdefault("BAYESLAWS_QUIET", "1")


# ---- the client side ----------------------------------------------------------------------------
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
    _check_unique([t.name for t in out], "task names")
    return out


def _check_unique(names: list, what: str) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {repeated}")


def _as_items(items) -> list:
    """``items`` as a non-empty list (a str, bytes or dict is refused: it iterates as
    characters or keys)."""
    if isinstance(items, str | bytes | dict) or not isinstance(items, Iterable):
        raise ArgumentTypeError(
            f"items must be a list of the tasks' inputs, got {type(items).__name__}"
        )
    items = list(items)
    if not items:
        raise ValueError("items is empty: nothing to run")
    return items


def _task_names(names, n: int) -> list[str]:
    """``names`` checked (n unique non-empty strings), or ``task0`` ... ``task{n-1}``."""
    if names is None:
        return [f"task{i}" for i in range(n)]
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ArgumentTypeError(f"names must be a list of strings, got {type(names).__name__}")
    names = list(names)
    if len(names) != n:
        raise ValueError(f"names has {len(names)} entries for {n} items")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise ValueError(f"names[{i}] must be a non-empty string, got {name!r}")
    _check_unique(names, "names")
    return names


def _check_options(executor, workers, retries, chunk_size=1) -> tuple:
    """(workers, retries, chunk_size) checked, integers as ``int`` (a NumPy integer is one; a
    bool is not): ``workers`` None or >= 1, and only for the local processes (executor None);
    ``retries`` >= 0; ``chunk_size`` >= 1 or ``"auto"``."""
    if workers is not None and executor is not None:
        raise ValueError(
            f"workers applies to the local processes only (executor=None), got "
            f"workers={workers!r} with executor {type(executor).__name__}; size a Dask cluster "
            "with its own options"
        )
    if workers is not None:
        workers = check_integer("workers", workers, 1)
    retries = check_integer("retries", retries, 0)
    if not (isinstance(chunk_size, str) and chunk_size == "auto"):
        if not is_integer(chunk_size) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an integer >= 1 or 'auto', got {chunk_size!r}")
        chunk_size = int(chunk_size)
    return workers, retries, chunk_size


def _check_picklable(fn) -> None:
    """The local pool sends ``fn`` to its processes by pickle (by reference: a module-level
    function or a ``functools.partial`` of one); refuse early what would fail every task."""
    try:
        pickle.dumps(fn)
    except Exception as err:
        raise ArgumentTypeError(
            f"fn must pickle to reach the local worker processes (a module-level function, or a "
            f"functools.partial of one), got {fn!r}: {type(err).__name__}: {err}"
        ) from err


class _MainFinder(multiprocessing.reduction.ForkingPickler):
    """The pickler of ``multiprocessing`` (what a process pool sends its tasks with), noting
    (``found``) the first class or function of the main module that what it pickles refers
    to: pickle sends it by reference, so a worker must import it."""

    found = None

    def persistent_id(self, obj):  # called for every object pickled; None: pickled as usual
        if (
            self.found is None
            and isinstance(obj, type | types.FunctionType)
            and getattr(obj, "__module__", None) in MAIN_MODULES
        ):
            self.found = obj
        return None


def _main_importable() -> bool:
    """Whether a ``spawn`` worker process can import this process's main module: it runs it
    again by its module name (``python -m``) or from its file (a script). A notebook's, or
    code given with ``-c``, has neither (nor one read from stdin, whose file ``<stdin>`` does
    not exist)."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None):
        return True
    path = getattr(main, "__file__", None)
    return isinstance(path, str) and os.path.isfile(path)


def _check_main_spawnable() -> None:
    """Refuse (RuntimeError) to start the local pool when its ``spawn`` processes would die at
    start-up: they run the main script again from ``__main__.__file__``, which for code read
    from stdin (``python - < script.py``) is ``<stdin>``, no file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if getattr(getattr(main, "__spec__", None), "name", None) or path is None:
        return
    if not os.path.isfile(path):
        raise RuntimeError(
            f"the local worker processes cannot start: they run the main script again from its "
            f"file, and this one's (__main__.__file__ = {path!r}) does not exist (code read "
            "from stdin?). Run the script from a file (python script.py), or pass an executor: "
            "a Dask client, or bayeslaws.inference.batch.InProcessExecutor() (in this process)"
        )


def _unsendable_reason(item) -> str | None:
    """Why the local pool's ``spawn`` worker processes cannot receive ``item`` (None: they
    can): it does not pickle, or it refers to a class or function of a main module that they
    cannot import (:func:`_main_importable`: a notebook's, or code run with ``-c``), which
    would kill the worker that unpickles it."""
    finder = _MainFinder(io.BytesIO())
    try:
        finder.dump(item)
    except Exception as err:
        return (
            f"it cannot be pickled to reach the local worker processes ({type(err).__name__}: "
            f"{err}); what a task takes must be defined at module level in an importable module"
        )
    found = finder.found
    if found is None or _main_importable():
        return None
    kind = "class" if isinstance(found, type) else "function"
    return (
        f"it refers to the {kind} {found.__qualname__} defined in __main__ (a notebook, or code "
        "run with -c), which the local worker processes (started by spawn) cannot import: "
        f"define {found.__qualname__} in a module of its own (e.g. mytasks.py, then `from "
        f"mytasks import {found.__qualname__}`), or run the tasks on a Dask cluster or in this "
        "process (executor=bayeslaws.inference.batch.InProcessExecutor())"
    )


def _refusals(items: list, refuse: Callable | None, sendable: bool) -> dict[int, str]:
    """Item index -> why it is refused in the client before submission, as bad input:
    ``refuse(item)`` (None: accepted), then, when ``sendable`` (a ``spawn`` pool),
    :func:`_unsendable_reason`."""
    out = {}
    for i, item in enumerate(items):
        reason = refuse(item) if refuse is not None else None
        if reason is None and sendable:
            reason = _unsendable_reason(item)
        if reason is not None:
            out[i] = reason
    return out


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
        initializer=_init_worker,
    )


def _is_dask_client(executor) -> bool:
    """Whether ``executor`` is a ``dask.distributed.Client`` (it has ``get_executor``)."""
    return callable(getattr(type(executor), "get_executor", None))


def _killed_worker(err) -> bool:
    """Whether ``err`` is Dask's ``distributed.KilledWorker``: the scheduler gave the task up
    after the workers running it died ``distributed.scheduler.allowed-failures`` + 1 times
    (4 by default); it has retried it itself. By class name: ``distributed`` stays optional."""
    return any(
        c.__name__ == "KilledWorker" and c.__module__.split(".")[0] == "distributed"
        for c in type(err).__mro__
    )


def _chunk_culprit(client, key: list | None, group: list[int]) -> int | None:
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


def _as_executor(executor, label: str = "map_tasks"):
    """(a concurrent.futures executor, whether it is a local pool we make). ``label``: the
    batch's name, for the error (what None means is its caller's: local processes for
    :func:`map_tasks` and :func:`fit_many`, this process for ``sbc``, ``backtests`` and
    ``replay_many`` without ``workers``)."""
    if executor is None:
        return None, True
    if _is_dask_client(executor):  # its concurrent.futures adapter
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


def _worker_count(pool) -> int | None:
    """How many tasks ``pool`` (the executor given, or the local pool made for None) runs at
    once: a Dask client's worker threads (``Client.nthreads()``, read at submission: a cluster
    that is still starting or scaling counts only the workers it has then), a
    ``concurrent.futures`` pool's ``max_workers``; None when it cannot tell (then ``"auto"``
    does not chunk)."""
    if isinstance(pool, InProcessExecutor):
        return None  # one task at a time, as it is submitted: nothing to save by chunking
    if _is_dask_client(pool):
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


def _chunk_size(chunk_size, n_items: int, pool) -> int:
    """``chunk_size`` (checked by :func:`_check_options`), with ``"auto"`` resolved as
    ``multiprocessing.Pool.map`` does: ``ceil(n_items / (4 * workers))``, four chunks per
    worker of ``pool`` (1 when its number of workers is unknown)."""
    if chunk_size != "auto":
        return chunk_size
    count = _worker_count(pool)
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
    items = _as_items(items)
    names = _task_names(names, len(items))
    workers, retries, chunk_size = _check_options(executor, workers, retries, chunk_size)
    label = label or getattr(fn, "__name__", "map_tasks")
    pool, own = _as_executor(executor, label)
    adapter = _is_dask_client(executor)  # pool: the client's adapter, made for this batch
    if adapter:
        warn_no_workers(executor, label)
    if own:
        _check_main_spawnable()
        _check_picklable(fn)
        pool = local_executor(workers)
    refused = _refusals(items, refuse, sendable=isinstance(pool, cf.ProcessPoolExecutor))
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
    # items it is running, under progress_key + [first index] (see _chunk_culprit)
    track = _is_dask_client(executor) and not getattr(executor, "asynchronous", False)
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
            with _environment(env):  # a local pool starts its processes on submit
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
                    killed = _killed_worker(err)
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
                        killer = _chunk_culprit(executor, key, group) if killed else None
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
            _terminate_pool(pool)
        elif not completed:
            _cancel_pending(pool, list(pending), adapter)
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


def _terminate_pool(pool: cf.ProcessPoolExecutor, timeout: float = 10.0) -> None:
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


def _cancel_pending(pool, pending: list, adapter: bool) -> None:
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


def _collect(results: Iterable, label: str, noun: str, about: str = "") -> BatchResult:
    """The results in task order as a :class:`BatchResult`; warnings raised in the workers are
    summarised in one warning by task name (reported here, not lost in a worker's log; the
    result returned holds them: a caller that does not return it raises them again,
    :func:`warn_again`)."""
    batch = BatchResult(sorted(results, key=lambda r: r.index), label=label, noun=noun)
    warned = [r.name for r in batch if r.warnings]
    if warned:
        shown = ", ".join(repr(n) for n in warned[:10]) + (", ..." if len(warned) > 10 else "")
        warnings.warn(
            f"{label}: {len(warned)} of {len(batch)} {noun} warned in their workers{about}: "
            f"{shown}; see result.table() and result[i].warnings",
            stacklevel=user_stacklevel(),
        )
    return batch


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
        return _collect(results, label, "tasks")


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
    remote = spawned or _is_dask_client(executor)  # the law must reach worker processes
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
        stacklevel=user_stacklevel(),  # fit_many's caller (the generator runs inside _collect)
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
    from ..laws import Law, class_ref

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
    if spawned and cls.__module__ in MAIN_MODULES and not _main_importable():
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
    from ..laws import Law, class_ref, unportable_reason
    from .fit import UnportableLawWarning

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
            stacklevel=user_stacklevel(),  # fit_many's caller (the generator runs inside _collect)
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
        return _collect(results, "fit_many", "fits", " (sampler, identifiability or outliers)")


def warn_again(results: Iterable[TaskResult], label: str) -> None:
    """Raise again in the client, at the user's line, every warning that the tasks of
    ``results`` emitted in their workers (:attr:`TaskResult.warnings`), in the order given:
    each as its own category (:attr:`TaskResult.warning_categories`; when that class is not
    imported in this process, nothing is imported for it: a ``UserWarning`` whose text keeps
    the category's name), its message prefixed with ``label`` and the task's name. For a
    batch whose caller returns tables, not the :class:`BatchResult` (``replay_many``):
    :func:`map_tasks` and :func:`fit_many` summarise them in one warning instead
    (:func:`_collect`), as their result holds them."""
    for result in results:
        categories = list(result.warning_categories)
        for k, text in enumerate(result.warnings):
            category = _warning_category(categories[k]) if k < len(categories) else None
            prefix = "" if category is None else f"{category.__name__}: "
            if category is None or not text.startswith(prefix):
                category, message = UserWarning, text  # the category's name stays in the text
            else:
                message = text[len(prefix) :]
            warnings.warn(
                f"{label}: {result.name!r}: {message}", category, stacklevel=user_stacklevel()
            )


def _warning_category(ref: str) -> type[Warning] | None:
    """The warning class at import path ``module:QualName`` (a worker's ``__mp_main__`` read as
    ``__main__``) when its module is imported in this process; None otherwise (nothing is
    imported for it: a worker's module may not be importable, or safe to import, here)."""
    module, _, qualname = ref.partition(":")
    target = sys.modules.get("__main__" if module in MAIN_MODULES else module)
    for part in qualname.split("."):
        if target is None:
            return None
        target = getattr(target, part, None)
    return target if isinstance(target, type) and issubclass(target, Warning) else None
