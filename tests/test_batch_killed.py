"""map_tasks on Dask: a chunk (``chunk_size`` > 1) that Dask gives up on with ``KilledWorker``.

Dask has already run the chunk on ``allowed-failures`` + 1 workers that all died. The chunk's
worker told the scheduler which item it was running, so only that item is recorded as killed
(once, as with ``chunk_size=1``); the others run again alone and keep their results. The item
that kills its worker used to run again alone, killing as many workers again.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from bayeslaws.inference.batch import map_tasks, run_chunk

pytestmark = pytest.mark.slow  # process and compiler machinery: .ci/run's slow step

ITEMS = ("a", "b", "kill", "c")


def logged(item):
    """(name, folder): appends ``name`` to ``folder/runs`` and returns it; "kill" ends its
    worker process, every time."""
    name, folder = item
    with open(Path(folder) / "runs", "a") as log:
        log.write(f"{name}\n")
    if name == "kill":
        os._exit(1)
    return name


def _runs(folder: Path) -> dict:
    runs = (folder / "runs").read_text().split()
    return {name: runs.count(name) for name in ITEMS}


class FakeDask:
    """A Dask client as map_tasks sees it (``get_executor``, metadata), in process: a task
    holding "kill" fails with ``KilledWorker``, its chunk's progress key left at that item."""

    def __init__(self, killed_worker):
        self.killed_worker = killed_worker
        self.metadata: dict = {}
        self.sizes: list = []

    def get_executor(self, **kwargs):
        return self

    def get_metadata(self, key, default=None):
        return self.metadata.get(tuple(key), default)

    def set_metadata(self, key, value):
        self.metadata[tuple(key)] = value

    def submit(self, fn, /, *args):
        chunk = args[1]
        self.sizes.append(len(chunk))
        future = cf.Future()
        if "kill" not in chunk:
            future.set_result(fn(*args))
            return future
        if isinstance(fn, functools.partial) and "progress" in fn.keywords:
            self.set_metadata(fn.keywords["progress"], chunk.index("kill"))
        worker = SimpleNamespace(address="tcp://10.0.0.1:4000")
        future.set_exception(self.killed_worker("run_chunk-1", worker, 3))
        return future


def test_the_item_a_killed_chunk_was_running_is_not_run_again():
    scheduler = pytest.importorskip("distributed.scheduler")
    client = FakeDask(scheduler.KilledWorker)
    result = map_tasks(str.upper, list(ITEMS), client, retries=2, chunk_size=4, show_progress=False)
    assert client.sizes == [4, 1, 1, 1]  # the chunk, then a, b and c alone: not "kill"
    assert result.values == ["A", "B", None, "C"]
    assert [r.attempts for r in result] == [1, 1, 1, 1]
    assert result[2].error.startswith("KilledWorker: Attempted to run")
    (chunk_key,) = [k for k, v in client.metadata.items() if v == 2]  # position of "kill"
    assert client.metadata[chunk_key[:-1]] is None  # the batch's keys cleared at the end


def test_without_a_progress_position_every_item_runs_again_alone():
    """A chunk that never started (no position): which item killed the workers is unknown."""
    scheduler = pytest.importorskip("distributed.scheduler")
    client = FakeDask(scheduler.KilledWorker)
    client.get_metadata = lambda key, default=None: default
    result = map_tasks(str.upper, list(ITEMS), client, retries=2, chunk_size=4, show_progress=False)
    assert client.sizes == [4, 1, 1, 1, 1]
    assert result.values == ["A", "B", None, "C"]


def test_run_chunk_without_progress_runs_in_any_process():
    assert [o["value"] for o in run_chunk(str.upper, ["x", "y"])] == ["X", "Y"]


def test_a_local_cluster_runs_the_killer_only_as_often_as_dask_retries_it(tmp_path):
    """A real LocalCluster (worker processes) with allowed-failures = 1: the killer runs twice
    (Dask's two tries of its chunk), not twice more alone; the other items keep their results."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    items = [(name, str(tmp_path)) for name in ITEMS]
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with (
            distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            result = map_tasks(logged, items, client, retries=1, chunk_size=4, show_progress=False)
            # the batch's progress keys were set, then cleared
            progress = client.get_metadata(["bayeslaws", "chunk_progress"], None)
    assert result.values == ["a", "b", None, "c"]
    assert result[2].error.startswith("KilledWorker")
    assert [r.attempts for r in result] == [1, 1, 1, 1]
    runs = _runs(tmp_path)
    assert runs["kill"] == 2  # allowed-failures + 1
    assert runs["c"] == 1  # after the killer in the chunk: never ran there
    # a and b ran in both tries of the chunk, then alone (a result that is still on a worker
    # when it dies is computed again by Dask: hence at least)
    assert runs["a"] >= 3 and runs["b"] >= 3
    assert isinstance(progress, dict) and list(progress.values()) == [None]
