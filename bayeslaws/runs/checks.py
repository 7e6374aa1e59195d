"""Checks of scalar arguments, shared by every layer: a number is any real that is not a bool
(Python and NumPy scalars alike), an integer any integral that is not a bool. Each check names
the argument and returns the value as a plain ``float`` or ``int``."""

from __future__ import annotations

import math
import numbers

import numpy as np


class ArgumentTypeError(TypeError):
    """An argument of a type the package refuses on purpose: the caller's input error, which
    the command line reports as bad input (a plain TypeError from elsewhere is a bug)."""


class UnknownNameError(KeyError):
    """A name the caller gave (a column, group, law, option, data set) that is not there,
    refused on purpose: the caller's input error, as :class:`ArgumentTypeError`."""


def rows_text(labels, limit: int = 10, noun: str = "rows") -> str:
    """Row labels for a message: ``0, 3, 7``, or the first ``limit`` then ``, ... (N rows)``;
    ``noun``: what the labels are, plural, when not rows (e.g. "positions", "groups")."""
    labels = list(labels)
    shown = ", ".join(str(x) for x in labels[:limit])
    return shown + (f", ... ({len(labels)} {noun})" if len(labels) > limit else "")


def is_real(value) -> bool:
    """A real number (int, float, NumPy integer or floating scalar), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_integer(value) -> bool:
    """An integer (int or NumPy integer scalar), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def bool_cells(values) -> np.ndarray:
    """Which cells of the 1-D ``values`` (an array or column) hold True/False: every cell of a
    boolean array, the bools among an object column's values (a nullable boolean column's
    missing cells are not); a boolean array of the same length."""
    raw = np.asarray(values)
    if raw.dtype == bool:
        return np.ones(len(raw), dtype=bool)
    if raw.dtype != object:
        return np.zeros(len(raw), dtype=bool)
    return np.array([isinstance(v, bool | np.bool_) for v in raw.tolist()], dtype=bool)


def number_array(name: str, values) -> np.ndarray:
    """``values`` as a float array of its own shape. Booleans and text (a string, or strings
    or bytes among the values) are an :class:`ArgumentTypeError` naming ``name``: numbers
    only, never a True read as 1 or a '3e9' read silently."""
    raw = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if raw.dtype == bool or raw.dtype.kind in "USa" or (
        raw.dtype == object
        and any(isinstance(v, bool | np.bool_ | str | bytes) for v in raw.ravel())
    ):
        raise ArgumentTypeError(f"{name} must hold numbers, got {short_repr(values)}")
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must hold numbers, got {short_repr(values)}") from None


def short_repr(values) -> str:
    """``values`` for a message on one line: its repr (a pandas Series or Index as its list of
    values, never pandas' multi-line print) if short (80 characters at most), else its type's
    name."""
    pandas = type(values).__module__.startswith("pandas") and hasattr(values, "tolist")
    text = repr(values.tolist() if pandas else values)  # (no pandas import here)
    return text if len(text) <= 80 and "\n" not in text else type(values).__name__


def check_probability(name: str, value) -> float:
    """``value`` as a float strictly between 0 and 1 (an interval mass, a probability)."""
    if not is_real(value) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


def check_positive(name: str, value, what: str = "") -> float:
    """``value`` as a finite float > 0 (``what``: its meaning, for the message)."""
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        meaning = f" ({what})" if what else ""
        raise ValueError(f"{name} must be a positive number{meaning}, got {value!r}")
    return float(value)


def check_integer(name: str, value, minimum: int) -> int:
    """``value`` as an int >= ``minimum``."""
    if not is_integer(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
