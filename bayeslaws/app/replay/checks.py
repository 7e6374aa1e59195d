"""The checks of a replay's arguments before any fit: ``budgets`` (strictly increasing
fractions of a pool's compute in (0, 1], :data:`BUDGETS` by default, spent up to a relative
:data:`BUDGET_RTOL`; :func:`warn_start_only` when there are none) and ``seeds`` (integers
>= 0), and :class:`BudgetWarning`, the warning of budgets a replay cannot spend as asked.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...runs.checks import ArgumentTypeError, is_integer, is_real
from ...runs.warn import user_stacklevel

BUDGETS = (0.01, 0.05, 0.10, 0.25)
BUDGET_RTOL = 1e-9  # relative slack of a budget (round-off in summed FLOPs)


class BudgetWarning(UserWarning):
    """A budget fraction of a replay that its start design already spends more than."""


def check_budgets(budgets) -> tuple[float, ...]:
    """``budgets`` (fractions of a pool's compute, each spent by a campaign's step) as a
    tuple of floats, refused (ValueError naming ``budgets``) unless each is a finite number in
    (0, 1] and they strictly increase: a step spends up to its fraction, so a smaller one after
    a larger would label a row with a budget its runs overspent. None at all: the campaigns
    score only their start (:func:`warn_start_only` says so at a replay's call)."""
    budgets = [budgets] if is_real(budgets) else list(budgets)
    for b in budgets:
        if not is_real(b) or not np.isfinite(b) or not 0 < b <= 1:
            raise ValueError(
                f"budgets must be finite fractions of the pool's compute in (0, 1], got {b!r} "
                f"in {budgets}"
            )
    if any(b <= a for a, b in zip(budgets[:-1], budgets[1:], strict=True)):
        raise ValueError(f"budgets must strictly increase (each step spends more), got {budgets}")
    return tuple(float(b) for b in budgets)


def warn_start_only(budgets: tuple) -> None:
    """A :class:`BudgetWarning` naming ``budgets`` when it is empty: a replay then scores only
    each campaign's start design (no run is bought)."""
    if not budgets:
        warnings.warn(
            "budgets is empty: the campaigns buy no run and score only their start design; give "
            "fractions of the pool's compute in (0, 1], e.g. budgets=(0.01, 0.05)",
            BudgetWarning,
            stacklevel=user_stacklevel(),
        )


def check_seeds(seeds) -> list[int]:
    """``seeds`` (one integer or a list of them; a campaign per seed and strategy) as a list of
    ints, refused (ValueError naming ``seeds``) unless non-empty and each an integer >= 0
    (NumPy's generators take no negative seed; 1.7 is not read as 1)."""
    if is_real(seeds) or isinstance(seeds, str | bytes):
        seeds = [seeds]
    try:
        seeds = list(seeds)
    except TypeError:
        raise ArgumentTypeError(
            f"seeds must be a non-empty list of integers >= 0, got {type(seeds).__name__}"
        ) from None
    if not seeds:
        raise ValueError("seeds must be a non-empty list of integers >= 0, got none")
    for s in seeds:
        if not is_integer(s) or s < 0:
            raise ValueError(
                f"seeds must be a non-empty list of integers >= 0, got {s!r} in {seeds}"
            )
    return [int(s) for s in seeds]
