"""plot.pairs' title and legend: the suptitle (the law's long description plus "(SIMULATED
data)") was centred at x=0.4 and ran 88 px off the figure's left edge, and the legend, at the
upper right, was drawn over its end ("divergent transition (0)" over "SIMULATED data"). The title
is now wrapped to the figure's width, the legend sits below it and the axes below both."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from bayeslaws import plot  # noqa: E402


def _extents(fig):
    """The drawn suptitle's, legend's and visible axes' extents, in display pixels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    (legend,) = fig.legends
    axes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    return title, legend.get_window_extent(renderer), axes


@pytest.mark.parametrize(
    "names, title",
    [
        (["alpha", "beta", "e", "sigma"], None),  # planning.ipynb's
        (["alpha", "beta"], None),  # ArviZ's GridSpec with spanning axes: tight_layout skips it
        (["alpha", "beta", "e"], "a reader's own title, long enough to need wrapping " * 3),
    ],
)
def test_pairs_title_and_legend_neither_overlap_nor_leave_the_figure(
    small_sweep_sweep_fit, names, title
):
    import matplotlib.pyplot as plt

    fig = plot.pairs(small_sweep_sweep_fit, names, title=title)
    try:
        title_box, legend_box, axes_boxes = _extents(fig)
        width, height = fig.bbox.width, fig.bbox.height
        assert not title_box.overlaps(legend_box), (title_box, legend_box)
        assert title_box.x0 >= 0 and title_box.x1 <= width, title_box
        text = fig._suptitle.get_text()
        assert "SIMULATED" in text
        assert max(len(line) for line in text.splitlines()) <= 70
        assert title_box.y1 <= height, title_box
        assert legend_box.x0 >= 0 and legend_box.x1 <= width, legend_box
        for box in axes_boxes:  # the panels start below the legend
            assert not box.overlaps(legend_box) and not box.overlaps(title_box), box
        # a figure saved with bbox_inches="tight" (as the notebooks' inline backend saves it)
        # keeps its title
        saved = fig.get_tightbbox().transformed(fig.dpi_scale_trans)  # inches to pixels
        assert saved.y1 >= title_box.y1 - 1 and saved.x0 <= title_box.x0 + 1, (saved, title_box)
    finally:
        plt.close(fig)
