"""Law "hyperparams_two_stage" gives thin cells (fewer than 3 lr or batch values; laws "sweep" and
"hyperparams" warn about them from hyperparams/data.py) no warning of their own: a thin cell's
selected run is always at the edge of its grid, so the grid-edge warning already counts and names
it. Pinned on a SIMULATED video-DiT sweep thinned to 2 lr values in some cells and 1 batch size
in others."""

from __future__ import annotations

import warnings

import bayeslaws as bl
from bayeslaws.laws import resolve_law
from bayeslaws.laws.hyperparams import data, two_stage
from bayeslaws.runs import PlausibilityWarning
from bayeslaws.runs import simulate as sim
from bayeslaws.runs.cells import cell_table

SIZES, TOKENS = (0.017e9, 0.057e9, 0.26e9), (2e9, 5e9, 12e9)


def _thinned():
    """The sweep with 2 lr values (the grid's 3rd and 4th) at the smallest size and 1 batch size
    (the 3rd) at the largest; the middle size keeps its full 6 x 6 grid."""
    df = sim.simulate_video_dit_sweep(seed=1, sizes=SIZES, tokens=TOKENS)
    cell = df.groupby(["N", "D"])
    lr_rank = cell["lr"].rank(method="dense")
    batch_rank = cell["batch_size"].rank(method="dense")
    small, large = df["N"] == df["N"].min(), df["N"] == df["N"].max()
    keep = ~(small & ~lr_rank.isin([3, 4])) & ~(large & (batch_rank != 3))
    return bl.load_runs(df[keep.to_numpy()])


def test_thin_cells_are_warned_as_grid_edges_not_twice():
    runs = _thinned()
    df = runs.df
    run_cell, cells = cell_table(df["N"], df["D"])
    thin = data.thin_cells(df, run_cell, cells, ("lr", "batch_size"))
    assert len(thin) == 6  # 3 token counts x (smallest size, largest size)
    law = resolve_law("hyperparams_two_stage", {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = law.prepare(runs)
    said = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    # every thin cell's selected run is a grid-edge run, counted and named in the one warning
    selected = law.select(df)
    selected_cell = run_cell[df.index.get_indexer(selected.index)]
    assert set(thin.index) <= set(selected_cell)
    in_thin = [c in set(thin.index) for c in selected_cell]
    thin_selected = [str(i) for i, t in zip(selected.index, in_thin, strict=True) if t]
    edge = prepared.state["grid_edge"]
    assert set(thin_selected) <= set(edge["rows"])
    assert edge["n_at_edge"] >= len(thin)
    assert len(said) == 1 and "lie at the edge of their cell's grid" in said[0]
    assert not any("fewer than" in s for s in said)  # no second, thin-cell warning
    # the choice and its reason are in the module's docstring
    doc = " ".join(two_stage.__doc__.split())
    assert ":func:`.data.thin_cells`" in doc
    assert "get no warning of their own" in doc
