"""The hyperparameter bowls (:func:`bowls`): an LR x batch sweep as heat maps, one panel per
fitted (N, D) cell (per group of a grouped fit), coloured by each run's loss above its cell's
best run, with the cell's posterior optimum and its credible region; the panel grid, each
cell's runs, and the colour scale's clip."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..runs.cells import CELL_RTOL, same_value_ids
from .figures import check_figure_fit, figure, runs_frame, training_frame
from .words import drawn_words, sci, titled


def _null_formatter():
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _edges(values: np.ndarray) -> np.ndarray:
    """Geometric cell edges for sorted positive centres."""
    v = np.log(np.asarray(values, float))
    if len(v) == 1:
        return np.exp(np.array([v[0] - 0.2, v[0] + 0.2]))
    mid = 0.5 * (v[1:] + v[:-1])
    return np.exp(np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]]))


def _region(log_x, log_y, ci: float, n: int = 100):
    """The central ``ci`` region of a 2-d Gaussian fitted to draws (ellipse, in log space)."""
    mean = np.array([log_x.mean(), log_y.mean()])
    cov = np.cov(np.vstack([log_x, log_y]))
    radius = np.sqrt(-2.0 * np.log(1.0 - ci))  # chi-square quantile with 2 dof
    vals, vecs = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.vstack([np.cos(t), np.sin(t)]) * radius
    pts = mean[:, None] + vecs @ (np.sqrt(np.maximum(vals, 0))[:, None] * circle)
    return np.exp(pts[0]), np.exp(pts[1])


# a grid of (group, N) rows and D columns that the fitted cells fill less than this share of
# (e.g. Step Law's 17 cells at 14 token budgets: 17 of 70 panels) is packed: each row's cells
# side by side, in order of D, at most PACKED_COLUMNS to a row
FILLED_SHARE = 0.5
PACKED_COLUMNS = 6


def _panel_grid(fit, cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Each fitted cell's (row, column) in the bowls' grid and the grid's shape (rows,
    columns): a row per (group, N), a column per D, with N (params) and D (tokens) matched as
    the package's cells (``CELL_RTOL``); when the cells fill less than ``FILLED_SHARE`` of
    that grid, each row's cells are packed side by side in order of D
    (:func:`_packed_grid`)."""
    labels = [str(g) for g in fit.groups]
    g = [labels.index(str(x)) if len(labels) > 1 else 0 for x in cells["group"]]
    n, d = same_value_ids(cells["N"]), same_value_ids(cells["D"])
    keys = sorted(set(zip(g, n.tolist(), strict=True)))
    rows = np.array([keys.index(k) for k in zip(g, n.tolist(), strict=True)], int)
    n_rows, n_columns = len(keys), int(d.max()) + 1
    if len(cells) >= FILLED_SHARE * n_rows * n_columns:
        return rows, d, n_rows, n_columns
    return _packed_grid(rows, d)


def _packed_grid(rows: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Cells of grid ``rows`` (per cell, its (group, N) row) and D ids ``d`` (increasing with
    D) packed: each row's cells side by side in order of D, a row of more than
    ``PACKED_COLUMNS`` cells wrapped onto the next grid rows; returns each cell's (row,
    column) and the grid's shape."""
    per_row = np.bincount(rows)
    n_columns = int(min(per_row.max(), PACKED_COLUMNS))
    first = np.concatenate([[0], np.cumsum(-(-per_row // n_columns))])  # ceil: rows a row takes
    order = np.lexsort((d, rows))  # by row, then by D
    place = np.empty(len(rows), int)
    place[order] = np.arange(len(rows)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    return first[rows] + place // n_columns, place % n_columns, int(first[-1]), n_columns


def _cell_rows(df: pd.DataFrame, cell, grouped: bool) -> np.ndarray:
    """Which runs of ``df`` are one fitted cell's, (len(df),) bool: N and D within
    ``CELL_RTOL`` of the cell's (as a query is matched to a fitted cell) and, for a grouped
    fit, the cell's group."""
    same = np.isclose(df["N"], cell["N"], rtol=CELL_RTOL) & np.isclose(
        df["D"], cell["D"], rtol=CELL_RTOL
    )
    if grouped and "group" in df:
        same &= (df["group"].astype(str) == str(cell["group"])).to_numpy()
    return np.asarray(same, bool)


def _blank_panel(ax, title: str) -> None:
    """A fitted cell's panel left blank: its ``title`` and "no runs in the table", no axes."""
    ax.set_title(title, fontsize=9)
    ax.text(0.5, 0.5, "no runs in the table", ha="center", va="center", fontsize=8,
            color="0.4", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


# the default top of the bowls' colour scale is the 95th percentile of the runs' excess loss,
# unless that lies more than FAR_IQR interquartile ranges above their upper quartile (among
# runs far off the bowls: on Step Law's sweep the 95th percentile was 176%, its 90th 14%, and
# every bowl was one pale colour); the scale then ends at that fence, but never below the
# FLOOR_PERCENTILE (with one run per cell most excess values are 0, and so is the fence)
FAR_IQR = 3.0
FLOOR_PERCENTILE = 90


def _default_clip(excess: np.ndarray) -> tuple[float, str]:
    """The default top of the bowls' colour scale (percent above the cell's best run) for the
    drawn runs' ``excess`` (percent, finite), and the words that say where it lies: the 95th
    percentile, or, when the 95th percentile lies beyond it, the fence ``FAR_IQR``
    interquartile ranges above the upper quartile, or the ``FLOOR_PERCENTILE``th percentile
    where that is higher."""
    q1, q3, floor, q95 = np.quantile(excess, [0.25, 0.75, FLOOR_PERCENTILE / 100, 0.95])
    fence = q3 + FAR_IQR * (q3 - q1)
    if q95 <= fence:
        return float(q95), "the 95th percentile of the runs"
    far = f";\ntheir 95th percentile, {q95:.3g}%, lies among runs far off the bowls"
    if fence < floor:
        return float(floor), f"the {FLOOR_PERCENTILE}th percentile of the runs{far}"
    return float(fence), f"{FAR_IQR:g} IQR above the runs' upper quartile{far}"


def _clip_words(vmax: float, at: str) -> str:
    """The colour bar's words for a colour scale clipped at ``vmax`` (percent), ``at`` saying
    where that lies (:func:`_default_clip`'s words, or "vmax_percent" where given)."""
    return f"\ncolours clipped at {vmax:.3g}% ({at})"


def bowls(fit, runs, *, ci: float = 0.9, vmax_percent: float | None = None):
    """The LR x batch sweep as heat maps, one per fitted (N, D) cell (rows: N, columns: D); a
    grouped fit's cells get one panel per (group, N, D), the group in the panel's title.

    Colour: each run's loss above its cell's best run, in percent. Cyan star: the cell's
    posterior median optimum (eta*, B*); cyan curve: its central ``ci`` credible region
    (a Gaussian ellipse in log lr / log batch fitted to the draws); black square: the best run.
    Diverged runs (no finite loss) are left blank, also where every run at an lr (or batch
    size) diverged. Runs of ``runs`` in no fitted cell (N, D or group none of the fit's) are
    not drawn, and the title counts them; a fitted cell with no runs in ``runs`` gets a blank
    panel (its title and "no runs in the table"), and the title counts those cells too.
    ValueError when no fitted cell has runs in ``runs``.

    ``vmax_percent``: the top of the colour scale (percent above the cell's best run); default
    the 95th percentile of the drawn runs' excess, or, when that lies more than ``FAR_IQR``
    (3) interquartile ranges above their upper quartile (among runs far off the bowls, such as
    diverging learning rates), that fence, or their 90th percentile where that is higher (one
    run per cell: most runs are their cell's best, and the fence is 0). Runs above it are drawn
    in the top colour: the colour bar then ends in an arrow (``extend="max"``) and its label
    states the clip.

    Layout: a row per (group, N) and a column per D; a design that fills less than half of
    that grid (``FILLED_SHARE``) has each row's cells packed side by side in order of D, at
    most ``PACKED_COLUMNS`` to a row (each panel's title names its N and D).
    """
    check_figure_fit(fit)
    opt = fit.law.sweep_optima(fit.posterior())
    df = runs_frame(runs)
    if df is None:
        df = training_frame(fit)
    if df is None or not {"N", "D", "lr", "batch_size", "loss"} <= set(df):
        raise ValueError("bowls() needs the runs with columns N, D, lr, batch_size and loss")
    cells = pd.DataFrame({"N": opt["N"], "D": opt["D"], "group": opt["group"]})
    grouped = len(fit.groups) > 1
    own = [_cell_rows(df, cell, grouped) for _, cell in cells.iterrows()]  # each cell's runs
    if not any(mine.any() for mine in own):
        cell = "(group, N, D)" if grouped else "(N, D)"
        raise ValueError(
            f"bowls(): runs has no run in any of the fit's {len(cells)} fitted {cell} cells; "
            "give runs at those cells (Python: runs=None or fit.training_runs() for the fit's "
            "own; command line: leave out --runs for the fit's own)"
        )
    rows, columns, n_rows, n_columns = _panel_grid(fit, cells)
    fig, axes = figure((2.6 * n_columns + 1.2, 2.3 * n_rows + 0.6), n_rows, n_columns)
    excess_all = []
    meshes = []
    in_cells = np.zeros(len(df), bool)  # the runs some fitted cell draws
    blank = []  # the panels of fitted cells without runs in the table
    drawn = {}  # (row, column) -> the panel of a heat map
    for c, cell in cells.iterrows():
        i, j = int(rows[c]), int(columns[c])
        ax = axes[i, j]
        where = f", group {cell['group']}" if grouped else ""
        title = f"N = {sci(cell['N'])}, D = {sci(cell['D'])}{where}"
        mine = own[c]
        in_cells |= mine
        if not mine.any():
            _blank_panel(ax, title)
            blank.append(ax)
            continue
        sub = df[mine]
        loss = sub["loss"].astype(float)
        best = sub.loc[loss.idxmin()] if np.isfinite(loss).any() else None
        excess = 100 * (loss / loss.min() - 1)
        excess_all.append(excess[np.isfinite(excess)].to_numpy())
        table = sub.assign(excess=excess).pivot_table(
            index="batch_size", columns="lr", values="excess", aggfunc="mean", dropna=False
        )
        lr_vals, b_vals = table.columns.to_numpy(float), table.index.to_numpy(float)
        z = np.ma.masked_invalid(table.to_numpy(float))
        meshes.append(ax.pcolormesh(_edges(lr_vals), _edges(b_vals), z, cmap="magma_r"))
        ex, ey = _region(opt["log_eta"][:, c], opt["log_B"][:, c], ci)
        ax.plot(ex, ey, color="tab:cyan", lw=1.6)
        ax.plot(
            np.exp(np.median(opt["log_eta"][:, c])),
            np.exp(np.median(opt["log_B"][:, c])),
            marker="*",
            color="tab:cyan",
            mec="k",
            ms=12,
        )
        if best is not None:
            ax.plot(best["lr"], best["batch_size"], "s", mfc="none", mec="k", ms=9, mew=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_minor_formatter(_null_formatter())
        ax.yaxis.set_minor_formatter(_null_formatter())
        drawn[i, j] = ax
    for j in {j for _, j in drawn}:  # axis labels on each column's lowest heat map
        drawn[max(i for i, k in drawn if k == j), j].set_xlabel("learning rate", fontsize=8)
    for i in {i for i, _ in drawn}:  # and on each row's leftmost
        drawn[i, min(j for k, j in drawn if k == i)].set_ylabel("batch size (tokens)", fontsize=8)
    values = np.concatenate(excess_all) if excess_all else np.array([1.0])
    given = vmax_percent is not None
    vmax, at = (vmax_percent, "vmax_percent") if given else _default_clip(values)
    top = max(vmax, 1e-3)
    for mesh in meshes:
        mesh.set_clim(0.0, top)
    clipped = bool(values.size and values.max() > top)  # some runs' colours are clipped
    for ax in axes.ravel():
        if not ax.has_data() and ax not in blank:
            ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="*", ls="", color="tab:cyan", mec="k", ms=12),
        Line2D([], [], color="tab:cyan", lw=1.6),
        Line2D([], [], marker="s", ls="", mfc="none", mec="k", ms=9, mew=1.2),
    ]
    labels = [
        "posterior median optimum (eta*, B*)",
        f"its {100 * ci:g}% credible region",
        "best run of the sweep",
    ]
    outside = int((~in_cells).sum())
    left_out = f"\n({outside} runs outside the fitted cells not drawn)" if outside else ""
    if blank:
        left_out += (
            f"\n({len(blank)} of the {len(cells)} fitted cells have no runs in the table: "
            "their panels are blank)"
        )
    fig.suptitle(
        titled(
            f"LR x batch sweeps per {'(group, N, D)' if grouped else '(N, D)'} cell: loss above "
            "the cell's best run",
            fit,
            drawn_words(fit, runs),
        )
        + left_out,
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.06, 0.92, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    cax = fig.add_axes((0.93, 0.15, 0.015, 0.7))
    label = "loss above cell's best run (%)" + (_clip_words(top, at) if clipped else "")
    fig.colorbar(meshes[0], cax=cax, label=label, extend="max" if clipped else "neither")
    return fig
