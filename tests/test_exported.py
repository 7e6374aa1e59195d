"""Traced NUTS programs on disk (bayeslaws.inference.exported): a later fit of the same law and
shapes loads the program instead of tracing, gives exactly the draws a traced fit gives, for
its own data (not the data the program was first traced with), and falls back to tracing when
a program is unusable."""

import os
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import exported, nuts, screening
from bayeslaws.inference.diagnostics import SamplerWarning

pytestmark = [
    pytest.mark.skipif(not exported.available(), reason="flatbuffers is not installed"),
    pytest.mark.slow,  # process and compiler machinery: .ci/run's slow step
]
SAMPLER = dict(chains=2, warmup=40, draws=40, warn=False, screen="off", progress_bar=False)


def _runs(shift: float) -> pd.DataFrame:
    N, D = np.meshgrid(np.logspace(7, 9, 4), np.logspace(9, 11, 4))
    N, D = N.ravel(), D.ravel()
    loss = 1.8 + shift + 400 * N**-0.34 + 400 * D**-0.28
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def _fit(runs, seed=0, **kw):
    nuts._MCMC_CACHE.clear()  # a new process's view: no kernel or program in memory
    screening._POINTWISE_CACHE.clear()
    exported._LOADED.clear()
    fit = bl.fit(runs, seed=seed, **SAMPLER, **kw)
    (mcmc,) = nuts._MCMC_CACHE.values()
    return fit, mcmc.chain_method


def _alpha(fit) -> np.ndarray:
    return fit.idata.posterior["alpha"].values


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    """An empty cache folder for this test (bl.fit turns on the folder the environment names;
    the next fit after the test turns the default one on again)."""
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", str(tmp_path / "jax"))
    return tmp_path / "jax"


def test_a_later_fit_loads_the_program_and_draws_the_same(cache_folder):
    first, method = _fit(_runs(0.0))
    assert isinstance(method, exported.ExportedChains) and method.last_source == "traced"
    # the sampler's program and the pointwise log-likelihood pass's
    assert len(list((cache_folder / "programs").glob(f"*{exported.SUFFIX}"))) == 2
    second, method = _fit(_runs(0.0))
    assert method.last_source == "loaded"
    np.testing.assert_array_equal(_alpha(first), _alpha(second))
    assert first.idata["log_likelihood"].equals(second.idata["log_likelihood"])
    (pointwise_pass,) = screening._POINTWISE_CACHE.values()
    assert pointwise_pass.args[0].last_source == "loaded"  # its store: no tracing either


def test_a_repeated_fit_in_one_process_reuses_the_loaded_program(cache_folder):
    _fit(_runs(0.0))
    nuts._MCMC_CACHE.clear()
    fit = bl.fit(_runs(0.1), seed=3, **SAMPLER)
    (mcmc,) = nuts._MCMC_CACHE.values()
    assert mcmc.chain_method.last_source == "loaded" and len(exported._LOADED) == 2
    assert _alpha(fit).shape == (2, 40)  # a complete fit came back


def test_a_loaded_program_reads_its_own_data(cache_folder, monkeypatch):
    """The data are arguments of the saved program, not constants baked into it."""
    _fit(_runs(0.0))  # saves the program
    loaded, method = _fit(_runs(0.3), seed=1)
    assert method.last_source == "loaded"
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", "off")  # no store: jax.pmap of it
    traced, method = _fit(_runs(0.3), seed=1)
    assert method.store is None and method.last_source == "pmap"
    np.testing.assert_allclose(_alpha(loaded), _alpha(traced), rtol=1e-5)
    ll = ("log_likelihood", "log_loss")
    np.testing.assert_allclose(loaded.idata[ll[0]][ll[1]], traced.idata[ll[0]][ll[1]], rtol=1e-4)
    e = float(loaded.idata.posterior["E"].median())
    assert e > 1.9  # the shifted table's floor (1.8 + 0.3), not the first table's


def test_an_unreadable_program_is_removed_and_the_fit_traces(cache_folder):
    first, _ = _fit(_runs(0.0))
    saved = sorted((cache_folder / "programs").glob(f"*{exported.SUFFIX}"))
    for program in saved:
        program.write_bytes(b"not a program")
    again, method = _fit(_runs(0.0))
    assert method.last_source == "traced"  # dropped, traced and written anew
    np.testing.assert_array_equal(_alpha(first), _alpha(again))
    for name in ("log_likelihood", "posterior"):
        assert first.idata[name].equals(again.idata[name])
    assert all(program.read_bytes() != b"not a program" for program in saved)


def test_nothing_is_exported_without_a_folder_or_a_readable_law():
    assert exported.chain_method(None, "key").store is None
    assert exported.chain_method(Path("folder"), None).store is None
    cell = types.ModuleType("notebook_cell")  # a class whose source no file holds
    exec("class CellLaw:\n    pass", cell.__dict__)
    assert exported.program_key(cell.CellLaw(), ("key",)) is None
    assert exported.program_key(bl.laws.resolve_law("chinchilla"), ("key",)) is not None


def test_the_key_is_stable_and_changes_with_the_model():
    law = bl.laws.resolve_law("chinchilla")
    assert exported.program_key(law, ("a",)) == exported.program_key(law, ("a",))
    assert exported.program_key(law, ("a",)) != exported.program_key(law, ("b",))


def test_the_source_digest_covers_the_traced_layers_only(tmp_path):
    """An edit to the CLI or a report keeps saved programs; an edit to a law retraces them."""
    for rel in ("laws/law.py", "inference/nuts.py", "app/cli.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    layers = ("laws", "inference")
    before = exported.source_digest(tmp_path, layers)
    (tmp_path / "app/cli.py").write_text("x = 2\n")
    assert exported.source_digest(tmp_path, layers) == before
    (tmp_path / "laws/law.py").write_text("x = 2\n")
    assert exported.source_digest(tmp_path, layers) != before


def test_the_folder_keeps_only_the_most_recently_used_programs(tmp_path):
    store = exported.Programs(tmp_path, "key")
    for i, age in enumerate((30, 10, 20)):  # seconds ago
        for suffix in (exported.SUFFIX, ".tree"):
            path = tmp_path / f"p{i}{suffix}"
            path.write_bytes(b"x")
            os.utime(path, (time.time() - age, time.time() - age))
    store.prune(keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"p1{exported.SUFFIX}",
        "p1.tree",
        f"p2{exported.SUFFIX}",
        "p2.tree",
    ]


def test_one_chain_runs_one_program_whatever_the_bar_and_cache(cache_folder, monkeypatch):
    """NumPyro runs a single chain outside its chain_method: bl.fit routes it through the saved
    program too (an SBC task, a one-chain design refit), a map over one chain, by jax.pmap when
    the cache is off. Only a fit with the cache on and no progress bar took that route; with a
    bar (the default in a terminal) or BAYESLAWS_COMPILATION_CACHE=off NumPyro ran its own
    one-chain program, and the same seed drew another chain."""
    one = {**SAMPLER, "chains": 1}
    nuts._MCMC_CACHE.clear()
    exported._LOADED.clear()
    first = bl.fit(_runs(0.2), seed=5, **one)
    (mcmc,) = nuts._MCMC_CACHE.values()
    assert isinstance(mcmc._single_chain_mcmc, exported.OneChain)
    assert mcmc._single_chain_mcmc.last_source == "traced"
    nuts._MCMC_CACHE.clear()
    exported._LOADED.clear()
    loaded = bl.fit(_runs(0.0), seed=5, **one)  # another table of the same shape
    (mcmc,) = nuts._MCMC_CACHE.values()
    assert mcmc._single_chain_mcmc.last_source == "loaded"
    bar = bl.fit(_runs(0.0), seed=5, **{**one, "progress_bar": True})
    np.testing.assert_array_equal(_alpha(loaded), _alpha(bar))
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", "off")  # the same map, by jax.pmap
    nuts._MCMC_CACHE.clear()
    traced = bl.fit(_runs(0.0), seed=5, **{**one, "progress_bar": True})
    (mcmc,) = nuts._MCMC_CACHE.values()
    assert mcmc._single_chain_mcmc.last_source == "pmap"
    assert _alpha(loaded).shape == _alpha(first).shape == (1, 40)
    np.testing.assert_array_equal(_alpha(loaded), _alpha(traced))
    # a warm run (fit.update: a warm-up state given) takes NumPyro's own path
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", str(cache_folder))
    more = _runs(0.0).iloc[:3].assign(N=lambda df: 1.5 * df["N"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerWarning)  # 40 draws
        assert loaded.update(more).idata.posterior["alpha"].shape == (1, 40)


def test_prior_predictive_draws_are_saved_and_loaded(cache_folder, monkeypatch):
    """The prior draw (bl.fit's prior_draws, sbc's simulations) goes through a saved program:
    a second call loads it and draws the same values."""
    import jax

    law = bl.laws.resolve_law("chinchilla")
    prepared = law.prepare(bl.load_runs(_runs(0.0)))
    static = {**prepared.static, "priors": law.priors("gaussian"), "likelihood": "gaussian"}
    data = {k: v for k, v in prepared.data.items() if k != "obs"}
    exported._LOADED.clear()
    first = nuts.prior_predictive(law, static, data, 7, jax.random.PRNGKey(0))
    assert len(list((cache_folder / "programs").glob(f"*{exported.SUFFIX}"))) == 1
    exported._LOADED.clear()  # a new process's view, which must not trace again

    def no_tracing(*args, **kwargs):
        raise AssertionError("traced again instead of loading the saved program")

    monkeypatch.setattr(exported.Programs, "_trace_and_save", no_tracing)
    second = nuts.prior_predictive(law, static, data, 7, jax.random.PRNGKey(0))
    assert first["alpha"].shape == (7,) and first[law.observed_site].shape == (7, 16)
    np.testing.assert_array_equal(first["alpha"], second["alpha"])


def test_a_change_in_a_users_base_class_file_changes_the_program_key(tmp_path, monkeypatch):
    """The key hashed only the file of the law's own class: a user's law inheriting from a
    base class in another of their files kept loading the old program after that file
    changed."""
    (tmp_path / "user_base.py").write_text(
        "from bayeslaws.laws.chinchilla import Chinchilla\n\n"
        "class Base(Chinchilla):\n    SHIFT = 0.0\n"
    )
    (tmp_path / "user_law.py").write_text(
        "from user_base import Base\n\nclass MyLaw(Base):\n    name = 'mylaw'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import user_law

    law = user_law.MyLaw()
    before = exported.program_key(law, ("key",))
    (tmp_path / "user_base.py").write_text(
        "from bayeslaws.laws.chinchilla import Chinchilla\n\n"
        "class Base(Chinchilla):\n    SHIFT = 1.0\n"
    )
    assert exported.program_key(law, ("key",)) != before



def _sweep_table():
    """A SIMULATED 2 x 2-cell LR x batch sweep (3 x 3 grid each) with one diverged run."""
    from bayeslaws.runs import simulate

    df = simulate.simulate_grid(
        simulate.VideoDiTTruth(),
        N=[0.017e9, 0.017e9, 0.13e9, 0.13e9],
        D=[2e9, 8e9, 2e9, 8e9],
        lr_values=[1e-4, 1.9e-4, 3.6e-4],
        batch_values=[5e4, 1e5, 2e5],
        seed=0,
    )
    df.loc[df.index[5], "loss"] = np.nan
    return bl.load_runs(df, allow_missing_loss=True)


def test_the_cache_on_or_off_draws_the_same(cache_folder, monkeypatch):
    """With the cache off the same program runs by jax.pmap, the data as arguments: a seed
    draws the same chains bit for bit. Closed over (NumPyro's own pmap), XLA folded the data
    as constants and a hyperparams fit drew other chains, though the seed's docstring had
    promised the same draws whatever the cache setting."""
    options = {"law": "hyperparams", "chains": 2, "warmup": 100, "draws": 100, "seed": 3}
    options |= {"warn": False, "screen": "off", "progress_bar": False}

    def fit():
        nuts._MCMC_CACHE.clear()
        screening._POINTWISE_CACHE.clear()
        exported._LOADED.clear()
        return bl.fit(_sweep_table(), **options)

    on = fit()
    monkeypatch.setenv("BAYESLAWS_COMPILATION_CACHE", "off")
    off = fit()
    for name in ("lr_int", "batch_int", "k_lr"):
        np.testing.assert_array_equal(on.idata.posterior[name], off.idata.posterior[name])
