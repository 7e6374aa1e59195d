"""workers / retries / chunk_size of the batch layer take NumPy integers, and sbc takes workers=
and retries= and names itself in its errors (review 8)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bayeslaws.inference.batch import InProcessExecutor, map_tasks
from bayeslaws.inference.batch.checks import check_options
from bayeslaws.posterior import calibration
from bayeslaws.posterior.calibration import simulation
from bayeslaws.runs.checks import ArgumentTypeError


# ---- workers / retries / chunk_size: NumPy integers -------------------------------------------
def square(x):
    return x * x


def test_numpy_integers_are_accepted_as_workers_retries_and_chunk_size():
    checked = check_options(None, np.int64(2), np.int32(1), np.int64(3))
    assert checked == (2, 1, 3) and all(type(v) is int for v in checked)
    assert check_options(None, None, 0, "auto") == (None, 0, "auto")
    result = map_tasks(
        square, [1, 2, 3], InProcessExecutor(), retries=np.int64(1), chunk_size=np.int64(2),
        show_progress=False,
    )  # fmt: skip
    assert result.values == [1, 4, 9]
    for bad in (True, 0, 1.0, "2"):
        with pytest.raises(ValueError, match="workers must be an integer >= 1"):
            check_options(None, bad, 1)
    for bad in (True, -1, np.float64(1.0)):
        with pytest.raises(ValueError, match="retries must be an integer >= 0"):
            check_options(None, None, bad)
    for bad in (np.bool_(True), np.int64(0), "Auto"):
        with pytest.raises(ValueError, match="chunk_size must be an integer >= 1 or 'auto'"):
            check_options(None, None, 1, bad)
    with pytest.raises(ValueError, match="applies to the local processes only") as err:
        check_options(InProcessExecutor(), np.int64(2), 1)
    assert "must be an integer" not in str(err.value)  # it is one


# ---- sbc: workers= and retries=, its own errors --------------------------------------------------
def test_sbc_takes_workers_and_retries_and_names_itself_in_errors(monkeypatch):
    def no_simulations(*args, **kwargs):
        raise AssertionError("simulated before the options were checked")

    monkeypatch.setattr(simulation, "sbc_items", no_simulations)
    with pytest.raises(ArgumentTypeError, match=r"sbc: unknown option\(s\) \['bogus'\]") as err:
        calibration.sbc(bogus=1, n_sims=2)
    assert "'n_sims'" in str(err.value) and "'thin'" in str(err.value)
    assert "sbc_items" not in str(err.value)
    # workers= and retries= reach the batch (executor None and workers n: local processes)
    monkeypatch.setattr(simulation, "sbc_items", lambda *a, **k: [SimpleNamespace(name="sbc0")])
    seen = {}

    class Stop(Exception):
        pass

    def spy(fn, items, executor, **options):
        seen.update(options, executor=executor)
        raise Stop

    with monkeypatch.context() as patch:
        patch.setattr(simulation, "map_tasks", spy)
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
