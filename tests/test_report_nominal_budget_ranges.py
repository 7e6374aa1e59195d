"""The report header gives the compute ranges its distances use (6ND) when the runs' C are
nominal budgets, and the nominal range too (SIMULATED runs, a tiny fit)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """16 SIMULATED Chinchilla runs (4 sizes x 4 token counts), labels 0-15."""
    N, D = chinchilla_design(4, 4)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)


def test_the_report_header_gives_the_ranges_its_distances_use_with_nominal_budgets(table):
    """Runs whose C is a nominal budget (0.8 x 6ND, as Marin's are): the header printed the
    runs' own C range while the distances are measured from the range of 6ND. It now prints
    the latter, says so, and gives the nominal range too."""
    from dataclasses import replace

    from bayeslaws.app.report import fit_report
    from bayeslaws.posterior.extrapolation.distance import group_ranges

    runs = bl.load_runs(table[["N", "D", "loss"]])  # as bundled.isoflop_compendium loads Marin
    nominal = runs.df.assign(C=0.8 * 6 * runs.df["N"] * runs.df["D"])
    fit = bl.fit(replace(runs, df=nominal), likelihood="gaussian", seed=0, warn=False, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preamble = fit_report(fit, budgets=[1e20]).preamble
    low, high = group_ranges(fit)["C"]
    assert low == pytest.approx(6 * nominal["N"].min() * nominal["D"].min(), rel=1e-9)
    (header,) = [line for line in preamble if line.startswith("fitted ranges: ")]
    assert f"C [{low:.3g}, {high:.3g}] FLOPs" in header
    own_low, own_high = fit.record.ranges["C"]
    note = preamble[preamble.index(header) + 1]
    assert "measured as the compute model's FLOPs (6ND) of the runs' N and D" in note
    own = f"C [{own_low:.3g}, {own_high:.3g}] FLOPs"
    assert note.endswith(f"the runs' own C are nominal budgets: {own}")
