"""A log-space lr column (-log10 lr) is flagged at load, as a batch in sequences is; the bundled
tables and Step Law's sweep (when ../shared/data is present) pass."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import shared_or_skip, small_sweep_grid

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning


# ---- 5. a log-space lr column --------------------------------------------------------------
def _lr_warnings(load) -> list[str]:
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        load()
    return [str(w.message) for w in told
            if issubclass(w.category, PlausibilityWarning) and "column 'lr'" in str(w.message)]


def test_a_log_space_lr_column_warns_as_a_batch_in_sequences_does():
    """-log10 lr (3.3-4.0 here) loaded silently while a batch in sequences warned."""
    df = small_sweep_grid()
    assert _lr_warnings(lambda: bl.load_runs(df)) == []
    logged = df.assign(lr=-np.log10(df["lr"]))
    with pytest.warns(PlausibilityWarning, match=r"column 'lr' has median 3\.72, above 1: "):
        bl.load_runs(logged)
    (message,) = _lr_warnings(lambda: bl.load_runs(logged))
    assert "peak learning rates above 1 are rare" in message and "-log10 lr" in message
    assert "10 ** -value" in message


def test_the_bundled_and_shared_sweeps_lr_pass():
    """The new check says nothing on the bundled tables nor on Step Law's sweep."""
    from bayeslaws.runs import bundled

    for name in bundled.bundled_names():
        assert _lr_warnings(lambda name=name: bundled.load_bundled(name)) == [], name
    shared = shared_or_skip()
    assert _lr_warnings(shared.steplaw_dense) == []
