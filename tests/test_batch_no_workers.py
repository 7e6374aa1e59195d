"""A Dask cluster without workers: map_tasks warns at submission that its tasks wait until a
worker joins (they waited without a word before); here one joins a second later and the batch
finishes."""

import threading
import warnings

import pytest

from bayeslaws.inference.batch import map_tasks

distributed = pytest.importorskip("distributed", reason="the Dask tests need dask[distributed]")


def double(x):
    return 2 * x


def test_an_empty_cluster_is_named_and_the_batch_runs_once_a_worker_joins():
    with distributed.LocalCluster(
        n_workers=0, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        threading.Timer(1.0, lambda: cluster.scale(1)).start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = map_tasks(double, [1, 2], client, show_progress=False)
    assert result.values == [2, 4]
    named = [str(w.message) for w in caught if "has no workers" in str(w.message)]
    where = f"double: the Dask cluster at {cluster.scheduler_address} has no workers"
    assert len(named) == 1 and named[0].startswith(where), named
    assert caught[[str(w.message) for w in caught].index(named[0])].filename == __file__


def test_a_cluster_with_workers_gives_no_such_warning():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert map_tasks(double, [3], client, show_progress=False).values == [6]
    assert not [w for w in caught if "has no workers" in str(w.message)]
