"""A task that succeeds on a retry keeps each earlier failed attempt (error, traceback,
warnings) in TaskResult.retried_errors, its progress line and BatchResult.table().

Review 10 of the batch layer: a task that failed and then succeeded on a retry lost its
earlier attempt's error, traceback and warnings (iter_map_tasks kept only the last attempt's
error text, for the caller's-broken-pool message; the progress line said just "ok" and the
result only attempts=2). Each earlier failed attempt is kept in TaskResult.retried_errors (a
TaskResult of that attempt), shown in the progress line and in BatchResult.table()."""

from __future__ import annotations

import concurrent.futures as cf
import pickle
import warnings
from pathlib import Path

import pandas as pd
import pytest

from bayeslaws.inference.batch import InProcessExecutor, TaskResult, map_tasks


def flaky(item):
    """``item`` = (folder, fails, value): its first ``fails`` runs warn and raise RuntimeError
    (counted by files left in ``folder``, so it works in worker processes too), then it returns
    ``value``."""
    folder, fails, value = item
    tries = Path(folder)
    tries.mkdir(exist_ok=True)
    run = len(list(tries.iterdir())) + 1
    (tries / str(run)).touch()
    if run <= fails:
        warnings.warn(f"warned in try {run}", UserWarning, stacklevel=1)
        raise RuntimeError(f"try {run} of {tries.name} failed")
    return value


class KilledWorker(Exception):
    """What map_tasks takes for Dask's ``distributed.KilledWorker`` (by class name and
    module): distributed need not be installed."""

    __module__ = "distributed.scheduler"


class KillingOnce(cf.Executor):
    """An executor (as a Dask client's adapter, in process) that fails its first submission
    with KilledWorker, as Dask does a task whose workers died."""

    def __init__(self):
        self.sent = 0

    def submit(self, fn, /, *args, **kwargs):
        self.sent += 1
        future = cf.Future()
        if self.sent == 1:
            future.set_exception(KilledWorker("Attempted to run task 'run_chunk-1' on 4 workers"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


@pytest.fixture
def loud(monkeypatch):
    """Progress lines on (whatever the environment says)."""
    monkeypatch.delenv("BAYESLAWS_QUIET", raising=False)


def test_a_task_that_succeeds_on_retry_keeps_its_earlier_error_warnings_and_traceback(
    tmp_path, capsys, loud
):
    items = [(str(tmp_path / "a"), 1, 10), (str(tmp_path / "b"), 0, 20)]
    result = map_tasks(flaky, items, InProcessExecutor(), names=["a", "b"], retries=1)
    a, b = result
    assert a.ok and a.value == 10 and a.attempts == 2 and a.error is None
    assert a.warnings == []  # the last attempt's
    (earlier,) = a.retried_errors
    assert isinstance(earlier, TaskResult) and not earlier.ok
    assert (earlier.index, earlier.name, earlier.attempts) == (0, "a", 1)
    assert earlier.error == "RuntimeError: try 1 of a failed"
    assert "Traceback" in earlier.traceback and "try 1 of a failed" in earlier.traceback
    assert earlier.warnings == ["UserWarning: warned in try 1"]
    assert earlier.warning_categories == ["builtins:UserWarning"]
    assert earlier.worker and earlier.seconds >= 0.0
    assert b.ok and b.attempts == 1 and b.retried_errors == ()
    # the progress line and the table say it too
    err = capsys.readouterr().err
    assert (
        "'a' ok after 2 attempts; attempt 1: RuntimeError: try 1 of a failed, 1 warning(s) ("
        in err
    )
    assert "'b' ok (" in err
    table = result.table()
    assert table.loc["a", "retried_errors"] == (
        "attempt 1: RuntimeError: try 1 of a failed, 1 warning(s)"
    )
    assert pd.isna(table.loc["b", "retried_errors"])  # None (read as NaN), as "error" is
    assert pd.isna(table.loc["a", "error"]) and table.loc["a", "attempts"] == 2


def test_every_earlier_attempt_is_kept_in_order_and_a_final_failure_keeps_them_too(
    tmp_path, capsys, loud
):
    items = [(str(tmp_path / "twice"), 2, 1), (str(tmp_path / "always"), 9, 2)]
    with pytest.warns(UserWarning, match="1 of 2 tasks warned in their workers: 'always'"):
        result = map_tasks(
            flaky, items, InProcessExecutor(), names=["twice", "always"], retries=2
        )
    twice, always = result
    assert twice.ok and twice.attempts == 3
    assert [(r.attempts, r.error) for r in twice.retried_errors] == [
        (1, "RuntimeError: try 1 of twice failed"),
        (2, "RuntimeError: try 2 of twice failed"),
    ]
    assert not always.ok and always.attempts == 3
    assert always.error == "RuntimeError: try 3 of always failed"  # the last attempt's
    assert always.warnings == ["UserWarning: warned in try 3"]
    assert [r.error for r in always.retried_errors] == [
        "RuntimeError: try 1 of always failed",
        "RuntimeError: try 2 of always failed",
    ]
    err = capsys.readouterr().err
    assert (
        "'always' FAILED after 3 attempt(s): RuntimeError: try 3 of always failed, "
        "1 warning(s); attempt 1: RuntimeError: try 1 of always failed, 1 warning(s); "
        "attempt 2: RuntimeError: try 2 of always failed, 1 warning(s) ("
    ) in err
    assert result.table().loc["twice", "retried_errors"] == (
        "attempt 1: RuntimeError: try 1 of twice failed, 1 warning(s); "
        "attempt 2: RuntimeError: try 2 of twice failed, 1 warning(s)"
    )


def test_a_task_not_retried_has_no_earlier_errors(tmp_path):
    """retries=0: a failure at its first attempt has nothing earlier to keep."""
    with pytest.warns(UserWarning, match="1 of 1 tasks warned in their workers"):
        result = map_tasks(
            flaky, [(str(tmp_path / "x"), 1, 0)], InProcessExecutor(), retries=0,
            show_progress=False,
        )  # fmt: skip
    assert not result[0].ok and result[0].attempts == 1 and result[0].retried_errors == ()
    assert result.table()["retried_errors"].tolist() == [None]


def test_a_result_pickled_before_the_field_reads_it_as_empty():
    """A TaskResult pickled by an earlier version has no retried_errors in its state."""
    old = TaskResult(index=0, name="t", value=1, attempts=2)
    del old.__dict__["retried_errors"]
    restored = pickle.loads(pickle.dumps(old))
    assert restored.retried_errors == () and restored.retried_text() is None


def test_a_worker_death_before_a_successful_retry_is_kept(capsys, loud):
    """A task whose workers died (Dask's KilledWorker; the local pool's broken pool takes the
    same path) is submitted again alone; that attempt's error is kept too."""
    result = map_tasks(abs, [-7], KillingOnce(), names=["d"], retries=1)
    (d,) = result
    assert d.ok and d.value == 7 and d.attempts == 2
    (earlier,) = d.retried_errors
    assert earlier.attempts == 1 and earlier.error.startswith("KilledWorker: Attempted to run")
    assert "Traceback" in earlier.traceback and earlier.worker is None  # no worker's result
    assert "'d' ok after 2 attempts; attempt 1: KilledWorker: Attempted" in capsys.readouterr().err
