"""A fit without groups says nothing of groups in its repr (s54 M1): its record's groups are
``[None]``, which the repr counted as "30 runs in 1 group"; a loaded fit says the same.
SIMULATED Chinchilla runs, tiny draws (the repr is read, not the draws)."""

from __future__ import annotations

import warnings

from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.runs import simulate

SAMPLER = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0}


def test_a_fit_without_groups_counts_no_group(tmp_path):
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny draws: the sampler checks are not under test
        fit = bl.fit(bl.load_runs(df), law="chinchilla", likelihood="gaussian", **SAMPLER)
    assert fit.groups == [None]
    text = repr(fit)
    assert f": {fit.n_runs} runs, {fit.diagnostics.n_draws} draws, " in text, text
    assert "group" not in text, text
    fit.save(tmp_path / "fit.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(bl.load_fit(tmp_path / "fit.nc")) == text
