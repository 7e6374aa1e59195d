"""Figures drawn on real sweeps (session 54, W5): the bowls of a sparse (N, D) design are packed
(Step Law's 17 cells filled 17 of a 5 x 14 grid, 4267 px wide); the isoFLOP figure's legend
sits off the curves; a fan's y axis holds its runs rather than a parabola drawn far out
(Porian et al.'s table); the pair plot's marginals carry no density ticks beside a parameter's
name; a fan of law 'hyperparams' does not warn once per curve of a quantity it does not draw.
Runs SIMULATED."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from conftest import quiet  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.plot.fan_chart import _cut_to_points  # noqa: E402
from bayeslaws.plot.sweep_maps import PACKED_COLUMNS, _panel_grid  # noqa: E402

# Step Law's dense sweep (bayeslaws.runs.bundled.steplaw_dense()): its 17 fitted (N, D) cells,
# N in parameters and D in tokens: 5 sizes at 14 distinct token budgets
STEPLAW_CELLS = [
    (2.15e8, 4e9), (2.15e8, 1.14e10), (2.15e8, 2e10), (2.15e8, 1e11),
    (2.68e8, 5e9), (2.68e8, 1.42e10), (2.68e8, 2.5e10), (2.68e8, 8e10),
    (4.29e8, 8e9), (4.29e8, 2.27e10), (4.29e8, 4e10), (4.29e8, 5e10),
    (5.37e8, 1e10), (5.37e8, 2.84e10), (5.37e8, 5e10),
    (1.07e9, 2e10), (1.07e9, 5.69e10),
]  # fmt: skip


def _cells(pairs) -> pd.DataFrame:
    N, D = zip(*pairs, strict=True)
    return pd.DataFrame({"N": N, "D": D, "group": "0"})


def test_bowls_pack_a_sparse_design_into_rows_of_its_cells():
    """17 cells at 5 sizes x 14 token budgets: a row per size, its cells side by side in order
    of D (was a 5 x 14 grid of 70 panels, 53 of them empty)."""
    cells = _cells(STEPLAW_CELLS)
    rows, columns, n_rows, n_columns = _panel_grid(SimpleNamespace(groups=["0"]), cells)
    assert (n_rows, n_columns) == (5, 4)
    assert len(set(zip(rows, columns, strict=True))) == len(cells)  # one panel per cell
    for size in cells["N"].unique():  # a size's cells share a row, left to right by D
        mine = (cells["N"] == size).to_numpy()
        assert len(set(rows[mine])) == 1
        assert list(columns[mine]) == list(np.argsort(np.argsort(cells["D"][mine])))


def test_bowls_keep_a_full_design_aligned_by_token_budget():
    """A full 3 x 3 design keeps a column per D: every panel of a column is at one budget."""
    cells = _cells([(n, d) for n in (1.7e7, 5.7e7, 2.6e8) for d in (2e9, 5e9, 1.2e10)])
    rows, columns, n_rows, n_columns = _panel_grid(SimpleNamespace(groups=["0"]), cells)
    assert (n_rows, n_columns) == (3, 3)
    for j in range(3):
        assert cells["D"][columns == j].nunique() == 1


def test_bowls_wrap_a_size_with_many_token_budgets():
    """One size at more budgets than PACKED_COLUMNS beside two sizes at one each (a sparse
    design): the long row wraps onto a second (no grid as wide as its number of budgets)."""
    many = [(1e8, 1e9 * (k + 1)) for k in range(PACKED_COLUMNS + 2)]
    cells = _cells([*many, (1e9, 3.3e9), (2e9, 4.4e9)])
    rows, columns, n_rows, n_columns = _panel_grid(SimpleNamespace(groups=["0"]), cells)
    assert n_columns == PACKED_COLUMNS and n_rows == 4
    assert len(set(zip(rows, columns, strict=True))) == len(cells)


def test_isoflop_legend_lies_off_the_axes(simulated_fit):
    """Inside the axes ("best"), the legend covered an arm of a budget's curve (Epoch's table,
    four budgets)."""
    C = simulated_fit.record.ranges["C"]
    fig = quiet(plot.isoflop, simulated_fit, np.geomspace(C[0], C[1] * 100, 4), n_points=12)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the axes: over no curve
    assert legend.x1 <= fig.bbox.x1 + 1  # and inside the figure
    plt.close(fig)


def test_fan_axis_holds_the_runs_when_a_curve_runs_far_off(simulated_fit, simulated_runs):
    """A slice of D far below the fitted ones (1e6 tokens) lies far above the runs: the loss
    axis holds the runs and their span (the title says so) rather than the far curve, beneath
    which the runs lay flat."""
    fig = quiet(plot.fan, simulated_fit, simulated_runs, slices=[1e6, 1e10],
                relative_panel=False)  # fmt: skip
    loss = simulated_runs.df["loss"].to_numpy(float)
    span = loss.max() - loss.min()
    low, high = fig.axes[0].get_ylim()
    assert high <= loss.max() + 1.1 * span and low >= loss.min() - 1.1 * span
    assert "loss axis cut at the runs' range" in fig._suptitle.get_text()
    plt.close(fig)
    fig = quiet(plot.fan, simulated_fit, simulated_runs, relative_panel=False)  # the data's D
    assert "axis cut" not in fig._suptitle.get_text()
    plt.close(fig)


def test_cut_to_points_leaves_an_axis_whose_curves_stay_near_the_points():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3.0, 4.0, 5.0])
    before = ax.get_ylim()
    assert not _cut_to_points(ax, [[3.0, 5.0]], [[3.0, 5.0], [3.0, 4.0, 5.0]], log=False)
    assert ax.get_ylim() == before
    ax.plot([1, 2, 3], [3.0, 40.0, 400.0])  # a curve ten spans above the points
    assert _cut_to_points(ax, [[3.0, 5.0]], [[3.0, 5.0], [3.0, 40.0, 400.0]], log=False)
    assert 7.0 <= ax.get_ylim()[1] < 8.0 and ax.get_ylim()[0] < 3.0
    plt.close(fig)


def test_pairs_marginals_carry_no_density_ticks(simulated_fit):
    """The first marginal's y axis read 0 to 40 beside the label 'alpha' (its density)."""
    names = ["alpha", "beta", "E"]
    fig = quiet(plot.pairs, simulated_fit, names)
    fig.canvas.draw()
    (first,) = [ax for ax in fig.axes if ax.get_visible() and ax.get_ylabel() == "alpha"]
    shown = [t.get_text() for t in first.get_yticklabels() if t.get_visible() and t.get_text()]
    assert shown == []
    scatter = [ax for ax in fig.axes if ax.get_visible() and ax.get_ylabel() == "beta"]
    assert any(t.get_text() for ax in scatter for t in ax.get_yticklabels() if t.get_visible())
    plt.close(fig)


def test_fan_of_a_hyperparams_fit_does_not_warn_per_curve_of_an_undrawn_quantity(
    small_sweep_hp_fit, small_sweep
):
    """loss_opt of law 'hyperparams' (loss_level='free') is NaN off the fitted cells: the fan
    draws no panel of it, and warned 'loss_opt_* are NaN' once per curve and band."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot.fan(small_sweep_hp_fit, small_sweep, n_points=8, relative_panel=False)
    said = [str(w.message) for w in caught if "gives no value" in str(w.message)]
    assert said == []
    assert not any("loss at the optimal" in ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)


def test_bowls_colour_scale_ends_below_a_tail_of_runs_far_off_the_bowls(small_sweep_hp_fit):
    """One run in twelve three times its loss (as Step Law's diverging learning rates): the
    95th percentile of the excess lay in that tail (Step Law: 176%, its 90th 14%) and every
    bowl was one pale colour; the scale now ends at the fence 3 IQR above the upper quartile,
    and the colour bar says so."""
    from matplotlib.collections import QuadMesh

    runs = small_sweep_hp_fit.training_runs().df.reset_index(drop=True)
    tail = np.arange(len(runs)) % 12 == 5
    runs.loc[tail, "loss"] *= 3.0
    fig = quiet(plot.bowls, small_sweep_hp_fit, runs)
    panels = fig.axes[:-1]  # the heat maps (the last axes: the colour bar)
    meshes = [c for ax in panels for c in ax.collections if isinstance(c, QuadMesh)]
    top = meshes[0].get_clim()[1]
    excess = np.concatenate([np.ma.compressed(m.get_array()) for m in meshes])
    q1, q3 = np.quantile(excess, [0.25, 0.75])
    assert top <= q3 + 3 * (q3 - q1) + 1e-9 < np.quantile(excess, 0.95)
    label = fig.axes[-1].get_ylabel()
    assert f"colours clipped at {top:.3g}%" in label and "far off the bowls" in label, label
    plt.close(fig)
