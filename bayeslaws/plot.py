"""Figures from fits (matplotlib). Every function returns the :class:`matplotlib.figure.Figure`.

* :func:`fan` -- the runs with the law's posterior median and credible bands; beyond the fitted
  range (shaded) the bands widen into a fan. One panel per quantity the law predicts (the loss of
  a loss surface; eta_opt(N) and B_opt(N) of a hyperparameter law), one curve per slice of the
  law's other input.
* :func:`bowls` -- the LR x batch sweep as heat maps, one per (N, D) cell, with each cell's
  posterior optimum and its credible region (laws that fit a sweep).
* :func:`isoflop` -- loss along isoFLOP lines with the optimum per budget and its interval.
* :func:`n_opt` -- the compute-optimal size N_opt(C) with its bands, published laws overlaid.
* :func:`design_ranking` -- expected information per FLOP for candidate runs (a DataFrame such
  as :func:`bayeslaws.design.next_runs` returns).
* :func:`pairs` -- posterior pair plot through ArviZ (``az.plot_pair``).
* :func:`design_replay` -- replayed design campaigns: decision error (and R^2, coverage) against
  the compute spent, per strategy and pool (``bayeslaws.app.replay``).

Figures of a fit to SIMULATED data (:attr:`Fit.simulated_extent`) say "(SIMULATED data)" in
their titles; a fan drawing a table beside the fit that is simulated when the fit's data are not
(or to another extent) adds "(drawn runs SIMULATED)". Figures of a grouped fit draw one fitted
group (``group=``) or, by default, a new group (wider: its offsets are drawn from the groups'
spread), and say which in their titles. matplotlib's pyplot is imported on first use, not when
``bayeslaws`` is imported.
Units: N in parameters, D in tokens, C in FLOPs, batch size in tokens; power laws are drawn on log
axes.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .design.batch import width_labels
from .inference import Fit
from .laws.contract import resolve_group
from .posterior import (
    allocation_draws,
    optimal_allocation,
    predict,
    query_frame,
    range_stated,
)
from .posterior.allocation import warn_at_edge, warn_at_kink
from .posterior.draws import check_fit, check_range, positive_array
from .posterior.extrapolation import DEFAULT_METHOD
from .posterior.extrapolation.distance import group_ranges, own_group_rows, range_words
from .runs import PlausibilityWarning, RunTable
from .runs.cells import CELL_RTOL, same_value_ids
from .runs.checks import ArgumentTypeError
from .runs.provenance import frame_extent

BAND_ALPHAS = {0.5: 0.35, 0.9: 0.18}
GROUP_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "h")
LEGEND_ROW_IN = 0.16  # inches: one legend entry at 7.5 points, with its spacing
N_LABEL = "model size N (parameters)"
D_LABEL = "training tokens D"
C_LABEL = "training compute C (FLOPs)"


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _null_formatter():
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _figure(figsize, nrows=1, ncols=1, **kw):
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **kw)
    return fig, axes


def _runs_frame(runs) -> pd.DataFrame | None:
    if runs is None:
        return None
    return runs.df if isinstance(runs, RunTable) else pd.DataFrame(runs)


def _training_frame(fit) -> pd.DataFrame | None:
    data = fit.record.training_runs
    return pd.DataFrame(data) if data else None


def _sci(x: float) -> str:
    """1.07e9 -> '1.07B', 2e10 -> '20B', 5e7 -> '50M'."""
    for unit, word in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= unit:
            return f"{x / unit:.3g}{word}"
    return f"{x:.3g}"


def _input_value(name: str, x: float) -> str:
    """A value of the law input ``name`` for a label: C in FLOPs as '6e+18 FLOPs', N
    (parameters) and D (tokens) as :func:`_sci` ('20B')."""
    return f"{x:.3g} FLOPs" if name == "C" else _sci(x)


def _ci_levels(ci) -> list[float]:
    levels = sorted({float(c) for c in np.atleast_1d(ci)}, reverse=True)
    for c in levels:
        if not 0 < c < 1:
            raise ValueError(f"ci levels must be in (0, 1), got {c}")
    return levels


def _band_alpha(c: float) -> float:
    return BAND_ALPHAS.get(round(c, 2), 0.25)


def _check_fit(fit) -> None:
    """A figure's ``fit`` checked: :func:`~bayeslaws.posterior.draws.check_fit` (a path says to
    load it with ``bl.load_fit(path)``, a run table to fit it first)."""
    check_fit(fit)


def _simulated_words(fit) -> str:
    """The words to add to the title of a figure that draws a fit's data or posterior:
    " (SIMULATED data)" when the fit's data are simulated (as its run table recorded at load,
    from the table's source column: :attr:`Fit.simulated_extent`), " (partly SIMULATED data)"
    when only some rows are, else "" (:attr:`Fit.simulated_words`)."""
    return fit.simulated_words


def _group_words(fit, group) -> str:
    """The words naming the group a figure of a grouped fit draws: " (group A)" for a fitted
    group, " (a new group)" for ``group=None`` (an unseen group: wider), "" without groups."""
    if len(fit.groups) <= 1:
        return ""
    return " (a new group)" if group is None else f" (group {group})"


def _drawn_words(fit, runs) -> str:
    """The SIMULATED words of a figure that draws the table ``runs`` (a RunTable or a frame;
    None: the fit's own runs) beside the fit: :func:`_simulated_words` of the fit, followed by
    " (drawn runs SIMULATED)" or " (drawn runs partly SIMULATED)" when the drawn table is
    simulated to another extent than the fit's data (a RunTable's extent as recorded at load,
    :attr:`~bayeslaws.runs.RunTable.simulated`; a frame's by its own source column,
    :func:`bayeslaws.runs.provenance.frame_extent`; never by a file name). A table not labelled
    simulated adds nothing: that does not make its runs real."""
    words = _simulated_words(fit)
    if runs is None:
        return words
    drawn = runs.simulated if isinstance(runs, RunTable) else frame_extent(_runs_frame(runs))
    fitted = fit.simulated_extent
    if drawn == "none" or drawn == fitted:
        return words
    return words + f" (drawn runs {'SIMULATED' if drawn == 'all' else 'partly SIMULATED'})"


def _titled(title: str, fit, words: str | None = None) -> str:
    """``title`` with ``words`` (default: :func:`_simulated_words` of the fit) appended, unless
    it already says SIMULATED."""
    words = _simulated_words(fit) if words is None else words
    return title if "SIMULATED" in title else title + words


def _group_titled(title: str, fit, group, words: str | None = None) -> str:
    """:func:`_titled` of ``title`` with :func:`_group_words` appended (unless it holds them):
    the title of a figure of one group's (or a new group's) law."""
    group_words = _group_words(fit, group)
    return _titled(title if group_words in title else title + group_words, fit, words)


def _simulated_label(simulated) -> str:
    """The words a figure's title adds for ``simulated``: a fit's :func:`_simulated_words`,
    " (SIMULATED data)" for True, "" for False or None."""
    if isinstance(simulated, Fit):
        return _simulated_words(simulated)
    return " (SIMULATED data)" if simulated else ""


@dataclass(frozen=True)
class FanPoints:
    """What :func:`fan` draws of a run table. ``kept``: the rows it draws from (a fitted
    group's own rows; for a new group, the rows of the fit's groups; all rows of a fit without
    groups). ``left_out``: the other rows' group labels (str, in table order). ``sets``: per
    marker style, its legend words and its points, the law's quantities as observed in
    ``kept`` (:meth:`~bayeslaws.laws.contract.Law.empirical`: for a law of the hyperparameter
    optima, each (N, D) cell's best run): one set per fitted group for a new group
    (``group=None``) of a grouped fit, else one."""

    kept: pd.DataFrame
    left_out: pd.Series
    sets: list[tuple[str, pd.DataFrame]]


def fan_points(fit, runs: pd.DataFrame, group=None) -> FanPoints:
    """The points :func:`fan` draws of the run table ``runs`` (a frame) for ``group`` (one of
    ``fit.groups``, or None: a new group), as :class:`FanPoints`; ``bayeslaws report`` counts
    them from here."""
    resolve_group(fit.groups, group)
    grouped = len(fit.groups) > 1 and "group" in runs
    labels = runs["group"].astype(str) if grouped else pd.Series("", index=runs.index)
    if not grouped:
        keep = np.ones(len(runs), bool)
    elif group is not None:
        keep = (labels == str(group)).to_numpy()
    else:
        keep = labels.isin([str(g) for g in fit.groups]).to_numpy()
    kept = runs[keep]
    seen = fit.law.empirical(kept)
    if grouped and group is None and "group" in seen:
        seen_labels = seen["group"].astype(str)
        sets = [(f"runs of group {g}", seen[seen_labels == str(g)]) for g in fit.groups]
    else:
        sets = [("runs" if group is None else f"runs of group {group}", seen)]
    return FanPoints(kept=kept, left_out=labels[~keep], sets=sets)


def _outside_range(fit, name: str, value: float, group=None) -> bool:
    """Whether ``value`` of input ``name`` lies outside the fit's range of it (relative
    tolerance ``CELL_RTOL``): a fitted group's own runs' range, else the pooled range
    (:func:`~.posterior.extrapolation.distance.group_ranges`, as ``predict`` measures it);
    False when the fit records no range of ``name``."""
    lo, hi = group_ranges(fit, group).get(name, (-np.inf, np.inf))
    return bool(value < lo * (1 - CELL_RTOL) or value > hi * (1 + CELL_RTOL))


def _range_label(fit, group, name: str) -> str:
    """The words naming the fitted range of input ``name`` (N, D or C) that a figure shades:
    "fitted range of N" (pooled: a fit without groups, or a new group) or "group '7''s fitted
    range of N" (a fitted group's own runs,
    :func:`~.posterior.extrapolation.distance.range_words`)."""
    if own_group_rows(fit, group) is None:
        return f"fitted range of {name}"
    return f"{range_words(fit, group)} of {name}"


def _outside_words(fit, group, name: str) -> str:
    """The legend words of a slice of input ``name`` outside the fitted range:
    " (outside fitted D range)", or " (outside group '7''s fitted range of D)" for a fitted
    group (measured from its own runs)."""
    if own_group_rows(fit, group) is None:
        return f" (outside fitted {name} range)"
    return f" (outside {_range_label(fit, group, name)})"


def _mark_range(ax, low, high, label="fitted range", axis="x"):
    span = ax.axvspan if axis == "x" else ax.axhspan
    span(low, high, color="0.85", alpha=0.5, zorder=0, lw=0, label=label)


# ---- fan: the law with its bands, into extrapolation ---------------------------------------------
KIND_WORDS = {"mean": "the law's own uncertainty", "new_run": "what one new run would show"}
OTHER_LABELS = {"D": "training tokens D", "C": "compute C (FLOPs)"}


def default_slices(values, targets=(), max_slices: int = 6, n_quantiles: int = 4) -> np.ndarray:
    """Values of the sliced input taken from the data: every distinct value when there are at
    most ``max_slices``, else ``n_quantiles`` of the observed values at evenly spaced quantiles
    (real values, not a grid); plus each target's value not already within 2% of a slice."""
    values = np.asarray(values, float)
    unique = np.unique(values)
    if len(unique) <= max_slices:
        chosen = list(unique)
    else:
        qs = np.linspace(0, 1, n_quantiles)
        chosen = list(np.unique(np.quantile(values, qs, method="nearest")))
    for t in targets:
        if not np.any(np.isclose(chosen, t, rtol=0.02)):
            chosen.append(float(t))
    return np.sort(np.asarray(chosen, float))


def fan(
    fit,
    runs=None,
    *,
    slices=None,
    extend_decades: float = 1.0,
    ci=(0.5, 0.9),
    kind: str = "mean",
    targets=None,
    target_kind: str = "new_run",
    n_points: int = 60,
    seed: int = 0,
    title: str | None = None,
    relative_panel: bool = True,
    group=None,
):
    """The fitted law with its posterior median and credible bands against N, extended beyond
    the fitted range of N (shaded) by ``extend_decades`` so the extrapolation shows as a
    widening fan: one column per quantity the law predicts (the loss for a loss surface; eta_opt
    and B_opt for a hyperparameter law), one curve per value of the law's other input (``slices``
    of D, or of C for an isoFLOP law; default :func:`default_slices` of the observed values,
    with each target's value added so that a curve passes through every target). Points: the
    quantities as observed in ``runs`` (default: the fit's training runs; for a hyperparameter
    law each cell's best run), coloured by their value of the sliced input on the same colour
    scale as the curves (colour bar); a run without a finite value of a panel's quantity (e.g. a
    diverged run's NaN loss) is not drawn there, and the legend entry of the runs counts them
    ("3 without a finite loss, not drawn"). A slice outside the fitted range of the other input
    is dashed and its legend entry says so. Each panel's legend is drawn above it, off the
    curves and the targets (the figure is taller by its entries).

    ``relative_panel``: a second row with the bands relative to the median (%), where narrow
    bands stay visible. ``kind``: "mean" (the law's own uncertainty) or "new_run" (what one new
    run would show, including the model discrepancy). ``targets``: (N, other input) pairs to mark
    with their interval of kind ``target_kind`` at the widest ``ci`` level (90% by default), e.g.
    ``[(1.07e9, 1e10)]``. ``title``: default from the law's form; the figure states the band
    levels under it. ``group``: a grouped fit's fitted group to draw (its runs only); None: a
    new group, with every group's runs (one marker per group). For a fitted group the fitted
    ranges shaded, extended and dashed against are its own runs' (as ``predict`` measures its
    extrapolation, :func:`~bayeslaws.posterior.extrapolation.distance.group_ranges`), and the
    legend names the group; for a new group or a fit without groups, the pooled range.
    """
    _check_fit(fit)
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    law = fit.law
    levels = _ci_levels(ci)
    widest = max(levels)
    df = _runs_frame(runs)
    if df is None:
        df = _training_frame(fit)
    resolve_group(fit.groups, group)
    run_points = fan_points(fit, df, group) if df is not None else None
    other = next(c for c in law.inputs if c != "N")
    seen = pd.concat([p for _, p in run_points.sets]) if run_points is not None else None
    ranges = group_ranges(fit, group)  # a fitted group's own runs' range; else the pooled one
    n_lo, n_hi = ranges["N"]
    values = np.asarray(seen[other] if seen is not None else ranges[other], float)
    if slices is None:
        slices = default_slices(values, [v for _, v in targets or []])
    slices = np.atleast_1d(np.asarray(slices, float))
    grid = np.geomspace(n_lo / 10 ** (0.25 * extend_decades), n_hi * 10**extend_decades, n_points)
    with warnings.catch_warnings():  # each slice is predicted once per band: check once, below
        warnings.simplefilter("ignore", PlausibilityWarning)
        curves = {d: {c: predict(fit, N=grid, ci=c, kind=kind, seed=seed, group=group,
                                 _new_group_noted=True, **{other: d}) for c in levels}
                  for d in slices}
        marked = [(N, value, predict(fit, N=N, ci=widest, kind=target_kind, seed=seed,
                                     group=group, _new_group_noted=True, **{other: value}).iloc[0])
                  for N, value in targets or []]
        points = [(n, d) for d in slices for n in grid] + [(n, v) for n, v, _ in marked]
        shown = query_frame(fit, N=[n for n, _ in points], **{other: [v for _, v in points]})
    # far values, once each; located at the user's line however deep the call
    check_range(fit, shown, positions=False, group=group)
    quantities = [q for q in law.quantities if _finite(curves, q, law.primary)]
    rows = 2 if relative_panel else 1
    # each panel's legend, above it: the range, the slices, the targets, the run markers
    entries = 1 + len(slices) + len(marked) + (len(run_points.sets) if run_points else 0)
    fig, axes = _figure(
        (5.6 * len(quantities) + 1.6, (5.2 if rows == 1 else 7.4) + LEGEND_ROW_IN * entries),
        rows, len(quantities),
        sharex="col", gridspec_kw={"height_ratios": [3, 1.4][:rows]}, layout="constrained",
    )
    plt = _pyplot()
    cmap = plt.cm.viridis
    lo_all = min(values.min(), slices.min())
    hi_all = max(values.max(), slices.max())
    if hi_all <= lo_all:
        lo_all, hi_all = lo_all / 1.5, hi_all * 1.5
    norm = LogNorm(lo_all / 1.3, hi_all * 1.3)
    for j, q in enumerate(quantities):
        ax = axes[0, j]
        col = "" if q == law.primary else f"{q}_"
        _mark_range(ax, n_lo, n_hi, _range_label(fit, group, "N"))
        for d in slices:
            colour = cmap(norm(d))
            outside = _outside_range(fit, other, d, group)
            ls = "--" if outside else "-"
            for c, p in curves[d].items():
                ax.fill_between(grid, p[f"{col}lower"], p[f"{col}upper"], color=colour,
                                alpha=_band_alpha(c), lw=0)
            p = curves[d][widest]
            where = _outside_words(fit, group, other) if outside else ""
            ax.plot(grid, p[f"{col}median"], color=colour, lw=1.8, ls=ls,
                    label=f"{other} = {_input_value(other, d)}: median and bands{where}")
            if relative_panel:
                rel = axes[1, j]
                med = p[f"{col}median"].to_numpy(float)
                rel.fill_between(grid, 100 * (p[f"{col}lower"] / med - 1),
                                 100 * (p[f"{col}upper"] / med - 1), color=colour, alpha=0.25,
                                 lw=0)
                rel.plot(grid, 100 * (p[f"{col}upper"] / med - 1), color=colour, lw=1, ls=ls)
                rel.plot(grid, 100 * (p[f"{col}lower"] / med - 1), color=colour, lw=1, ls=ls)
        run_sets = run_points.sets if run_points is not None else []
        for (_, shown_runs), marker in zip(run_sets, GROUP_MARKERS * 10, strict=False):
            drawn = shown_runs[_finite_rows(shown_runs, q)]
            ax.scatter(drawn["N"], drawn[q], c=drawn[other], cmap=cmap, norm=norm,
                       s=24, marker=marker, ec="k", lw=0.4, zorder=3)
        for N, value, t in marked:
            m, lo, hi = t[f"{col}median"], t[f"{col}lower"], t[f"{col}upper"]
            ax.errorbar(N, m, yerr=[[m - lo], [hi - m]], fmt="D", color="crimson", ms=7,
                        mec="k", capsize=5, zorder=4,
                        label=f"target N {_sci(N)}, {other} {_input_value(other, value)} "
                        f"({100 * widest:g}%, {target_kind})")
        ax.set_xscale("log")
        if q != "loss":
            ax.set_yscale("log")
        ax.set_ylabel(QUANTITY_LABELS.get(q, q))
        ax.grid(True, which="both", alpha=0.2)
        handles, labels = ax.get_legend_handles_labels()
        for (words, shown_runs), marker in zip(run_sets, GROUP_MARKERS * 10, strict=False):
            handles.append(Line2D([], [], marker=marker, ls="", mfc="0.6", mec="k"))
            missing = int((~_finite_rows(shown_runs, q)).sum())
            undrawn = f"; {missing} without a finite {q}, not drawn" if missing else ""
            labels.append(f"{words} (colour = {other}{undrawn})")
        # above the panel, outside it: inside ("best"), it covered curves and the target;
        # constrained layout makes room for it, the figure is taller by as much (above)
        ax.legend(handles, labels, fontsize=7.5, loc="lower left", bbox_to_anchor=(0, 1.01),
                  borderaxespad=0, frameon=False)
        bottom = axes[rows - 1, j]
        bottom.set_xlabel(N_LABEL)
        if relative_panel:
            rel = axes[1, j]
            _mark_range(rel, n_lo, n_hi, "")
            rel.axhline(0, color="k", lw=0.6)
            rel.set_xscale("log")
            rel.set_ylabel(f"{100 * widest:g}% band vs median (%)", fontsize=8)
            rel.grid(True, which="both", alpha=0.2)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=list(axes[:, -1]) if rows > 1 else axes[0, -1],
                 label=OTHER_LABELS.get(other, other), fraction=0.04, pad=0.02)
    bands = " and ".join(f"{100 * c:g}%" for c in sorted(levels))
    if title is None:
        title = f"{law.description}: posterior median with {bands} credible bands"
    title = _group_titled(title, fit, group, _drawn_words(fit, runs))
    fig.suptitle(f"{title}\nbands: {bands}, {KIND_WORDS.get(kind, kind)}", fontsize=11)
    return fig


QUANTITY_LABELS = {
    "loss": "loss",
    "eta_opt": "optimal learning rate eta_opt",
    "B_opt": "optimal batch size B_opt (tokens)",
    "loss_opt": "loss at the optimal hyperparameters",
}


def _finite_rows(runs: pd.DataFrame, q: str) -> np.ndarray:
    """Which rows of ``runs`` a fan can draw in the panel of quantity ``q``: a finite N
    (params) and a finite ``q`` (e.g. a run that diverged has no finite loss); (len(runs),)
    bool. The legend counts the others, so that none is left out unsaid."""
    values = runs[["N", q]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return np.isfinite(values).all(axis=1)


def _finite(curves: dict, q: str, primary) -> bool:
    col = "median" if q == primary else f"{q}_median"
    return any(
        np.isfinite(p[col]).any() for per_level in curves.values() for p in per_level.values()
    )


# ---- hyperparameter bowls ------------------------------------------------------------------------
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


def _panel_grid(fit, cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Each fitted cell's (row, column) in the bowls' grid: a row per (group, N), a column per
    D, with N (params) and D (tokens) matched as the package's cells (``CELL_RTOL``); returns
    rows, columns and the grid's shape."""
    labels = [str(g) for g in fit.groups]
    g = [labels.index(str(x)) if len(labels) > 1 else 0 for x in cells["group"]]
    n, d = same_value_ids(cells["N"]), same_value_ids(cells["D"])
    keys = sorted(set(zip(g, n.tolist(), strict=True)))
    rows = np.array([keys.index(k) for k in zip(g, n.tolist(), strict=True)], int)
    return rows, d, len(keys), int(d.max()) + 1


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


def _clip_words(vmax: float, given: bool) -> str:
    """The colour bar's words for a colour scale clipped at ``vmax`` (percent): the bowls'
    default clips at the 95th percentile of the runs' excess loss, ``vmax_percent`` where
    given."""
    at = "vmax_percent" if given else "the 95th percentile of the runs"
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
    the 95th percentile of the drawn runs' excess. Runs above it are drawn in the top colour:
    the colour bar then ends in an arrow (``extend="max"``) and its label states the clip.
    """
    _check_fit(fit)
    opt = fit.law.sweep_optima(fit.posterior())
    df = _runs_frame(runs)
    if df is None:
        df = _training_frame(fit)
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
    fig, axes = _figure((2.6 * n_columns + 1.2, 2.3 * n_rows + 0.6), n_rows, n_columns)
    excess_all = []
    meshes = []
    in_cells = np.zeros(len(df), bool)  # the runs some fitted cell draws
    blank = []  # the panels of fitted cells without runs in the table
    drawn = {}  # (row, column) -> the panel of a heat map
    for c, cell in cells.iterrows():
        i, j = int(rows[c]), int(columns[c])
        ax = axes[i, j]
        where = f", group {cell['group']}" if grouped else ""
        title = f"N = {_sci(cell['N'])}, D = {_sci(cell['D'])}{where}"
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
    vmax = vmax_percent if vmax_percent is not None else float(np.quantile(values, 0.95))
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
        _titled(
            f"LR x batch sweeps per {'(group, N, D)' if grouped else '(N, D)'} cell: loss above "
            "the cell's best run",
            fit,
            _drawn_words(fit, runs),
        )
        + left_out,
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.06, 0.92, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    cax = fig.add_axes((0.93, 0.15, 0.015, 0.7))
    label = "loss above cell's best run (%)" + (
        _clip_words(top, vmax_percent is not None) if clipped else ""
    )
    fig.colorbar(meshes[0], cax=cax, label=label, extend="max" if clipped else "neither")
    return fig


# ---- isoFLOP curves and N_opt(C) ---------------------------------------------------------------
def isoflop(
    fit,
    C,
    *,
    ci: float = 0.9,
    span_decades: float = 1.0,
    n_points: int = 50,
    seed: int = 0,
    group=None,
):
    """Loss along the isoFLOP line of each budget C (FLOPs) against N: the posterior median loss
    and its central ``ci`` band, with each budget's compute-optimal size N_opt (posterior median,
    ``ci`` interval as the horizontal bar) marked ON the median curve: the marker's loss is the
    curve's, the posterior median loss at the median N_opt. (The median of each draw's own
    optimal loss, ``optimal_allocation``'s L_opt, lies below the curve where the draws' optima
    sit at different N, as for a new group of a grouped fit, whose every draw has its own
    offsets.) The N axis spans ``span_decades`` either side of the median N_opt.
    A budget outside the fitted range of C (as :func:`n_opt` shades it: a fitted group's own
    runs', else the pooled range, :func:`~.posterior.extrapolation.distance.group_ranges`) is
    drawn dashed with a fainter band, and its legend entry says "(outside fitted C range)".
    A budget far outside the fitted range (likely in other units) warns once
    (:class:`~bayeslaws.runs.PlausibilityWarning`), naming its positions in ``C`` as given;
    the figure's own grid of sizes and tokens is not checked.
    ``group``: a grouped fit's fitted group; None: a new group."""
    _check_fit(fit)
    given = positive_array("C", C)  # the caller's budgets (FLOPs), in the caller's order
    budgets = np.sort(given)
    # the curves' sizes and tokens are the figure's own grid: the budgets are checked once,
    # below, as given (each internal call named grid values and sorted positions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        with range_stated():  # a figure of curves; the budgets' distances are the caller's
            alloc = optimal_allocation(
                fit, C=budgets, ci=ci, seed=seed, group=group, _new_group_noted=True
            )
        drawn = []
        for _, a in alloc.iterrows():
            grid, at = _grid_through(a["N_opt"], span_decades, n_points)
            p = predict(fit, N=grid, C=a["C"], ci=ci, kind="mean", seed=seed, group=group,
                        _new_group_noted=True)  # fmt: skip
            drawn.append((a, grid, at, p))
    check_range(fit, pd.DataFrame({"C": given}), group=group)  # positions: the caller's list
    fig, axes = _figure((7.5, 5))
    ax = axes[0, 0]
    plt = _pyplot()
    colours = plt.cm.plasma(np.linspace(0.05, 0.8, len(budgets)))
    for (a, grid, at, p), colour in zip(drawn, colours, strict=True):
        outside = _outside_range(fit, "C", a["C"], group)
        where = _outside_words(fit, group, "C") if outside else ""
        ax.fill_between(
            grid, p["lower"], p["upper"], color=colour, alpha=0.12 if outside else 0.2, lw=0
        )
        ax.plot(
            grid, p["median"], color=colour, lw=1.6, ls="--" if outside else "-",
            label=f"C = {a['C']:.1e} FLOPs{where}",
        )
        ax.errorbar(
            a["N_opt"],
            p["median"].iloc[at],
            xerr=[[a["N_opt"] - a["N_opt_lower"]], [a["N_opt_upper"] - a["N_opt"]]],
            fmt="o",
            color=colour,
            mec="k",
            capsize=4,
        )
    ax.plot([], [], "o", color="0.4", mec="k",
            label=f"N_opt (median, {100 * ci:g}% interval) on the median curve")
    ax.set_xscale("log")
    ax.set_xlabel(N_LABEL + "  [D = C / flops per token]")
    ax.set_ylabel("loss")
    title = _group_titled(
        f"Loss along isoFLOP lines ({fit.law.description}): median and {100 * ci:g}% band",
        fit,
        group,
    )
    ax.set_title("\n".join(textwrap.wrap(title, 80)), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


def _grid_through(N_opt: float, span_decades: float, n_points: int) -> tuple[np.ndarray, int]:
    """``n_points`` sizes (params) log-spaced ``span_decades`` either side of ``N_opt``, with
    ``N_opt`` itself added, sorted; and the position of ``N_opt`` in them (a marker there lies
    on the drawn curve)."""
    grid = np.geomspace(N_opt / 10**span_decades, N_opt * 10**span_decades, n_points)
    grid = np.sort(np.append(grid, N_opt))
    return grid, int(np.flatnonzero(grid == N_opt)[0])


def n_opt(
    fit,
    C_range=None,
    *,
    ci=(0.5, 0.9),
    paper_laws: dict | None = None,
    budgets=None,
    n_points: int = 30,
    seed: int = 0,
    group=None,
):
    """Compute-optimal model size N_opt(C) with its credible bands (log-log), the fitted range
    of C shaded, and published laws overlaid: ``paper_laws={"label": (k, a)}`` for
    N_opt = k C^a (N params, C FLOPs). ``budgets``: budgets to mark with their interval
    (:func:`~bayeslaws.posterior.optimal_allocation`, the widest ``ci``).

    The curve and bands are the posterior of N_opt(C) on ``n_points`` log-spaced budgets. For
    a law whose budgets scatter about its power law (isoflop: a fitted budget has its own
    fitted vertex, any other budget the law plus fresh budget scatter) they are the fitted law
    N_opt = k C^a alone (the allocation's ``N_opt_trend``), and the fitted budgets' own vertices
    in the range are marked with their intervals; so are the ``budgets`` marked, each at its
    own allocation (a fitted budget's vertex, or the law plus budget scatter). For every other
    law the curve is the allocation's N_opt.

    ``C_range``: (low, high) in FLOPs; default the fitted range extended two decades upward,
    and far enough to hold every budget in ``budgets``. Each end of ``C_range`` far outside
    the fitted range (likely in other units) warns
    (:class:`~bayeslaws.runs.PlausibilityWarning`) naming its own value, and so, once, do far
    ``budgets``, by their positions in ``budgets``. ``group``: a grouped fit's fitted group;
    None: a new group. For a fitted group the fitted range of C (shaded, and extended by the
    default ``C_range``) is its own runs' (as ``optimal_allocation`` measures its extrapolation,
    :func:`~bayeslaws.posterior.extrapolation.distance.group_ranges`), and the legend names the
    group; for a new group or a fit without groups, the pooled range."""
    _check_fit(fit)
    levels = _ci_levels(ci)
    if paper_laws is not None and not (
        isinstance(paper_laws, dict)
        and all(np.shape(v) == (2,) for v in paper_laws.values())
    ):
        raise ArgumentTypeError(
            "paper_laws must be a dict label -> (k, a) for N_opt = k C^a, e.g. "
            f"bl.runs.published.yin_n_opt_laws(); got {paper_laws!r}"
        )
    marked = positive_array("budgets", budgets)  # FLOPs, the caller's order; None: none
    fitted = group_ranges(fit, group).get("C")  # a fitted group's own runs' range of C
    if C_range is None:
        if fitted is None:
            raise ValueError("C_range is required for this fit (it records no range of C)")
        held = marked if marked is not None else np.array([])
        C_range = (
            float(np.min(np.append(held, fitted[0]))),
            float(np.max(np.append(held, fitted[1] * 100))),
        )
    low, high = _c_range(C_range)
    # the range's ends in other units? (an end that is a budget marked is checked with the
    # budgets; the grid between the ends is the figure's own, unchecked)
    ends = [end for end in (low, high) if marked is None or end not in marked]
    if ends:
        check_range(fit, pd.DataFrame({"C": ends}), positions=False, group=group, cautions=False)
    if marked is not None:  # once, positions in the caller's list (not again when marked)
        check_range(fit, pd.DataFrame({"C": marked}), group=group)
    grid = np.geomspace(low, high, n_points)
    curve, trend = _n_opt_curve_draws(fit, grid, seed, group)
    fig, axes = _figure((7.5, 5))
    ax = axes[0, 0]
    if fitted is not None:
        _mark_range(ax, fitted[0], fitted[1], _range_label(fit, group, "C"))
    of = " of the fitted law N_opt = k C^a" if trend else ""
    for c in levels:
        lo, hi = np.quantile(curve, [(1 - c) / 2, (1 + c) / 2], axis=0)
        ax.fill_between(
            grid, lo, hi, color="tab:blue", alpha=_band_alpha(c), lw=0,
            label=f"{100 * c:g}% band{of}",
        )
    median = np.median(curve, axis=0)
    label = f"posterior median{of}" if trend else "posterior median N_opt"
    ax.plot(grid, median, color="tab:blue", lw=2, label=label)
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for (label, (k, e)), ls in zip((paper_laws or {}).items(), styles * 3, strict=False):
        ax.plot(grid, k * grid**e, color="k", ls=ls, lw=1.2, label=f"{label}: {k:g} C^{e:g}")
    widest = max(levels)
    if trend:
        own = _fitted_budgets(fit, low, high)
        if own.size:
            _mark_allocation(
                ax, fit, own, widest, seed, group, color="tab:blue", fmt="s", mfc="white",
                label=f"fitted budgets' own vertices ({100 * widest:g}%)",
            )
    if budgets is not None:
        _mark_allocation(
            ax, fit, marked, widest, seed, group, color="crimson", fmt="o",
            label=f"budgets ({100 * widest:g}%)",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(C_LABEL)
    ax.set_ylabel("compute-optimal size N_opt (parameters)")
    title = _group_titled(
        f"Compute-optimal model size N_opt(C) ({fit.law.description})", fit, group
    )
    ax.set_title("\n".join(textwrap.wrap(title, 80)), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


def _c_range(C_range) -> tuple[float, float]:
    """``C_range`` as (low, high) budgets in FLOPs with 0 < low < high; else a ValueError
    naming C_range."""
    try:
        values = np.asarray(C_range, float).ravel()
    except (TypeError, ValueError):
        values = np.array([])
    if values.size != 2 or not np.isfinite(values).all() or not 0 < values[0] < values[1]:
        raise ValueError(
            "C_range must be a (low, high) pair of budgets in FLOPs with 0 < low < high, e.g. "
            f"(1e18, 1e24); got {C_range!r}"
        )
    return float(values[0]), float(values[1])


def _n_opt_curve_draws(fit, C, seed: int, group) -> tuple[np.ndarray, bool]:
    """Draws (S, Q) of the N_opt(C) curve (params) at budgets C (FLOPs, (Q,)), from one call
    of :func:`~bayeslaws.posterior.allocation_draws`, and whether they are the law's trend
    (``N_opt_trend``: the fitted power law without budget scatter, given by a law whose
    budgets scatter about it) rather than its allocation ``N_opt``. Warns as
    ``optimal_allocation`` does when draws sit at the search range's edge or a drift's kink."""
    with warnings.catch_warnings():  # the grid is the figure's own: n_opt checked its ends
        warnings.simplefilter("ignore", PlausibilityWarning)
        draws = allocation_draws(fit, C, group=group, seed=seed)
    warn_at_edge(C, draws, DEFAULT_METHOD, "plot.n_opt")
    warn_at_kink(
        fit, C, draws["N_opt"], None, DEFAULT_METHOD, "plot.n_opt", group=group
    )
    trend = "N_opt_trend" in draws
    return np.asarray(draws["N_opt_trend" if trend else "N_opt"], float), trend


def _fitted_budgets(fit, low: float, high: float) -> np.ndarray:
    """The fit's distinct training budgets C (FLOPs; runs within ``CELL_RTOL`` are one budget,
    their median) within [low, high]; empty when the record holds no runs with a C column."""
    df = _training_frame(fit)
    if df is None or "C" not in df:
        return np.array([])
    C = df["C"].to_numpy(float)
    ids = same_value_ids(C)
    own = np.array([np.median(C[ids == i]) for i in np.unique(ids)])
    inside = (own >= low * (1 - CELL_RTOL)) & (own <= high * (1 + CELL_RTOL))
    return np.sort(own[inside])


def _mark_allocation(ax, fit, C, ci: float, seed: int, group, **style) -> None:
    """Each budget C's (FLOPs) median N_opt with its central ``ci`` interval as an error bar
    (:func:`~bayeslaws.posterior.optimal_allocation`). No range check: :func:`n_opt` checked
    the caller's budgets once, and the fitted budgets lie in the range."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        with range_stated():  # the figure shows the bands along C
            b = optimal_allocation(
                fit, C=C, ci=ci, seed=seed, group=group, _new_group_noted=True
            )
    ax.errorbar(
        b["C"],
        b["N_opt"],
        yerr=[b["N_opt"] - b["N_opt_lower"], b["N_opt_upper"] - b["N_opt"]],
        capsize=4,
        zorder=4,
        **style,
    )


# ---- design ranking ----------------------------------------------------------------------------
SCORE_COLUMNS = (
    "info_per_flop",
    "information_per_flop",
    "info_per_cost",
    "information_per_cost",
    "eig_per_flop",
    "eig_per_cost",
)
INFO_COLUMNS = ("info", "information", "expected_information", "eig", "info_nats")


def _candidate_label(row) -> str:
    parts = []
    if "C" in row and pd.notna(row["C"]):
        parts.append(f"C={float(row['C']):.1e}:")
    for col in ("N", "D"):
        if col in row and pd.notna(row[col]):
            parts.append(f"{col}={_sci(float(row[col]))}")
    n_runs = int(row["n_runs"]) if "n_runs" in row and pd.notna(row["n_runs"]) else 1
    if n_runs > 1:
        parts.append(f"(sweep of {n_runs} runs)")
    else:
        if "lr" in row and pd.notna(row["lr"]):
            parts.append(f"lr={float(row['lr']):.2g}")
        if "batch_size" in row and pd.notna(row["batch_size"]):
            parts.append(f"B={_sci(float(row['batch_size']))}")
    return " ".join(parts) or str(row.name)


def design_ranking(
    plan: pd.DataFrame,
    *,
    score: str | None = None,
    top: int = 15,
    picks=None,
    simulated=None,
):
    """Horizontal bars of the expected information per FLOP (or ``score``, labelled by what it
    holds: nats for an information column such as "info", nats per unit cost) of the ``top``
    candidates, best at the top, each scored ALONE (as if it were the only new run); labels
    from N, D (and lr, batch size when present). Takes a ranked DataFrame of candidate runs such
    as ``bayeslaws.design.rank_candidates`` returns. Scores far from 1 (nats per FLOP are
    ~1e-22) are drawn in units of a power of ten that the axis label states ("in units of
    1e-22 nats / FLOP"), with no offset text at the axis' end.

    ``picks``: the greedy batch to mark on the bars (its picks are chosen together, each given
    the earlier ones, so their order differs from this ranking): the name of a column of
    ``plan`` holding each candidate's batch position (0 = not picked), or the batch DataFrame
    of ``bayeslaws.design.next_runs`` (matched by ``unit``).

    ``simulated``: the fit the candidates were ranked by (its title then says "(SIMULATED
    data)" when the fit's data are simulated, as every figure of a fit does), or True / False;
    None (default): the words the table carries from its fit, ``plan.attrs["simulated_words"]``
    (set by ``rank_candidates`` and ``next_runs``; none when the table has no such attribute)."""
    from matplotlib.patches import Patch

    if not isinstance(plan, pd.DataFrame) or plan.empty:
        raise ValueError("design_ranking() needs a non-empty DataFrame of candidate runs")
    if score is None:
        score = next((c for c in SCORE_COLUMNS if c in plan), None)
        if score is None:
            raise ValueError(
                f"no information-per-cost column found; pass score= (columns: {list(plan)})"
            )
    elif score not in plan:
        raise ValueError(f"column {score!r} not in the candidate table (columns: {list(plan)})")
    position = _pick_positions(plan, picks)
    ranked = plan.assign(_pick=position).sort_values(score, ascending=False).head(top)
    power = _scale_power(ranked[score].max())
    bars = ranked[score].astype(float) / 10.0**power  # in units of 1e{power} of the score
    fig, axes = _figure((8.5, 0.38 * len(ranked) + 1.9))
    ax = axes[0, 0]
    y = np.arange(len(ranked))[::-1]
    colours = ["tab:orange" if p else "tab:green" for p in ranked["_pick"]]
    ax.barh(y, bars, color=colours)
    ax.set_yticks(y, [_candidate_label(r) for _, r in ranked.iterrows()], fontsize=8)
    info = next((c for c in INFO_COLUMNS if c in ranked), None)
    labels = []
    for yi, bar, (_, r) in zip(y, bars, ranked.iterrows(), strict=True):
        text = f"  {r[info]:.3g} nats" if info is not None else "  "
        if r["_pick"]:
            text += f"  <- batch pick #{int(r['_pick'])}"
        labels.append(ax.text(bar, yi, text, va="center", fontsize=7))
    ax.set_xlim(0, bars.max() * 1.45)
    targets = width_labels(ranked)
    about = ", ".join(targets) if targets else "all parameters"
    label, per = _score_words(score, power)
    ax.set_xlabel(label)
    ax.xaxis.set_major_formatter(_plain_formatter())  # the scale is in the label, not an offset
    title = f"Candidate runs ranked alone: expected information about {about}{per}"
    words = _table_words(plan) if simulated is None else _simulated_label(simulated)
    ax.set_title("\n".join(textwrap.wrap(title + words, 90)), fontsize=10)
    handles = [Patch(color="tab:green", label="candidate (scored alone)")]
    if position.any():
        handles.append(
            Patch(color="tab:orange", label="picked for the batch (#: order, chosen together)")
        )
    ax.legend(handles=handles, fontsize=7.5, loc="lower right")
    ax.grid(True, axis="x", which="both", alpha=0.2)
    fig.tight_layout()
    _fit_bar_labels(ax, labels, bars.to_numpy(float))  # after the layout: the axes' final width
    box = ax.get_position()  # long candidate labels push the axes right: centre on the figure
    ax.title.set_x((0.5 - box.x0) / box.width)
    return fig


def _fit_bar_labels(ax, texts, ends, margin: float = 0.02) -> None:
    """Widen the x axis of horizontal bars (from 0) so that each bar's label, drawn
    left-aligned at its bar's end (``ends``, data units), ends inside the axes, ``margin`` (a
    fraction of the axes' width) before its right edge: with a fixed limit the top pick's
    "<- batch pick #1" reached or ran past the edge. A label's width in pixels does not change
    with the limits: the limit x_max that ends a label of width w at W - m (pixels; W the axes'
    width, m the margin) solves end * W / x_max + w = W - m."""
    width = ax.get_window_extent().width
    room = width * (1 - margin)
    needed = [
        end * width / (room - text.get_window_extent().width)
        for text, end in zip(texts, ends, strict=True)
        if text.get_window_extent().width < room
    ]
    if needed and max(needed) > ax.get_xlim()[1]:
        ax.set_xlim(0, max(needed))


def _table_words(plan: pd.DataFrame) -> str:
    """The SIMULATED words a design table carries from the fit it was ranked by
    (``plan.attrs["simulated_words"]``, :attr:`~bayeslaws.inference.Fit.simulated_words`, set by
    ``rank_candidates`` and ``next_runs``): " (SIMULATED data)", " (partly SIMULATED data)",
    or "" (also for a table without the attribute)."""
    words = plan.attrs.get("simulated_words", "")
    return words if isinstance(words, str) else ""


def _scale_power(top: float) -> int:
    """The power of ten p that a ranking's axis shows its scores in units of (score / 10^p):
    floor(log10(top)) for a largest score ``top`` outside [1e-2, 1e4) (nats per FLOP are
    ~1e-22: the axis then reads 1 to 10 and needs no offset text), else 0."""
    if not np.isfinite(top) or top <= 0 or 1e-2 <= top < 1e4:
        return 0
    return int(np.floor(np.log10(top)))


def _plain_formatter():
    """A tick formatter of plain numbers: no offset or multiplier text (such as "1e-22") at the
    axis' end, where it ran over the axis label."""
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    return formatter


def _score_words(score: str, power: int = 0) -> tuple[str, str]:
    """The x label of a ranking by ``score`` and its title's " per ..." (empty when the score
    holds no cost): information columns are nats, per-FLOP and per-cost columns nats per
    unit, any other column is named as it is. ``power`` p != 0: the axis shows the scores in
    units of 1e{p} of them (:func:`_scale_power`), and the label says so: "(in units of
    1e-22 nats / FLOP)"."""
    scale = f"in units of 1e{power} " if power else ""
    if score in INFO_COLUMNS:
        return f"expected information, each candidate alone ({scale}nats)", ""
    per = "FLOP" if "flop" in score.lower() else "unit cost" if "cost" in score.lower() else None
    if per is None:
        units = f" (in units of 1e{power})" if power else ""
        return f"{score}, each candidate alone{units}", f" (ranked by {score})"
    label = f"expected information per {per}, each candidate alone ({scale}nats / {per})"
    return label, f" per {per}"


def _pick_positions(plan: pd.DataFrame, picks) -> np.ndarray:
    """Each candidate's position in the batch (0 = not picked)."""
    if picks is None:
        return np.zeros(len(plan), int)
    if isinstance(picks, str):
        if picks not in plan:
            raise ValueError(f"picks={picks!r} is not a column of the candidate table")
        return plan[picks].fillna(0).to_numpy(int)
    if isinstance(picks, pd.DataFrame) and {"unit", "rank"} <= set(picks) and "unit" in plan:
        order = dict(zip(picks["unit"], picks["rank"].astype(int), strict=True))
        return np.array([order.get(u, 0) for u in plan["unit"]], int)
    raise ValueError("picks must be a column name or a batch DataFrame with 'unit' and 'rank'")


# ---- posterior pairs ---------------------------------------------------------------------------
def pairs(fit, var_names=None, *, kind: str = "scatter", max_vars: int = 6, title=None):
    """Posterior pair plot of scalar parameters through ArviZ (``az.plot_pair``), with
    divergent transitions marked and named in the legend (with their count), and at most three
    rotated tick labels per axis. Default: the first ``max_vars`` summary parameters."""
    _check_fit(fit)
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
    _pyplot()
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
    text = "\n".join(textwrap.wrap(_titled(title or default, fit), chars))
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


# ---- replayed design campaigns -------------------------------------------------------------------
def design_replay(history: pd.DataFrame, *, metrics=("error", "r2"), strategies=None):
    """Replayed design campaigns (``bayeslaws.app.replay``): one column of panels per pool, one
    row per metric (``"error"``: mean |ln(median / truth)| of the decision quantity; ``"r2"``:
    SL2's R^2 of the held-out runs; ``"coverage"``: share of truths inside the 90% intervals),
    against the compute spent as a fraction of the pool's (log axis). Per strategy the median over
    seeds (line; of every fit, failed or not) and each seed (dots); a pool with simulated losses
    says so in its title.

    With a ``sampler_ok`` column (the history's sampler health of each fit: False when its
    R-hat, ESS, divergences or tree depth failed the checks; a bool, or its text as a CSV
    holds it), a fit that failed the checks is drawn as a hollow circle (legend entry), and
    each panel's title says "k of n fits failed the sampler checks" (n: the panel's fits with a
    recorded ``sampler_ok``; fits without one are counted apart)."""
    from matplotlib.lines import Line2D

    need = {"pool", "strategy", "seed", "spent", "budget"} | set(metrics)
    if not isinstance(history, pd.DataFrame) or history.empty or not need <= set(history):
        raise ValueError(f"design_replay() needs a replay history with columns {sorted(need)}")
    pools = list(dict.fromkeys(history["pool"]))
    strategies = list(dict.fromkeys(history["strategy"])) if strategies is None else strategies
    words = {
        "error": "decision error, mean |ln(median / truth)|",
        "r2": "R^2 of held-out losses (SL2)",
        "coverage": "share of truths in 90% intervals",
    }
    checked = "sampler_ok" in history
    # per row True: passed, False: failed, NaN: not recorded (by position: labels may repeat)
    history = history.assign(_sampler_health=_sampler_health(history).to_numpy())
    fig, axes = _figure((4.0 * len(pools), 3.2 * len(metrics)), len(metrics), len(pools))
    colours = {s: f"C{i}" for i, s in enumerate(strategies)}
    any_failed = False
    for j, pool in enumerate(pools):
        h = history[(history["pool"] == pool) & (history["budget"] > 0)]
        simulated = bool(h["simulated"].any()) if "simulated" in h else False
        name = f"{pool}{' (SIMULATED)' if simulated else ''}"
        for i, metric in enumerate(metrics):
            ax = axes[i, j]
            for strategy in strategies:
                hs = h[h["strategy"] == strategy]
                if hs.empty:
                    continue
                med = hs.groupby("budget")[["spent", metric]].median().sort_index()
                ax.plot(med["spent"], med[metric], "-o", color=colours[strategy], label=strategy)
                failed = hs["_sampler_health"].eq(False).to_numpy()
                ok = hs[~failed]
                ax.plot(ok["spent"], ok[metric], ".", color=colours[strategy], alpha=0.35)
                if failed.any():
                    bad = hs[failed]
                    ax.plot(bad["spent"], bad[metric], "o", ls="", mfc="none",
                            mec=colours[strategy], ms=5, mew=0.9, alpha=0.8)  # fmt: skip
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(_pyplot().NullFormatter())  # labels at decades only
            if metric == "error":
                ax.set_yscale("log")
            if metric == "coverage":
                ax.axhline(0.9, color="0.5", lw=0.8, ls="--")
            ax.set_xlabel("compute spent (fraction of the pool's)")
            ax.set_ylabel(words.get(metric, metric), fontsize=8)
            ax.grid(True, which="both", alpha=0.2)
            if checked:
                shown = h[h["strategy"].isin(strategies) & np.isfinite(h[metric].astype(float))]
                state = shown["_sampler_health"]
                any_failed |= bool(state.eq(False).any())
                ax.set_title(f"{name}\n{_sampler_words(state)}", fontsize=9)
        if not checked:
            axes[0, j].set_title(name, fontsize=10)
    handles = [Line2D([], [], color=colours[s], marker="o", label=s) for s in strategies]
    if any_failed:
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="none", mec="0.3", ms=5,
                   label="a seed's fit that failed the sampler checks")
        )  # fmt: skip
    axes[0, -1].legend(handles=handles, fontsize=8, title="median over seeds", title_fontsize=7)
    fig.tight_layout()
    return fig


def _sampler_health(history: pd.DataFrame) -> pd.Series:
    """Per row of a replay ``history``, whether its fit passed the sampler checks: True, False,
    or NaN where not recorded (no ``sampler_ok`` column, a row written before it, or a fit
    that failed to run); ``sampler_ok`` as bools or as the text "True" / "False" (a CSV)."""
    if "sampler_ok" not in history:
        return pd.Series(np.nan, history.index, dtype=object)
    return history["sampler_ok"].map({True: True, False: False, "True": True, "False": False})


def _sampler_words(state: pd.Series) -> str:
    """A replay panel's words on its fits' sampler health (``state``: per drawn fit True, False
    or NaN, :func:`_sampler_health`): "k of n fits failed the sampler checks", n counting the
    fits with a recorded health, and "m without a sampler record" for the others ("no sampler
    record of its m fits" when none has one)."""
    failed = int(state.eq(False).sum())
    known = int(state.notna().sum())
    unknown = len(state) - known
    if not known:
        return f"no sampler record of its {unknown} fits"
    text = f"{failed} of {known} fits failed the sampler checks"
    return text + (f"; {unknown} without a sampler record" if unknown else "")


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
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return path
