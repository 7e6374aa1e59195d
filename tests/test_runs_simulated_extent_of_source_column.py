"""A table's SIMULATED extent survives its ``source`` column being read as the group
(``group="source"``) or left out (``ignore_columns="source"``)."""

from __future__ import annotations

import pandas as pd
from conftest import SOURCE_GRID_D as D
from conftest import SOURCE_GRID_N as N
from conftest import SOURCE_GRID_TRUTH as TRUTH
from conftest import quiet

import bayeslaws as bl
from bayeslaws.runs import simulate as sim
from bayeslaws.runs.bundled import bundled_path
from bayeslaws.runs.provenance import simulated_extent


# ---- 1. the SIMULATED extent survives a source column read as the group, or left out -----------
def test_bundled_simulated_sweep_grouped_by_source_stays_simulated():
    runs = quiet(bl.load_runs, bundled_path("video_dit_sweep_simulated"), group="source")
    assert "source" not in runs.df and runs.df["group"].str.startswith("simulated").all()
    assert runs.simulated == "all"
    assert runs.record()["simulated"] == "all"
    assert simulated_extent(runs.source) == "all"  # the label every fit and figure reads
    assert sim.truth_from_source(runs.source) == sim.VideoDiTTruth()
    assert quiet(bl.load_runs, runs).simulated == "all"  # a re-load keeps it


def test_simulated_and_real_rows_grouped_by_source_are_partly_simulated():
    fake = sim.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, seed=0)
    real = fake.iloc[:4].assign(source="lab runs, 2024")
    table = pd.concat([fake, real], ignore_index=True)
    runs = quiet(bl.load_runs, table, group="source")
    assert runs.simulated == "partly"
    assert simulated_extent(runs.source) == "partly"
    assert f"{len(fake)} of {len(table)} rows" in runs.source
    assert runs.record()["simulated"] == "partly"


def test_leaving_out_the_source_column_keeps_the_simulated_extent():
    runs = quiet(bl.load_runs, bundled_path("video_dit_sweep_simulated"), ignore_columns="source")
    assert "source" not in runs.df
    assert runs.simulated == "all" and simulated_extent(runs.source) == "all"
    assert "(column 'source' left out)" in runs.source
