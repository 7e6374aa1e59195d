"""``best_run`` refuses a fit of another law than 'sweep' by name and still reads a sweep fit (the
session's tiny fits of a SIMULATED sweep)."""

from __future__ import annotations

import numpy as np
import pytest

from bayeslaws.laws import sweep
from bayeslaws.laws.contract import LawCapabilityError


# ---- 2. best_run on another law's fit; the empty sweep cell named --------------------------
def test_best_run_refuses_a_fit_of_law_hyperparams(small_sweep_hp_fit, small_sweep):
    """Law 'hyperparams' gives one sigma per draw, (S,): best_run failed with a broadcast error
    or, on a grid of exactly S runs, silently gave run j draw j's noise. It is refused by name,
    whatever the grid's size."""
    df = small_sweep.df
    n, d = df["N"].min(), df["D"].min()
    cell = df[(df["N"] == n) & (df["D"] == d)]
    S = small_sweep_hp_fit.posterior().n_draws
    for size in (S, len(cell)):  # S: the old code said nothing
        lr, batch = np.resize(cell["lr"].to_numpy(), size), np.resize(cell["batch_size"], size)
        with pytest.raises(LawCapabilityError, match="best_run needs a fit of law 'sweep'.*"
                           "this fit is of law 'hyperparams'"):  # fmt: skip
            sweep.best_run(small_sweep_hp_fit, n, d, lr, batch)


def test_best_run_still_reads_a_sweep_fit(small_sweep_sweep_fit, small_sweep):
    df = small_sweep.df
    n, d = df["N"].min(), df["D"].min()
    cell = df[(df["N"] == n) & (df["D"] == d)]
    r = sweep.best_run(small_sweep_sweep_fit, n, d, cell["lr"], cell["batch_size"])
    assert r["p_best"].shape == (len(cell),) and np.isclose(r["p_best"].sum(), 1.0)
