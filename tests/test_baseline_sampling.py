"""Sampler health of the baseline fits in paper_repro/yin.py.

Yin et al.'s baseline (a Chinchilla surface on each (N, D) cell's best run, 16 points) was
fitted with 2 chains x 200 warm-up + 200 draws at target_accept 0.8: on replicate 4 (seed
1004) one chain settled at beta 0.36 and the other at beta 0.05 on the posterior's long
(beta, E) ridge, max R-hat 1.87 with 17 divergences, and the README reported R-hat 1.95 over the
replicates. A longer warm-up at target_accept 0.95 (yin.surface_fit) makes the chains agree.
"""

from __future__ import annotations

import numpy as np
from conftest import repo_script

from bayeslaws.runs import simulate as sim


def _yin():
    return repo_script("paper_repro/yin.py", "paper_repro_yin")


def test_yin_baseline_surface_fit_chains_agree_on_replicate_4():
    yin = _yin()
    replicate = 4
    sweep = sim.simulate_video_dit_sweep(seed=yin.P2_SEED0 + replicate)
    fit = yin.surface_fit(yin.best_cells(sweep), 200, replicate)
    beta = np.asarray(fit.idata.posterior["beta"])  # (chains, draws)
    chain_medians = np.median(beta, axis=1)
    # old settings: chain medians 0.36 and 0.05, R-hat 1.87, 17 divergences
    assert np.ptp(chain_medians) < 0.05, f"chains disagree on beta: {chain_medians}"
    assert fit.diagnostics.max_r_hat < 1.05, fit.diagnostics
    assert fit.diagnostics.divergences <= 4, fit.diagnostics
