"""The design ranking (:func:`design_ranking`): candidate runs as horizontal bars of their
expected information per FLOP (or another score), each scored alone, with a greedy batch's
picks marked; the candidates' labels, the score's scale and axis words, the bar labels kept
inside the axes, and the SIMULATED words the table carries from its fit."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..design.batch import width_labels
from .figures import figure
from .words import sci, simulated_label

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
            parts.append(f"{col}={sci(float(row[col]))}")
    n_runs = int(row["n_runs"]) if "n_runs" in row and pd.notna(row["n_runs"]) else 1
    if n_runs > 1:
        parts.append(f"(sweep of {n_runs} runs)")
    else:
        if "lr" in row and pd.notna(row["lr"]):
            parts.append(f"lr={float(row['lr']):.2g}")
        if "batch_size" in row and pd.notna(row["batch_size"]):
            parts.append(f"B={sci(float(row['batch_size']))}")
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
    fig, axes = figure((8.5, 0.38 * len(ranked) + 1.9))
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
    words = _table_words(plan) if simulated is None else simulated_label(simulated)
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
