"""Answers far outside the fitted range: the distance at which they warn (:data:`WARN_DECADES`),
the warning's category (:class:`ExtrapolationWarning`) and its sentence
(:func:`extrapolation_sentence`, with its pieces :func:`fitted_text` and :func:`distance_text`)
and the context that silences it (:func:`range_stated`), shared by the predictions
(``predict``, ``loss_penalty``) and the allocation (``optimal_allocation``, ``near_optimal``,
``fixed_vs_optimal``), which sits above them."""

from __future__ import annotations

import contextlib
import warnings

from .draws import UNITS

# a budget or optimum (or a point predict is asked about) more than this many decades (100x)
# outside the fitted range warns; nearer ones, the everyday use of a scaling law (the next decade
# of compute), show in the columns alone. 2 decades is also where a setting is off what a sweep
# has seen (draws.FAR_DECADES)
WARN_DECADES = 2.0


class ExtrapolationWarning(UserWarning):
    """A query point, a budget or the optimum it gives lies far (``WARN_DECADES``) outside the
    fitted range of C, N or D: the answer rests on the law holding that far out (columns
    ``<axis>_outside_decades`` say how far, nearer too)."""


def extrapolation_sentence(
    caller: str, far: float, whose: str, fitted: str, shown: str, columns: str, note: str = ""
) -> str:
    """The extrapolation warning's sentence: ``caller`` extrapolates more than ``far`` decades
    outside ``whose`` range (``fitted``: its bounds in words) at ``shown`` (the far points or
    budgets in words), with ``note`` on what the interval holds and ``columns``: where the
    answer says how far each point lies."""
    prefix = f"{caller}: " if caller else ""
    return (
        f"{prefix}extrapolating more than {far:g} decades outside {whose} ({fitted}): {shown}. "
        f"The answer rests on the law holding that far out{'; ' + note if note else ''} "
        f"({columns})"
    )


def fitted_text(ranges: dict, axes) -> str:
    """The fitted range of each of ``axes`` (e.g. C, N, D) in words with its unit, e.g.
    "C [1e+18, 1e+20] FLOPs, N [1e+07, 1e+09] parameters" (``ranges``: axis -> [min, max])."""
    return ", ".join(
        f"{axis} [{ranges[axis][0]:.3g}, {ranges[axis][1]:.3g}]"
        + (f" {UNITS[axis]}" if UNITS.get(axis) else "")
        for axis in axes
    )


def distance_text(decades: float, label: str = "") -> str:
    """One distance outside the fitted range in words, e.g. "N_opt 1.5 decades above" (without
    ``label``: "1.5 decades above"; ``decades``: signed, > 0 above the largest fitted value,
    < 0 below the smallest)."""
    side = "above" if decades > 0 else "below"
    return f"{label + ' ' if label else ''}{abs(decades):.2g} decades {side}"


@contextlib.contextmanager
def range_stated():
    """Within it, no :class:`ExtrapolationWarning`: for callers that state each answer's
    distance outside the fitted range themselves (a report's numbers, a figure's bands) or
    have warned once already (a plan's later calls at the same budget)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        yield
