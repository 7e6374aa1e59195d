"""Review 8 of the batch layer (all data SIMULATED, no fit: the campaigns' fits are stubbed).

* replay_many raised none of the warnings its campaigns raised (run_item records them in
  TaskResult.warnings, which replay_many neither showed nor returned): they are raised again,
  each with its category and its campaign's name, at the caller's line.
* replay_many left its batch generator open when log or checkpoint raised (a traceback holding
  its frame kept the worker processes running): it is closed on the way out.
* workers / retries / chunk_size refused NumPy integers ("must be an integer ..., got
  np.int64(2)").
* sbc had no workers= / retries= (a TypeError named the internal sbc_items), and its executor
  error said that executor=None meant local processes (sbc runs in process).
* A task Dask failed with KilledWorker was recorded at once, though Dask fails so every task a
  dying worker held (an innocent one queued behind the killer too): a lone task gets one more
  submission; the error text says a task may be failed so for sharing a worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_loss_pool

from bayeslaws.app import replay
from bayeslaws.inference import batch
from bayeslaws.inference.batch import InProcessExecutor, TaskResult, _check_options, map_tasks
from bayeslaws.posterior import calibration
from bayeslaws.runs.checks import ArgumentTypeError


# ---- replay_many: the campaigns' warnings, and its batch closed on an error -------------------
@pytest.fixture
def no_fits(monkeypatch):
    """Campaigns without fits: the start's fit and its score are stubs (in process only)."""
    monkeypatch.setattr(replay, "_fit", lambda *args: "a fit")
    monkeypatch.setattr(replay, "calibrated", lambda pool, fit, seed: fit)

    def scored(pool, strategy, seed, budget, trained, fit, seconds):
        row = {"pool": pool.name, "strategy": strategy, "seed": seed, "budget": budget}
        return row, pd.DataFrame({"strategy": [strategy], "budget": [budget]})

    monkeypatch.setattr(replay, "_scored", scored)


def _overspent_budgets(pool: replay.Pool) -> tuple[float]:
    """A budget below what the start design of seed 0 spends: a BudgetWarning."""
    share = pool.runs.loc[pool.start(0), "C"].sum() / pool.compute
    return (float(share / 2),)


def test_replay_many_raises_its_campaigns_warnings_again_with_their_category(no_fits):
    pool = tiny_loss_pool()
    budgets = _overspent_budgets(pool)
    with warnings.catch_warnings(record=True) as single:
        warnings.simplefilter("always")
        replay.replay(pool, ("random",), (0, 1), budgets=budgets)  # what replay shows
    expected = [str(w.message) for w in single if w.category is replay.BudgetWarning]
    assert len(expected) == 2 and "seed 1:" in expected[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history, _ = replay.replay_many(
            pool, ("random",), (0, 1), budgets=budgets, show_progress=False
        )
    assert len(history) == 4  # the start and one budget, per campaign
    raised = [w for w in caught if w.category is replay.BudgetWarning]
    assert [str(w.message) for w in raised] == [
        f"replay_many: 'tiny (SIMULATED) random seed {seed}': {message}"
        for seed, message in enumerate(expected)
    ]
    assert {w.filename for w in raised} == {__file__}  # at the caller's line


def test_warn_again_keeps_a_category_it_cannot_find_in_the_text():
    """A category whose module this process has not imported is not imported for it: a
    UserWarning keeps its name in the text."""
    result = TaskResult(
        index=0, name="t",
        warnings=["GoneWarning: from a worker", "RuntimeWarning: overflow"],
        warning_categories=["nowhere_imported.module:GoneWarning", "builtins:RuntimeWarning"],
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch.warn_again([result], "lbl")
    assert [(w.category, str(w.message)) for w in caught] == [
        (UserWarning, "lbl: 't': GoneWarning: from a worker"),
        (RuntimeWarning, "lbl: 't': overflow"),
    ]


class ReviewWarning(UserWarning):
    """A warning class of this module, raised by a task."""


def warns(item):
    warnings.warn(f"item {item}", ReviewWarning, stacklevel=1)
    return item


def test_a_task_records_each_warnings_category():
    with pytest.warns(UserWarning, match="1 of 1 tasks warned in their workers"):
        result = map_tasks(warns, [1], InProcessExecutor(), show_progress=False)
    assert result[0].warnings == ["ReviewWarning: item 1"]
    assert result[0].warning_categories == [f"{__name__}:ReviewWarning"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch.warn_again(result, "map_tasks")
    assert [(w.category, str(w.message)) for w in caught] == [
        (ReviewWarning, "map_tasks: 'task0': item 1")
    ]


def test_replay_many_closes_its_batch_when_a_checkpoint_raises(no_fits, monkeypatch):
    """The batch generator was left to garbage collection, which the traceback (kept by a
    notebook, or here by pytest) put off: the local pool's workers ran on."""
    closed = []
    real = replay.iter_map_tasks

    def spied(*args, **kwargs):
        try:
            yield from real(*args, **kwargs)
        finally:
            closed.append(True)

    monkeypatch.setattr(replay, "iter_map_tasks", spied)

    def checkpoint(history, components):
        raise RuntimeError("checkpoint failed (disk full)")

    pool = tiny_loss_pool()
    with (
        warnings.catch_warnings(),
        pytest.raises(RuntimeError, match="disk full") as raised,
    ):
        warnings.simplefilter("ignore", replay.BudgetWarning)
        replay.replay_many(
            pool, ("random",), (0, 1), budgets=_overspent_budgets(pool), checkpoint=checkpoint,
            show_progress=False,
        )  # fmt: skip
    assert raised.traceback  # the traceback (and replay_many's frame) is still held
    assert closed == [True]


# ---- workers / retries / chunk_size: NumPy integers -------------------------------------------
def square(x):
    return x * x


def test_numpy_integers_are_accepted_as_workers_retries_and_chunk_size():
    checked = _check_options(None, np.int64(2), np.int32(1), np.int64(3))
    assert checked == (2, 1, 3) and all(type(v) is int for v in checked)
    assert _check_options(None, None, 0, "auto") == (None, 0, "auto")
    result = map_tasks(
        square, [1, 2, 3], InProcessExecutor(), retries=np.int64(1), chunk_size=np.int64(2),
        show_progress=False,
    )  # fmt: skip
    assert result.values == [1, 4, 9]
    for bad in (True, 0, 1.0, "2"):
        with pytest.raises(ValueError, match="workers must be an integer >= 1"):
            _check_options(None, bad, 1)
    for bad in (True, -1, np.float64(1.0)):
        with pytest.raises(ValueError, match="retries must be an integer >= 0"):
            _check_options(None, None, bad)
    for bad in (np.bool_(True), np.int64(0), "Auto"):
        with pytest.raises(ValueError, match="chunk_size must be an integer >= 1 or 'auto'"):
            _check_options(None, None, 1, bad)
    with pytest.raises(ValueError, match="applies to the local processes only") as err:
        _check_options(InProcessExecutor(), np.int64(2), 1)
    assert "must be an integer" not in str(err.value)  # it is one


# ---- sbc: workers= and retries=, its own errors --------------------------------------------------
def test_sbc_takes_workers_and_retries_and_names_itself_in_errors(monkeypatch):
    def no_simulations(*args, **kwargs):
        raise AssertionError("simulated before the options were checked")

    monkeypatch.setattr(calibration, "sbc_items", no_simulations)
    with pytest.raises(ArgumentTypeError, match=r"sbc: unknown option\(s\) \['bogus'\]") as err:
        calibration.sbc(bogus=1, n_sims=2)
    assert "'n_sims'" in str(err.value) and "'thin'" in str(err.value)
    assert "sbc_items" not in str(err.value)
    # workers= and retries= reach the batch (executor None and workers n: local processes)
    monkeypatch.setattr(calibration, "sbc_items", lambda *a, **k: [SimpleNamespace(name="sbc0")])
    seen = {}

    class Stop(Exception):
        pass

    def spy(fn, items, executor, **options):
        seen.update(options, executor=executor)
        raise Stop

    with monkeypatch.context() as patch:
        patch.setattr(calibration, "map_tasks", spy)
        with pytest.raises(Stop):
            calibration.sbc(workers=np.int64(2), retries=3, n_sims=1)
        assert seen["executor"] is None and seen["workers"] == 2 and seen["retries"] == 3
        with pytest.raises(Stop):
            calibration.sbc(n_sims=1)  # the default: in this process
        assert isinstance(seen["executor"], InProcessExecutor) and seen["workers"] is None
    # the executor's error names sbc and does not say None means local processes
    with pytest.raises(ArgumentTypeError, match="sbc: executor must be None") as err:
        calibration.sbc(executor="dask", n_sims=1)
    assert "local processes" not in str(err.value)
    with pytest.raises(ValueError, match="workers applies to the local processes only"):
        calibration.sbc(executor=InProcessExecutor(), workers=2, n_sims=1)


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
