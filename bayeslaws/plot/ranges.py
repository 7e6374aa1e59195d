"""The fitted range a figure measures against and shades: whether a slice or budget lies
outside it (a fitted group's own runs' range, else the pooled one, as ``predict`` measures
extrapolation), the words naming it in legends, and the shaded span that marks it on an axis."""

from __future__ import annotations

import numpy as np

from ..posterior.extrapolation.distance import group_ranges, own_group_rows, range_words
from ..runs.cells import CELL_RTOL


def outside_range(fit, name: str, value: float, group=None) -> bool:
    """Whether ``value`` of input ``name`` lies outside the fit's range of it (relative
    tolerance ``CELL_RTOL``): a fitted group's own runs' range, else the pooled range
    (:func:`~.posterior.extrapolation.distance.group_ranges`, as ``predict`` measures it);
    False when the fit records no range of ``name``."""
    lo, hi = group_ranges(fit, group).get(name, (-np.inf, np.inf))
    return bool(value < lo * (1 - CELL_RTOL) or value > hi * (1 + CELL_RTOL))


def range_label(fit, group, name: str) -> str:
    """The words naming the fitted range of input ``name`` (N, D or C) that a figure shades:
    "fitted range of N" (pooled: a fit without groups, or a new group) or "group '7''s fitted
    range of N" (a fitted group's own runs,
    :func:`~.posterior.extrapolation.distance.range_words`)."""
    if own_group_rows(fit, group) is None:
        return f"fitted range of {name}"
    return f"{range_words(fit, group)} of {name}"


def outside_words(fit, group, name: str) -> str:
    """The legend words of a slice of input ``name`` outside the fitted range:
    " (outside fitted D range)", or " (outside group '7''s fitted range of D)" for a fitted
    group (measured from its own runs)."""
    if own_group_rows(fit, group) is None:
        return f" (outside fitted {name} range)"
    return f" (outside {range_label(fit, group, name)})"


def mark_range(ax, low, high, label="fitted range", axis="x"):
    span = ax.axvspan if axis == "x" else ax.axhspan
    span(low, high, color="0.85", alpha=0.5, zorder=0, lw=0, label=label)
