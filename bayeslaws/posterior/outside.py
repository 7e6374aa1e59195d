"""Answers far outside the fitted range: the distance at which they warn (:data:`WARN_DECADES`),
the warning's category (:class:`ExtrapolationWarning`) and its sentence
(:func:`extrapolation_sentence`), shared by the predictions (``predict``, ``loss_penalty``)
and the allocation (``optimal_allocation``, ``near_optimal``, ``fixed_vs_optimal``), which
sits above them."""

from __future__ import annotations

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
