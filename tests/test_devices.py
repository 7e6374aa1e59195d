"""Device-agnostic sampling: the chain method chosen for the devices JAX has (CPU host devices,
one accelerator), kernels kept apart by JAX's 64-bit setting and the data's dtypes, and worker
processes that do not preallocate a GPU's memory. The accelerator is faked by patching
``jax.default_backend`` around the decisions alone (no sampling on it)."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import jax
import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference import nuts, screening
from bayeslaws.laws import resolve_law
from bayeslaws.posterior.extrapolation import distance

TINY = {"chains": 1, "warmup": 50, "draws": 50}


def settings_for(chains: int, chain_method: str | None) -> dict:
    """``nuts._settings`` of a tiny run: the chain method is decided there (no sampling)."""
    return nuts._settings(
        chains=chains,
        warmup=5,
        draws=5,
        seed=0,
        target_accept=0.8,
        dense_mass=False,
        progress_bar=False,
        chain_method=chain_method,
        prior_draws=0,
    )


@pytest.fixture
def one_gpu(monkeypatch):
    """JAX seen as one GPU device (as on a single-GPU machine)."""
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(jax, "local_device_count", lambda *args, **kwargs: 1)


class Built(Exception):
    """Raised by the fake MCMC below once the refits' sampler is built."""


def refit_chain_method(monkeypatch, runs, chains: int) -> str:
    """The chain method ``distance.scale_out_splits`` builds its refits' MCMC with."""
    seen = {}

    def fake_mcmc(kernel, **kwargs):
        seen.update(kwargs)
        raise Built

    monkeypatch.setattr(distance, "MCMC", fake_mcmc)
    law = resolve_law("chinchilla")
    with pytest.raises(Built):
        distance.scale_out_splits(
            runs, law, "gaussian", law.priors("gaussian", None), chains=chains
        )
    assert seen["num_chains"] == chains
    return seen["chain_method"]


def test_automatic_sequential_chains_on_cpu_are_warned_once_per_process(monkeypatch):
    """JAX started before bayeslaws (fewer host devices than chains): the automatic choice
    runs the chains sequentially (slower, other draws for the seed) and says so, once."""
    monkeypatch.setattr(nuts, "_WARNED_SEQUENTIAL", set(), raising=False)
    chains = jax.local_device_count() + 1
    expected = (
        f"chose 'sequential'.*{chains} chains, .*XLA_FLAGS=--xla_force_host_platform_device_count"
        f"={chains} before Python starts.*import bayeslaws before JAX starts"
    )
    with pytest.warns(UserWarning, match=expected):
        assert settings_for(chains, None)["chain_method"] == "sequential"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert settings_for(chains, None)["chain_method"] == "sequential"  # not again
        monkeypatch.setattr(nuts, "_WARNED_SEQUENTIAL", set(), raising=False)
        assert settings_for(1, None)["chain_method"] == "sequential"  # one chain: nothing lost
        assert settings_for(chains, "sequential")["chain_method"] == "sequential"  # asked for


def test_parallel_on_one_accelerator_runs_vectorized(one_gpu):
    """A recorded 'parallel' (fit.update of a CPU-made fit) on one GPU runs the automatic
    choice there, vectorized, not sequentially with advice for CPUs."""
    assert nuts.choose_chain_method(4) == "vectorized"
    with pytest.warns(UserWarning, match="run vectorized on the gpu") as record:
        assert settings_for(4, "parallel")["chain_method"] == "vectorized"
    assert "On CPU" not in str(record[0].message)


def test_parallel_beyond_cpu_devices_is_still_sequential():
    chains = jax.local_device_count() + 1
    with pytest.warns(UserWarning, match="run sequentially .*set_host_device_count"):
        assert settings_for(chains, "parallel")["chain_method"] == "sequential"


def test_scale_out_refits_vectorize_on_an_accelerator(monkeypatch, simulated_runs):
    """The discrepancy's scale-out refits choose their chain method as bl.fit does."""
    with monkeypatch.context() as patched:
        patched.setattr(jax, "default_backend", lambda: "gpu")
        patched.setattr(jax, "local_device_count", lambda *args, **kwargs: 1)
        assert refit_chain_method(monkeypatch, simulated_runs, 2) == "vectorized"
    # CPU as before: parallel with a host device per chain, else sequential
    assert jax.local_device_count() >= 2
    assert refit_chain_method(monkeypatch, simulated_runs, 2) == "parallel"
    assert refit_chain_method(monkeypatch, simulated_runs, 1) == "sequential"


def test_kernel_cache_keys_the_input_dtypes():
    shapes32 = nuts._shapes({"x": np.zeros(3, np.float32), "s": 1.0})
    shapes64 = nuts._shapes({"x": np.zeros(3, np.float64), "s": 1.0})
    assert shapes32 != shapes64


def test_enabling_x64_mid_session_builds_a_new_kernel(simulated_runs, kernels_kept, monkeypatch):
    """A kernel traced with 32-bit floats is not reused once jax_enable_x64 is on (its draws
    would differ from a fresh 64-bit process's with the same seed)."""
    assert not jax.config.jax_enable_x64
    # an empty pointwise cache: another test in this worker may have run a 64-bit fit of the
    # same model already, whose entry would then be found, not added
    monkeypatch.setattr(screening, "_POINTWISE_CACHE", OrderedDict())
    fit32 = bl.fit(simulated_runs, likelihood="gaussian", seed=0, warn=False, **TINY)
    kernel32 = list(nuts._MCMC_CACHE.values())[-1]
    pointwise32 = set(screening._POINTWISE_CACHE)
    try:
        jax.config.update("jax_enable_x64", True)
        fit64 = bl.fit(simulated_runs, likelihood="gaussian", seed=0, warn=False, **TINY)
        kernel64 = list(nuts._MCMC_CACHE.values())[-1]
        pointwise64 = set(screening._POINTWISE_CACHE) - pointwise32
    finally:
        jax.config.update("jax_enable_x64", False)
    assert kernel64 is not kernel32
    assert fit32.idata.posterior["alpha"].dtype == np.float32
    assert fit64.idata.posterior["alpha"].dtype == np.float64
    # the pointwise pass is keyed apart too (a 64-bit program is saved under its own key)
    assert pointwise64 and all(("jax_enable_x64", "True") in k for k in pointwise64)
    (site,) = fit64.idata.log_likelihood.data_vars
    assert fit64.idata.log_likelihood[site].dtype == np.float64


def test_worker_env_does_not_preallocate_gpu_memory_unless_the_user_says():
    assert bl.worker_env({})["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    own = {"XLA_PYTHON_CLIENT_PREALLOCATE": "true"}
    assert bl.worker_env(own)["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
