"""The run tables' error and warning types, and how their messages name rows, columns and
values: what row labels count (:data:`ROWS_NOTE` or :data:`LABELS_NOTE`), rows said once with it,
a column by the user's label and its canonical name, numbers without NumPy reprs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import rows_text

ROWS_NOTE = "0-based data rows, header not counted"  # what row numbers in messages count
LABELS_NOTE = "labels of the DataFrame's index"  # ... when the input had its own index
EXCLUDE_HINT = (
    "Python: runs.exclude(mask, reason=...); command line: --exclude-rows ROWS "
    "--exclude-reason TEXT"
)


class RunTableError(ValueError):
    """Bad input in a run table; the message names the column and rows."""


class PlausibilityWarning(UserWarning):
    """Values that are possible but implausible (likely other units, diverged runs): the
    message names the column, the rows and the likely fix."""


def row_note_of(index) -> str:
    """A guess at what the row labels of ``index`` count, for a table that does not say (a
    RunTable says it: :attr:`RunTable.row_note`, from what :func:`~.table.load_runs` read):
    data rows from 0 for non-negative integer labels (a file, or a DataFrame with the default
    index, possibly after rows were dropped), else the DataFrame's own labels."""
    if pd.api.types.is_integer_dtype(index) and (len(index) == 0 or index.min() >= 0):
        return ROWS_NOTE
    return LABELS_NOTE


def at_rows(labels, note: str = ROWS_NOTE, limit: int = 10) -> str:
    """``rows 3, 7 (0-based data rows, header not counted)``: the rows of a message, said once
    what they count."""
    return f"rows {rows_text(labels, limit)} ({note})"


def format_value(value) -> str:
    """A value for a message: numbers as ``f"{float(v):g}"`` (never a numpy repr), else str."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{float(value):g}"
    return str(value)


def format_values(values, limit: int = 5) -> str:
    """``[7e+07, 1.4e+08]``: the first ``limit`` values of a message, plainly formatted."""
    values = list(values)
    shown = ", ".join(format_value(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def column_label(column: str, name=None) -> str:
    """A column for a message: the user's label, with the canonical name when they differ
    (``'Model Size' (N)``, ``0 (N)`` for a table without a header)."""
    if name is None or name == column:
        return repr(column)
    if isinstance(name, np.generic):
        name = name.item()
    return f"{name!r} ({column})"
