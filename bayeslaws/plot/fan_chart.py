"""The fan (:func:`fan`): the law's posterior median and credible bands against N, beyond the
fitted range widening into a fan, one panel per quantity the law predicts and one curve per
slice of its other input (:func:`default_slices`), with the runs it draws
(:func:`fan_points`, :class:`FanPoints`) and the targets marked."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..laws.contract import group_label, resolve_group
from ..posterior import predict, query_frame
from ..posterior.draws import check_range
from ..posterior.extrapolation.distance import group_ranges
from ..runs import PlausibilityWarning
from .figures import (
    band_alpha,
    check_figure_fit,
    ci_levels,
    figure,
    pyplot,
    runs_frame,
    training_frame,
)
from .ranges import mark_range, outside_range, outside_words, range_label
from .words import D_LABEL, N_LABEL, drawn_words, group_titled, sci

GROUP_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "h")
LEGEND_ROW_IN = 0.16  # inches: one legend entry at 7.5 points, with its spacing
KIND_WORDS = {"mean": "the law's own uncertainty", "new_run": "what one new run would show"}
OTHER_LABELS = {"D": D_LABEL, "C": "compute C (FLOPs)"}


def _input_value(name: str, x: float) -> str:
    """A value of the law input ``name`` for a label: C in FLOPs as '6e+18 FLOPs', N
    (parameters) and D (tokens) as :func:`~.words.sci` ('20B')."""
    return f"{x:.3g} FLOPs" if name == "C" else sci(x)


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
    label = group_label(fit.groups, group)  # 10.0 names the group "10", as the law has it
    grouped = len(fit.groups) > 1 and "group" in runs
    labels = runs["group"].astype(str) if grouped else pd.Series("", index=runs.index)
    if not grouped:
        keep = np.ones(len(runs), bool)
    elif group is not None:
        keep = (labels == label).to_numpy()
    else:
        keep = labels.isin([str(g) for g in fit.groups]).to_numpy()
    kept = runs[keep]
    seen = fit.law.empirical(kept)
    if grouped and group is None and "group" in seen:
        seen_labels = seen["group"].astype(str)
        sets = [(f"runs of group {g}", seen[seen_labels == str(g)]) for g in fit.groups]
    else:
        sets = [("runs" if group is None else f"runs of group {label}", seen)]
    return FanPoints(kept=kept, left_out=labels[~keep], sets=sets)


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
    check_figure_fit(fit)
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    law = fit.law
    levels = ci_levels(ci)
    widest = max(levels)
    df = runs_frame(runs)
    if df is None:
        df = training_frame(fit)
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
        # a quantity the law gives no value of off its fitted cells (law 'hyperparams' with
        # loss_level='free': loss_opt) gets no panel (``_finite``), not a warning per curve
        noted = {"_new_group_noted": True, "_range_noted": True, "_missing_noted": True}
        curves = {d: {c: predict(fit, N=grid, ci=c, kind=kind, seed=seed, group=group,
                                 **noted, **{other: d})
                      for c in levels}
                  for d in slices}
        marked = [(N, value, predict(fit, N=N, ci=widest, kind=target_kind, seed=seed,
                                     group=group, **noted, **{other: value}).iloc[0])
                  for N, value in targets or []]
        points = [(n, d) for d in slices for n in grid] + [(n, v) for n, v, _ in marked]
        shown = query_frame(fit, N=[n for n, _ in points], **{other: [v for _, v in points]})
    # far values, once each; located at the user's line however deep the call
    check_range(fit, shown, positions=False, group=group)
    quantities = [q for q in law.quantities if _finite(curves, q, law.primary)]
    rows = 2 if relative_panel else 1
    # each panel's legend, above it: the range, the slices, the targets, the run markers
    entries = 1 + len(slices) + len(marked) + (len(run_points.sets) if run_points else 0)
    fig, axes = figure(
        (5.6 * len(quantities) + 1.6, (5.2 if rows == 1 else 7.4) + LEGEND_ROW_IN * entries),
        rows, len(quantities),
        sharex="col", gridspec_kw={"height_ratios": [3, 1.4][:rows]}, layout="constrained",
    )
    plt = pyplot()
    cmap = plt.cm.viridis
    lo_all = min(values.min(), slices.min())
    hi_all = max(values.max(), slices.max())
    if hi_all <= lo_all:
        lo_all, hi_all = lo_all / 1.5, hi_all * 1.5
    norm = LogNorm(lo_all / 1.3, hi_all * 1.3)
    cut = []  # the quantities whose panel's y axis is cut short of the curves' reach
    for j, q in enumerate(quantities):
        ax = axes[0, j]
        col = "" if q == law.primary else f"{q}_"
        mark_range(ax, n_lo, n_hi, range_label(fit, group, "N"))
        for d in slices:
            colour = cmap(norm(d))
            outside = outside_range(fit, other, d, group)
            ls = "--" if outside else "-"
            for c, p in curves[d].items():
                ax.fill_between(grid, p[f"{col}lower"], p[f"{col}upper"], color=colour,
                                alpha=band_alpha(c), lw=0)
            p = curves[d][widest]
            where = outside_words(fit, group, other) if outside else ""
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
                        label=f"target N {sci(N)}, {other} {_input_value(other, value)} "
                        f"({100 * widest:g}%, {target_kind})")
        ax.set_xscale("log")
        if q != "loss":
            ax.set_yscale("log")
        points = [s[q] for _, s in run_sets] + [[t[f"{col}lower"], t[f"{col}upper"]]
                                                for _, _, t in marked]
        bands = [p[f"{col}{end}"] for per_level in curves.values()
                 for p in per_level.values() for end in ("lower", "upper")]
        if _cut_to_points(ax, points, points + bands, log=q != "loss"):
            cut.append(q)
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
            mark_range(rel, n_lo, n_hi, "")
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
    title = group_titled(title, fit, group, drawn_words(fit, runs))
    fig.suptitle(f"{title}\nbands: {bands}, {KIND_WORDS.get(kind, kind)}{_cut_words(cut)}",
                 fontsize=11)
    return fig


POINTS_SPAN_MARGIN = 1.0  # a fan's y axis reaches this many spans of its points beyond them


def _cut_to_points(ax, points, drawn, log: bool) -> bool:
    """Cut the y axis of a fan's panel ``ax`` to its points (``points``: arrays of the runs'
    and the targets' values drawn) widened by ``POINTS_SPAN_MARGIN`` times their span (in
    decades on a log axis) on each side, where the values ``drawn`` (the points, the curves'
    bands) reach further: an isoFLOP law's parabola of a small budget, drawn out to 10x the
    largest fitted N, reached a loss of 400 beside runs at 3 to 8 (Porian et al.'s table),
    which lay flat along the axis' foot. Returns whether the axis was cut; no points, no
    cut."""
    to, back = (np.log10, lambda x: 10.0**x) if log else (float, float)

    def finite(arrays) -> np.ndarray:
        values = np.concatenate([np.asarray(v, float).ravel() for v in arrays] or [[]])
        return values[np.isfinite(values) & ((values > 0) if log else True)]

    shown, reach = finite(points), finite(drawn)
    if not shown.size:
        return False
    lo, hi = to(shown.min()), to(shown.max())
    span = max(hi - lo, np.log10(2.0) if log else 0.1 * max(abs(hi), 1e-12))
    low = max(to(reach.min()), lo - POINTS_SPAN_MARGIN * span)
    high = min(to(reach.max()), hi + POINTS_SPAN_MARGIN * span)
    if low <= to(reach.min()) and high >= to(reach.max()):
        return False
    pad = 0.04 * (high - low)  # matplotlib's own margin would be 5% of the curves' reach
    ax.set_ylim(back(low - pad), back(high + pad))
    return True


def _cut_words(cut: list) -> str:
    """The fan's title words for the panels whose y axis :func:`_cut_to_points` cut: the
    quantities, and that their curves and bands run on beyond the axis; '' for none."""
    if not cut:
        return ""
    return (f"\n{', '.join(cut)} axis cut at the runs' range plus its span: curves and bands "
            "beyond it leave the axes")


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
