"""Releasing compiled kernels when the process's memory mappings crowd its limit
(bayeslaws.inference.memory). All data SIMULATED."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import memory, nuts

pytestmark = pytest.mark.slow  # process and compiler machinery: .ci/run's slow step

FIT = dict(likelihood="gaussian", chains=1, warmup=30, draws=30, seed=3, warn=False)


def test_crowded_compares_regions_with_the_limit():
    assert memory.crowded(40_000, 65_530, 0.5)
    assert not memory.crowded(30_000, 65_530, 0.5)
    assert not memory.crowded(None, 65_530, 0.5)  # no /proc: never
    assert not memory.crowded(40_000, None, 0.5)
    with pytest.raises(ValueError, match="fraction must be in"):
        memory.crowded(1, 2, 1.5)


@pytest.mark.skipif(memory.mapped_regions() is None, reason="no /proc/self/maps on this system")
def test_releasing_frees_the_mappings_of_compiled_kernels(simulated_runs):
    bl.fit(simulated_runs.df.iloc[:23], **FIT)  # at least one compiled kernel is held
    before = memory.mapped_regions()
    assert memory.release_if_crowded([nuts._MCMC_CACHE], fraction=0.0)
    assert not nuts._MCMC_CACHE
    assert memory.mapped_regions() < before


def test_a_crowded_process_releases_before_a_new_kernel_and_fits_the_same(
    simulated_runs, monkeypatch, capsys
):
    table = simulated_runs.df.iloc[:25]
    reference = bl.fit(table, **FIT)
    monkeypatch.setattr(memory, "map_limit", lambda: 1)  # every new kernel finds it crowded
    nuts._MCMC_CACHE.clear()
    capsys.readouterr()
    again = bl.fit(table, **FIT)
    assert "compiled caches cleared" in capsys.readouterr().err
    assert len(nuts._MCMC_CACHE) == 1  # only the kernel built after the release
    np.testing.assert_allclose(
        again.idata.posterior["alpha"].values, reference.idata.posterior["alpha"].values
    )


def test_a_crowded_process_releases_at_a_fit_whose_kernel_is_cached(
    simulated_runs, monkeypatch, capsys
):
    """The check runs at every fit, not only before a new kernel: other compiles (a design
    step's, for each new number of candidates) crowd the mappings while every fit reuses its
    kernel (a Marin design replay died so)."""
    table = simulated_runs.df.iloc[:25]
    bl.fit(table, **FIT)  # its kernel is now cached
    monkeypatch.setattr(memory, "map_limit", lambda: 1)
    capsys.readouterr()
    bl.fit(table, **FIT)
    assert "compiled caches cleared" in capsys.readouterr().err


def test_a_design_step_releases_when_crowded(simulated_fit, monkeypatch, capsys):
    cands = pd.DataFrame({"N": [2e8, 4e8, 8e8], "D": [8e9, 8e9, 8e9]})
    monkeypatch.setattr(memory, "map_limit", lambda: 1)
    count = len(memory.RELEASES)
    capsys.readouterr()
    bl.design.next_runs(simulated_fit, cands, bl.design.NOpt(C=1e21), k=1, model="none")
    assert len(memory.RELEASES) > count
    assert "compiled caches cleared" in capsys.readouterr().err
