"""A seed draws the same chains whatever ``progress_bar`` is (review 8, RC).

``progress_bar`` defaults to ``sys.stderr.isatty()``, so the same script and seed ran in a
terminal and in a notebook, CI job or pipe. With a bar, parallel chains ran NumPyro's own
``pmap`` with the data closed over (XLA folded them as constants: other rounding, other draws;
the hyperparams law of a simulated sweep moved lr_int by up to 6), and vectorized chains ran
NumPyro's Python loop of one-step programs instead of one compiled loop (chinchilla's alpha
moved). Now the bar changes what is printed, never the program: parallel chains keep NumPyro's
bar beside the data-as-arguments program, and elsewhere bayeslaws prints its own start and end
lines. The compiled programs go to the test suite's own cache folder (conftest), never the
user's. Small fits: 2 chains x 50 + 50 draws, or 1 chain."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import jax
import numpy as np
import pandas as pd
import pytest
from conftest import small_sweep_grid

import bayeslaws as bl
from bayeslaws.inference import exported, nuts, progress

pytestmark = pytest.mark.slow  # process and compiler machinery: .ci/run's slow step

SMALL = dict(warmup=50, draws=50, seed=3, warn=False, screen="off")


def _chinchilla_runs() -> pd.DataFrame:
    """13 SIMULATED runs of a Chinchilla surface (1% noise), seed 13."""
    rng = np.random.default_rng(13)
    N, D = 10 ** rng.uniform(7, 9, 13), 10 ** rng.uniform(9, 11, 13)
    loss = (1.8 + 400 * N**-0.34 + 400 * D**-0.28) * np.exp(rng.normal(0, 0.01, 13))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


TABLES = {"hyperparams": small_sweep_grid, "chinchilla": _chinchilla_runs}


def _draws(law: str, progress_bar: bool, **options) -> tuple[dict, str]:
    """Every posterior site's draws (site -> (chains, draws, ...)) and the recorded chain
    method of a small fit of ``law`` to its table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small draws: diagnostics' and screening's warnings
        fit = bl.fit(TABLES[law](), law=law, progress_bar=progress_bar, **SMALL, **options)
    posterior = {k: v.values for k, v in fit.idata.posterior.data_vars.items()}
    return posterior, fit.record.sampler.chain_method


def _assert_same(without: dict, with_bar: dict) -> None:
    assert without.keys() == with_bar.keys()
    for site in without:
        np.testing.assert_array_equal(without[site], with_bar[site], err_msg=site)


def _numpyro_bar_shown(monkeypatch) -> list:
    """Let NumPyro show its bar here, and the list of the MCMC objects the fits then run.

    NumPyro's ``MCMC.__init__`` turns its bar off whenever the environment has ``CI`` or
    ``PYTEST_XDIST_WORKER`` (the suite runs under pytest-xdist, addopts ``-n 2``): a fit "with
    the bar" would then run the program without it. Both are unset for the test, and the MCMC
    objects cached by earlier tests (made while NumPyro saw them) are not reused: an empty
    cache (``nuts._MCMC_CACHE``) for the test."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setattr(nuts, "_MCMC_CACHE", OrderedDict())
    made: list = []
    cached_mcmc = nuts._cached_mcmc

    def recorded(*args, **kwargs):
        made.append(cached_mcmc(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(nuts, "_cached_mcmc", recorded)
    return made


@pytest.mark.parametrize("law", ["hyperparams", "chinchilla"])
def test_parallel_chains_draw_the_same_with_and_without_the_bar(law, monkeypatch, capfd):
    """2 parallel chains, seed 3: hyperparams' lr_int differed by up to ~4 with the bar. The
    fit with the bar runs NumPyro's bar (its host callbacks), also under pytest-xdist or CI;
    the bar's output is captured (capfd), off the terminal."""
    if jax.local_device_count() < 2:
        pytest.skip("parallel chains need 2 host devices")
    made = _numpyro_bar_shown(monkeypatch)
    without, method = _draws(law, False, chains=2)
    assert made and made[-1].progress_bar is False
    with_bar, method_bar = _draws(law, True, chains=2)
    assert made[-1].progress_bar is True, "NumPyro's bar did not run: the test guards nothing"
    capfd.readouterr()  # the bar's lines
    assert method == method_bar == "parallel"
    _assert_same(without, with_bar)


@pytest.mark.parametrize("law", ["hyperparams", "chinchilla"])
def test_one_chain_draws_the_same_with_and_without_the_bar(law):
    without, _ = _draws(law, False, chains=1)
    with_bar, _ = _draws(law, True, chains=1)
    assert without[next(iter(without))].shape[:2] == (1, 50)
    _assert_same(without, with_bar)


@pytest.mark.parametrize("method", ["vectorized", "sequential"])
def test_vectorized_and_sequential_chains_draw_the_same_with_and_without_the_bar(method):
    """NumPyro's bar ran vectorized (and sequential) chains as a Python loop of one-step
    programs: chinchilla's alpha differed by ~0.18 for vectorized chains."""
    without, recorded = _draws("chinchilla", False, chains=2, chain_method=method)
    with_bar, _ = _draws("chinchilla", True, chains=2, chain_method=method)
    assert recorded == method
    _assert_same(without, with_bar)


def test_the_kernel_is_shared_where_numpyro_shows_no_bar(kernels_kept):
    """Only parallel chains (one device each) get NumPyro's bar, through the same
    data-as-arguments map as without it (by jax.pmap: its host callbacks cannot be saved);
    one chain and sequential or vectorized chains share the kernel of a fit without a bar."""
    law = bl.laws.resolve_law("chinchilla")
    static = {"priors": law.priors("gaussian"), "likelihood": "gaussian"}
    base = dict(warmup=5, draws=5, target_accept=0.8, dense_mass=False)
    for chains, method in ((1, "sequential"), (2, "sequential"), (2, "vectorized")):
        settings = {**base, "chains": chains, "chain_method": method}
        off = nuts._cached_mcmc(law, static, (), {**settings, "progress_bar": False})
        on = nuts._cached_mcmc(law, static, (), {**settings, "progress_bar": True})
        assert on is off and not on.progress_bar
    if jax.local_device_count() < 2:
        return
    settings = {**base, "chains": 2, "chain_method": "parallel"}
    off = nuts._cached_mcmc(law, static, (), {**settings, "progress_bar": False})
    on = nuts._cached_mcmc(law, static, (), {**settings, "progress_bar": True})
    for mcmc in (off, on):
        assert isinstance(mcmc.chain_method, exported.ExportedChains)
    assert on.chain_method.store is None  # the bar's run: jax.pmap, never saved
    assert nuts.numpyro_bar({**settings, "progress_bar": True})
    assert not nuts.numpyro_bar({**settings, "chains": 1, "progress_bar": True})


def test_a_bar_numpyro_does_not_show_prints_start_and_end_lines(capfd, monkeypatch):
    """One chain shows no NumPyro bar (it would run another program): progress_bar=True prints
    bayeslaws' line when the sampling starts and its time when it ends, at once (not after
    PROGRESS_AFTER_S, made unreachable here); progress_bar=False prints nothing for it."""
    monkeypatch.setattr(progress, "PROGRESS_AFTER_S", 1e9)
    _draws("chinchilla", True, chains=1)
    err = capfd.readouterr().err
    start = "bayeslaws: fitting law 'chinchilla' to 13 runs by NUTS (1 chains"
    assert start in err and err.count(start) == 2
    assert err.index(" ...\n") < err.index(": done in ")
    _draws("chinchilla", False, chains=1)
    assert "fitting law" not in capfd.readouterr().err
