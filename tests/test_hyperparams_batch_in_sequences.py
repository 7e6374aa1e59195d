"""A query batch size in sequences (below a thousand tokens) is flagged by predict and
fixed_vs_optimal, as the loader flags it (the session's tiny fits of a SIMULATED video-DiT sweep,
laws "hyperparams" and "sweep")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning


@pytest.fixture(scope="module")
def hp_fit(small_sweep_hp_fit):
    return small_sweep_hp_fit


@pytest.fixture(scope="module")
def sweep_fit(small_sweep_sweep_fit):
    return small_sweep_sweep_fit


# ---- 1. a batch size in sequences ------------------------------------------------------------
def test_a_query_batch_below_a_thousand_tokens_is_flagged_as_sequences(hp_fit):
    """512 (sequences) lies under 2 decades below the fitted batches (>= ~3e4 tokens), so the
    range check alone was silent; below BATCH_TOKENS_LOW it warns as the loader does."""
    low, _ = hp_fit.record.ranges["batch_size"]
    assert np.log10(low / 512) < 2.0  # the far-from-range check would not fire
    with pytest.warns(PlausibilityWarning, match=r"batch_size = 512 .*below 1000 tokens.*"
                      r"sequences.*sequences x sequence length"):  # fmt: skip
        bl.predict(hp_fit, N=5.7e7, D=4e9, lr=1e-3, batch_size=512)
    with pytest.warns(PlausibilityWarning, match=r"batch_size = 128 .*sequences"):
        bl.predict(hp_fit, N=[5.7e7, 5.7e7], D=4e9, lr=1e-3, batch_size=[65536, 128])
    with warnings.catch_warnings():  # a batch in tokens inside the fitted range: silent
        warnings.simplefilter("error", PlausibilityWarning)
        bl.predict(hp_fit, N=5.7e7, D=4e9, lr=1e-3, batch_size=65536)


def test_fixed_vs_optimal_flags_a_batch_in_sequences(sweep_fit):
    with pytest.warns(PlausibilityWarning, match=r"batch_size = 128 .*sequences"):
        bl.fixed_vs_optimal(sweep_fit, 1e21, lr=1e-3, batch_size=128, n_draws=10)
