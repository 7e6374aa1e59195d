"""The worker side of a batch: what runs in a worker process (or in this process, on an
:class:`~.executors.InProcessExecutor`). :func:`run_item` and :func:`run_chunk` run a task's
function on its items one at a time, recording each one's value, error, traceback, warnings and
time instead of raising, and tell the client when each item starts (a start-mark file, or a
Dask metadata key); :func:`fit_task` is a fit's task; :func:`worker_env` is the environment a
worker process starts with (about one core each), :func:`spawn_environment` sets it while the local
pool starts its processes, and :func:`init_worker` is their start-up."""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

from ...laws import class_ref
from ..record import current_precision
from .tasks import NOT_RETRIED, FitTask, UnpicklableResultError

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
# JAX reads it at import: a worker fits in the caller's float precision, set in code or not
WORKER_X64 = "JAX_ENABLE_X64"

# NumPyro's effect handlers live on one stack per process, so two fits tracing their models in
# threads of one process corrupt each other ("all sites must have unique names"): tasks (which
# fit) in threads of one process (a ThreadPoolExecutor, a Dask worker with several threads or
# a LocalCluster(processes=False)) run one at a time. Parallel fits need processes. Reentrant:
# a task may itself run a batch in process (InProcessExecutor) in the same thread.
_TASK_LOCK = threading.RLock()


def run_item(fn: Callable, item) -> dict:
    """Run ``fn(item)`` in the current process (what a worker runs): ``{"value", "worker",
    "seconds", "warnings", "warning_categories"}``. Never raises for an error of ``fn``:
    returns ``{"error", "traceback"}`` instead, so that an exception that does not pickle
    cannot be lost on its way back. A return value that does not pickle is recorded here as a
    ``TypeError`` (not retried), in process too."""
    from ..compilation import enable_compilation_cache

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
    from ..nuts import fit

    fitted = fit(task.runs, law=task.law, **task.options)
    if save_dir is not None:
        return str(fitted.save(Path(save_dir) / f"{task.name}.nc"))
    return fitted


def worker_env(environ=None) -> dict:
    """Environment variables (name -> value) for a process that runs one fit at a time, one
    process per core: XLA's single-thread flag (``XLA_FLAGS``, kept from ``environ`` --
    default ``os.environ`` -- with ``--xla_cpu_multi_thread_eigen=false`` added),
    single-threaded BLAS, quiet fits, no up-front grab of GPU memory
    (``XLA_PYTHON_CLIENT_PREALLOCATE=false`` unless ``environ`` sets it: JAX otherwise takes 75%
    of a GPU's memory in each worker process), and this process's float precision now
    (``JAX_ENABLE_X64`` "1" or "0": ``jax_enable_x64`` set in code too, since a fit's draws
    depend on it). For ``LocalCluster(..., env=bl.worker_env())``
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
        WORKER_X64: "1" if current_precision() == "float64" else "0",
    } | dict.fromkeys(WORKER_THREADS, "1")


@contextlib.contextmanager
def spawn_environment(values: dict):
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


def init_worker() -> None:
    """Start-up of a local worker process: quiet fits (the parent reports progress)."""
    os.environ.setdefault("BAYESLAWS_QUIET", "1")
