"""bayeslaws.plot, review 5 of the figures: the design ranking states the scale of its scores in
the axis label (nats per FLOP are ~1e-22; matplotlib's offset text "1e-22" ran over the label's
end), and the isoFLOP figure draws a budget outside the fitted range of C dashed, its legend
entry saying so, against the same range the N_opt figure shades (a fitted group's own runs').
Runs SIMULATED."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.posterior.extrapolation.distance import group_ranges  # noqa: E402

PER_FLOP = np.array([2.02e-22, 0.82e-22, 0.38e-22])  # nats / FLOP, as the demo's candidates


def _plan(**scores) -> pd.DataFrame:
    base = {"N": [2e8, 9e7, 4e7], "D": [2.5e10, 5.5e10, 1.2e11], "info": [0.09, 0.037, 0.017]}
    return pd.DataFrame({**base, **scores})


def _drawn(fig):
    """The axes of a design ranking after drawing (offset texts are set at draw time)."""
    fig.canvas.draw()
    return fig.axes[0]


def test_design_ranking_puts_the_scale_of_nats_per_flop_in_the_label():
    plan = _plan(info_per_flop=PER_FLOP, batch_pick=[1, 0, 2])
    fig = plot.design_ranking(plan, picks="batch_pick")
    ax = _drawn(fig)
    assert ax.xaxis.get_offset_text().get_text() == ""
    label = ax.get_xlabel()
    assert "per FLOP" in label and "(in units of 1e-22 nats / FLOP)" in label, label
    widths = sorted(bar.get_width() for bar in ax.patches)  # the bars, in units of 1e-22
    np.testing.assert_allclose(np.array(widths) * 1e-22, np.sort(PER_FLOP), rtol=1e-12)
    notes = {t.get_text().strip(): t.get_position()[0] for t in ax.texts}
    assert notes["0.09 nats  <- batch pick #1"] == pytest.approx(2.02)  # at the bar's end
    low, high = ax.get_xlim()
    assert low == 0 and high == pytest.approx(2.02 * 1.45)
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert shown and all("e" not in s for s in shown), shown  # plain numbers, no 1e-22
    plt.close(fig)


@pytest.mark.parametrize(
    ("column", "values", "words"),
    [
        ("info", [3e-5, 2e-5, 1e-5], "(in units of 1e-5 nats)"),
        ("info_per_cost", [4e5, 2e5, 1e5], "(in units of 1e5 nats / unit cost)"),
        ("my_score", [5e-9, 3e-9, 1e-9], "my_score, each candidate alone (in units of 1e-9)"),
    ],
)
def test_design_ranking_states_any_scale_it_draws_in(column, values, words):
    plan = _plan(**{column: values}) if column != "info" else _plan().assign(info=values)
    fig = plot.design_ranking(plan, score=column)
    ax = _drawn(fig)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert words in ax.get_xlabel(), ax.get_xlabel()
    assert max(bar.get_width() for bar in ax.patches) == pytest.approx(
        values[0] / 10 ** int(np.floor(np.log10(values[0])))
    )
    plt.close(fig)


def test_design_ranking_keeps_scores_near_one_as_they_are():
    fig = plot.design_ranking(_plan(info_per_flop=[0.5, 0.2, 0.1]))
    ax = _drawn(fig)
    assert ax.get_xlabel().endswith("(nats / FLOP)"), ax.get_xlabel()
    assert "units of" not in ax.get_xlabel()
    assert max(bar.get_width() for bar in ax.patches) == pytest.approx(0.5)
    plt.close(fig)


def _budget_lines(ax) -> dict[str, str]:
    """The isoFLOP figure's median curves: legend label -> line style."""
    return {ln.get_label(): ln.get_linestyle() for ln in ax.lines
            if ln.get_label().startswith("C = ")}  # fmt: skip


def _isoflop(fit, C, **kw):
    with warnings.catch_warnings():  # budgets beyond the range warn; the figure is the subject
        warnings.simplefilter("ignore")
        return plot.isoflop(fit, C, n_points=12, **kw)


def test_isoflop_dashes_a_budget_outside_the_fitted_range(simulated_fit):
    low, high = group_ranges(simulated_fit)["C"]  # 3.6e17 .. 3.6e21 FLOPs
    inside, beyond = 1e19, 100 * high
    assert low < inside < high
    fig = _isoflop(simulated_fit, [inside, beyond])
    lines = _budget_lines(fig.axes[0])
    assert lines == {
        f"C = {inside:.1e} FLOPs": "-",
        f"C = {beyond:.1e} FLOPs (outside fitted C range)": "--",
    }, lines
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"C = {beyond:.1e} FLOPs (outside fitted C range)" in legend, legend
    plt.close(fig)


def test_isoflop_measures_a_fitted_group_from_its_own_runs(two_scales_grouped):
    """1e21 FLOPs lies beyond group 'small''s runs (C up to 1.8e19) but inside the pooled
    range (up to 1.2e22): dashed for group 'small', solid for a new group, as the N_opt figure
    shades the one range or the other."""
    fit = two_scales_grouped
    assert group_ranges(fit, "small")["C"][1] < 1e21 < group_ranges(fit)["C"][1]
    fig = _isoflop(fit, [1e18, 1e21], group="small")
    assert _budget_lines(fig.axes[0]) == {
        "C = 1.0e+18 FLOPs": "-",
        "C = 1.0e+21 FLOPs (outside group 'small''s fitted range of C)": "--",
    }
    plt.close(fig)
    fig = _isoflop(fit, [1e18, 1e21])
    assert _budget_lines(fig.axes[0]) == {"C = 1.0e+18 FLOPs": "-", "C = 1.0e+21 FLOPs": "-"}
    plt.close(fig)
