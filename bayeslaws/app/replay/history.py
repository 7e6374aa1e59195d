"""A replay's history table, cell by cell and row by row: its joined cells (:func:`joined`,
:func:`split_warnings`), the rows of failed campaigns (:func:`failure_row` and the readers
:func:`failure_of`, :func:`scored_rows`, :func:`failed_rows`, :func:`failure_lines`), the
names and log lines of its rows (:func:`step_name`, :func:`describe`) and the cells they read
(:func:`sampler_failed`, :func:`count_cell`, :func:`r_hat_text`).
"""

from __future__ import annotations

import re
import traceback

import numpy as np
import pandas as pd

from ...runs.checks import is_real
from .pool import Pool

WARNING_SEPARATOR = ";"  # joins the texts of a history cell (picked, fit_warnings, ...)


def joined(texts) -> str:
    """``texts`` (row labels or ``"Category: message"`` warning texts) as one history cell,
    joined by :data:`WARNING_SEPARATOR`; "" when there are none."""
    return WARNING_SEPARATOR.join(str(t) for t in texts)


def split_warnings(cell) -> list[str]:
    """The ``"Category: message"`` texts of a ``fit_warnings`` or ``design_warnings`` history
    cell (:func:`joined`; a message may hold "; " itself, so the cell is split only where a
    ``;`` is followed at once by the next text's category, ``<Name>Warning: ``); [] for an
    empty or missing cell."""
    if not isinstance(cell, str) or not cell:
        return []
    return re.split(rf"{re.escape(WARNING_SEPARATOR)}(?=\w*Warning: )", cell)


def category_counts(cell) -> str:
    """The categories of a warnings cell for a message: "GuardrailWarning x2, UserWarning"."""
    counts: dict[str, int] = {}
    for text in split_warnings(cell):
        name = text.split(":", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} x{k}" if k > 1 else n for n, k in counts.items())


def _percent(budget) -> str:
    """A budget fraction as a percentage for a message: 0.05 -> "5%", 0.005 -> "0.5%"."""
    return f"{100 * float(budget):.3g}%"


def step_name(row) -> str:
    """A history row's campaign step for a message: pool, strategy, seed and budget ("at an
    unknown step" for a failure row whose budget is NaN: the task failed outside its steps)."""
    budget = row.get("budget")
    at = (
        f"budget {_percent(budget)}"
        if is_real(budget) and np.isfinite(budget)
        else "at an unknown step"
    )
    return f"{row['pool']} {row['strategy']} seed {row['seed']} {at}"


FAILURE_COLUMN = "failure"  # a failed campaign's last row: its error (absent when none failed)
FAILURE_TRACEBACK = "failure_traceback"  # and that error's traceback ("" for a task's text)


def failure_text(error) -> str:
    """The one-line text of the error that stopped a campaign: ``"Type: first line of the
    message"``; ``error``: an exception, or the ``"Type: message"`` text of a failed batch task
    (:class:`~bayeslaws.inference.batch.TaskResult`)."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    lines = text.strip().splitlines()
    return lines[0] if lines else type(error).__name__


def failure_row(pool: Pool, strategy: str, seed: int, budget: float, error) -> dict:
    """The history row of a campaign that ``error`` stopped at the step of ``budget`` (the
    fraction of the pool's compute; 0.0: the start fit; NaN: unknown, its task failed outside
    the steps, e.g. its worker died): pool, simulated, strategy, seed, budget and
    :data:`FAILURE_COLUMN` (:func:`failure_text`); no scores (NaN in a table). The steps
    scored before it keep their rows."""
    return {
        "pool": pool.name,
        "simulated": pool.simulated,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        FAILURE_COLUMN: failure_text(error),
        # the whole traceback, which a worker's caught error would otherwise lose
        FAILURE_TRACEBACK: (
            "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else ""
        ),
    }


def _is_failure(value) -> bool:
    """Whether a history row's :data:`FAILURE_COLUMN` value records a failure (non-empty text;
    NaN on the scored rows of a history with failures)."""
    return isinstance(value, str) and bool(value)


def failure_of(row) -> str | None:
    """A history row's failure text (:func:`failure_row`), or None for a scored row."""
    value = row.get(FAILURE_COLUMN)
    return value if _is_failure(value) else None


def _failure_flags(history: pd.DataFrame) -> pd.Series:
    """Per row of a replay ``history``: whether it is a failure row (:func:`failure_of`); all
    False for a history without the column (nothing failed, or written before it existed)."""
    if FAILURE_COLUMN not in history:
        return pd.Series(False, index=history.index)
    return history[FAILURE_COLUMN].map(_is_failure).astype(bool)


def scored_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of a replay ``history`` that score a fit (its failure rows left out)."""
    return history[~_failure_flags(history)]


def failure_lines(history: pd.DataFrame) -> list[str]:
    """One line per failed campaign of a replay ``history`` (its failure row,
    :func:`failure_row`): pool, strategy, seed, the step it stopped at and the error; empty
    when none failed (or for rows stored before failures were recorded)."""
    return [f"{step_name(r)}: {r[FAILURE_COLUMN]}" for r in failed_rows(history).to_dict("records")]


def failed_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The failure rows of a replay ``history`` (:func:`failure_row`), one per failed campaign;
    empty when none failed."""
    return history[_failure_flags(history)]


def sampler_failed(value) -> bool:
    """Whether a ``sampler_ok`` cell says the fit failed (a bool False; NaN or missing: no)."""
    return isinstance(value, bool | np.bool_) and not value


def r_hat_text(r_hat) -> str:
    """An R-hat for a message: three significant digits, or n/a (NaN: one chain, too few
    draws)."""
    return f"{r_hat:.3g}" if np.isfinite(r_hat) else "n/a (one chain, or undefined)"


def count_cell(value) -> int:
    """A count cell (NaN or missing: 0)."""
    return int(value) if is_real(value) and np.isfinite(value) else 0


def describe(row: dict) -> str:
    """One log line for a history row (a failure row: its step and error); it ends with the
    fit's trouble when there is any: "sampler FAILED" (``sampler_ok`` False), failed drift
    refits, and how many warnings the fit and the design raised (texts in the history columns
    ``fit_warnings``, ``design_warnings``)."""
    failure = failure_of(row)
    if failure is not None:
        return f"{step_name(row)}: FAILED, the campaign stopped there: {failure}"
    line = (
        f"{row['pool']} {row['strategy']} seed {row['seed']} budget {row['budget']:.0%}: "
        f"{row['n_runs']} runs, {row['spent']:.3%} spent, R2 {row['r2']:.3f}, error "
        f"{row['error']:.4f}, coverage {row['coverage']:.2f} ({row['seconds']:.0f} s)"
    )
    notes = []
    if sampler_failed(row.get("sampler_ok")):
        notes.append(
            f"sampler FAILED (max R-hat {r_hat_text(row.get('max_r_hat', np.nan))}, min bulk "
            f"ESS {row.get('min_ess_bulk', np.nan):.0f}, {count_cell(row.get('divergences'))} "
            "divergences)"
        )
    if count_cell(row.get("drift_refits_failed")):
        notes.append(
            f"drift refits FAILED: {count_cell(row['drift_refits_failed'])} of "
            f"{count_cell(row.get('drift_refits'))}"
        )
    for column, what in (("fit_warnings", "fit"), ("design_warnings", "design")):
        n = len(split_warnings(row.get(column)))
        if n:
            notes.append(f"{n} {what} warning{'s' if n > 1 else ''}")
    return f"{line}; {', '.join(notes)}" if notes else line


def concat_frames(frames) -> pd.DataFrame:
    """The non-empty ``frames`` concatenated (new index); an empty DataFrame when none."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
