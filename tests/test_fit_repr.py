"""A fit's repr says when its data are SIMULATED (all or some rows), as its figures' titles do:
``print(fit)`` is often the first thing a user sees of a fit, and it named the law and the
diagnostics but not that the runs behind them were made up."""

from __future__ import annotations

import warnings

import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.runs import simulate

SAMPLER = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0}  # the repr is read, not the draws


def _runs(measured_rows: int):
    """30 SIMULATED Chinchilla runs (60M-6B params x 1B-100B tokens) whose first
    ``measured_rows`` rows have their source relabelled "measured" (a user's table mixing real
    and simulated runs when 0 < measured_rows < 30; one with no simulated row at 30)."""
    N, D = chinchilla_design()
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    df.loc[df.index[:measured_rows], "source"] = "measured"
    return bl.load_runs(df)


@pytest.mark.parametrize(
    ("measured_rows", "extent", "words"),
    [
        (0, "all", " (SIMULATED data): "),
        (10, "partly", " (partly SIMULATED data): "),
        (30, "none", None),
    ],
)
def test_repr_says_when_the_data_are_simulated(measured_rows, extent, words, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny draws: the sampler checks are not under test
        fit = bl.fit(_runs(measured_rows), law="chinchilla", likelihood="gaussian", **SAMPLER)
    assert fit.simulated_extent == extent
    text = repr(fit)
    assert text.startswith("<Fit chinchilla/gaussian")
    if words is None:
        assert "SIMULATED" not in text
    else:
        assert text.startswith(f"<Fit chinchilla/gaussian{words}30 runs")
    fit.save(tmp_path / "fit.nc")  # the record keeps the data source: a loaded fit says it too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(bl.load_fit(tmp_path / "fit.nc")) == text
