"""Checks of a backtest's arguments before any fit: the extrapolation methods
(:func:`check_methods`) and the held-out table (:func:`check_test_table`: columns N, D, loss,
optional C, numeric and positive), each refused with an error naming the argument, the column
and the rows; :func:`positive_column` also serves the budgets of
:func:`~.decisions.decision_scores`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ...runs.checks import ArgumentTypeError, bool_cells, rows_text
from ..extrapolation import METHODS

TEST_COLUMNS = ("N", "D", "loss")


def check_methods(methods, name: str = "methods") -> tuple[str, ...]:
    """``methods`` (a sequence of extrapolation method names, :data:`~..extrapolation.METHODS`)
    as a tuple, checked before any fit: a single string (read letter by letter it would be
    'g', 'p'), an empty sequence or an unknown name is an error naming ``name``."""
    if isinstance(methods, str | bytes) or not isinstance(methods, Iterable):
        raise ArgumentTypeError(
            f"{name} must be a list or tuple of extrapolation methods, e.g. ({methods!r},), got "
            f"{type(methods).__name__} {methods!r}"
        )
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"{name} is empty: give at least one of {METHODS}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"{name}: {unknown} not among the extrapolation methods {METHODS}")
    return methods


def check_test_table(test, where: str = "test") -> None:
    """Refuse a held-out table that cannot be scored, before any fit: ``test`` must be a
    DataFrame with rows and the columns N, D (parameters, tokens) and loss, each numeric; N, D
    and C (FLOPs, optional) finite and > 0 in every row; loss > 0 where given (NaN or +inf, a
    run with no loss, is left out of the scores with an :class:`UnscoredWarning`).

    ``where``: how messages name the table (e.g. ``"cases[0] ('epoch'): test"``). Raises
    ValueError naming the column and the rows (index labels)."""
    missing = set(TEST_COLUMNS) - set(test.columns) if isinstance(test, pd.DataFrame) else None
    if missing is None or missing:
        what = f"lacks columns {sorted(missing)}" if missing else "is not a DataFrame"
        raise ValueError(f"{where} {what} (needs {', '.join(TEST_COLUMNS)})")
    if test.empty:
        raise ValueError(f"{where} has no rows: nothing to predict and score")
    for column in (*TEST_COLUMNS, *(["C"] if "C" in test else [])):
        positive_column(test, column, where)


def positive_column(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """``table[column]`` as floats (Q,), finite and positive (``loss``: positive where given;
    NaN or +inf, a run with no loss, passes); ValueError naming ``where``, the column and the
    rows otherwise."""
    values = _numeric_column(table, column, where)
    bad = values <= 0 if column == "loss" else ~np.isfinite(values) | (values <= 0)
    if bad.any():
        given = " where given (NaN or +inf: no loss, left unscored)" if column == "loss" else ""
        raise ValueError(
            f"{where}: column {column!r} must be finite and positive{given}; bad at rows "
            f"{rows_text(table.index[bad])} (e.g. {values[bad][:3].tolist()})"
        )
    return values


def _numeric_column(test: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """``test[column]`` as floats (Q,); ValueError naming the rows that hold no number."""
    raw = test[column]
    values = pd.to_numeric(raw, errors="coerce")
    text = (values.isna() & raw.notna()).to_numpy(bool) | bool_cells(raw)
    if text.any():
        raise ValueError(
            f"{where}: column {column!r} must hold numbers; bad at rows "
            f"{rows_text(test.index[text])} (e.g. {raw[text][:3].tolist()})"
        )
    return values.to_numpy(float)
