"""bl.fit_many: a batch of small fits through a Dask LocalCluster (what a multi-node cluster
runs through Client("tcp://scheduler:8786")), failures recorded per task, results in order;
map_tasks, the generic layer under it, in process and on two local worker processes."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference.batch import (
    FitTask,
    InProcessExecutor,
    as_tasks,
    dask_client,
    fit_many,
    iter_map_tasks,
    map_tasks,
)
from bayeslaws.inference.batch.mapping import _chunk_size
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 150, "draws": 150, "likelihood": "gaussian", "screen": "off"}


def simulated_tables(n: int) -> list:
    """``n`` SIMULATED Chinchilla tables (4 x 4 grid, different noise seeds)."""
    N, D = chinchilla_design(4, 4)
    return [
        bl.load_runs(
            simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=s)
        )
        for s in range(n)
    ]


def test_tasks_are_checked_and_named():
    runs = simulated_tables(1)[0]
    tasks = as_tasks([{"runs": runs, "seed": 3}, FitTask(runs, name="b")])
    assert [t.name for t in tasks] == ["task0", "b"]
    assert tasks[0].options == {"seed": 3} and tasks[0].law == "chinchilla"
    with pytest.raises(ValueError, match="no 'runs'"):
        as_tasks([{"law": "chinchilla"}])
    with pytest.raises(ValueError, match="unique; repeated: \\['x'\\]"):
        as_tasks([FitTask(runs, name="x"), FitTask(runs, name="x")])
    with pytest.raises(ValueError, match="empty"):
        as_tasks([])
    with pytest.raises(TypeError, match="executor must be"):
        fit_many([FitTask(runs)], executor=object())
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        fit_many([FitTask(runs)], workers=0)
    with pytest.raises(ValueError, match="local processes only"):
        fit_many([FitTask(runs)], executor=object(), workers=2)


@pytest.mark.slow  # worker processes: .ci/run's slow step
def test_dask_local_cluster_batch_with_a_failure(tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (pip install -e '.[cluster]')"
    )
    tables = simulated_tables(3)
    tasks = [FitTask(t, "chinchilla", {**TINY, "seed": i}, f"sim{i}") for i, t in enumerate(tables)]
    # a task that fails in its worker: an option the law does not have
    tasks.insert(1, FitTask(tables[0], "chinchilla", {**TINY, "no_such_option": 1}, "broken"))
    # a task whose fit warns in its worker: 5 runs for a 6-parameter law
    few = np.zeros(len(tables[0].df), bool)
    few[5:] = True
    tasks.append(FitTask(tables[0].exclude(few, "test: too few runs"), "chinchilla", TINY, "few"))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, dask_client(cluster.scheduler_address) as client:  # as --scheduler does
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = bl.fit_many(tasks, client, retries=1, save_dir=tmp_path)
        # any top-level function goes through the same client (map_tasks, under fit_many)
        mapped = map_tasks(square, [2, "fail", 3], client, retries=0, show_progress=False)
        # "auto" chunks by the cluster's worker threads: 2 here, so chunks of ceil(9 / 8) = 2
        assert _chunk_size("auto", 9, client) == 2
        chunked = map_tasks(square, [1, 2, 3, "fail", 5, 6, 7, 8, 9], client, retries=0,
                            chunk_size="auto", show_progress=False)  # fmt: skip
    assert chunked.values == [1, 4, 9, None, 25, 36, 49, 64, 81]
    assert chunked[3].error == "ValueError: cannot square 'fail'"
    assert mapped.values == [4, None, 9] and mapped[1].error.startswith("ValueError")
    assert dask_client(None) is None
    assert [r.name for r in result] == ["sim0", "broken", "sim1", "sim2", "few"]
    table = result.table()
    assert table["ok"].tolist() == [True, False, True, True, True]
    broken = result[1]
    assert broken.attempts == 1  # bad input (TypeError): recorded at once, not retried
    assert "TypeError" in broken.error and "no_such_option" in broken.error
    assert "Traceback" in broken.traceback
    with pytest.raises(RuntimeError, match="1 of 5 fits failed: 'broken': ArgumentTypeError"):
        result.raise_for_failures()
    # warnings the fits raised in their workers are kept per task and summarised once
    assert any(w.startswith("IdentifiabilityWarning") for w in result[4].warnings)
    summary = [str(w.message) for w in caught if "fit_many:" in str(w.message)]
    assert len(summary) == 1 and "'few'" in summary[0]
    fits = result.fits
    assert fits[1] is None
    for i, r in zip((0, 2, 3), (result[0], result[2], result[3]), strict=True):
        assert r.attempts == 1 and r.path.endswith(f"{r.name}.nc")
        assert fits[i].record.sampler.draws == TINY["draws"]
    # each task fitted its own table: the posteriors differ, and all sit near the truth
    alphas = [float(np.median(fits[i].draws(["alpha"])["alpha"])) for i in (0, 2, 3)]
    assert len(set(alphas)) == 3
    assert all(abs(a - TRUTH["alpha"]) < 0.15 for a in alphas)


def test_worker_env_is_single_threaded_and_keeps_the_users_xla_flags():
    env = bl.worker_env({"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    flags = env["XLA_FLAGS"].split()
    assert flags[0] == "--xla_force_host_platform_device_count=4"
    assert "--xla_cpu_multi_thread_eigen=false" in flags
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    # a user's own choice of the thread flag is kept, not duplicated
    own = bl.worker_env({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"})["XLA_FLAGS"]
    assert own.count("xla_cpu_multi_thread_eigen") == 1 and "=true" in own
    # every word is a flag XLA reads: it skips a word without "--", and takes a value whose
    # first word has none for a file name
    assert all(word.startswith("--") for word in bl.worker_env({})["XLA_FLAGS"].split())


def test_local_pool_processes_start_with_the_worker_env(monkeypatch):
    """The environment is set while the pool starts its processes, and restored after."""
    from bayeslaws.inference import batch
    from bayeslaws.inference.batch import mapping

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    seen = []

    class Pool:  # records the environment each submit sees (a real pool spawns there)
        def submit(self, fn, *args):
            seen.append(os.environ.get("OMP_NUM_THREADS"))
            raise RuntimeError("stop")

        def shutdown(self, **kwargs):
            pass

    # patched where iter_map_tasks looks it up (bayeslaws.inference.batch.mapping)
    monkeypatch.setattr(mapping, "local_executor", lambda workers: Pool())
    # a submission that fails is recorded as the task's failure (and retried once), not raised
    (result,) = batch.iter_fit_many([FitTask(simulated_tables(1)[0])], show_progress=False)
    assert result.error.startswith("RuntimeError: stop") and result.attempts == 2
    assert seen == ["1", "1"]
    assert "OMP_NUM_THREADS" not in os.environ


# ---- map_tasks: any top-level function over items ----
def square(item):
    """What a task computes: item ** 2; "fail" raises, "warn" warns and returns 0, and
    ("die", path) ends its worker process the first time (it leaves ``path`` behind)."""
    if item == "fail":
        raise ValueError("cannot square 'fail'")
    if item == "flaky":
        raise RuntimeError("a failure that may pass on another try")
    if item == "exit":
        raise SystemExit(3)  # what argparse's parser.error does
    if item == "warn":
        warnings.warn("a warning in the worker", UserWarning, stacklevel=1)
        return 0
    if isinstance(item, tuple):
        marker = Path(item[1])
        if not marker.exists():
            marker.touch()
            os._exit(1)  # the worker dies: its pool breaks
        return -1
    return item * item


def test_map_tasks_in_process_records_a_failure_and_keeps_the_order():
    names = ["a", "b", "c", "d", "e"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = map_tasks(
            square, [1, 2, "fail", "warn", 3], InProcessExecutor(), names=names, show_progress=False
        )
    assert [r.name for r in result] == names and [r.index for r in result] == list(range(5))
    assert result.values == [1, 4, None, 0, 9]
    failed = result[2]
    assert failed.attempts == 1 and not failed.ok  # bad input (ValueError): not retried
    assert failed.error == "ValueError: cannot square 'fail'" and "Traceback" in failed.traceback
    assert [r.attempts for r in result if r.ok] == [1, 1, 1, 1]
    with pytest.raises(RuntimeError, match="square: 1 of 5 tasks failed: 'c': ValueError"):
        result.raise_for_failures()
    assert result[3].warnings == ["UserWarning: a warning in the worker"]
    # any other error is retried (here once), then recorded
    flaky = map_tasks(square, ["flaky", 2], InProcessExecutor(), retries=1, show_progress=False)
    assert flaky[0].attempts == 2 and flaky[0].error.startswith("RuntimeError")
    summary = [str(w.message) for w in caught if "warned in their workers" in str(w.message)]
    assert len(summary) == 1 and "'d'" in summary[0]
    # in process, results stream in item order; retries=0 records a failure at once
    streamed = list(
        iter_map_tasks(square, [3, "fail", 2], InProcessExecutor(), retries=0, show_progress=False)
    )
    assert [(r.name, r.value, r.attempts) for r in streamed] == [
        ("task0", 9, 1), ("task1", None, 1), ("task2", 4, 1)
    ]


def test_a_task_that_calls_sys_exit_is_recorded_and_the_batch_goes_on():
    """SystemExit in one task used to end the whole batch and lose the others' results."""
    import concurrent.futures as cf

    for executor in (InProcessExecutor(), cf.ThreadPoolExecutor(max_workers=1)):
        result = map_tasks(square, [1, "exit", 3], executor, retries=2, show_progress=False)
        assert result.values == [1, None, 9]
        assert result[1].error == "SystemExit: 3" and result[1].attempts == 1  # not retried


def test_a_forking_process_pool_is_refused_before_it_can_deadlock():
    """A ProcessPoolExecutor started by fork deadlocks once the parent has used JAX."""
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        with pytest.raises(ValueError, match="executor: .* fork.*get_context\\('spawn'\\)"):
            map_tasks(square, [1], pool, show_progress=False)
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert map_tasks(square, [2], pool, show_progress=False).values == [4]


def test_map_tasks_arguments_are_checked_by_name():
    run = InProcessExecutor()
    with pytest.raises(ValueError, match="names must be unique; repeated: \\['x'\\]"):
        map_tasks(square, [1, 2], run, names=["x", "x"])
    with pytest.raises(ValueError, match="names has 1 entries for 2 items"):
        map_tasks(square, [1, 2], run, names=["x"])
    with pytest.raises(ValueError, match="items is empty"):
        map_tasks(square, [], run)
    with pytest.raises(TypeError, match="items must be a list"):
        map_tasks(square, {"a": 1}, run)
    with pytest.raises(TypeError, match="fn must be callable"):
        map_tasks(3, [1], run)
    with pytest.raises(ValueError, match="retries must be an integer >= 0"):
        map_tasks(square, [1], run, retries=-1)
    # the local pool pickles fn: a lambda is refused before any process starts
    with pytest.raises(TypeError, match="fn must pickle"):
        map_tasks(lambda x: x, [1], workers=1)


@pytest.mark.slow  # worker processes: .ci/run's slow step
def test_map_tasks_on_two_local_processes(tmp_path):
    names = ["one", "two", "broken", "three"]
    result = map_tasks(square, [1, 2, "fail", 3], workers=2, names=names, show_progress=False)
    assert [r.name for r in result] == names
    assert result.values == [1, 4, None, 9]
    assert result[2].attempts == 1 and result[2].error == "ValueError: cannot square 'fail'"
    assert [r.attempts for r in result if r.ok] == [1, 1, 1]
    workers = {r.worker for r in result}
    assert all(w.split(":")[1] != str(os.getpid()) for w in workers)  # not this process
    # a worker that dies breaks its pool: a new pool runs the tasks in flight again, each alone
    # (the pool cannot say which task killed it), uncounted
    marker = tmp_path / "died"
    result = map_tasks(square, [("die", str(marker)), 5], workers=1, show_progress=False)
    assert marker.exists() and result.values == [-1, 25]


# ---- chunks: several short tasks per submission ----
class Counting(InProcessExecutor):
    """In process, counting the submissions and the items each carried."""

    def __init__(self):
        self.sizes = []

    def submit(self, fn, /, *args, **kwargs):
        self.sizes.append(len(args[1]))  # run_chunk(fn, chunk)
        return super().submit(fn, *args, **kwargs)


def test_chunks_keep_each_items_result_warnings_and_retries():
    pool = Counting()
    items = [1, 2, "fail", "warn", "flaky", 3, 4]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        result = map_tasks(square, items, pool, retries=1, chunk_size=3, show_progress=False)
    # chunks of 3, 3 and 1; then 'flaky' (a RuntimeError) alone again, its one retry
    assert pool.sizes == [3, 3, 1, 1]
    assert result.values == [1, 4, None, 0, None, 9, 16]
    assert [r.attempts for r in result] == [1, 1, 1, 1, 2, 1, 1]
    assert result[2].error == "ValueError: cannot square 'fail'"
    assert result[4].error.startswith("RuntimeError") and "Traceback" in result[4].traceback
    assert result[3].warnings == ["UserWarning: a warning in the worker"]
    assert [r.warnings for i, r in enumerate(result) if i != 3] == [[]] * 6


def test_chunk_size_is_checked_and_auto_gives_four_chunks_per_worker():
    from bayeslaws.inference.batch import local_executor

    for workers, n, size in ((2, 40, 5), (1, 40, 10), (2, 3, 1)):  # ceil(n / (4 * workers))
        with local_executor(workers) as pool:  # the pool map_tasks makes (no process yet)
            assert _chunk_size("auto", n, pool) == size
    assert _chunk_size("auto", 40, InProcessExecutor()) == 1  # nothing to spare
    assert _chunk_size("auto", 40, object()) == 1  # workers unknown
    with cf_pool(3) as pool:
        assert _chunk_size("auto", 40, pool) == 4  # ceil(40 / 12)
    assert _chunk_size(7, 40, InProcessExecutor()) == 7
    for bad in (0, -1, 1.5, True, "big"):
        with pytest.raises(ValueError, match="chunk_size must be an integer >= 1 or 'auto'"):
            map_tasks(square, [1, 2], InProcessExecutor(), chunk_size=bad)


def cf_pool(workers: int):
    import concurrent.futures as cf

    return cf.ThreadPoolExecutor(max_workers=workers)


@pytest.mark.slow  # worker processes: .ci/run's slow step
def test_a_chunk_whose_worker_dies_runs_its_items_again_alone(tmp_path):
    """The pool cannot say which item of the chunk killed its worker: each runs again alone,
    with no attempt counted, so that even with retries=0 no item of the chunk is lost."""
    marker = tmp_path / "died"
    result = map_tasks(
        square, [("die", str(marker)), 5, 6], workers=1, retries=0, chunk_size=3,
        show_progress=False,
    )  # fmt: skip
    assert marker.exists()
    assert result.values == [-1, 25, 36] and [r.attempts for r in result] == [1, 1, 1]
    assert all(r.ok for r in result)


def test_a_callers_broken_pool_records_every_item_instead_of_raising(tmp_path):
    """A pool the caller owns and that breaks takes no more work: the items of the dead chunk
    and those not yet run are recorded as failed (with the pool's error), none raises out."""
    import concurrent.futures as cf
    import multiprocessing

    marker = tmp_path / "died"
    items = [("die", str(marker)), 5, 6, 7]
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = map_tasks(square, items, pool, retries=1, chunk_size=2, show_progress=False)
    assert marker.exists() and len(result) == 4
    assert not any(r.ok for r in result)
    assert all("BrokenProcessPool" in r.error for r in result)


def breaker(item):
    """("kill", folder): ends its worker process, every time, once a healthy task has started;
    ("ok", folder, n): returns n, after keeping its worker busy, the first time, until the
    killer's worker has died, so that the pool breaks with both tasks in flight. Each run adds
    a line to ``folder/runs``."""
    folder = Path(item[1])
    with open(folder / "runs", "a") as log:
        log.write(f"{item[0]}{item[2:]}\n")
    if item[0] == "kill":
        while not any(folder.glob("ok*")):
            time.sleep(0.01)
        (folder / "pid.tmp").write_text(str(os.getpid()))
        (folder / "pid.tmp").replace(folder / "killer")
        os._exit(1)
    marker = folder / f"ok{item[2]}"
    if not marker.exists():
        marker.touch()
        # until the killer's worker is reaped, after its pool has terminated this one; the
        # bound only keeps a pool that never reaps it from hanging the test
        for _ in range(2000):
            if not _alive(folder / "killer"):
                break
            time.sleep(0.01)
    return item[2]


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except FileNotFoundError:
        return True  # not started yet
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow  # worker processes: .ci/run's slow step
def test_only_the_task_that_kills_its_worker_is_charged(tmp_path):
    """A dead worker fails every task in flight in the local pool. The first of them handled
    used to be charged, healthy or not, and the killer ran again uncounted, breaking each new
    pool: tasks that never ran were recorded as failed, and the killer ran past its retries."""
    items = [("kill", str(tmp_path))] + [("ok", str(tmp_path), n) for n in (1, 2, 3)]
    result = map_tasks(breaker, items, workers=2, retries=1, show_progress=False)
    assert result.values == [None, 1, 2, 3]
    assert [r.attempts for r in result] == [2, 1, 1, 1]
    assert result[0].error.startswith("BrokenProcessPool") and "running it died" in result[0].error
    runs = (tmp_path / "runs").read_text().splitlines()
    # the killer and its neighbour in flight twice (the second time alone), the others once
    assert sorted(runs) == ["kill()", "kill()", "ok(1,)", "ok(1,)", "ok(2,)", "ok(3,)"]


def lock_or_item(item):
    return threading.Lock() if item == "lock" else item


def test_a_return_value_that_does_not_pickle_is_recorded_at_once():
    """It used to fail on its way back from a worker as if the worker had died, and ran again."""
    result = map_tasks(
        lock_or_item, [1, "lock", 3], InProcessExecutor(), retries=2, chunk_size=3,
        show_progress=False,
    )  # fmt: skip
    assert result.values == [1, None, 3] and [r.attempts for r in result] == [1, 1, 1]
    assert result[1].error.startswith(
        "UnpicklableResultError: the task's return value could not be pickled (a lock)"
    )


def test_a_task_dask_gave_up_on_is_not_resubmitted():
    """KilledWorker: Dask ran it on allowed-failures + 1 workers that all died (4 by default);
    resubmitting it killed as many workers again per retry."""
    import concurrent.futures as cf
    from types import SimpleNamespace

    scheduler = pytest.importorskip("distributed.scheduler")

    class Killing(Counting):  # what client.get_executor() gives for such a task
        def submit(self, fn, /, *args, **kwargs):
            self.sizes.append(len(args[1]))
            future = cf.Future()
            worker = SimpleNamespace(address="tcp://10.0.0.1:4000")
            future.set_exception(scheduler.KilledWorker("run_chunk-1", worker, 3))
            return future

    pool = Killing()
    result = map_tasks(square, [1, 2], pool, retries=2, chunk_size=2, show_progress=False)
    assert pool.sizes == [2, 1, 1]  # the chunk, then each item alone, once
    assert [r.attempts for r in result] == [1, 1]
    assert all(r.error.startswith("KilledWorker: Attempted to run") for r in result)
