"""Float precision (JAX's ``jax_enable_x64``) across fits: a fit updated in the other precision
than it was sampled in, the precision a fit records (saved and loaded; an older file without
it), the precision fit_many's workers are started with, and ``fit.update``'s unknown
arguments (SIMULATED runs, tiny fits)."""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager

import jax
import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import FitRecord
from bayeslaws.runs.checks import ArgumentTypeError

TINY = {"chains": 1, "warmup": 100, "draws": 100}


@contextmanager
def x64(on: bool):
    """``jax_enable_x64`` set to ``on`` inside the block (as a user sets it in code), restored
    after."""
    before = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", on)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def quiet_fit(runs, **options):
    with warnings.catch_warnings():  # a tiny fit's sampler trouble is not what is tested
        warnings.simplefilter("ignore")
        return bl.fit(runs, likelihood="gaussian", seed=0, warn=False, **TINY, **options)


def new_runs(runs) -> pd.DataFrame:
    """Two runs beyond the fitted ones (their loss from the fitted table's largest run)."""
    df = runs.df
    big = df.loc[df["N"].idxmax()]
    return pd.DataFrame(
        {"N": [2 * big["N"], 3 * big["N"]], "D": [2 * big["D"], 3 * big["D"]],
         "loss": [0.98 * big["loss"], 0.97 * big["loss"]]}
    )


@pytest.fixture(scope="module")
def fit32(simulated_runs):
    with x64(False):
        return quiet_fit(simulated_runs)


@pytest.fixture(scope="module")
def fit64(simulated_runs):
    with x64(True):
        return quiet_fit(simulated_runs)


def test_a_fit_records_the_precision_of_its_draws(fit32, fit64):
    for fit in (fit32, fit64):
        dtype = fit.idata.posterior["alpha"].dtype
        assert fit.record.sampler.precision == np.dtype(dtype).name
    assert fit32.record.sampler.precision != fit64.record.sampler.precision


@pytest.mark.parametrize("fitted_in_x64", [False, True])
def test_a_fit_updates_in_the_other_precision(
    fitted_in_x64, fit32, fit64, simulated_runs, tmp_path
):
    """A fit saved in one precision, loaded and updated in the other: the warm start is in the
    process's precision (it failed under x64 with "cond branches must have equal output
    types" for a float32 fit), and so are the updated draws and their record."""
    fit = fit64 if fitted_in_x64 else fit32
    fit.save(tmp_path / "fit.nc")
    with x64(not fitted_in_x64):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = bl.load_fit(tmp_path / "fit.nc")
            updated = loaded.update(new_runs(simulated_runs), warn=False, warmup=100, draws=100)
        process = np.dtype(jax.numpy.result_type(float)).name
    assert process != fit.record.sampler.precision
    assert updated.idata.posterior["alpha"].dtype == np.dtype(process)
    assert updated.record.sampler.precision == process
    assert updated.n_runs == fit.n_runs + 2


def test_the_precision_survives_save_and_load(fit32, fit64, tmp_path):
    for name, fit in (("f32", fit32), ("f64", fit64)):
        fit.save(tmp_path / f"{name}.nc")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = bl.load_fit(tmp_path / f"{name}.nc")
        assert loaded.record.sampler.precision == fit.record.sampler.precision
        assert loaded.record.sampler == fit.record.sampler


def test_a_file_saved_before_the_precision_was_recorded_loads_as_unknown(
    fit64, tmp_path, monkeypatch
):
    """Not as this process's precision (float32 here, while the file's draws are float64)."""
    to_json = FitRecord.to_json

    def without_precision(record):  # the record as bayeslaws wrote it before the field
        raw = json.loads(to_json(record))
        raw["sampler"].pop("precision", None)
        return json.dumps(raw, sort_keys=True)

    with monkeypatch.context() as patch:
        patch.setattr(FitRecord, "to_json", without_precision)
        fit64.save(tmp_path / "old.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = bl.load_fit(tmp_path / "old.nc")
    assert loaded.record.sampler.precision is None
    assert loaded.record.sampler.seed == fit64.record.sampler.seed


@pytest.mark.parametrize("on", [False, True])
def test_worker_env_passes_the_precision_set_in_code(on, monkeypatch):
    """fit_many's local workers fit in the caller's precision, also when it was set in code
    (jax.config.update) rather than in the environment."""
    monkeypatch.delenv("JAX_ENABLE_X64", raising=False)
    with x64(on):
        env = bl.worker_env({})
    assert env["JAX_ENABLE_X64"] == ("1" if on else "0")


def test_update_refuses_an_unknown_argument_naming_the_valid_ones(fit32, simulated_runs):
    with pytest.raises(ArgumentTypeError) as caught:
        fit32.update(new_runs(simulated_runs), chains=7)
    message = str(caught.value)
    assert message.startswith("fit.update() got unknown argument(s) ['chains']")
    for valid in ("warmup", "draws", "seed", "warn", "screen", "cold_above", "units"):
        assert repr(valid) in message
    assert "update_fit" not in message
