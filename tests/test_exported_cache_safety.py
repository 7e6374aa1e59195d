"""Saved programs in a cache folder others may write (bayeslaws.inference.exported): a planted
``.tree`` runs no code and a corrupt one is removed and traced again with the same draws; the
files get the permissions of any new file (users sharing the folder read each other's); a write
that fails part-way leaves no temporary file, and prune removes stale ones."""

from __future__ import annotations

import os
import pickle
import shlex
import time

import jax
import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import exported, nuts, screening
from bayeslaws.runs import atomic

pytestmark = pytest.mark.skipif(not exported.available(), reason="flatbuffers is not installed")
SAMPLER = dict(chains=2, warmup=30, draws=30, warn=False, screen="off", progress_bar=False)


def _runs() -> pd.DataFrame:
    N, D = np.meshgrid(np.logspace(7, 9, 4), np.logspace(9, 11, 4))
    N, D = N.ravel(), D.ravel()
    return pd.DataFrame({"N": N, "D": D, "loss": 1.8 + 400 * N**-0.34 + 400 * D**-0.28})


def _fit():
    """A fit as a new process makes it (no kernel or program in memory) and its sampler's
    chain method (which says where the program came from)."""
    nuts._MCMC_CACHE.clear()
    screening._POINTWISE_CACHE.clear()
    exported._LOADED.clear()
    fit = bl.fit(_runs(), seed=0, **SAMPLER)
    (mcmc,) = nuts._MCMC_CACHE.values()
    return fit, mcmc.chain_method


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    """An empty cache folder for this test (bl.fit turns on the folder the environment names)."""
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", str(tmp_path / "jax"))
    return tmp_path / "jax"


class _Planted:
    """A pickle whose loading runs a shell command (touching ``marker``)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def _replace_trees(folder, payload: bytes) -> list:
    trees = sorted((folder / "programs").glob("*.tree"))
    assert trees  # the first fit saved its programs
    for tree in trees:
        tree.write_bytes(payload)
    return trees


@pytest.mark.slow
def test_a_planted_tree_runs_no_code_and_is_traced_again(cache_folder, tmp_path):
    first, _ = _fit()
    marker = tmp_path / "planted-code-ran"
    trees = _replace_trees(cache_folder, pickle.dumps(_Planted(marker)))
    try:
        again, method = _fit()
    finally:  # checked even if the fit fails
        assert not marker.exists(), "the planted pickle's code ran"
    assert method.last_source == "traced"  # removed and written anew
    assert first.idata["posterior"].equals(again.idata["posterior"])
    for tree in trees:  # the new files are trees again
        assert isinstance(exported.read_tree(tree.read_bytes()), jax.tree_util.PyTreeDef)


@pytest.mark.slow
def test_a_tree_of_another_object_is_removed_and_the_fit_recovers(cache_folder):
    first, _ = _fit()
    _replace_trees(cache_folder, pickle.dumps(0))
    again, method = _fit()
    assert method.last_source == "traced"
    for name in ("posterior", "log_likelihood"):
        assert first.idata[name].equals(again.idata[name])
    third, method = _fit()  # the rewritten program serves the next process
    assert method.last_source == "loaded"
    assert first.idata["posterior"].equals(third.idata["posterior"])


def _store(tmp_path) -> exported.Programs:
    return exported.Programs(tmp_path / "programs", "key")


def _save_one(store, stem="stem") -> None:
    store._save(stem, b"program bytes", jax.tree_util.tree_structure(({"a": 1}, (2, 3))))


def test_saved_files_get_the_permissions_of_any_new_file(tmp_path):
    store = _store(tmp_path)
    previous = os.umask(0o022)
    try:
        _save_one(store)
    finally:
        os.umask(previous)
    for path in store._paths("stem"):
        assert path.stat().st_mode & 0o777 == 0o644, path  # 0o666 less the umask
    assert list(store.folder.glob(f"{atomic.TMP_PREFIX}*")) == []


def test_a_write_failing_part_way_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = _store(tmp_path)

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", full_disk)
    _save_one(store)
    assert list(store.folder.iterdir()) == []  # neither program, tree nor temporary file


def test_prune_removes_stale_temporary_files_only(tmp_path):
    store = _store(tmp_path)
    store.folder.mkdir(parents=True)
    stale, recent = (store.folder / f".tmp-{name}" for name in ("stale", "recent"))
    for path in (stale, recent):
        path.write_bytes(b"part of a program")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    store.prune()
    assert not stale.exists() and recent.exists()  # a recent one may be a write in progress


def test_read_tree_refuses_any_global_but_a_trees(tmp_path):
    tree = jax.tree_util.tree_structure(({"a": 1}, (2, 3)))
    assert exported.read_tree(pickle.dumps(tree)) == tree
    marker = tmp_path / "ran"
    for payload in (pickle.dumps(_Planted(marker)), pickle.dumps(eval), pickle.dumps(0)):
        with pytest.raises(pickle.UnpicklingError):
            exported.read_tree(payload)
    assert not marker.exists()
