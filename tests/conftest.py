"""Shared fixtures: small, fast fits; the third-party tables skip cleanly when absent."""

from __future__ import annotations

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.runs import bundled, simulate

FAST = {"chains": 2, "warmup": 300, "draws": 300}
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


@pytest.fixture(scope="session")
def epoch_runs():
    try:
        return bundled.epoch_chinchilla()
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")


def chinchilla_design(n_sizes: int = 6, n_tokens: int = 5):
    """A small grid of (N, D): 60M-6B params x 1B-100B tokens."""
    N, D = np.meshgrid(np.geomspace(6e7, 6e9, n_sizes), np.geomspace(1e9, 1e11, n_tokens))
    return N.ravel(), D.ravel()


@pytest.fixture(scope="session")
def simulated_runs():
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    return bl.load_runs(df)


@pytest.fixture(scope="session")
def simulated_fit(simulated_runs):
    # target_accept 0.9 (NumPyro's default 0.8 is bayeslaws' too): at 2 x 300 draws of 30 runs
    # one divergence in 600 appeared on some CPUs (the floating point of XLA's kernels differs
    # between machines), and the tests below check that a healthy fit reports no trouble
    return bl.fit(simulated_runs, likelihood="gaussian", seed=0, target_accept=0.9, **FAST)


@pytest.fixture
def kernels_kept(monkeypatch):
    """No release of compiled kernels during the test, however many memory regions the test
    process has mapped (bayeslaws.inference.memory): for tests that count cached kernels."""
    from bayeslaws.inference import memory

    monkeypatch.setattr(memory, "map_limit", lambda: None)


@pytest.fixture(scope="session")
def grouped_fit():
    """Each cell's best run of the bundled (SIMULATED) sweep as two groups: A as is, B with 8%
    higher loss (tiny: one chain); shared by the design and report tests."""
    import warnings

    import pandas as pd

    from bayeslaws.runs import best_run_per_cell

    r = best_run_per_cell(bl.load_bundled()).df.drop(columns=["source"])
    both = pd.concat([r.assign(group="A"), r.assign(group="B", loss=r["loss"] * 1.08)])
    runs = bl.load_runs(both.reset_index(drop=True), group="group")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            runs, law="chinchilla", likelihood="gaussian", chains=1, warmup=100, draws=100, seed=0
        )
