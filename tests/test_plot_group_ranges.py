"""bayeslaws.plot on a grouped fit: the fitted ranges a figure of a fitted group shades, extends
and dashes its slices against are that group's own runs' (group_ranges, as predict and
optimal_allocation measure its extrapolation), and the legend names the group; a new group and a
fit without groups keep the pooled range and its words. Runs SIMULATED (Chinchilla law, two
groups far apart in scale)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import quiet

import bayeslaws as bl  # noqa: E402
from bayeslaws import plot  # noqa: E402

# small's runs: N 5e7..3e8 params, D 1e9..1e10 tokens, C = 6ND 3e17..1.8e19 FLOPs;
# large's: N 1e9..1e10, D 2e10..2e11; pooled: N 5e7..1e10, D 1e9..2e11, C 3e17..1.2e22.
SMALL = {"N": (5e7, 3e8), "D": (1e9, 1e10), "C": (3e17, 1.8e19)}
POOLED = {"N": (5e7, 1e10), "D": (1e9, 2e11), "C": (3e17, 1.2e22)}
FAR_D = 1e11  # tokens: 1 decade beyond small's D, inside the pooled range
FAN = {"slices": [5e9, FAR_D], "n_points": 12, "ci": (0.9,)}


def _spans(ax) -> dict[str, tuple[float, float]]:
    """The labelled shaded spans of ``ax``: legend label -> (x low, x high) in data units."""
    out = {}
    for patch in ax.patches:
        label = patch.get_label()
        if label and not label.startswith("_"):
            box = patch.get_bbox()
            out[label] = (box.x0, box.x1)
    return out


def _slice_lines(ax) -> dict[str, str]:
    """The slices' median lines of a fan panel: legend label -> line style."""
    return {
        ln.get_label(): ln.get_linestyle() for ln in ax.lines if ln.get_label().startswith("D = ")
    }


@pytest.fixture(scope="module")
def small_fan(two_scales_grouped):
    """The fan of fitted group 'small' (with its relative panel), slices D = 5e9 and 1e11."""
    fig = quiet(plot.fan, two_scales_grouped, group="small", **FAN)
    yield fig
    plt.close(fig)


def test_fan_of_a_fitted_group_shades_its_own_range_of_N(small_fan):
    ax, rel = small_fan.axes[0], small_fan.axes[1]
    ((label, extent),) = _spans(ax).items()
    np.testing.assert_allclose(extent, SMALL["N"], rtol=1e-9)  # the group's own N, not pooled
    assert label == "group 'small''s fitted range of N"
    # the relative panel shades the same span (unlabelled)
    (band,) = rel.patches
    np.testing.assert_allclose([band.get_bbox().x0, band.get_bbox().x1], SMALL["N"], rtol=1e-9)
    # the fan extends extend_decades (1) beyond the group's own N, not the pooled N
    (line, _) = [ln for ln in ax.lines if ln.get_label().startswith("D = ")]
    assert line.get_xdata().max() == pytest.approx(10 * SMALL["N"][1])


def test_fan_of_a_fitted_group_dashes_a_slice_beyond_its_own_range(small_fan, two_scales_grouped):
    ax, rel = small_fan.axes[0], small_fan.axes[1]
    # D = 1e11 lies 1 decade beyond small's own D, as predict says: dashed, and said so
    told = bl.predict(two_scales_grouped, N=[1e9], D=[FAR_D], group="small", kind="mean", seed=0)
    assert told["D_outside_decades"].iloc[0] == pytest.approx(1.0)
    lines = _slice_lines(ax)
    assert list(lines.values()) == ["-", "--"], lines
    assert lines == {
        "D = 5B: median and bands": "-",
        "D = 100B: median and bands (outside group 'small''s fitted range of D)": "--",
    }
    assert sum(ln.get_linestyle() == "--" for ln in rel.lines) == 2  # the far slice's edges


def test_fan_of_a_new_group_keeps_the_pooled_range(two_scales_grouped):
    fig = quiet(plot.fan, two_scales_grouped, group=None, relative_panel=False, **FAN)
    ax = fig.axes[0]
    spans = _spans(ax)
    assert list(spans) == ["fitted range of N"], spans
    np.testing.assert_allclose(spans["fitted range of N"], POOLED["N"], rtol=1e-9)
    # inside the pooled D range (to 2e11): solid, as predict for a new group says (0 decades)
    assert _slice_lines(ax) == {"D = 5B: median and bands": "-", "D = 100B: median and bands": "-"}
    plt.close(fig)


def test_fan_of_an_ungrouped_fit_is_unchanged(two_scales_small):
    fig = quiet(plot.fan, two_scales_small, **FAN)
    ax = fig.axes[0]
    spans = _spans(ax)
    assert list(spans) == ["fitted range of N"], spans
    np.testing.assert_allclose(spans["fitted range of N"], SMALL["N"], rtol=1e-9)
    assert _slice_lines(ax) == {
        "D = 5B: median and bands": "-",
        "D = 100B: median and bands (outside fitted D range)": "--",
    }
    plt.close(fig)


def test_n_opt_of_a_fitted_group_shades_its_own_range_of_C(two_scales_grouped):
    fig = quiet(plot.n_opt, two_scales_grouped, group="small", ci=(0.9,), n_points=8)
    ax = fig.axes[0]
    ((label, extent),) = _spans(ax).items()
    np.testing.assert_allclose(extent, SMALL["C"], rtol=1e-9)  # the group's own C, not pooled
    assert label == "group 'small''s fitted range of C"
    # the default C_range: the group's own range of C extended two decades upward
    (median,) = [ln for ln in ax.lines if ln.get_label().startswith("posterior median")]
    assert median.get_xdata().max() == pytest.approx(100 * SMALL["C"][1])
    # a budget beyond the span is what optimal_allocation calls outside the group's range
    told = quiet(bl.optimal_allocation, two_scales_grouped, C=[1e21], group="small", seed=0)
    assert told["C_outside_decades"].iloc[0] > 1.0
    plt.close(fig)


def test_n_opt_of_a_new_group_and_an_ungrouped_fit_keep_the_pooled_range(
    two_scales_grouped, two_scales_small
):
    for fit, bounds in ((two_scales_grouped, POOLED["C"]), (two_scales_small, SMALL["C"])):
        fig = quiet(plot.n_opt, fit, ci=(0.9,), n_points=8)
        spans = _spans(fig.axes[0])
        assert list(spans) == ["fitted range of C"], spans
        np.testing.assert_allclose(spans["fitted range of C"], bounds, rtol=1e-9)
        plt.close(fig)
