"""simulate_liang_isoflop()'s defaults put its smallest size (N_opt(1e17) / 10) below Liang et
al.'s ~1M-parameter models, at a D/N the load warns about. The defaults stay (paper_repro's
liang.csv is made from them); the docstring says so, with the way to vet the row or narrow the
spread, and each of those ways loads without the warning."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs import simulate as sim

PAPER_SMALLEST = 1e6  # params: Liang et al.'s smallest model, about 1M (PAPERS.md)


def _plausibility(df, **kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.load_runs(df, **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]


def _smallest(df):
    """Row label, N (params) and D/N of the defaults' smallest size."""
    row = int(df["N"].idxmin())
    return row, float(df["N"].min()), float(df.loc[row, "D"] / df.loc[row, "N"])


def test_the_docstring_states_the_defaults_smallest_point_and_the_way_out():
    df = sim.simulate_liang_isoflop()
    row, n, ratio = _smallest(df)
    doc = " ".join(inspect.getdoc(sim.simulate_liang_isoflop).split())
    assert f"{n:.3g} params" in doc
    assert f"D/N = {ratio:.1e} tokens per parameter" in doc
    assert f"at row {row}" in doc
    assert f"accepted_rows=[{row}]" in doc
    assert "paper_repro/results/liang.csv" in doc
    spread = float(doc.split("spread_decades=")[-1].split("`")[0])
    narrow = sim.simulate_liang_isoflop(spread_decades=spread)
    assert narrow["N"].min() >= PAPER_SMALLEST  # the narrower spread keeps the paper's grid
    assert narrow["N"].min() / df["N"].min() == pytest.approx(10 ** (1 - spread))


def test_the_defaults_load_with_one_warning_that_accepted_rows_vets():
    df = sim.simulate_liang_isoflop()
    row, n, ratio = _smallest(df)
    assert n < PAPER_SMALLEST and ratio > 1e5  # the documented gap, pinned
    said = _plausibility(df)
    assert len(said) == 1 and "tokens per parameter D/N of 1 run(s)" in said[0]
    assert f"at rows {row}" in said[0]
    assert _plausibility(df, accepted_rows=[row]) == []


def test_a_spread_within_the_papers_grid_loads_without_warning():
    doc = inspect.getdoc(sim.simulate_liang_isoflop)
    spread = float(" ".join(doc.split()).split("spread_decades=")[-1].split("`")[0])
    df = sim.simulate_liang_isoflop(spread_decades=spread)
    assert np.all(df["N"] >= PAPER_SMALLEST)
    assert _plausibility(df) == []
