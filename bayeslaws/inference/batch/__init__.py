"""Many tasks through one interface: :func:`map_tasks` runs a picklable top-level function on
each item of a batch through a ``concurrent.futures``-style executor, and :func:`fit_many` is
the batch of :func:`~.nuts.fit` calls built on it. Everything that needs many fits goes through
them: simulation-based calibration (``posterior.calibration.sbc``), the calibration backtests
(``posterior.calibration.backtests``) and replayed design campaigns over strategies and seeds
(``app.replay.replay_many``).

The package, one concern per module (each imports only those listed before it):

* :mod:`.tasks` -- tasks and results: :class:`FitTask`, :class:`TaskResult`,
  :class:`BatchResult`, and the warnings tasks emitted in their workers, summarised when the
  results are collected or raised again in the client (:func:`warn_again`);
* :mod:`.worker` -- the worker side: what a worker process runs (:func:`run_item`,
  :func:`run_chunk`, :func:`fit_task`) and the environment it starts with (:func:`worker_env`);
* :mod:`.checks` -- the client's checks before submission: a batch's arguments, and items the
  ``spawn`` worker processes could not receive;
* :mod:`.executors` -- the executors: in process (:class:`InProcessExecutor`), the local pool
  (:func:`local_executor`), a Dask client (:func:`dask_client`) or a caller's; what they say of
  a worker that died; stopping their tasks when a batch is left early;
* :mod:`.mapping` -- the batch loop (:func:`map_tasks`, :func:`iter_map_tasks`): chunks,
  submission, retries, failures, progress lines;
* :mod:`.fits` -- batches of fits (:func:`fit_many`, :func:`iter_fit_many`).

How a batch behaves, across these modules:

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

from .executors import InProcessExecutor, dask_client, local_executor
from .fits import as_tasks, fit_many, iter_fit_many
from .mapping import iter_map_tasks, map_tasks
from .tasks import BatchResult, FitTask, TaskResult, UnpicklableResultError, warn_again
from .worker import (
    run_chunk,
    worker_env,
)

__all__ = [
    "BatchResult",
    "FitTask",
    "InProcessExecutor",
    "TaskResult",
    "UnpicklableResultError",
    "as_tasks",
    "dask_client",
    "fit_many",
    "iter_fit_many",
    "iter_map_tasks",
    "local_executor",
    "map_tasks",
    "run_chunk",
    "warn_again",
    "worker_env",
]
