"""The posterior pair plot (:func:`pairs`): scalar parameters through ArviZ
(``az.plot_pair``), divergent transitions marked and counted in the legend, few rotated tick
labels, and the title and legend placed above the axes."""

from __future__ import annotations

import textwrap
import warnings

import numpy as np

from .figures import check_figure_fit, pyplot
from .words import titled


def pairs(fit, var_names=None, *, kind: str = "scatter", max_vars: int = 6, title=None):
    """Posterior pair plot of scalar parameters through ArviZ (``az.plot_pair``), with
    divergent transitions marked and named in the legend (with their count), and at most three
    rotated tick labels per axis. Default: the first ``max_vars`` summary parameters. The
    marginals on the diagonal carry no y tick labels: their heights are densities, which
    ArviZ labelled beside the first parameter's name (alpha from 0 to 40)."""
    check_figure_fit(fit)
    import arviz as az
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    post = fit.idata.posterior
    if var_names is None:
        var_names = [
            n
            for n in fit.record.summary_names
            if n in post and post[n].ndim == 2
        ][:max_vars]
    missing = [n for n in var_names if n not in post]
    if missing:
        raise ValueError(f"no parameter(s) {missing} in this fit; it has {sorted(post.data_vars)}")
    pyplot()
    n = len(var_names)
    stats = getattr(fit.idata, "sample_stats", None)
    has_div = stats is not None and "diverging" in stats
    n_div = int(stats["diverging"].values.sum()) if has_div else 0
    with warnings.catch_warnings():  # ArviZ 0.23's own call that Matplotlib >= 3.11 deprecates
        warnings.filterwarnings("ignore", message="Passing a dict or None as alias_mapping")
        axes = az.plot_pair(
            fit.idata,
            var_names=list(var_names),
            kind=kind,
            marginals=True,
            divergences=has_div,
            figsize=(2.0 * n + 0.8, 2.0 * n + 0.8),
            textsize=9,
            scatter_kwargs={"alpha": 0.3, "s": 4},
            divergences_kwargs={"marker": "o", "color": "C1", "markeredgecolor": "k", "lw": 0},
        )
    fig = next(ax.figure for ax in np.atleast_1d(axes).ravel() if ax is not None and ax.figure)
    if np.ndim(axes) == 2:  # the marginals' densities: no value of the row's parameter
        for i in range(min(np.shape(axes))):
            axes[i, i].tick_params(axis="y", labelleft=False)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        ax.xaxis.set_major_locator(MaxNLocator(2))
        ax.yaxis.set_major_locator(MaxNLocator(2))
        ax.tick_params(labelsize=7)
        for label in ax.get_xticklabels():
            label.set_rotation(40)
            label.set_horizontalalignment("right")
    handles = [Line2D([], [], marker="o", ls="", color="C0", alpha=0.6, ms=4)]
    labels = [f"posterior draw ({fit.diagnostics.n_draws})"]
    if has_div:
        handles.append(Line2D([], [], marker="o", ls="", color="C1", mec="k", ms=5))
        labels.append(f"divergent transition ({n_div})")
    # the title wrapped to the figure's width (at most 70 characters a line; ~6 points a
    # character at 11 points), the legend in one row below it, the axes below both (a long
    # title centred at x=0.4 ran off the figure's left edge, under a legend at its right end)
    default = f"Posterior pairs: {fit.law.description}"
    chars = max(20, min(70, int(0.92 * fig.get_figwidth() * 72 / 6.0)))  # inches to points
    text = "\n".join(textwrap.wrap(titled(title or default, fit), chars))
    suptitle = fig.suptitle(text, fontsize=11, x=0.5, y=0.99, va="top", in_layout=False)
    to_figure = fig.transFigure.inverted()  # display to figure-fraction coordinates
    below = to_figure.transform(suptitle.get_window_extent())[0, 1]
    legend = fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, below - 0.005),
        ncol=len(handles), fontsize=8, frameon=False,
    )  # fmt: skip
    below = to_figure.transform(legend.get_window_extent())[0, 1] - 0.01
    fig.tight_layout(rect=(0, 0, 1, below))  # the title placed already: out of its layout
    # tight_layout leaves two variables' grid (ArviZ's spanning GridSpec) as it is: lower it
    top = max(to_figure.transform(ax.get_tightbbox())[1, 1] for ax in fig.axes)
    if top > below:
        fig.subplots_adjust(top=fig.subplotpars.top - (top - below))
    suptitle.set_in_layout(True)  # inside a saved figure's tight bounding box
    return fig
