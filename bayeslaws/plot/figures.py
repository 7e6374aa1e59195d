"""What every figure of the package shares: matplotlib's pyplot, imported on first use (not
when ``bayeslaws`` is imported); a new figure with its grid of axes; the credible-band levels a
figure takes (``ci``) and their shading; the fit a figure draws, checked, and the run tables it
draws as frames; and :func:`save`, which writes a figure (atomically) and closes it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..posterior.draws import check_fit
from ..runs import RunTable
from ..runs.atomic import write_atomically

BAND_ALPHAS = {0.5: 0.35, 0.9: 0.18}


def pyplot():
    import matplotlib.pyplot as plt

    return plt


def figure(figsize, nrows=1, ncols=1, **kw):
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **kw)
    return fig, axes


def runs_frame(runs) -> pd.DataFrame | None:
    if runs is None:
        return None
    return runs.df if isinstance(runs, RunTable) else pd.DataFrame(runs)


def training_frame(fit) -> pd.DataFrame | None:
    data = fit.record.training_runs
    return pd.DataFrame(data) if data else None


def ci_levels(ci) -> list[float]:
    levels = sorted({float(c) for c in np.atleast_1d(ci)}, reverse=True)
    for c in levels:
        if not 0 < c < 1:
            raise ValueError(f"ci levels must be in (0, 1), got {c}")
    return levels


def band_alpha(c: float) -> float:
    return BAND_ALPHAS.get(round(c, 2), 0.25)


def check_figure_fit(fit) -> None:
    """A figure's ``fit`` checked: :func:`~bayeslaws.posterior.draws.check_fit` (a path says to
    load it with ``bl.load_fit(path)``, a run table to fit it first)."""
    check_fit(fit)


def save(fig, path, dpi: int = 110):
    """Write a figure (PNG, PDF, ... by extension) and close it; returns the path written. A
    name without an extension gets matplotlib's default format's (``fig`` -> ``fig.png``), and
    the path returned says so. The image is cropped to what is drawn (``bbox_inches="tight"``),
    so a long title or label is never cut off at the figure's edge."""
    from pathlib import Path

    import matplotlib

    path = Path(path)
    if not path.suffix:  # what matplotlib writes: the name plus its default format's suffix
        path = path.with_name(f"{path.name}.{matplotlib.rcParams['savefig.format']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix[1:].lower()  # the format matplotlib reads from the name

    def draw(handle):
        fig.savefig(handle, format=fmt, dpi=dpi, bbox_inches="tight")

    write_atomically(path, draw)  # killed part-way: the earlier figure is left whole
    pyplot().close(fig)
    return path
