"""A table's SIMULATED extent survives its ``source`` column being read as the group
(``group="source"``) or left out (``ignore_columns="source"``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.runs import simulate as sim
from bayeslaws.runs.bundled import bundled_path
from bayeslaws.runs.provenance import simulated_extent

TRUTH = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}

N = np.repeat([1e8, 3e8, 1e9], 3)

D = np.tile([2e9, 6e9, 2e10], 3)


def _load(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plausibility notes of small tables: not under test
        return bl.load_runs(data, **kwargs)


# ---- 1. the SIMULATED extent survives a source column read as the group, or left out -----------
def test_bundled_simulated_sweep_grouped_by_source_stays_simulated():
    runs = _load(bundled_path("video_dit_sweep_simulated"), group="source")
    assert "source" not in runs.df and runs.df["group"].str.startswith("simulated").all()
    assert runs.simulated == "all"
    assert runs.record()["simulated"] == "all"
    assert simulated_extent(runs.source) == "all"  # the label every fit and figure reads
    assert sim.truth_from_source(runs.source) == sim.VideoDiTTruth()
    assert _load(runs).simulated == "all"  # a re-load keeps it


def test_simulated_and_real_rows_grouped_by_source_are_partly_simulated():
    fake = sim.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, seed=0)
    real = fake.iloc[:4].assign(source="lab runs, 2024")
    table = pd.concat([fake, real], ignore_index=True)
    runs = _load(table, group="source")
    assert runs.simulated == "partly"
    assert simulated_extent(runs.source) == "partly"
    assert f"{len(fake)} of {len(table)} rows" in runs.source
    assert runs.record()["simulated"] == "partly"


def test_leaving_out_the_source_column_keeps_the_simulated_extent():
    runs = _load(bundled_path("video_dit_sweep_simulated"), ignore_columns="source")
    assert "source" not in runs.df
    assert runs.simulated == "all" and simulated_extent(runs.source) == "all"
    assert "(column 'source' left out)" in runs.source
