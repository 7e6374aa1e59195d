"""Figures of the compute-optimal allocation: loss along isoFLOP lines with each budget's
optimum (:func:`isoflop`), and the compute-optimal size N_opt(C) with its bands, published laws
overlaid and budgets marked (:func:`n_opt`); the N grid through an optimum, the checked
``C_range``, the curve's draws and the fitted budgets they mark."""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pandas as pd

from ..posterior import allocation_draws, optimal_allocation, predict, range_stated
from ..posterior.allocation import warn_at_edge, warn_at_kink
from ..posterior.draws import check_range, positive_array
from ..posterior.extrapolation import DEFAULT_METHOD
from ..posterior.extrapolation.distance import group_ranges
from ..runs import PlausibilityWarning
from ..runs.cells import CELL_RTOL, same_value_ids
from ..runs.checks import ArgumentTypeError
from .figures import band_alpha, check_figure_fit, ci_levels, figure, pyplot, training_frame
from .ranges import mark_range, outside_range, outside_words, range_label
from .words import C_LABEL, N_LABEL, group_titled


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
    check_figure_fit(fit)
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
                        _new_group_noted=True, _range_noted=True)  # fmt: skip
            drawn.append((a, grid, at, p))
    check_range(fit, pd.DataFrame({"C": given}), group=group)  # positions: the caller's list
    fig, axes = figure((10.5, 5), layout="constrained")  # the legend right of the axes
    ax = axes[0, 0]
    plt = pyplot()
    colours = plt.cm.plasma(np.linspace(0.05, 0.8, len(budgets)))
    for (a, grid, at, p), colour in zip(drawn, colours, strict=True):
        outside = outside_range(fit, "C", a["C"], group)
        where = outside_words(fit, group, "C") if outside else ""
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
    title = group_titled(
        f"Loss along isoFLOP lines ({fit.law.description}): median and {100 * ci:g}% band",
        fit,
        group,
    )
    ax.set_title("\n".join(textwrap.wrap(title, 80)), fontsize=10)
    outside_legend(ax)
    ax.grid(True, which="both", alpha=0.2)
    return fig


def outside_legend(ax) -> None:
    """``ax``'s legend to the right of its axes, off the curves: inside ("best"), the isoFLOP
    figure's legend covered an arm of a budget's curve (Epoch's Chinchilla table at 1e21 to
    5.76e23 FLOPs). The figure's constrained layout makes room for it."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)


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
    check_figure_fit(fit)
    levels = ci_levels(ci)
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
    fig, axes = figure((7.5, 5))
    ax = axes[0, 0]
    if fitted is not None:
        mark_range(ax, fitted[0], fitted[1], range_label(fit, group, "C"))
    of = " of the fitted law N_opt = k C^a" if trend else ""
    for c in levels:
        lo, hi = np.quantile(curve, [(1 - c) / 2, (1 + c) / 2], axis=0)
        ax.fill_between(
            grid, lo, hi, color="tab:blue", alpha=band_alpha(c), lw=0,
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
    title = group_titled(
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
    df = training_frame(fit)
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
