"""bayeslaws.plot says what a figure marks or leaves out (design_replay, fan, bowls).

design_replay draws a fit that failed the sampler checks (history column sampler_ok False) as a
hollow circle with its own legend entry, and each panel's title says "k of n fits failed the
sampler checks"; fan counts in its legend the runs it cannot draw (no finite loss); bowls says
in its title how many runs lie outside the fitted cells (not drawn), and its colour scale,
clipped at the 95th percentile, ends in an arrow and says so. Runs SIMULATED; the fits are the
suite's small shared ones.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bayeslaws import plot  # noqa: E402


def _history(sampler_ok) -> pd.DataFrame:
    """A toy replay history: one pool, two strategies x two seeds x budgets 0, 0.01, 0.05;
    ``sampler_ok`` per row (None: no such column)."""
    rows = [
        {"pool": "toy", "simulated": True, "strategy": s, "seed": seed, "budget": b, "spent": b,
         "error": e * (1 + seed) / (1 + 10 * b), "r2": 1 - e}
        for s, e in (("ours", 0.1), ("random", 0.2))
        for seed in (0, 1)
        for b in (0.0, 0.01, 0.05)
    ]  # fmt: skip
    h = pd.DataFrame(rows)
    if sampler_ok is not None:
        h["sampler_ok"] = sampler_ok
    return h


def _hollow(ax) -> list:
    return [ln for ln in ax.get_lines() if ln.get_marker() == "o" and ln.get_markerfacecolor()
            == "none"]  # fmt: skip


def test_design_replay_marks_fits_that_failed_the_sampler_checks():
    ok = np.ones(12, bool)
    ok[[1, 4, 10]] = False  # row 1: ours seed 0 at 0.01; 4: ours seed 1 at 0.01; 10: budget 0.01
    fig = plot.design_replay(_history(ok), metrics=("error", "r2"))
    for ax in fig.axes:  # each panel: 3 of the 8 fits drawn (budget > 0) failed
        assert "3 of 8 fits failed the sampler checks" in ax.get_title(), ax.get_title()
        hollow = _hollow(ax)
        assert sum(len(ln.get_xdata()) for ln in hollow) == 3
    assert "SIMULATED" in fig.axes[0].get_title()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]  # top right panel
    assert "a seed's fit that failed the sampler checks" in legend
    plt.close(fig)


def test_design_replay_reads_sampler_ok_as_a_csv_holds_it():
    """Text "True" / "False" (a CSV), a missing value (a row written before the column) and
    repeated row labels (pools' CSVs concatenated) are read right."""
    ok = ["True"] * 12
    ok[2], ok[5] = "False", np.nan
    h = _history(ok)
    h.index = [0] * 6 + [1] * 6
    fig = plot.design_replay(h, metrics=("error",))
    title = fig.axes[0].get_title()
    assert "1 of 7 fits failed the sampler checks; 1 without a sampler record" in title, title
    assert sum(len(ln.get_xdata()) for ln in _hollow(fig.axes[0])) == 1
    plt.close(fig)


def test_design_replay_without_sampler_ok_draws_as_before():
    fig = plot.design_replay(_history(None), metrics=("error",))
    assert fig.axes[0].get_title() == "toy (SIMULATED)"
    assert not _hollow(fig.axes[0])
    assert len(fig.axes[0].get_lines()) == 4  # per strategy: the median line and the seeds
    plt.close(fig)


def test_fan_counts_the_runs_without_a_finite_loss(simulated_fit, simulated_runs):
    from matplotlib.collections import PathCollection

    df = simulated_runs.df.copy()
    df.loc[df.index[:3], "loss"] = np.nan
    fig = plot.fan(simulated_fit, df, n_points=8, relative_panel=False)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-1] == "runs (colour = D; 3 without a finite loss, not drawn)", legend
    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert points == len(df) - 3
    plt.close(fig)
    fig = plot.fan(simulated_fit, simulated_runs, n_points=8, relative_panel=False)
    last = [t.get_text() for t in fig.axes[0].get_legend().get_texts()][-1]
    assert last == "runs (colour = D)"  # nothing left out: nothing said
    plt.close(fig)


def _colour_bar(fig):
    return fig.axes[-1]._colorbar


def test_bowls_counts_the_runs_outside_the_fitted_cells(small_sweep_hp_fit, small_sweep):
    df = small_sweep.df
    other = df[np.isclose(df["N"], df["N"].min())].assign(N=5e9)  # a size the fit never saw
    fig = plot.bowls(small_sweep_hp_fit, pd.concat([df, other], ignore_index=True))
    title = fig._suptitle.get_text()
    assert f"({len(other)} runs outside the fitted cells not drawn)" in title, title
    plt.close(fig)
    fig = plot.bowls(small_sweep_hp_fit, df)
    assert "outside the fitted cells" not in fig._suptitle.get_text()
    plt.close(fig)


def test_bowls_colour_bar_says_where_it_clips(small_sweep_hp_fit):
    from matplotlib.collections import QuadMesh

    fig = plot.bowls(small_sweep_hp_fit, None)  # the default: the 95th percentile
    meshes = [c for ax in fig.axes[:-1] for c in ax.collections if isinstance(c, QuadMesh)]
    top = meshes[0].get_clim()[1]
    assert max(np.ma.compressed(m.get_array()).max() for m in meshes) > top
    bar = _colour_bar(fig)
    assert bar.extend == "max"
    label = fig.axes[-1].get_ylabel()
    assert f"colours clipped at {top:.3g}% (the 95th percentile of the runs)" in label, label
    plt.close(fig)
    fig = plot.bowls(small_sweep_hp_fit, None, vmax_percent=0.5)
    assert _colour_bar(fig).extend == "max"
    assert "clipped at 0.5% (vmax_percent)" in fig.axes[-1].get_ylabel()
    plt.close(fig)
    fig = plot.bowls(small_sweep_hp_fit, None, vmax_percent=1e6)  # nothing above: no clip
    assert _colour_bar(fig).extend == "neither"
    assert fig.axes[-1].get_ylabel() == "loss above cell's best run (%)"
    plt.close(fig)
