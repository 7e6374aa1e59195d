"""Fit.save replaces an existing file only when it is a saved fit (or is named *.nc): a user's
HDF5 file, which has the first bytes of every netCDF-4 file, is refused; fit_many's one
warning names the failed fits as well as those that warned (review 15)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import bayeslaws as bl
from bayeslaws.inference.batch import InProcessExecutor, TaskResult, fits, map_tasks
from bayeslaws.inference.batch.tasks import collect

h5py = pytest.importorskip("h5py")


# ---- Fit.save: only a saved fit, or a *.nc file, is replaced ------------------------------------
def _users_hdf5(path):
    with h5py.File(path, "w") as handle:
        handle["x"] = np.arange(5)
    return path.read_bytes()


def test_save_refuses_to_overwrite_a_users_hdf5_file(simulated_fit, tmp_path):
    target = tmp_path / "mydata.h5"
    content = _users_hdf5(target)
    with pytest.raises(FileExistsError, match="mydata.h5.* is not a saved fit") as err:
        simulated_fit.save(target)
    assert "mydata.nc" in str(err.value)  # another path is suggested
    assert target.read_bytes() == content
    with h5py.File(target, "r") as handle:
        assert handle["x"][()].tolist() == list(range(5))
    assert [p.name for p in tmp_path.iterdir()] == ["mydata.h5"]  # no temporary file left


def test_save_refuses_a_netcdf_data_set_that_is_not_a_fit(simulated_fit, tmp_path):
    """A netCDF-4 file of someone's data (not named .nc) is not a fit either."""
    target = tmp_path / "measurements.h5"
    xr.Dataset({"loss": ("run", [3.1, 2.9])}).to_netcdf(target, engine="h5netcdf")
    content = target.read_bytes()
    with pytest.raises(FileExistsError, match="without a bayeslaws fit record"):
        simulated_fit.save(target)
    assert target.read_bytes() == content


def test_save_still_replaces_a_saved_fit_of_any_name_and_any_nc_file(simulated_fit, tmp_path):
    saved = simulated_fit.save(tmp_path / "fit.h5")
    loaded = bl.load_fit(saved)  # a fit read from the file it is saved over
    assert loaded.save(saved) == saved
    assert bl.load_fit(saved).n_runs == simulated_fit.n_runs
    named_nc = tmp_path / "mydata.nc"  # the name says it is a fit's place
    _users_hdf5(named_nc)
    simulated_fit.save(named_nc)
    assert bl.load_fit(named_nc).n_runs == simulated_fit.n_runs


# ---- fit_many: failed fits are named in its warning ---------------------------------------------
def _batch_warnings(call) -> tuple:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught]


def test_fit_many_warns_about_its_failed_fits(simulated_runs, monkeypatch):
    """Task 'a' warns in its worker (a stand-in for a fit, so nothing is sampled); 'b' (an
    unknown law) and 'c' (an unknown option) fail in bl.fit before sampling."""
    real = fits.fit_task

    def fit_or_warn(task, save_dir=None):
        if task.name == "a":
            warnings.warn("a worker's warning", UserWarning, stacklevel=1)
            return "a's fit"
        return real(task, save_dir=save_dir)

    monkeypatch.setattr(fits, "fit_task", fit_or_warn)
    tasks = [
        {"runs": simulated_runs, "name": "a"},
        {"runs": simulated_runs, "name": "b", "law": "nope"},
        {"runs": simulated_runs, "name": "c", "bogus": 3},
    ]
    result, messages = _batch_warnings(
        lambda: bl.fit_many(tasks, InProcessExecutor(), show_progress=False)
    )
    assert result.fits == ["a's fit", None, None]
    summary = [m for m in messages if m.startswith("fit_many:")]
    assert len(summary) == 1, messages  # one warning for the batch
    (text,) = summary
    assert "2 of 3 fits failed: 'b', 'c'" in text
    first = result.failed[0].error.partition("\n")[0]
    assert f"(first error: {first[:150]}" in text and "unknown law 'nope'" in text
    assert "1 of 3 fits warned in their workers" in text and "'a'" in text
    assert "result.failed" in text and "result.raise_for_failures()" in text


def test_fit_many_whose_every_fit_failed_warns_at_the_users_line(simulated_runs):
    tasks = [{"runs": simulated_runs, "name": "b", "law": "nope"}]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bl.fit_many(tasks, InProcessExecutor(), show_progress=False)
    assert result.fits == [None]
    (failed,) = [w for w in caught if str(w.message).startswith("fit_many: 1 of 1 fits failed")]
    assert "'b'" in str(failed.message) and "warned in their workers" not in str(failed.message)
    assert failed.filename == __file__


def cube(item):
    if item == "fail":
        raise ValueError("cannot cube 'fail'")
    return item**3


def test_map_tasks_names_failures_unless_its_caller_reports_them():
    """A direct map_tasks call is told of its failed tasks as fit_many is; sbc and backtests,
    which raise on any failure (raise_for_failures) and raise the tasks' warnings again
    themselves (warn_again), ask for no summary: it would repeat the error and point at a
    result they do not return."""
    result, messages = _batch_warnings(
        lambda: map_tasks(cube, [2, "fail"], InProcessExecutor(), retries=0, show_progress=False)
    )
    assert result.values == [8, None]
    assert [m for m in messages if "cube: 1 of 2 tasks failed: 'task1'" in m], messages
    result, messages = _batch_warnings(
        lambda: map_tasks(
            cube, [2, "fail"], InProcessExecutor(), retries=0, show_progress=False, summary=False
        )
    )
    assert not [m for m in messages if "cube:" in m], messages
    with pytest.raises(RuntimeError, match="cube: 1 of 2 tasks failed"):
        result.raise_for_failures()


def test_a_failures_error_is_shown_by_its_first_line_and_cut_short():
    long = "RuntimeError: " + "x" * 500 + "\nsecond line"
    results = [TaskResult(index=0, name="t", error=long, attempts=1)]
    with pytest.warns(UserWarning, match=r"lbl: 1 of 1 tasks failed: 't' \(first error") as rec:
        collect(results, "lbl", "tasks")
    (message,) = [str(w.message) for w in rec]
    assert "second line" not in message and "x" * 500 not in message and "..." in message
