"""The inference caches: ArviZ under a read-only home, the JAX settings in the programs' keys,
the prior predictive compiled with or without the cache, shared cache folders, an unwritable
cache folder warned (review 6)."""

from __future__ import annotations

import functools
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference import compilation, deferred, exported, nuts
from bayeslaws.runs.bundled import epoch_chinchilla


# ---- 1. ArviZ's cache folder unwritable: imported with a temporary one, warned -----------------
def test_arviz_import_retries_with_a_temporary_cache_folder(monkeypatch):
    monkeypatch.setattr(deferred, "_prefetching", None)
    monkeypatch.setenv(deferred.CACHE_ENV, "/ro/home/.cache")
    seen = []

    def import_module(name):
        seen.append(os.environ.get(deferred.CACHE_ENV))
        if len(seen) == 1:
            raise PermissionError(13, "Permission denied", "/ro/home/.cache/arviz")
        assert os.path.isdir(seen[-1])  # a real, writable folder during the retry
        return "arviz-module"

    monkeypatch.setattr(deferred.importlib, "import_module", import_module)
    with pytest.warns(UserWarning, match="/ro/home/.cache/arviz"):
        assert deferred.arviz() == "arviz-module"
    assert seen[0] == "/ro/home/.cache" and seen[1] != seen[0]
    assert os.environ[deferred.CACHE_ENV] == "/ro/home/.cache"  # restored
    assert not os.path.exists(seen[1])  # the temporary folder removed


# ---- 2. the JAX settings that change draws are in the keys --------------------------------------
def test_threefry_partitionable_changes_the_program_key():
    law = bl.laws.LAWS["chinchilla"]
    flag = bool(jax.config.jax_threefry_partitionable)
    config, key = compilation.jax_config_key(), exported.program_key(law, ("model",))
    with jax.threefry_partitionable(not flag):
        assert compilation.jax_config_key() != config
        assert exported.program_key(law, ("model",)) != key
    assert compilation.jax_config_key() == config
    assert exported.program_key(law, ("model",)) == key


# ---- 3. the prior predictive without the cache is compiled as the saved program is --------------
def test_prior_predictive_without_a_store_is_compiled(monkeypatch):
    monkeypatch.setattr(exported, "programs", lambda folder, key: None)
    law = bl.laws.LAWS["chinchilla"]
    prepared = law.prepare(epoch_chinchilla())
    static = {
        **prepared.static,
        "priors": law.priors(law.default_likelihood, None),
        "likelihood": law.default_likelihood,
    }
    data = {k: v for k, v in prepared.data.items() if k != "obs"}
    key = jax.random.PRNGKey(1)
    got = nuts.prior_predictive(law, static, data, 50, key)
    model = functools.partial(law.model, **static)
    want = jax.jit(lambda rng, arrays: nuts.Predictive(model, num_samples=50)(rng, **arrays))(
        key, data
    )
    for site in want:
        np.testing.assert_array_equal(np.asarray(got[site]), np.asarray(want[site]), site)


# ---- 4. a program another user owns: loaded, not deleted ----------------------------------------
@pytest.mark.skipif(not exported.available(), reason="programs cannot be exported here")
def test_program_loads_when_its_time_cannot_be_touched(monkeypatch, tmp_path):
    store = exported.Programs(tmp_path, "k")
    x = (jnp.arange(3.0),)
    np.testing.assert_array_equal(store.call(lambda a: a * 2, x), [0.0, 2.0, 4.0])
    (program,) = tmp_path.glob(f"*{exported.SUFFIX}")
    stem = program.name[: -len(exported.SUFFIX)]

    def utime(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted", str(program))

    monkeypatch.setattr(exported.os, "utime", utime)
    assert store._load(stem) is not None
    assert program.exists() and (tmp_path / f"{stem}.tree").exists()


# ---- 5. an unwritable cache folder is warned, once ----------------------------------------------
def test_unwritable_cache_folder_is_warned_once(monkeypatch, tmp_path):
    (tmp_path / "afile").write_text("")  # a file: no folder can be made under it, even as root
    folder = tmp_path / "afile" / "sub"
    monkeypatch.setattr(compilation, "_warned_unwritable", False, raising=False)
    monkeypatch.setattr(compilation, "_enabled", None)
    monkeypatch.setattr(compilation, "_chosen", False)
    monkeypatch.setenv(compilation.ENV, str(folder))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert compilation.enable_compilation_cache() is None
        assert compilation.enable_compilation_cache() is None
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert str(folder) in messages[0] and compilation.ENV in messages[0]
