"""Run tables: the one canonical table of training runs every law is fitted to.

Canonical columns (units):

=============  ===========================================================
``N``          model size, parameters
``D``          training tokens
``C``          training compute, FLOPs (``C = compute_model.flops(N, D)``)
``lr``         peak learning rate (optional)
``batch_size`` batch size in tokens (optional)
``loss``       final loss (nats/token, or the paper's loss; must be > 0)
``group``      optional family label (data set, architecture, modality)
=============  ===========================================================

Other columns are kept untouched; a column named as a canonical one that another column is
mapped to (a 'loss' column beside ``loss='val_loss'``) is kept as ``loss_unused``, with a
warning. Exactly two of N, D, C may be given and the third is derived
through the compute model (default ``C = 6 N D``); if all three are given they must agree to 1%.
Rows are never dropped silently: :meth:`RunTable.exclude` removes rows for a stated reason and
the table keeps the record, which every fit stores (a mask that selects no row excludes and
records nothing, with a warning). Rows that the plausibility checks would
flag but the caller has vetted as real are kept and named once, in ``accepted_rows`` (see
:func:`load_runs`): they are not warned about again, and the table remembers them.
"""

from __future__ import annotations

import numbers
import os
import re
import shlex
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .cells import CELL_RTOL, rounded_twins, run_cells
from .checks import ArgumentTypeError, bool_cells, rows_text
from .compute import ComputeModel, as_compute_model, same_compute_model
from .warn import user_stacklevel

CANONICAL = ("N", "D", "C", "lr", "batch_size", "loss", "group")
NUMERIC = ("N", "D", "C", "lr", "batch_size", "loss")
UNIT_WORDS = {
    "ones": 1.0,
    "thousands": 1e3,
    "k": 1e3,
    "millions": 1e6,
    "m": 1e6,
    "billions": 1e9,
    "b": 1e9,
    "trillions": 1e12,
    "t": 1e12,
}


# Plausible magnitudes: outside them a column is most likely in other units (see
# :func:`check_plausible`); below the hard minima a value is impossible.
PLAUSIBLE = {
    "N": (1e4, 1e14),  # parameters
    "D": (1e5, 1e16),  # tokens
    "C": (1e10, 1e30),  # FLOPs
}
QUANTITY = {"N": "parameters", "D": "tokens", "C": "FLOPs"}  # what N, D, C count
IMPOSSIBLE_BELOW = {"N": 1.0, "D": 1.0}  # fewer than one parameter / token
TOKENS_PER_PARAM = (1e-2, 1e5)  # plausible range of D / N
BATCH_TOKENS_LOW = 1e3  # a median batch below this many tokens is likely in sequences
# a median peak learning rate above this is likely a log of it (-log10 lr: 3-4 on a typical
# sweep); the bundled and shared sweeps' medians are 2.1e-4 to 2.8e-3 (max 0.022)
LR_HIGH = 1.0
TYPICAL_TOKENS_PER_PARAM = 20.0  # Chinchilla's compute-optimal D / N: ranks units hints
SCALE_WORDS = ("thousands", "millions", "billions", "trillions")  # units hints, by size
LOSS_MAX = 20.0  # nats (or bits) per token: above this the column is likely a perplexity
# a median loss above this many nats per token is unusual for language models (the shared and
# bundled tables' medians are 0.52 to 4.1): a perplexity of 8 to 45, or a loss in bits?
LOSS_HIGH = 6.0
LOSS_OUTLIER_FACTOR = 3.0  # a loss above this multiple of the table's median looks diverged
PF_DAY = 8.64e19  # FLOPs in one petaFLOP/s-day
ROWS_NOTE = "0-based data rows, header not counted"  # what row numbers in messages count
LABELS_NOTE = "labels of the DataFrame's index"  # ... when the input had its own index
# spellings of the optional ``diverged`` column (compared after strip().lower())
DIVERGED_TRUE = ("true", "yes", "y", "t", "1", "1.0")
DIVERGED_FALSE = ("false", "no", "n", "f", "0", "0.0")
# optional columns that every law reading them reads by their exact name besides the canonical
# ones (the ``diverged`` flags; an isoFLOP law's ``run`` labels are not checked here: other
# laws ignore a run column, so a 'Run' column is no near miss for them)
OPTIONAL_EXTRA = ("diverged",)
EXCLUDE_HINT = (
    "Python: runs.exclude(mask, reason=...); command line: --exclude-rows ROWS "
    "--exclude-reason TEXT"
)


class RunTableError(ValueError):
    """Bad input in a run table; the message names the column and rows."""


class PlausibilityWarning(UserWarning):
    """Values that are possible but implausible (likely other units, diverged runs): the
    message names the column, the rows and the likely fix."""


@dataclass(frozen=True)
class Exclusion:
    """Rows removed from a run table on purpose, with the reason."""

    reason: str
    rows: tuple  # index labels of the removed rows

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class RunTable:
    """A validated table of training runs in canonical units (see module docstring).

    Attributes
    ----------
    df : DataFrame in canonical columns and units, index = original row labels.
    compute_model : how C relates to N and D.
    source : where the runs came from (path or "DataFrame").
    exclusions : rows removed on purpose, in order.
    n_input_rows : rows in the input before any exclusion.
    accepted_rows : labels of rows the caller vetted as real although the plausibility checks
        would flag them (``load_runs(..., accepted_rows=...)``), in the order of ``df``; they
        are never warned about, and every label is a row of ``df`` (an exclusion drops its
        rows from here too).
    row_note : what the row labels count, as messages say it: ``ROWS_NOTE`` (a file's 0-based
        data rows) or ``LABELS_NOTE`` (a DataFrame's own index), as :func:`load_runs` knew it
        from its input (a RunTable re-loaded keeps its own); None (the default for a table
        built directly), or ``ROWS_NOTE`` for labels that are not non-negative integers, is
        guessed from the index (:func:`_row_note`). :meth:`at_rows` says rows with it.
    simulated : how much of the table is SIMULATED, decided when it was loaded from structured
        information, never from a file name: "all", "partly" or "none" (:data:`EXTENTS`), by
        its ``source`` column (:func:`frame_extent`: rows whose source starts with
        "simulated", as bayeslaws' simulators and the bundled simulated sweep write it); by
        :func:`load_runs`, the input's own source column as read, so a source column read as
        the group (``group='source'``) or left out (``ignore_columns='source'``) still counts.
        None (the default for a table built directly) is read from ``df`` that way. Kept
        through exclusions (the extent of the table as loaded) and recorded by :meth:`record`.
    derived : which of N, D, C :func:`load_runs` derived through the compute model (e.g.
        ``("C",)`` for a table read from N and D), and whose values are still those derived
        (see ``derived_values``); () for a table built directly (every column given). A
        re-load (``load_runs(runs, ...)``) derives them again from the given columns, with
        the ``units=`` of that call.
    derived_values : the derived columns' values as derived (index: row labels), or None
        (``derived`` is then taken as it is): a derived column set since (``replace(runs,
        df=...)`` with other values in it, e.g. a nominal budget as C) is given from then on
        and leaves ``derived``, while one whose N or D was edited stays derived.
    units : the multiplier each column was read with (``load_runs(units=...)``): canonical
        column -> factor, e.g. ``{"batch_size": 2048.0}`` for a batch given in sequences of
        2048 tokens; {} when every column was given in canonical units. A re-load composes its
        own with these. Recorded (:meth:`record`), so a plan can give its runs' batch sizes in
        the user's unit again.

    Building a table (directly, by ``dataclasses.replace`` or by an exclusion) checks its
    values as :func:`load_runs` does (:meth:`check_values`): a RunTableError names the column
    and rows of a missing, non-positive or infinite N, D, C, lr or batch_size, a loss that is
    not positive and finite (a missing loss is allowed, as ``allow_missing_loss=True`` reads
    diverged runs) and fewer than one parameter or token.
    """

    df: pd.DataFrame
    compute_model: ComputeModel
    source: str = "DataFrame"
    exclusions: tuple = field(default_factory=tuple)
    n_input_rows: int = 0
    accepted_rows: tuple = field(default_factory=tuple)
    row_note: str | None = None
    simulated: str | None = None
    derived: tuple = field(default_factory=tuple)
    derived_values: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    units: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.simulated is None:
            object.__setattr__(self, "simulated", frame_extent(self.df))
        elif self.simulated not in EXTENTS:
            raise ValueError(
                f"RunTable simulated= must be one of {EXTENTS}, got {self.simulated!r}"
            )
        guess = _row_note(self.df.index)
        if self.row_note is None or (self.row_note == ROWS_NOTE and guess != ROWS_NOTE):
            object.__setattr__(self, "row_note", guess)  # only integer labels count data rows
        accepted = accepted_labels(self.df.index, self.accepted_rows, self.row_note)
        object.__setattr__(self, "accepted_rows", accepted)
        if "diverged" in self.df and not _is_plain_bool(self.df["diverged"]):
            df = self.df.copy()
            df["diverged"] = parse_diverged(df["diverged"], self.row_note)
            object.__setattr__(self, "df", df)
        object.__setattr__(self, "df", _numeric_columns(self.df, self.row_note))
        derived, values = _still_derived(self.df, self.derived, self.derived_values)
        object.__setattr__(self, "derived", derived)
        object.__setattr__(self, "derived_values", values)
        self.check_values()

    def check_values(self) -> None:
        """The value checks of :func:`load_runs` on ``df`` (also after an edit in place): a
        RunTableError naming the column and rows of a missing, non-positive or infinite N, D,
        C, lr or batch_size, of a loss that is not positive and finite (a missing loss is
        allowed: diverged runs read with ``allow_missing_loss=True``), and of fewer than one
        parameter (N) or token (D). Fast when every value passes."""
        df = self.df
        given = [c for c in ("N", "D", "C") if c in df and c not in self.derived]
        for column in [c for c in NUMERIC if c in df]:
            values = df[column]
            if not _plain_numbers(values.dtype):  # e.g. text written into df in place
                values = _to_numeric(df, column, self.row_note)
            allow = column == "loss"
            if not _all_positive_finite(values, allow):
                _check_positive_finite(df.assign(**{column: values}), column, allow, self.row_note)
            low = IMPOSSIBLE_BELOW.get(column)
            if low is not None and (values.to_numpy(float) < low).any():
                _check_possible(df, column, given, self.row_note)

    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        cols = [c for c in CANONICAL if c in self.df]
        dropped = sum(e.count for e in self.exclusions)
        return (
            f"RunTable({len(self)} runs from {self.source}; columns {cols}; "
            f"compute model {self.compute_model.name}; {dropped} excluded)"
        )

    def at_rows(self, labels, limit: int = 10) -> str:
        """``rows 3, 7 (0-based data rows, header not counted)``: row ``labels`` of ``df`` for
        a message, with what they count (:attr:`row_note`)."""
        return _at_rows(labels, self.row_note, limit)

    @property
    def has_groups(self) -> bool:
        return "group" in self.df and self.df["group"].nunique() > 1

    @property
    def groups(self) -> list:
        """Group labels in a fixed (sorted) order; ``[None]`` without groups."""
        if "group" not in self.df:
            return [None]
        return sorted(self.df["group"].unique(), key=str)

    def exclude(self, mask, reason: str) -> RunTable:
        """A new table without the rows where ``mask`` is True, recording ``reason``.

        ``mask`` is a boolean Series with the row labels of ``df`` (matched by label, in any
        order), a boolean array or list in the row order of ``df``, or a callable
        ``df -> mask``. Missing (NaN) or non-boolean mask values are errors. A mask that
        selects no row (e.g. ``runs.df.index.isin([3])`` on a table whose rows are labelled
        100, 101, ...) excludes nothing and records nothing: a :class:`PlausibilityWarning`
        names the reason and the table's row labels, and the table is returned as it is.
        """
        _check_reason(reason)
        if callable(mask):
            mask = mask(self.df)
        mask = _as_mask(mask, self.df.index)
        if not mask.any():
            warnings.warn(
                self._nothing_excluded(reason), PlausibilityWarning, stacklevel=user_stacklevel()
            )
            return self
        return self._without(mask, reason)

    def subset(self, mask, reason: str) -> RunTable:
        """Keep only the rows where ``mask`` is True (the others are excluded with ``reason``).
        A mask that keeps every row excludes and records nothing, without a warning (e.g.
        :func:`best_run_per_cell` on a table with one run per cell)."""
        _check_reason(reason)
        if callable(mask):
            mask = mask(self.df)
        keep = _as_mask(mask, self.df.index)
        return self if keep.all() else self._without(~keep, reason)

    def _without(self, mask: np.ndarray, reason: str) -> RunTable:
        """The table without the rows where ``mask`` (row order of ``df``) is True, recorded
        as one :class:`Exclusion` with ``reason``."""
        removed = tuple(self.df.index[mask].tolist())
        kept = self.df.loc[~mask]
        gone = set(removed)
        accepted = tuple(r for r in self.accepted_rows if r not in gone)
        exclusions = self.exclusions + (Exclusion(reason, removed),)
        return replace(self, df=kept, exclusions=exclusions, accepted_rows=accepted)

    def _nothing_excluded(self, reason: str) -> str:
        """The warning for an exclusion (``reason``) whose mask selects no row."""
        if len(self.df) == 0:
            rows = "the table has no rows left"
        else:
            rows = (
                f"if it was meant to select rows: the table's rows are labelled "
                f"{rows_text(self.df.index, 5)} ({self.row_note}), and a mask built from other "
                "labels or from positions (e.g. runs.df.index.isin([3]) on rows labelled 100, "
                "101, ...) selects none; build it from runs.df (runs.df.index.isin([...]) with "
                "those labels, or a condition such as runs.df['loss'] > 3)"
            )
        return (
            f"exclude(reason={reason!r}): the mask selects no row, so nothing is excluded and "
            f"no exclusion is recorded; {rows}"
        )

    def record(self) -> dict:
        """JSON-ready provenance: source, row counts, what the row labels count
        (:attr:`row_note`), every exclusion (its reason, count and the row labels it removed,
        as text), how much of the table is SIMULATED (``"simulated"``: :attr:`simulated`, with
        ``"simulated_source"``: the source text it describes, so that a provenance whose source
        is rewritten later is read from its text again: :func:`recorded_extent`) and, when
        there are any, the ``accepted_rows`` (labels as text) and the ``units`` the columns
        were read with (:attr:`units`)."""
        out = {
            "source": self.source,
            "simulated": self.simulated,
            "simulated_source": self.source,
            "n_input_rows": int(self.n_input_rows),
            "n_rows_used": len(self.df),
            "row_note": self.row_note,
            "exclusions": [
                {"reason": e.reason, "count": e.count, "rows": [str(r) for r in e.rows]}
                for e in self.exclusions
            ],
        }
        if self.accepted_rows:
            out["accepted_rows"] = [str(r) for r in self.accepted_rows]
        if self.units:
            out["units"] = {column: float(factor) for column, factor in self.units.items()}
        return out

    def require_levels(self, column: str, minimum: int, law: str) -> None:
        """Raise if ``column`` has fewer than ``minimum`` distinct values (a law needs them)."""
        if column not in self.df:
            raise RunTableError(f"law {law!r} needs column {column!r}, which the run table lacks")
        levels = self.df[column].nunique()
        if levels < minimum:
            if len(self.df) == 0:
                reasons = "; ".join(e.reason for e in self.exclusions)
                raise RunTableError(
                    f"law {law!r} needs at least {minimum} distinct values of {column!r}; all "
                    f"rows were excluded" + (f" ({reasons})" if reasons else "")
                )
            raise RunTableError(
                f"law {law!r} needs at least {minimum} distinct values of {column!r}; the run "
                f"table has {levels} ({format_values(_sorted(self.df[column].unique()))})"
            )


def _numeric_columns(df: pd.DataFrame, note: str) -> pd.DataFrame:
    """``df`` with its numeric canonical columns (N, D, C, lr, batch_size, loss) held in
    NumPy numbers: text and nullable (``Float64``, ``Int64``) columns are read as floats
    (missing as NaN); a RunTableError names the rows of values that are no numbers (or
    True/False). The frame itself when every such column already is (no copy)."""
    dtypes = df.dtypes
    odd = [c for c in NUMERIC if c in dtypes.index and not _plain_numbers(dtypes[c])]
    if not odd:
        return df
    df = df.copy()
    for column in odd:
        df[column] = _to_numeric(df, column, note)
    return df


def _plain_numbers(dtype) -> bool:
    """Whether a column of ``dtype`` holds NumPy numbers (float, int), which read as floats
    without a copy that can fail (not text, objects, or pandas' nullable Float64 / Int64)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "fiu"


def _all_positive_finite(values: pd.Series, allow_missing: bool) -> bool:
    """Whether every value (numbers) is finite and > 0, a missing one (NaN) allowed when
    ``allow_missing``: the fast path of :meth:`RunTable.check_values`."""
    x = values.to_numpy(float)
    ok = np.isfinite(x) & (x > 0)
    if allow_missing:
        ok |= np.isnan(x)
    return bool(ok.all())


DERIVABLE = ("N", "D", "C")  # the columns load_runs derives (one of them) through the model


def _still_derived(df: pd.DataFrame, names, values) -> tuple[tuple, pd.DataFrame | None]:
    """(``RunTable.derived``, ``RunTable.derived_values``) for the table ``df``: the ``names``
    (of N, D, C) that ``df`` holds and whose values are still ``values`` (the derived values,
    index: row labels; matched by label, so an exclusion keeps them; NaN equal to NaN), and
    those values for ``df``'s rows; every name, as it is, when ``values`` is None. A
    RunTableError for a name other than N, D or C, an ArgumentTypeError for a single string."""
    if isinstance(names, str) or not isinstance(names, tuple | list):
        raise ArgumentTypeError(
            f"RunTable derived= takes a tuple of column names among {DERIVABLE} (e.g. "
            f"('C',)), got {type(names).__name__} {names!r}"
        )
    unknown = [n for n in names if n not in DERIVABLE]
    if unknown:
        raise RunTableError(
            f"RunTable derived= names {unknown}: only {DERIVABLE} are derived by load_runs"
        )
    kept = tuple(n for n in DERIVABLE if n in names and n in df)
    if values is None or not kept:
        return kept, None
    rows = _rows_of(values.index, df.index)  # positions in values of df's rows
    if rows is None:
        return (), None
    same = {}  # name -> its derived values, in df's row order
    for name in kept:
        if name in values:
            stored = values[name].to_numpy(float)
            stored = stored if rows is True else stored[rows]
            now = pd.to_numeric(df[name], errors="coerce").to_numpy(float)
            if np.array_equal(now, stored, equal_nan=True):
                same[name] = stored
    if not same:
        return (), None
    if rows is True and tuple(values.columns) == tuple(same):
        return tuple(same), values
    return tuple(same), pd.DataFrame(same, index=df.index)


def _rows_of(stored: pd.Index, index: pd.Index):
    """True when ``index`` is ``stored``; else the positions in ``stored`` of ``index``'s
    labels (an array), or None when a label is not in ``stored`` or labels repeat."""
    if stored.equals(index):
        return True
    if not stored.is_unique or not index.is_unique:
        return None
    rows = stored.get_indexer(index)
    return None if (rows < 0).any() else rows


def _check_reason(reason) -> None:
    """An exclusion's reason must be a non-empty string (it is stored in the fit)."""
    if not reason or not isinstance(reason, str) or not reason.strip():
        raise ValueError("exclude() needs a reason (a non-empty string): it is stored in the fit")


def _as_mask(mask, index: pd.Index) -> np.ndarray:
    """``mask`` as a boolean array in the row order of ``index``: a Series is matched by its
    labels (the same labels in any order), anything else by position. Missing or non-boolean
    values and a wrong length are errors (``np.asarray(mask, dtype=bool)`` would count NaN and
    any non-empty string as True, and ignore a Series' labels)."""
    if isinstance(mask, pd.DataFrame):
        raise ArgumentTypeError(
            "mask must be one boolean column (Series, array or list), not a DataFrame"
        )
    if isinstance(mask, pd.Series) and not mask.index.equals(index):
        foreign = ~mask.index.isin(index)
        if mask.index.has_duplicates or len(mask) != len(index) or foreign.any():
            example = f" (e.g. {mask.index[foreign][0]!r})" if foreign.any() else ""
            raise ValueError(
                f"mask's labels differ from the table's row labels{example}: build the mask "
                "from runs.df (e.g. runs.df['loss'] > 3), or pass an array in row order"
            )
        mask = mask.reindex(index)
    values = mask.to_numpy() if isinstance(mask, pd.Series | pd.Index) else np.asarray(mask)
    if values.shape != (len(index),):
        raise ValueError(
            f"mask has shape {values.shape}, expected ({len(index)},): one True/False per row"
        )
    if values.dtype == bool:
        return values
    flags = [isinstance(v, bool | np.bool_) for v in values.tolist()]
    if all(flags):
        return values.astype(bool)
    missing = np.flatnonzero(pd.isna(values))
    if len(missing):
        raise ValueError(
            f"mask has missing values (NaN/NA) at positions {rows_text(missing)}: give True or "
            "False for every row"
        )
    odd = values[~np.array(flags)]
    bad = [repr(str(v)) if isinstance(v, str) else format_value(v) for v in odd]
    raise ValueError(
        f"mask must hold True/False values, got {values.dtype} values such as "
        f"[{', '.join(bad[:3])}]"
    )


def _label_list(rows) -> list:
    """``accepted_rows`` as a list of labels ([] for None); a TypeError for a string, a
    DataFrame or anything that is not a collection of labels."""
    if rows is None:
        return []
    if isinstance(rows, str | bytes | pd.DataFrame) or not hasattr(rows, "__iter__"):
        raise ArgumentTypeError(
            "accepted_rows must be a list of row labels (e.g. [21, 600]), got "
            f"{type(rows).__name__} {rows!r}"
        )
    return list(rows)


def accepted_labels(index: pd.Index, rows, note: str = ROWS_NOTE) -> tuple:
    """The labels of ``rows`` (an iterable of row labels, or None) as a tuple in the order of
    ``index``; a label that is not in ``index`` is a RunTableError naming it (a string or a
    non-iterable in place of the labels, a TypeError)."""
    labels = _label_list(rows)
    if not labels:
        return ()
    present = set(index)
    unknown = [r for r in labels if r not in present]
    if unknown:
        raise RunTableError(
            f"accepted_rows names {len(unknown)} label(s) that are not rows of the table: "
            f"{rows_text(unknown)} (the table's {note}; its rows are {rows_text(index, 5)})"
        )
    return tuple(index[index.isin(labels)].tolist())


def unit_factor(column: str, unit) -> float:
    """The multiplier of a ``units=`` value for ``column``: a positive number as it is, or a
    word ("thousands", "millions", "billions", ...); a RunTableError names a bad word or number,
    a TypeError any other value (None, True/False, a list: ``units[column]`` and what it takes).
    """
    allowed = f"a positive number (e.g. 1e6) or one of {sorted(UNIT_WORDS)}"
    if isinstance(unit, str):
        try:
            return UNIT_WORDS[unit.lower()]
        except KeyError:
            raise RunTableError(
                f"unknown unit {unit!r} for column {column!r} (units[{column!r}]); use {allowed}"
            ) from None
    if isinstance(unit, bool | np.bool_) or not isinstance(unit, numbers.Real):
        raise ArgumentTypeError(
            f"units[{column!r}] must be {allowed}; got {type(unit).__name__} {unit!r}"
        )
    factor = float(unit)
    if not np.isfinite(factor) or factor <= 0:
        raise RunTableError(
            f"unit for column {column!r} must be a positive number, got {format_value(unit)} "
            f"(units[{column!r}])"
        )
    return factor


def _row_note(index) -> str:
    """A guess at what the row labels of ``index`` count, for a table that does not say (a
    RunTable says it: :attr:`RunTable.row_note`, from what :func:`load_runs` read): data rows
    from 0 for non-negative integer labels (a file, or a DataFrame with the default index,
    possibly after rows were dropped), else the DataFrame's own labels."""
    if pd.api.types.is_integer_dtype(index) and (len(index) == 0 or index.min() >= 0):
        return ROWS_NOTE
    return LABELS_NOTE


def _at_rows(labels, note: str = ROWS_NOTE, limit: int = 10) -> str:
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


def _is_plain_bool(values) -> bool:
    return isinstance(values, pd.Series) and values.dtype == bool


def _sorted(values) -> list:
    """Values in order: numbers numerically, anything else by its text."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _diverged_flag(value):
    """True/False for one ``diverged`` cell; None when the value cannot be read as a flag."""
    if value is None or value is pd.NA or value is pd.NaT:
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if np.isnan(value):
            return False
        return {0.0: False, 1.0: True}.get(float(value))
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "" or text in DIVERGED_FALSE:
            return False
        if text in DIVERGED_TRUE:
            return True
    return None


def parse_diverged(values: pd.Series, note: str = ROWS_NOTE, name=None) -> pd.Series:
    """The optional ``diverged`` column as a boolean Series (same index): bools, 0/1, and
    true/false, yes/no, y/n, t/f, 1/0 in any case; missing values (NaN, None, "") are False.
    A RunTableError naming the rows and values otherwise (``bool("no")`` is True, so a text
    column must never be cast with ``astype(bool)``); ``name``: the user's name of the column
    (``load_runs(..., diverged=name)``), for the message."""
    if isinstance(values, pd.DataFrame):
        raise RunTableError("the table has more than one column named 'diverged'")
    if _is_plain_bool(values):
        return values
    flags = [_diverged_flag(v) for v in values.tolist()]
    bad = [i for i, f in enumerate(flags) if f is None]
    if bad:
        shown = ", ".join(
            f"row {values.index[i]}: {values.iloc[i]!r}"
            if isinstance(values.iloc[i], str)
            else f"row {values.index[i]}: {format_value(values.iloc[i])}"
            for i in bad[:5]
        )
        more = f", ... ({len(bad)} rows)" if len(bad) > 5 else ""
        raise RunTableError(
            f"column {_label('diverged', name)} must hold true/false flags (True/False, 1/0, "
            "yes/no, y/n, t/f "
            f"in any case; an empty cell means not diverged); unreadable values at {shown}{more} "
            f"({note})"
        )
    return pd.Series(np.asarray(flags, dtype=bool), index=values.index, name=values.name)


def diverged_flags(df: pd.DataFrame) -> np.ndarray:
    """The ``diverged`` column of ``df`` as a boolean array (all False without the column)."""
    if "diverged" not in df:
        return np.zeros(len(df), dtype=bool)
    return parse_diverged(df["diverged"], _row_note(df.index)).to_numpy(dtype=bool)


def _blank(values: pd.Series) -> pd.Series:
    """Cells that are empty: missing, or (text columns) an empty or all-space string."""
    missing = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        missing |= values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return missing


def _drop_empty_rows(df: pd.DataFrame, note: str) -> pd.DataFrame:
    """The table without rows in which every column is empty (e.g. the trailing ',,,' lines of
    a spreadsheet export), with a warning naming them; other rows are never dropped here."""
    if df.empty or len(df.columns) == 0:
        return df
    empty = np.ones(len(df), dtype=bool)
    for i in range(len(df.columns)):
        empty &= _blank(df.iloc[:, i]).to_numpy(dtype=bool)
    if not empty.any():
        return df
    warnings.warn(
        f"{int(empty.sum())} entirely empty row(s) dropped (every column empty, e.g. trailing "
        f"',,,' lines of a spreadsheet export): {_at_rows(df.index[empty], note)}",
        PlausibilityWarning,
        stacklevel=user_stacklevel(),
    )
    return df.loc[~empty]


def _header_diagnosis(columns: list, canonical) -> str:
    """Why a required column was not found, when the header says so: a tab-, ';'- or
    whitespace-separated file read as one column, or a name that differs from a canonical one
    only in case/spaces."""
    notes = []
    only = str(columns[0]) if len(columns) == 1 else ""
    for sep, name in (("\t", "tab"), (";", "';'")):
        if sep in only:
            tsv = " (or keep the tabs and name it .tsv: a .tsv file is read tab-separated)"
            notes.append(
                f"the file looks {name}-separated (its one column is named {only!r}): save it "
                f"with commas{tsv if sep == chr(9) else ''}, or read it with "
                f"pd.read_csv(path, sep={sep!r}) and pass the DataFrame"
            )
            break
    if not notes and _spaced_header(only, canonical):
        notes.append(
            f"the file looks whitespace-separated (its one column is named {only!r}): save it "
            r'with commas, or read it with pd.read_csv(path, sep=r"\s+") and pass the DataFrame'
        )
    for canon in map(str, canonical):
        for name in columns:
            name = str(name)
            if name != canon and name.strip().lower() == canon.lower():
                how = "only in case" if name.strip() == name else "only in case or spaces"
                notes.append(f"column {name!r} differs {how} from {canon!r}")
    return "".join(f"; {note}" for note in notes)


def _spaced_header(only: str, canonical) -> bool:
    """Whether a table's one column name ``only`` is a header of names separated by spaces:
    two or more words, one of them a column name load_runs reads (N, D, C, lr, ..., or one of
    ``canonical``), in any case."""
    words = only.split()
    known = {_plain_name(c) for c in (*LEAVABLE, *map(str, canonical))}
    return len(words) >= 2 and any(_plain_name(w) in known for w in words)


def _plain_name(name) -> str:
    """A column name compared loosely: stripped, lower case, '-' and spaces as '_'."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _near_misses(extra: list, absent: list) -> list[tuple[str, str]]:
    """(the table's column, the canonical name) for each ``extra`` column (kept untouched)
    that equals an ``absent`` canonical or optional name only loosely (:func:`_plain_name`)."""
    plain = {_plain_name(canon): canon for canon in absent}
    return [(str(c), plain[_plain_name(c)]) for c in extra if _plain_name(c) in plain]


def _near_miss_message(name: str, canon: str) -> str:
    """Why the column ``name`` is not read as ``canon``, and the fix."""
    how = "case/spaces" if name.strip().lower() == canon.lower() else "case/spaces/'-'/'_'"
    rename = f"rename it to {canon!r}" if canon in OPTIONAL_EXTRA else "rename it"
    fix = f"{rename} or map it ({_mapping_forms(canon, name)})"
    return (
        f"column {name!r} differs from {canon!r} only in {how}: it is NOT used as {canon!r} "
        f"(kept as an extra column); {fix}"
    )


def _mapping_forms(canon: str, name) -> str:
    """How to read the table's column ``name`` as ``canon``, in both forms: "Python:
    load_runs(..., canon='name'); command line: --column canon=name"."""
    return (
        f"Python: load_runs(..., {canon}={str(name)!r}); command line: "
        f"--column {shlex.quote(f'{canon}={name}')}"
    )


DIVERGED_LIKE = "diverg"  # an extra column whose name holds this (any case) looks like flags


def _diverged_like_message(name, read) -> str:
    """The warning for an extra column ``name`` whose name looks like diverged-run flags
    (:data:`DIVERGED_LIKE`) but is not read as them; ``read``: the user's name of the column
    read as the flags, None when the table has none."""
    what = (
        f"column {str(name)!r} looks like diverged-run flags (its name contains "
        f"{DIVERGED_LIKE!r}) but is NOT read as them (kept as an extra column)"
    )
    if read is not None:
        return (
            f"{what}: the flags are read from column {str(read)!r}; if {str(name)!r} holds them "
            f"instead, drop or rename {str(read)!r} and map it ({_mapping_forms('diverged', name)})"
        )
    return (
        f"{what}: a run it flags is fitted as a converged one (only a 'diverged' column's flags "
        "are read: a hyperparameter or sweep law counts those runs as diverged, the other laws "
        f"refuse them); if it holds the flags, map it ({_mapping_forms('diverged', name)})"
    )


def _flags_column(df: pd.DataFrame, diverged, mapping: dict) -> pd.DataFrame:
    """``df`` with the user's column ``diverged`` (``load_runs(..., diverged=...)``) renamed to
    'diverged'; as it is for None or 'diverged'. A RunTableError names a column that is not in
    the table, a 'diverged' column besides it, or a column ``mapping`` (canonical -> the
    user's name) also reads as another canonical column."""
    if diverged is None or diverged == "diverged":
        return df
    columns = _column_labels(df.columns)
    if diverged not in df.columns:
        raise RunTableError(
            f"column {diverged!r} (given for diverged) is not in the table; the columns read "
            f"are {columns}{_header_diagnosis(columns, [diverged])}"
        )
    for canon, user in mapping.items():
        if (user if user is not None else canon) == diverged:
            raise RunTableError(
                f"column {diverged!r} is used for both {canon} and diverged: each of N, D, C, lr, "
                "batch_size, loss, group and diverged needs its own column of the table"
            )
    if "diverged" in df.columns:
        raise RunTableError(
            f"the table has a column 'diverged' besides {diverged!r} (given for diverged): "
            "one column holds the flags; drop or rename the other"
        )
    return df.rename(columns={diverged: "diverged"})


def _read(data, group: str = "group") -> tuple[pd.DataFrame, str]:
    """The input as a DataFrame and its source; a text file's column ``group`` is read as
    text without pandas' NA words ("NA", "None", ... are labels; an empty cell is "")."""
    if isinstance(data, pd.DataFrame):
        return data.copy(), "DataFrame"
    if isinstance(data, RunTable):
        return data.df.copy(), data.source
    if not isinstance(data, str | os.PathLike):
        raise ArgumentTypeError(
            "data must be a path to a CSV/Parquet file, a DataFrame or a RunTable; got "
            f"{type(data).__name__}"
        )
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"run table {str(path)!r} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"run table {str(path)!r} is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".tsv", ".txt", ".gz"):
        raise RunTableError(
            f"unsupported file type {suffix!r} for {str(path)!r}; use .csv, .tsv or .parquet"
        )
    if path.stat().st_size == 0:
        raise RunTableError(f"run table {str(path)!r} is empty (no header, no rows)")
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), str(path)
        tab = suffix == ".tsv" or path.name.lower().endswith(".tsv.gz")
        return _read_text(path, "\t" if tab else ",", group), str(path)
    except ImportError:
        raise RunTableError(
            f"reading {str(path)!r} (Parquet) needs pyarrow or fastparquet: pip install pyarrow, "
            "or save the table as CSV"
        ) from None
    except pd.errors.EmptyDataError:
        raise RunTableError(f"run table {str(path)!r} has no columns (is it empty?)") from None
    except RunTableError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as err:
        message = " ".join(str(err).split())
        remedy = _encoding_remedy(path) if isinstance(err, UnicodeDecodeError) else ""
        raise RunTableError(
            f"could not parse {str(path)!r} as a table ({type(err).__name__}: {message})"
            f"{remedy}"
        ) from None


def _open_text(path: Path, errors: str = "strict"):
    """A text file (UTF-8, a BOM skipped; gzip-compressed when its name ends in .gz) opened
    for reading with newline='' (for the csv module)."""
    import gzip

    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors=errors, newline="")
    return open(path, encoding="utf-8-sig", errors=errors, newline="")


def _encoding_remedy(path: Path) -> str:
    """The remedy for a text file that is not UTF-8 (": the file is UTF-16 text ...: re-save
    it as UTF-8 ..."), from its first bytes: a UTF-16 or UTF-32 byte-order mark (or the zero
    bytes of UTF-16 text without one), else another 8-bit encoding (Windows-1252, Latin-1)."""
    import gzip

    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return ""
    encoding = None
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:200].count(b"\x00") > 10:
        encoding = "utf-16"
    if encoding is None:
        return (
            ": the file is not UTF-8 text (likely Windows-1252 or Latin-1): re-save it as UTF-8 "
            "(in Excel: CSV UTF-8), or read it with pd.read_csv(path, encoding='cp1252') and "
            "pass the DataFrame"
        )
    try:
        first = head.decode(encoding, errors="ignore").splitlines()[0]
    except IndexError:
        first = ""
    sep = ", sep='\\t'" if "\t" in first and "," not in first else ""
    return (
        f": the file is {encoding.upper()} text (as Excel's 'Unicode Text' saves it), not "
        "UTF-8: re-save it as UTF-8 (in Excel: CSV UTF-8), or read it with "
        f"pd.read_csv(path, encoding='{encoding}'{sep}) and pass the DataFrame"
    )


# Excel's first line naming the separator of the lines below it ("sep=;"), quoted or not
EXCEL_SEP = re.compile(r'^\s*"?sep=(.)"?\s*$')


def _excel_separator(path: Path) -> str | None:
    """The separator a text table's first line names as Excel writes it (``sep=;``: ";"), or
    None when its first line is no such line."""
    try:
        with _open_text(path, errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return None
    found = EXCEL_SEP.match(first.rstrip("\r\n"))
    return found.group(1) if found else None


def _read_text(path: Path, sep: str, group: str) -> pd.DataFrame:
    """A CSV/TSV file as a DataFrame. A first line ``sep=X`` (Excel's separator line) is
    skipped and the file read with X between the values. Header names must be unique (pandas
    would rename a second 'loss' to 'loss.1'); data rows may end in one empty field (a trailing
    comma) but never hold more values than the header names (pandas would shift the columns by
    making the first one the index), nor fewer (pandas would fill the missing ones with NaN: a
    RunTableError names those rows, :func:`_check_short_rows`). The ``group`` column is read as
    text, without NA words."""
    hint = _excel_separator(path)
    skip = 1 if hint is not None else 0  # the "sep=X" line
    sep = hint if hint is not None else sep
    header = pd.read_csv(
        path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False, index_col=False,
        skiprows=skip,
    )
    names = [str(v) for v in header.iloc[0].tolist()] if len(header) else []
    seen = set()
    for name in names:
        if name.strip() and name in seen:
            raise RunTableError(
                f"the header of {str(path)!r} has more than one column named {name!r}; give "
                "each column its own name"
            )
        seen.add(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            df = pd.read_csv(path, sep=sep, index_col=False, skiprows=skip)
        except pd.errors.ParserWarning:
            only = names[0] if len(names) == 1 else ""
            for other, name in (("\t", "tab"), (";", "';'")):
                if sep != other and other in only:  # e.g. ';' with decimal commas
                    raise RunTableError(
                        f"{str(path)!r} looks {name}-separated with decimal commas (its header "
                        f"line {only!r} holds no {sep!r}, and the commas split the numbers of "
                        f"its data rows): save it with commas between the values and points in "
                        f"the numbers, or read it with pd.read_csv(path, sep={other!r}, "
                        "decimal=',') and pass the DataFrame"
                    ) from None
            below = _header_below(path, sep, len(names), skip)
            raise RunTableError(
                f"data rows of {str(path)!r} hold more values than the header has names "
                f"({len(names)}: {names}): field {len(names) + 1} onwards has no column name. "
                "Name the extra column in the header, or remove the extra values (one trailing "
                f"comma at the end of every row is fine){below}"
            ) from None
    _check_short_rows(path, sep, names, df, skip)
    if group in df.columns:
        text = pd.read_csv(
            path, sep=sep, index_col=False, usecols=[group], dtype=str, keep_default_na=False,
            skiprows=skip,
        )
        df[group] = text[group].to_numpy(object)
    _warn_blank_lines(path, sep, len(df), skip)
    return df


def _check_short_rows(path: Path, sep: str, names: list, df: pd.DataFrame, skip: int) -> None:
    """A RunTableError naming the data rows (and lines) of a text table that hold fewer values
    than its header names (``names``; trailing unnamed fields not counted), e.g. a row cut
    short: pandas fills the missing fields with NaN, which would read as a missing value (a
    diverged run, with ``allow_missing_loss=True``). ``df``: the table as pandas read it (a
    short row leaves its last named column missing, so a table without a missing value there
    is not scanned); ``skip``: lines above the header (Excel's "sep=X" line)."""
    width = max((i + 1 for i, name in enumerate(names) if name.strip()), default=0)
    if width < 2 or len(df.columns) < width or not df.iloc[:, width - 1].isna().any():
        return
    short, row, header = [], 0, False  # (data row, line, values) of the short records
    try:
        for line, fields in _records(path, sep, skip=skip):
            if _is_blank(fields) or not header:
                header = header or not _is_blank(fields)
                continue
            if len(fields) < width:
                short.append((row, line - _record_lines(fields) + 1, len(fields)))
            row += 1
    except Exception:  # noqa: BLE001 - a check only: pandas read the table
        return
    if not short:
        return
    lines = ", ".join(str(line) for _, line, _ in short[:10]) + (", ..." if len(short) > 10 else "")
    counts = sorted({n for _, _, n in short})
    held = " or ".join(str(n) for n in counts)
    where = (
        f"{_at_rows([r for r, _, _ in short])}, on line(s) {lines} of the file"
        if row == len(df)
        else f"line(s) {lines} of the file"
    )
    what = {",": "commas", "\t": "tabs"}.get(sep, f"{sep!r} separators")
    raise RunTableError(
        f"{len(short)} data row(s) of {str(path)!r} hold fewer values than the header has names "
        f"({width}: {names[:width]}): {where}, hold {held} value(s). pandas would fill the "
        "missing fields with NaN, so a row cut short would be read as a run with missing values "
        "(with allow_missing_loss=True, a missing loss as a diverged run). Restore the row's "
        f"values, or write a missing value as an empty field, so that every row has {width} "
        f"fields ({width - 1} {what})"
    )


def _records(path: Path, sep: str, limit: int | None = None, skip: int = 0):
    """(line number, fields) of the records of a text table, by the csv module: a blank line
    is a record with no fields (or one all-space field); up to ``limit`` records, after the
    first ``skip`` (Excel's "sep=X" line; line numbers count it)."""
    import csv

    with _open_text(path, errors="replace") as handle:
        reader = csv.reader(handle, delimiter=sep)
        for count, fields in enumerate(reader):
            if count < skip:
                continue
            if limit is not None and count - skip >= limit:
                return
            yield reader.line_num, fields


def _is_blank(fields: list) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _header_below(path: Path, sep: str, n_names: int, skip: int = 0) -> str:
    """For a file whose first line has fewer fields (``n_names``) than its data rows: when a
    later line among the first 50 looks like the header (more fields, every one that is not
    empty a name, not a number), the remedy "; the header may be on line k ...: delete the
    lines above it, or read it with pd.read_csv(path, skiprows=j) and pass the DataFrame";
    else ""."""
    try:
        records = list(_records(path, sep, limit=50, skip=skip))
    except Exception:  # noqa: BLE001 - a hint only: the error it joins is said anyway
        return ""
    for i, (line, fields) in enumerate(records):
        if i == 0 or len(fields) <= n_names:
            continue
        filled = [f.strip() for f in fields if f.strip()]
        if len(filled) >= 2 and not any(_is_number(f) for f in filled):
            above = records[i - 1][0]  # the lines of the records above it (blank ones too)
            lines = "the line" if above == 1 else f"the {above} lines"
            with_sep = "" if sep == "," else f", sep={sep!r}"
            return (
                f"; the header may be on line {line} ({sep.join(fields)!r}), below a title or "
                f"notes: delete {lines} above it, or read it with "
                f"pd.read_csv(path, skiprows={above}{with_sep}) and pass the DataFrame"
            )
        return ""
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _warn_blank_lines(path: Path, sep: str, n_rows: int, skip: int = 0) -> None:
    """Warn when blank lines come before data rows of a text table: pandas skips them, so a
    row's number (0-based data rows, as messages, exclusions and accepted_rows= count them,
    and as ``pd.read_csv(path)`` numbers them) no longer tells its line in the file. Blank
    lines after the last row shift nothing and are not said; nothing is said when the csv
    module counts other rows than pandas read (``n_rows``). ``skip``: lines above the header
    (Excel's "sep=X" line)."""
    try:
        blank, starts, header = [], [], False  # starts: the line each data row begins on
        for line, fields in _records(path, sep, skip=skip):
            if _is_blank(fields):
                blank.append((line, len(starts)))
            elif header:
                starts.append(line - _record_lines(fields) + 1)
            else:
                header = True
    except Exception:  # noqa: BLE001 - a warning only: the table was read
        return
    blank = [(line, row) for line, row in blank if row < len(starts)]
    if not blank or len(starts) != n_rows:
        return
    lines = ", ".join(str(line) for line, _ in blank[:5]) + (", ..." if len(blank) > 5 else "")
    row = blank[0][1]
    plural = "s" if len(blank) > 1 else ""
    warnings.warn(
        f"{str(path)!r} has {len(blank)} blank line{plural} (line{plural} {lines}), skipped as "
        "pandas skips blank lines: row numbers (of messages, exclusions and accepted_rows=) "
        "count the data rows read from 0 without them, as pd.read_csv(path) numbers them, so "
        f"from row {row} on a row is further down the file than its number + {2 + skip} (row "
        f"{row} is on line {starts[row]}, not {row + 2 + skip}); delete the blank lines for row "
        "numbers that follow the file's lines (and a spreadsheet's rows)",
        stacklevel=user_stacklevel(),
    )


def _record_lines(fields: list) -> int:
    """How many lines a csv record spans (its quoted fields' line breaks + 1)."""
    return 1 + sum(f.count("\n") for f in fields)


def _to_numeric(
    df: pd.DataFrame, column: str, note: str = ROWS_NOTE, canon: str | None = None
) -> pd.Series:
    """``df[column]`` as floats (missing as NaN); a RunTableError names the rows of True/False
    values and of values that are no numbers, with a remedy for numbers written with ','
    between thousands, with a K/M/B/T suffix, and (``canon`` "loss") for a loss cell holding
    text such as "diverged" or "nan". ``canon``: the canonical column it is read as (default:
    ``column``), for the remedies."""
    raw = df[column]
    if isinstance(raw, pd.DataFrame):
        raise RunTableError(f"the table has more than one column named {column!r}")
    canon = column if canon is None else canon
    flags = bool_cells(raw)
    if flags.any():
        raise RunTableError(
            f"column {column!r} holds True/False values, not numbers, at "
            f"{_at_rows(df.index[flags], note)}; map the right column (a boolean column would be "
            "read as 0/1)"
        )
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        examples = raw[bad].astype(str).head(3).tolist()
        remedy = _thousands_remedy(raw[bad]) or _suffix_remedy(raw[bad], canon)
        if canon == "loss":
            remedy += _failed_run_remedy(raw[bad])
        raise RunTableError(
            f"column {column!r} has non-numeric values at {_at_rows(df.index[bad], note)} "
            f"(e.g. {examples}){remedy}"
        )
    return values.astype(float)


# a number with a size suffix, as model and data sizes are often written: "100M", "1.3B", "7b"
SUFFIXED = re.compile(r"^\s*[-+]?(\d+(?:\.\d*)?|\.\d+)\s*([kmbt])\s*$", re.IGNORECASE)
SUFFIX_WORDS = {"k": "thousands", "m": "millions", "b": "billions", "t": "trillions"}


def _suffix_remedy(bad: pd.Series, canon: str) -> str:
    """The remedy when the non-numeric values ``bad`` are numbers with a K/M/B/T suffix
    ("100M", "1.3B"), which are not read: plain numbers, or numbers in one unit with
    ``units=`` (``canon``: the canonical column, its key); else ""."""
    texts = [v for v in bad.tolist() if isinstance(v, str)]
    if not texts or not all(SUFFIXED.match(v) for v in texts):
        return ""
    number, letter = SUFFIXED.match(texts[0]).groups()
    value = float(number) * UNIT_WORDS[letter.lower()]
    plain = f"{value:.0f}" if value.is_integer() and value < 1e16 else format_value(value)
    word = SUFFIX_WORDS[letter.lower()]
    return (
        f": suffixes such as K, M, B, T are not read ({texts[0].strip()!r}): write plain "
        f"numbers (e.g. {plain}), or numbers in one unit with units= (e.g. {number} with "
        f"units={{{canon!r}: {word!r}}})"
    )


# loss texts of a run that failed: "diverged", "NaN", "failed", "OOM", "n/a", "-", "?", ...
FAILED_TEXT = re.compile(
    r"diverg|\bnan\b|fail|crash|explod|\boom\b|error|unstable|^\s*(n/?a|none|null|-+|\?+)\s*$",
    re.IGNORECASE,
)


def _failed_run_remedy(bad: pd.Series) -> str:
    """The remedy when a non-numeric loss (``bad``) reads as a run that failed ("diverged",
    "nan", "OOM", "-"): blank the cell (a missing loss, read with ``allow_missing_loss=True``)
    or keep a loss it logged and mark it in a ``diverged`` column; else ""."""
    texts = [v for v in bad.tolist() if isinstance(v, str)]
    if not any(FAILED_TEXT.search(v) for v in texts):
        return ""
    return (
        "; runs that diverged or failed? A loss cell holds a number or nothing: blank the cell "
        "and read the runs with a missing loss (Python: load_runs(..., allow_missing_loss=True); "
        "command line: --keep-diverged), or keep a loss the run logged and mark it in a "
        "'diverged' column (true/false)"
    )


# a number written with ',' between groups of three digits: "20,000,000", "1,234.5"
THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\s*$")


def _thousands_remedy(bad: pd.Series) -> str:
    """The remedy when the non-numeric values ``bad`` are numbers written with ',' as the
    thousands separator ("20,000,000"); else ""."""
    texts = [v for v in bad.tolist() if isinstance(v, str)]
    if not texts or not all(THOUSANDS.match(v) for v in texts):
        return ""
    plain = texts[0].strip().replace(",", "")
    return (
        f": these look written with ',' as the thousands separator: save the table with plain "
        f"numbers (e.g. {plain}), or read it with pd.read_csv(path, thousands=',') and pass "
        "the DataFrame"
    )


def _label(column: str, name=None) -> str:
    """A column for a message: the user's label, with the canonical name when they differ
    (``'Model Size' (N)``, ``0 (N)`` for a table without a header)."""
    if name is None or name == column:
        return repr(column)
    if isinstance(name, np.generic):
        name = name.item()
    return f"{name!r} ({column})"


def _check_positive_finite(
    df: pd.DataFrame,
    column: str,
    allow_missing: bool,
    note: str = ROWS_NOTE,
    name=None,
    typed: pd.Series | None = None,
) -> None:
    """Every value of ``column`` finite and > 0 (missing ones too unless ``allow_missing``);
    messages name the user's column ``name`` and show the values as ``typed`` (before units)."""
    values = df[column]
    shown = values if typed is None else typed
    missing = values.isna()
    if missing.any() and not allow_missing and column == "loss":
        posinf = np.isposinf(pd.to_numeric(values, errors="coerce").to_numpy(float))
        kinds = "missing values (or +inf)" if posinf.any() else "missing values"
        raise RunTableError(no_loss_message(df.index[missing | posinf], name, note, kinds))
    if missing.any() and not allow_missing:
        raise RunTableError(
            f"column {_label(column, name)} has missing values at "
            f"{_at_rows(df.index[missing], note)}"
        )
    present = values[~missing]
    bad = (~np.isfinite(present) | (present <= 0)).to_numpy(bool)
    if bad.any():
        diverged = column == "loss" and not allow_missing and np.isposinf(present[bad]).any()
        remedy = f": {_diverged_loss_remedy('loss logged as +inf')}" if diverged else ""
        raise RunTableError(
            f"column {_label(column, name)} must be finite and positive; bad values at "
            f"{_at_rows(present.index[bad], note)} (e.g. "
            f"{format_values(shown[~missing][bad], 3)}){remedy}"
        )


def label_text(label) -> str | None:
    """A group or run label as text, as a fit stores it and an update compares it: a float
    with an integer value as that integer (7.0 as "7", like 7 and "7"); None when missing
    (None, NaN, pandas' NA)."""
    if pd.api.types.is_scalar(label) and pd.isna(label):
        return None
    if isinstance(label, float | np.floating) and float(label).is_integer():
        return str(int(label))
    return str(label)


# the text str() gives a missing label (NaN, None, pandas' NA), as fits saved before labels
# were stored by label_text wrote it, and an empty one
MISSING_LABEL_TEXTS = ("nan", "None", "<NA>", "")


def label_key(label) -> str | None:
    """The key by which an update matches a group or run label to the fit's: its
    :func:`label_text`, where text that a float with an integer value prints as ("7.0",
    "1e+20") reads as that integer ("7", "100000000000000000000") and the text of a missing
    label (:data:`MISSING_LABEL_TEXTS`: "nan", "None", "<NA>", empty) as missing (None). So
    7, 7.0, "7" and "7.0" are one label (a fit's group 7 is "7" while a group column of
    7.0 loads as "7.0", and fits saved before labels were stored by :func:`label_text`
    wrote run 0.0 as "0.0" and a missing run as "nan"); "7.00" and "007" stay themselves."""
    text = label_text(label)
    if text is None or text.strip() in MISSING_LABEL_TEXTS:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    if str(number) == text and number.is_integer():  # inf and nan are no integers
        return str(int(number))
    return text


def no_loss_message(
    rows, name=None, note: str = ROWS_NOTE, kinds: str = "missing values (or +inf)", still=""
) -> str:
    """The message for runs with no loss (missing, or logged as +inf) at ``rows`` (labels):
    the user's loss column ``name``, what the values are (``kinds``), an optional clause
    ``still`` after the rows (e.g. the rows a caller already left out), and the remedy for
    runs that diverged."""
    logged = "no loss logged" if kinds == "missing values" else "no loss, or +inf, logged"
    return (
        f"column {_label('loss', name)} has {kinds} at {_at_rows(rows, note)}{still}: "
        f"{_diverged_loss_remedy(logged)}"
    )


def _diverged_loss_remedy(logged: str) -> str:
    """The remedy for runs whose loss is missing or +inf (``logged`` says which): diverged
    runs are read with ``allow_missing_loss=True`` (as a missing loss), then a hyperparameter
    or sweep law counts them as diverged and records them; other laws need them excluded.
    In both forms (Python; command line), which the command line reduces to its own."""
    return (
        f"runs that diverged ({logged})? A hyperparameter or sweep law counts them as diverged "
        "and records them; other laws need them left out (Python: load_runs(..., "
        "allow_missing_loss=True) reads them with a missing loss (NaN), which the "
        "hyperparameter and sweep laws count as diverged and record (a 'diverged' column marks "
        "runs that logged a loss), and runs.exclude(runs.df['loss'].isna(), reason=...) leaves "
        "them out; command line: keep them with --keep-diverged, or leave them out with "
        "--exclude-rows ROWS --exclude-reason TEXT)"
    )


def _read_posinf_loss_as_missing(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` with a loss of +inf (a diverged run's log) read as missing (NaN), as a NaN loss
    is read under ``allow_missing_loss=True``; -inf and other values are left to the checks."""
    if "loss" not in out or not np.isposinf(out["loss"].to_numpy(float)).any():
        return out
    out = out.copy()
    out.loc[np.isposinf(out["loss"].to_numpy(float)), "loss"] = np.nan
    return out


def load_runs(
    data,
    *,
    N: Hashable | None = None,
    D: Hashable | None = None,
    C: Hashable | None = None,
    lr: Hashable | None = None,
    batch_size: Hashable | None = None,
    loss: Hashable | None = "loss",
    group: Hashable | None = None,
    diverged: Hashable | None = None,
    units: dict | None = None,
    compute_model=None,
    allow_missing_loss: bool = False,
    accepted_rows=None,
    ignore_columns=None,
) -> RunTable:
    """Load training runs into a validated :class:`RunTable`.

    Parameters
    ----------
    data : path to a CSV or Parquet file, a DataFrame, or a RunTable. A RunTable keeps its
        compute model, exclusions and input row count; the one of N, D, C derived at its load
        and not set since (:attr:`RunTable.derived`) is derived again from the other two, with
        this call's ``units=`` (so a unit or an edit of N reaches C), unless the call maps it
        or gives another compute model. Else it is re-checked from its N and D and keeps its C:
        its C may be a nominal budget rather than the compute model's, as in
        ``bundled.isoflop_compendium``; with ``compute_model=``, or a mapping or unit for N, D
        or C, C is checked against the model as in a fresh table.
    N, D, C, lr, batch_size, loss, group : the user's column label for each canonical column
        (``None`` = use the canonical name if present): a name, or any other label of the
        table's columns, e.g. ``N=0`` for ``pd.read_csv(path, header=None)`` (a label is also
        matched by its text: ``N="0"`` reads column 0). Two of N, D, C are needed. Group labels
        are read as text; labels that are one label to :func:`label_key` (7, 7.0, "7", "7.0")
        are one group, with a warning naming the spellings merged. A column of the table
        named as the canonical column another is mapped to (a 'loss' column beside
        ``loss='val_loss'``) is kept as an extra column ``loss_unused``, with a
        :class:`PlausibilityWarning` naming it.
    diverged : the user's column of diverged-run flags (``None``: a column named 'diverged', if
        present), read as the table's ``diverged`` column (see :func:`parse_diverged`). An
        extra column whose name contains 'diverg' (any case) that is not read as the flags
        is named by a :class:`PlausibilityWarning` with the fix.
    units : multiplier per canonical column, a number or a word ("billions", "millions", ...):
        ``units={"N": "billions", "batch_size": 2048}`` reads N given in billions and a batch
        given in sequences of 2048 tokens. A unit for a column the table lacks, or for the one
        of N, D, C derived from the other two (always in parameters, tokens, FLOPs), is an error;
        a unit that is neither a number nor a word (None, True, a list) is a TypeError naming
        ``units[column]``.
    compute_model : :class:`~bayeslaws.compute.ComputeModel`, a number k for ``C = k N D`` or a
        callable ``N -> FLOPs per token``; default ``C = 6 N D`` (for a RunTable: its own).
    allow_missing_loss : keep rows whose loss is missing (NaN) or +inf (read as missing), e.g.
        diverged runs, which a hyperparameter or sweep law counts as diverged and records
        (other laws need them excluded). Off by default: a missing or infinite loss is an error.
    accepted_rows : labels of rows you have vetted as real although they look implausible
        (e.g. a run at 0.006 tokens per parameter): the plausibility checks
        (:func:`check_plausible`) and the duplicate-rows warning name none of them, while any
        other implausible row still warns. Labels are the input's row labels (a file's 0-based
        data rows; a DataFrame's index); a label that is not a row is an error naming it (an
        entirely empty row, dropped, is no longer accepted). The table keeps them
        (``RunTable.accepted_rows``, its ``record()``), and a RunTable re-loaded keeps its own.
    ignore_columns : a column label, or a list of them, to leave out as if the table did not
        have them (command line: ``--ignore-column``), e.g. ``ignore_columns=['D']`` when C is
        a nominal budget that disagrees with N and D (D is then derived from N and C). A
        canonical name (N, D, C, lr, batch_size, loss, group, diverged) leaves out the column
        read as it: the one mapped to it (``D='tokens'`` then no longer applies) and a column
        of that name; any other label must be a column of the table that no mapping reads
        (:func:`leave_out_columns`). The columns are dropped right after reading, so rows keep
        their numbers; the table's ``source`` ends in "(column 'D' left out)". A ``source``
        column left out still says which rows are SIMULATED (:attr:`RunTable.simulated`).

    Raises
    ------
    RunTableError naming the column and rows on missing columns, non-numeric strings, non-finite
    or non-positive values and inconsistent N, D, C, and a text file's rows with fewer values
    than its header names (a first line ``sep=;``, as Excel writes it, is read as the
    separator). Duplicate rows are reported by a warning,
    and so (:class:`PlausibilityWarning`) are N or D values that look like one value written
    with two roundings (2.15e8 and 214663680: :func:`.cells.rounded_twins`), whose runs would
    be separate (N, D) cells.
    """
    mapping = {"N": N, "D": D, "C": C, "lr": lr, "batch_size": batch_size, "loss": loss}
    mapping["group"] = group
    for canon, user in {**mapping, "diverged": diverged}.items():
        _check_column_label(canon, user)
    unit_factors(units)  # a bad unit is an error before the table is read
    if not isinstance(allow_missing_loss, bool | np.bool_):
        raise ArgumentTypeError(
            f"allow_missing_loss must be True or False, got {allow_missing_loss!r}"
        )
    accepted_rows = _label_list(accepted_rows)  # its type, before any reading
    ignore_columns = _ignore_list(ignore_columns)
    units = dict(units or {})
    df, source = _read(data, str(group) if group is not None else "group")
    own_sources = _source_column(df)  # before mapping: group='source' renames it
    mapping = {canon: _column_of(canon, user, df.columns) for canon, user in mapping.items()}
    diverged = _column_of("diverged", diverged, df.columns)
    left_out = []
    if ignore_columns:  # dropped before anything reads them; the rows are untouched
        where = f"the run table from {source}"
        left_out, kept = leave_out_columns(
            ignore_columns, df.columns, {**mapping, "diverged": diverged}, where
        )
        df = df.drop(columns=left_out)
        mapping = {canon: kept.get(canon) for canon in mapping}
        diverged = kept.get("diverged")
        plural = "s" if len(left_out) > 1 else ""
        said = ", ".join(repr(str(c)) for c in left_out)
        source = f"{source} (column{plural} {said} left out)"
    # N, D or C of a RunTable left out: the others are read as given, the third derived
    recount = not set(map(str, left_out)) & set(DERIVABLE)
    again = _rederived(data, mapping, compute_model) if recount else ()  # derived again
    df = df.drop(columns=list(again))
    kept_c = None if again or not recount else _table_c(data, mapping, compute_model, units)
    if kept_c is not None:  # re-checked from N and D; C restored below
        df = df.drop(columns="C")
    if df.columns.has_duplicates:
        name = df.columns[df.columns.duplicated()][0]
        raise RunTableError(
            f"the table has more than one column named {name!r}; give each column its own name"
        )
    # what the row numbers of messages count: a file's data rows from 0, or a DataFrame's labels
    if isinstance(data, pd.DataFrame):
        note = ROWS_NOTE if df.index.equals(pd.RangeIndex(len(df))) else LABELS_NOTE
    else:  # a RunTable says what its labels count (from its own input); a file: data rows
        note = data.row_note if isinstance(data, RunTable) else ROWS_NOTE
    df = _flags_column(df, diverged, mapping)
    n_read = len(df)
    kept_accepted = data.accepted_rows if isinstance(data, RunTable) else ()
    accepted = accepted_labels(df.index, list(kept_accepted) + accepted_rows, note)
    df = _drop_empty_rows(df, note)
    accepted = tuple(df.index[df.index.isin(list(accepted))].tolist())  # empty rows: gone
    if df.empty:
        why = f" (its {n_read} rows were all entirely empty)" if n_read else ""
        raise RunTableError(f"the run table from {source} has no rows{why}")
    if df.index.has_duplicates:
        raise RunTableError(
            "row labels (the table's index) repeat, e.g. "
            f"{rows_text(df.index[df.index.duplicated()], 5)}: rows are named by their labels in "
            "messages and exclusions; pass "
            "df.reset_index(drop=True) (or pd.concat(..., ignore_index=True))"
        )
    resolved = {}
    for canon, user in mapping.items():
        name = user if user is not None else canon
        if name not in df.columns:
            continue
        if name in resolved.values():
            other = next(k for k, v in resolved.items() if v == name)
            raise RunTableError(
                f"column {name!r} is used for both {other} and {canon}: each of N, D, C, lr, "
                "batch_size, loss, group needs its own column of the table"
            )
        resolved[canon] = name

    out = pd.DataFrame(index=df.index)
    used = set()
    names, typed = {}, {}  # canonical column -> the user's name, the values as typed
    for canon, user in mapping.items():
        name = user if user is not None else canon
        if name not in df.columns:
            if user is not None and user != canon:
                columns = _column_labels(df.columns)
                raise RunTableError(
                    f"column {user!r} (given for {canon}) is not in the table; the columns read "
                    f"are {columns}{_header_diagnosis(columns, [user])}"
                )
            continue
        used.add(name)
        if canon == "group":
            out["group"] = _group_labels(df[name], name, note)
            continue
        values = _to_numeric(df, name, note, canon)
        names[canon], typed[canon] = name, values
        out[canon] = values * unit_factor(canon, units.get(canon, 1.0))

    columns = _column_labels(df.columns)
    if "loss" not in out:
        raise RunTableError(
            f"no loss column; the columns read are {columns}"
            f"{_header_diagnosis(columns, [c for c in CANONICAL if c not in out])}; pass "
            "loss='your column name' (Python: load_runs(..., loss='name'); command line: "
            "--loss NAME or --column loss=NAME)"
        )
    given = [c for c in ("N", "D", "C") if c in out]
    if len(given) < 2:
        raise RunTableError(
            f"need two of the columns N, D, C; found only {given} among the columns read "
            f"{columns}{_header_diagnosis(columns, [c for c in CANONICAL if c not in out])} "
            "(Python: pass N=, D= or C= with your column names to load_runs; command line: "
            "--N NAME, --D NAME, --C NAME or --column N=NAME)"
        )
    for key in units:
        if key not in out:
            raise RunTableError(_absent_unit(key, given, columns))
    if allow_missing_loss:  # a diverged run logged as +inf: missing, like NaN
        out = _read_posinf_loss_as_missing(out)
    for column in given + [c for c in ("lr", "batch_size", "loss") if c in out]:
        allow = allow_missing_loss and column == "loss"
        _check_positive_finite(out, column, allow, note, names[column], typed[column])

    if compute_model is None and isinstance(data, RunTable):
        model = data.compute_model
    else:
        model = as_compute_model(compute_model)
    for column in given:
        _check_possible(out, column, given, note, names[column], typed[column])
    if "C" not in out:
        out["C"] = model.flops(out["N"], out["D"])
    elif "D" not in out:
        out["D"] = model.tokens(out["N"], out["C"])
    elif "N" not in out:
        out["N"] = model.params_for(out["D"], out["C"])
        off = np.abs(model.flops(out["N"], out["D"]) / out["C"] - 1) > 0.01
        if off.any():  # the size search is bounded to 1 .. 1e18 parameters
            raise RunTableError(
                f"no model size between 1 and 1e18 parameters gives C with D at "
                f"{_at_rows(out.index[off], note)} under the compute model {model.name}: C must "
                f"be in FLOPs and D in tokens (pass {_unit_hint('C', out['C'])} for other units)"
            )
    else:
        ratio = (out["C"] / model.flops(out["N"], out["D"])).to_numpy(float)
        off = np.abs(1 / ratio - 1) > 0.01
        if off.any():
            raise RunTableError(
                _disagree_message(out.index, ratio, off, model, note, units, data, out)
            )

    if kept_c is not None:
        out["C"] = kept_c.reindex(out.index).to_numpy(float)
        _check_positive_finite(out, "C", False, note)
    for column in ("N", "D"):
        _check_possible(out, column, given, note, names.get(column), typed.get(column))

    extra = [c for c in df.columns if c not in used and c not in CANONICAL]
    # near misses of the columns a table could have meant: not N, D or C when two of them are
    # given (the third is derived on purpose: a 'd' column is then d_model, not tokens)
    derived_ok = len({"N", "D", "C"} & set(resolved)) >= 2 or kept_c is not None
    absent = [
        c for c in CANONICAL
        if c not in resolved and not (derived_ok and c in ("N", "D", "C"))
    ]  # fmt: skip
    absent += [c for c in OPTIONAL_EXTRA if c not in df.columns]
    near = _near_misses(extra, absent)
    for name, canon in near:
        message = _near_miss_message(name, canon)
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    read = (diverged or "diverged") if "diverged" in extra else None  # the flags' own name
    near_names = {name for name, _ in near}  # named above already
    for column in extra:
        looks = DIVERGED_LIKE in str(column).lower() and str(column) not in near_names
        if looks and column != "diverged":
            message = _diverged_like_message(column, read)
            warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    unread = _unread_canonical(df.columns, used, mapping)  # e.g. 'loss' beside loss='val_loss'
    kept = []  # the extra columns of out, in the table's order
    for column in df.columns:
        if column in unread:
            out[unread[column]] = df[column]
            kept.append(unread[column])
        elif column in extra:
            flags = column == "diverged"
            out[column] = parse_diverged(df[column], note, read) if flags else df[column]
            kept.append(column)
    ordered = [c for c in CANONICAL if c in out] + kept
    out = out[ordered]
    check_plausible(out, units, row_note=note, given=given, accepted_rows=accepted)

    key = [c for c in CANONICAL if c in out]
    dup = out.duplicated(subset=key, keep=False) & ~out.index.isin(list(accepted))
    if dup.any():
        warnings.warn(
            f"{int(dup.sum())} rows are exact duplicates of another row in columns {key}: "
            f"{_at_rows(out.index[dup], note)}. They are kept; if they are copies rather than "
            f"replicates, exclude them ({EXCLUDE_HINT}).",
            stacklevel=user_stacklevel(),
        )
    _warn_rounded_twins(out, note, accepted, given)
    # SIMULATED by the input's own source column, read before any mapping or leaving out (a
    # source column read as the group, or left out, still says which rows are simulated)
    sources = None if own_sources is None else own_sources.loc[out.index]
    source = source + _sources_note(sources, source)
    # which of N, D, C the compute model gave (a C restored as the table had it is given)
    derived = tuple(c for c in DERIVABLE if c not in given and (c != "C" or kept_c is None))
    snapshot = out[list(derived)].copy() if derived else None
    read_with = read_units(units, data)
    if isinstance(data, RunTable):
        rows = data.n_input_rows or len(df)
        # a RunTable keeps its extent unless its own source column says otherwise
        extent = data.simulated if sources is None else _extent(simulated_texts(sources))
        return RunTable(
            out, model, source, data.exclusions, rows, accepted, note, extent, derived, snapshot,
            read_with,
        )
    return RunTable(
        df=out,
        compute_model=model,
        source=source,
        n_input_rows=len(df),
        accepted_rows=accepted,
        row_note=note,
        simulated="none" if sources is None else _extent(simulated_texts(sources)),
        derived=derived,
        derived_values=snapshot,
        units=read_with,
    )


def unit_factors(units) -> dict:
    """``units`` (as :func:`load_runs` takes it: column -> a number or a unit word; None: none)
    as multipliers, columns at factor 1 left out; an ArgumentTypeError for anything but a dict
    and a RunTableError for a column outside ``NUMERIC`` or a bad unit (:func:`unit_factor`)."""
    if units is None:
        return {}
    if not isinstance(units, dict):
        raise ArgumentTypeError(
            f"units must be a dict column -> unit (e.g. {{'N': 'billions'}}), got "
            f"{type(units).__name__}"
        )
    for key in units:
        if key not in NUMERIC:
            raise RunTableError(f"units given for {key!r}, which is not one of {NUMERIC}")
    factors = {column: unit_factor(column, unit) for column, unit in units.items()}
    return {column: factor for column, factor in factors.items() if factor != 1.0}


def read_units(units: dict, data) -> dict:
    """The multiplier each column of a loaded table was read with (:attr:`RunTable.units`):
    ``units`` (``load_runs``' own, checked) as factors, composed with those of ``data`` when it
    is a RunTable (its values already carry its own); columns at factor 1 are left out."""
    earlier = data.units if isinstance(data, RunTable) else {}
    out = {}
    for column in NUMERIC:
        factor = earlier.get(column, 1.0) * unit_factor(column, units.get(column, 1.0))
        if factor != 1.0:
            out[column] = float(factor)
    return out


EXTENTS = ("all", "partly", "none")  # how much of a table is SIMULATED
# the notes :func:`simulated_note` appends to a source (and "(SIMULATED)" as older tables wrote
# it): "(SIMULATED" or "(partly SIMULATED" up to its closing parenthesis, which no path
# separator follows (so a folder named "runs (SIMULATED)" is no note); a bare word SIMULATED,
# e.g. in a folder name "SIMULATED_vs_real", is none
SIMULATED_NOTE = re.compile(r"\((partly )?SIMULATED\b[^()]*\)(?![/\\])")


def simulated_rows(df: pd.DataFrame) -> np.ndarray:
    """Which rows of ``df`` are simulated by its ``source`` column (text starting with
    "simulated", in any case, as bayeslaws' simulators write "simulated: ..."): a boolean array
    (rows,); all False without the column."""
    if "source" not in df:
        return np.zeros(len(df), dtype=bool)
    return simulated_texts(df["source"])


def simulated_texts(sources: pd.Series) -> np.ndarray:
    """Which of the ``sources`` texts (a table's source column) say simulated (start with
    "simulated", in any case): a boolean array (rows,)."""
    said = sources.astype(str).str.strip().str.lower().str.startswith("simulated")
    return said.to_numpy(dtype=bool)


def _source_column(df: pd.DataFrame) -> pd.Series | None:
    """The input table's own ``source`` column (texts, index: row labels), as read, before
    load_runs maps or leaves out columns; None without one (or with two: an error later)."""
    if "source" not in df.columns:
        return None
    column = df["source"]
    return None if isinstance(column, pd.DataFrame) else column


def _extent(said: np.ndarray) -> str:
    """"all", "partly" or "none" of the rows ``said`` (booleans) simulated."""
    if not said.any():
        return "none"
    return "all" if said.all() else "partly"


def frame_extent(df: pd.DataFrame) -> str:
    """How much of ``df`` is SIMULATED by its ``source`` column (:func:`simulated_rows`):
    "all", "partly" or "none" (an empty table or one without the column: "none")."""
    return _extent(simulated_rows(df))


def simulated_note(df: pd.DataFrame, source: str = "") -> str:
    """What to add to a table's ``source`` when its ``source`` column says rows are simulated
    (as bayeslaws' simulators write it: "simulated: ..."), so that every fit, report and figure
    that names the data says SIMULATED whatever the file is called; "" when none are (or the
    ``source`` already carries such a note: :func:`simulated_extent`; a file name holding the
    word SIMULATED is no note)."""
    return _sources_note(df["source"] if "source" in df else None, source)


def _sources_note(sources: pd.Series | None, source: str = "") -> str:
    """:func:`simulated_note` by a table's source column ``sources`` (texts; None: none)."""
    if sources is None or simulated_extent(source) != "none":
        return ""
    said = simulated_texts(sources)
    k, n = int(said.sum()), len(sources)
    if k == 0:
        return ""
    if k == n:
        return " (SIMULATED: its source column says so)" + _simulator_label(sources)
    return f" (partly SIMULATED: {k} of {n} rows by its source column)"


SIMULATOR_PREFIX = "simulated: bayeslaws.runs.simulate."  # how bayeslaws' simulators label rows


def _simulator_label(sources: pd.Series) -> str:
    """" [bayeslaws.runs.simulate.<simulator> seed=... truth=...]" when every row names the
    same bayeslaws simulator call (so a fit's provenance keeps which simulator and truth made
    the data: :func:`bayeslaws.runs.simulate.truth_from_source`); "" otherwise."""
    values = sources.astype(str).str.strip().unique()
    if len(values) != 1 or not values[0].startswith(SIMULATOR_PREFIX):
        return ""
    return f" [{values[0][len('simulated: '):]}]"


def simulated_extent(source: str) -> str:
    """How much of a table is SIMULATED by the notes of its ``source`` text (as
    :func:`simulated_note` writes them: " (SIMULATED: ...)", " (partly SIMULATED: ...)"):
    "partly" when a note says partly, "all" for another note, else "none". Only those notes
    count, not the word SIMULATED elsewhere (a path such as ".../SIMULATED_vs_real/runs.csv").
    The text rule for provenance without a structured extent: :func:`recorded_extent`."""
    notes = [m.group(1) for m in SIMULATED_NOTE.finditer(str(source))]
    if not notes:
        return "none"
    return "partly" if any(notes) else "all"


def recorded_extent(data: dict) -> str:
    """How much of the runs a provenance (``RunTable.record()``, a fit's ``record.data``)
    describes is SIMULATED: its ``"simulated"`` extent (:attr:`RunTable.simulated`, decided at
    load from the table's source column) while its ``"source"`` is still the text that extent
    was recorded with (``"simulated_source"``); else (fits saved before the extent was recorded,
    or a provenance whose source was rewritten since, e.g. by an update) by the notes of its
    source text (:func:`simulated_extent`)."""
    data = data or {}
    source = data.get("source", "")
    extent = data.get("simulated")
    if extent in EXTENTS and data.get("simulated_source") == source:
        return extent
    return simulated_extent(source)


def _unread_canonical(columns: pd.Index, used: set, mapping: dict) -> dict:
    """The table's columns named as a canonical column (N, D, ..., group) that are not read,
    because another column is mapped to that name (``loss='val_loss'`` beside a 'loss'
    column), each -> the name it is kept under (``'loss_unused'``, made unique), with a
    :class:`PlausibilityWarning` naming it: such a column is kept, not dropped."""
    taken = set(columns)
    out = {}
    for column in columns:
        if column in used or column not in CANONICAL:
            continue
        name, k = f"{column}_unused", 2
        while name in taken:
            name, k = f"{column}_unused_{k}", k + 1
        taken.add(name)
        out[column] = name
        warnings.warn(
            f"column {column!r} of the table is not read as {column}: {column} is read from "
            f"column {mapping[column]!r} (mapped to it); the column {column!r} is kept as the "
            f"extra column {name!r}. If it is the {column} column, drop the mapping "
            f"{column}={mapping[column]!r}",
            PlausibilityWarning,
            stacklevel=user_stacklevel(),
        )
    return out


def _group_labels(values: pd.Series, name: str, note: str) -> pd.Series:
    """The group column as text labels without surrounding spaces (' web' and 'web ' are 'web',
    with a warning naming them); a missing, empty or all-space cell is an error naming the rows
    (a text file's "NA" or "None" is a label: see :func:`_read_text`). Labels that
    :func:`label_key` reads as one label (7, 7.0, "7" and "7.0", as ``fit.update`` matches
    groups) are one group, spelled as that key ("7") when one of them is, with a warning naming
    the spellings merged (a number and the same text, 7 and "7", too): :func:`_merged_spellings`.
    Labels that differ only in case stay separate groups, with a warning."""
    blank = values.isna().to_numpy(bool) | np.array(
        [isinstance(v, str) and not v.strip() for v in values.tolist()], dtype=bool
    )
    if blank.any():
        raise RunTableError(
            f"column {name!r} (group) has missing values at {_at_rows(values.index[blank], note)}"
            " (empty or all-space labels, None or NaN): give every run a group label"
        )
    labels = values.astype(str)
    stripped = labels.str.strip()
    spaced = (labels != stripped).to_numpy(bool)
    if spaced.any():
        message = _spaced_labels_message(labels[spaced], name, note)
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    stripped = _merged_spellings(values, stripped, name)
    cased = case_variants(stripped)
    if cased:
        shown = "; ".join(" vs ".join(repr(v) for v in variants) for variants in cased[:5])
        warnings.warn(
            f"column {_label('group', name)}: labels that differ only in case are SEPARATE "
            f"groups: {shown}{'; ...' if len(cased) > 5 else ''}; if they are one data set, "
            "write them alike (e.g. df[col].str.lower())",
            PlausibilityWarning,
            stacklevel=user_stacklevel(),
        )
    return stripped


def _merged_spellings(values: pd.Series, text: pd.Series, name: str) -> pd.Series:
    """The group labels ``text`` (``values`` as stripped text, same index) with the spellings
    that :func:`label_key` reads as one label made one: each becomes the key when one of them
    is spelled so (7 and 7.0 as "7"), else the first seen; a PlausibilityWarning names each set
    of spellings merged, a spelling being the text and whether it was a number or text (7 and
    "7" differ only in that). Labels whose key is missing ("nan", "None": text labels of a file)
    are left as they are."""
    spellings: dict = {}  # key -> {(text, was text): None}, first seen first
    keys = []
    for value, label in zip(values.tolist(), text.tolist(), strict=True):
        key = label_key(label)
        keys.append(key)
        if key is not None:
            spellings.setdefault(key, {})[(label, isinstance(value, str))] = None
    merged = {key: list(seen) for key, seen in spellings.items() if len(seen) > 1}
    if not merged:
        return text
    chosen = {}
    for key, seen in merged.items():
        texts = [label for label, _ in seen]
        chosen[key] = key if key in texts else texts[0]
    shown = "; ".join(
        " and ".join(repr(label) if was_text else label for label, was_text in seen)
        + f" -> {chosen[key]!r}"
        for key, seen in list(merged.items())[:5]
    )
    warnings.warn(
        f"column {_label('group', name)}: labels that are one label as fit.update reads them "
        f"(7, 7.0, '7' and '7.0' are one) are merged into one group each: {shown}"
        f"{'; ...' if len(merged) > 5 else ''}. If they are different groups, give them labels "
        "that differ as text (e.g. '7a' and '7b')",
        PlausibilityWarning,
        stacklevel=user_stacklevel(),
    )
    out = [chosen.get(key, label) for key, label in zip(keys, text.tolist(), strict=True)]
    return pd.Series(out, index=text.index, dtype=object)


def case_variants(labels: pd.Series) -> list[list[str]]:
    """Sets of distinct labels that are equal but for case (each a list, first seen first)."""
    by_lower: dict = {}
    for label in dict.fromkeys(labels.tolist()):
        by_lower.setdefault(label.lower(), []).append(label)
    return [variants for variants in by_lower.values() if len(variants) > 1]


def _spaced_labels_message(labels: pd.Series, name: str, note: str) -> str:
    """The warning for group ``labels`` (those with surrounding spaces) read stripped."""
    shown = list(dict.fromkeys(labels.tolist()))
    more = f", ... ({len(shown)} labels)" if len(shown) > 5 else ""
    read = list(dict.fromkeys(label.strip() for label in shown))
    return (
        f"column {_label('group', name)}: labels {', '.join(repr(v) for v in shown[:5])}{more} had "
        f"surrounding spaces at {_at_rows(labels.index, note)}: read as "
        f"{', '.join(repr(v) for v in read[:5])}{', ...' if len(read) > 5 else ''}"
    )


def _check_column_label(canon: str, user) -> None:
    """``load_runs``'s ``canon=`` takes a column label: text, or any other hashable label of
    a table without a header (the integers of ``pd.read_csv(path, header=None)``); an
    ArgumentTypeError names the argument for anything else (a list, True/False)."""
    if user is None or isinstance(user, str):
        return
    if isinstance(user, bool | np.bool_) or not isinstance(user, Hashable):
        raise ArgumentTypeError(f"{_label_takes(canon)}, got {type(user).__name__} {user!r}")


def _label_takes(canon: str) -> str:
    """What ``load_runs``'s ``canon=`` takes, for an ArgumentTypeError."""
    return (
        f"{canon}= takes the name of your {canon} column, or another label the table has (e.g. "
        "the integer 0 for a table without a header)"
    )


def _column_of(canon: str, user, columns: pd.Index):
    """The table's column label that ``user`` (``load_runs``'s ``canon=``, or None) names: the
    label itself when the table has it, else the one label whose text is ``str(user)`` (so
    ``N=0`` and ``N="0"`` both name column 0, or column "0"); a name no column has as it is
    (None, or reported later as not in the table). A label other than text that no column has
    is an ArgumentTypeError listing the columns (``diverged=3`` for a table of names)."""
    if user is None:
        return None
    if isinstance(user, np.generic):
        user = user.item()
    if user in columns:
        return user
    text = [c for c in columns.tolist() if str(c) == str(user)]
    if len(text) == 1:
        return text[0]
    if not isinstance(user, str):
        raise ArgumentTypeError(
            f"{_label_takes(canon)}; got {type(user).__name__} {user!r}, which is no column of "
            f"the table (its columns: {_column_labels(columns)})"
        )
    return user


LEAVABLE = (*CANONICAL, "diverged")  # the canonical names ignore_columns= takes


def _ignore_list(ignore) -> list:
    """``load_runs``' ``ignore_columns=`` as a list of labels (each once): None -> [], a
    label (text or a number) -> [it]; a list or tuple is checked to hold labels."""
    if ignore is None:
        return []
    def label(name) -> bool:  # text or an integer label (not True/False)
        return isinstance(name, str | int | np.integer) and not isinstance(name, bool)

    if label(ignore):
        return [ignore]
    if isinstance(ignore, list | tuple) and all(label(name) for name in ignore):
        return list(dict.fromkeys(ignore))
    raise ArgumentTypeError(
        "ignore_columns must be a column label or a list of them (e.g. ignore_columns=['D']), "
        f"got {type(ignore).__name__} {ignore!r}"
    )


def leave_out_columns(ignore, columns, mapping: dict, where: str = "the table"):
    """The columns that ``ignore`` leaves out of a table (``load_runs(ignore_columns=...)``,
    the command line's ``--ignore-column``), and ``mapping`` without the columns left out.

    ``ignore``: a label or a list of them; ``columns``: the table's column labels;
    ``mapping``: canonical column -> the user's label for it (or None), as given to
    ``load_runs`` (N='tokens', ...) or by ``--column``; ``where``: the table, for messages. A
    canonical name (:data:`LEAVABLE`: N, D, C, ...) leaves out the column read as it: the one
    mapped to it, whose mapping is dropped, and a column of that name. Any other label must be
    a column of the table (matched by its text, so 0 and "0" name column 0) that no mapping
    reads (else: leave out the canonical column it is read as). Returns (the labels to drop,
    in the order named, each once; ``mapping`` without the canonical columns left out).
    Raises RunTableError naming the label and the table's columns for a label it does not
    have."""
    names = _ignore_list(ignore)
    labels = {str(c): c for c in list(columns)}
    mapping = dict(mapping)
    drop = []
    for name in names:
        text, found = str(name), []
        if text in LEAVABLE and mapping.get(text) is not None:
            found.append(str(mapping.pop(text)))
        readers = [c for c, user in mapping.items() if user is not None and str(user) == text]
        if text in labels:
            if readers:
                reader = readers[0]
                raise RunTableError(
                    f"cannot leave out column {name!r}: it is the column read as {reader} "
                    f"(mapped to it), so leave out {reader} instead, which leaves out that "
                    f"column (Python: ignore_columns=[{reader!r}]; command line: "
                    f"--ignore-column {reader})"
                )
            found.append(text)
        if not found:
            given = {c: u for c, u in mapping.items() if u is not None and str(u) != c}
            mapped = "".join(f"; {c} is mapped to {u!r}" for c, u in given.items())
            raise RunTableError(
                f"cannot leave out column {name!r}: {where} has no column {name!r} (its "
                f"columns: {_column_labels(pd.Index(list(columns)))}){mapped}; name a column "
                f"of the table, or a canonical column ({', '.join(LEAVABLE)}) that is in it or "
                "mapped to one of its columns"
            )
        for label in (labels[f] for f in found if f in labels):
            if label not in drop:
                drop.append(label)
    return drop, mapping


def _column_labels(columns: pd.Index) -> list:
    """The table's column labels for a message, as Python values (shown with repr: 'N', 0)."""
    return columns.tolist()


def _rederived(data, mapping: dict, compute_model) -> tuple:
    """The columns of a RunTable ``data`` that were derived at its load and are still as
    derived (:attr:`RunTable.derived`), to derive again from its given columns (with the
    call's ``units=``), so that an edit or a unit of N or D reaches them; () for other input,
    for a column the call maps (``C='C'``: read as given), and under another compute model
    than the table's (its C is then checked against that model, not silently recounted)."""
    if not isinstance(data, RunTable) or not data.derived:
        return ()
    if compute_model is not None and not same_compute_model(
        as_compute_model(compute_model), data.compute_model
    ):
        return ()
    return tuple(c for c in data.derived if mapping[c] is None and c in data.df)


def _table_c(data, mapping: dict, compute_model, units: dict) -> pd.Series | None:
    """A RunTable's C (FLOPs) to keep as it is while the table is re-checked from its N and D
    (it may be a nominal budget, not the compute model's C, as Fit.training_runs keeps it);
    None for other input, or when the call maps N, D or C, gives units for any of them or a
    compute model (then C is checked against the model)."""
    if not isinstance(data, RunTable) or compute_model is not None:
        return None
    if set(units) & {"N", "D", "C"}:  # rescaled: C is checked against the model
        return None
    mapped = [mapping[c] not in (None, c) for c in ("N", "D")] + [mapping["C"] is not None]
    if any(mapped):
        return None
    if not {"N", "D", "C"} <= set(data.df.columns):
        return None
    return data.df["C"]


# FLOPs in one unit of C that a constant C / (compute model) ratio points at, by name
C_UNITS = {
    1e3: "kiloFLOPs", 1e6: "megaFLOPs", 1e9: "gigaFLOPs", 1e12: "teraFLOPs",
    1e15: "petaFLOPs", 1e18: "exaFLOPs", 1e21: "zettaFLOPs", PF_DAY: "petaFLOP/s-days",
}  # fmt: skip


def _c_unit(ratio: float) -> float | None:
    """The unit (FLOPs) that C seems to be in when it is ``ratio`` x the compute model's C
    at every row: a power of 1e3 other than 1 or one petaFLOP/s-day (``PF_DAY``), within
    0.5%; None otherwise. Below 1 (C too small) the unit is larger than one FLOP."""
    factor = 1.0 / ratio
    if abs(np.log10(factor / PF_DAY)) < 0.002:
        return PF_DAY
    power = round(float(np.log10(factor)) / 3)
    if power != 0 and abs(np.log10(factor) - 3 * power) < 0.002:
        return 10.0 ** (3 * power)
    return None


def _unit_options(df: pd.DataFrame, unit: float, units: dict, model) -> list[tuple[str, float]]:
    """For N, D and C (all given, in ``df``) whose C / model(N, D) is one constant at every
    row, ``1 / unit`` (:func:`_c_unit`): the columns whose rescaling would explain it, each as
    (column, its ``units=`` multiplier, composed with any the call gave in ``units``): C by
    ``unit``, or (for a compute model linear in N and in D) N or D by ``1 / unit``; only those
    that leave every median of N, D and C in ``PLAUSIBLE`` and the median D/N in
    ``TOKENS_PER_PARAM``, the loader's plausibility tests (a column named in other units is
    one whose median is implausible now)."""
    median = {c: float(np.nanmedian(df[c])) for c in ("N", "D", "C")}
    ratio = float(np.nanmedian(df["D"] / df["N"]))
    scales = {"C": unit}
    if model.linear_k is not None and unit != PF_DAY:
        scales.update({"N": 1.0 / unit, "D": 1.0 / unit})
    options = []
    for column in ("N", "D", "C"):
        if column not in scales:
            continue
        scaled = {c: m * (scales[column] if c == column else 1.0) for c, m in median.items()}
        per_param = ratio * {"N": 1.0 / scales[column], "D": scales[column]}.get(column, 1.0)
        plausible = all(PLAUSIBLE[c][0] <= v <= PLAUSIBLE[c][1] for c, v in scaled.items())
        if plausible and TOKENS_PER_PARAM[0] <= per_param <= TOKENS_PER_PARAM[1]:
            options.append((column, unit_factor(column, units.get(column, 1.0)) * scales[column]))
    return options


def _unit_text(column: str, factor: float) -> str:
    """``units={'N': 1e+06}`` with the unit's name when it has one: " (millions)" for N or D,
    " (exaFLOPs)" for C."""
    names = (
        C_UNITS if column == "C" else {v: w for w, v in UNIT_WORDS.items() if len(w) > 1}
    )
    name = next((n for v, n in names.items() if np.isclose(v, factor, rtol=1e-9)), None)
    return f"units={{'{column}': {factor:g}}}" + (f" ({name})" if name else "")


def _option_text(column: str, factor: float) -> str:
    """One of :func:`_unit_options` in words: "N in thousands (units={'N': 1000})", or
    "C (units={'C': 0.001})" for a multiplier without a name."""
    text = _unit_text(column, factor)
    if text.endswith(")"):
        unit, name = text[:-1].split(" (", 1)
        return f"{column} in {name} ({unit})"
    return f"{column} ({text})"


def _scaled_columns_fix(df: pd.DataFrame, typical: float, model, options: list) -> str:
    """The fix when N or D (or both) have an implausible median (:func:`_looks_scaled`, the
    loader's check) and C / model(N, D) is off at every row: that column is in other units,
    named with its median and the multiplier that makes C agree (``options``:
    :func:`_unit_options`), else the loader's units hint for it."""
    scaled = [c for c in ("N", "D") if _looks_scaled(df, c)]
    if len(scaled) == 2:
        return f"C is {typical:.4g} x {model.name} at every row, and {_pair_message(df)}"
    column = scaled[0]
    median = float(np.nanmedian(df[column]))
    mine = [factor for c, factor in options if c == column]
    if mine:
        hint = f"pass {_unit_text(column, mine[0])}, which also makes C agree with {model.name}"
    else:
        hint = f"pass {_unit_hint(column, df[column], _tokens_per_param(df, column, ['N', 'D']))}"
    return (
        f"C is {typical:.4g} x {model.name} at every row, and column {column!r} "
        f"({QUANTITY[column]}) has median {median:.3g}, below {PLAUSIBLE[column][0]:g}: "
        f"{column} looks like it is in larger units (not C): {hint}"
    )


def _disagree_message(
    index,
    ratio,
    off,
    model,
    note: str,
    units: dict,
    data,
    df: pd.DataFrame | None = None,
) -> str:
    """The error for N, D and C (all given) that disagree with the compute model by more than
    1% at the rows ``off`` (boolean, row order of ``index``): a few of their C / model(N, D)
    ``ratio``s and, when the ratio is one constant, its likely cause (C in other units at
    every row or at those rows, or another compute model); ``data`` is the input (a RunTable
    whose C was derived at its load says how to derive it again under another model).

    ``df``: the table checked (N, D, C): when N or D has an implausible median (the loader's
    :func:`_looks_scaled`), the error names that column, not C (N in millions made C look
    1e6 x 6ND, and its remedy units={'C': 1e-06} made both wrong); when the ratio is a unit
    that N, D or C could each be in, it names each that leaves the table plausible
    (:func:`_unit_options`).

    When the ratio is not one constant: most rows agreeing and a few off names those rows as
    likely mistyped; most rows off with ratios spread within a factor of
    :data:`NOMINAL_SPREAD` of 1 says C looks like a nominal budget (an isoFLOP line's label,
    as Marin's tables give it) and to leave out D or C. Every remedy that leaves out a column
    is given in both forms (:func:`_leave_out`)."""
    labels, values = index[off], ratio[off]
    shown = ", ".join(f"{values[i]:.4g} at row {labels[i]}" for i in range(min(3, len(values))))
    more = f", ... ({len(values)} rows)" if len(values) > 3 else ""
    text = (
        f"columns N, D and C disagree with the compute model {model.name} by more than 1% at "
        f"{_at_rows(labels, note)}: C / {model.name} is {shown}{more}; "
    )
    constant = float(np.ptp(np.log(values))) <= np.log(1.01)
    typical = float(np.median(values))
    unit = _c_unit(typical) if constant else None
    given = df is not None and {"N", "D", "C"} <= set(df)
    options = _unit_options(df, unit, units, model) if given and unit is not None else []
    if given and constant and off.all() and (_looks_scaled(df, "N") or _looks_scaled(df, "D")):
        fix = _scaled_columns_fix(df, typical, model, options)
    elif unit is not None and off.all() and len(options) > 1:
        each = " or ".join(_option_text(column, factor) for column, factor in options)
        fix = (
            f"C is {typical:.4g} x {model.name} at every row, so N, D or C is in other units, "
            f"each plausible here: {each}; pass the units your columns are in"
        )
    elif unit is not None and off.all() and options and options[0][0] != "C":
        column, factor = options[0]
        fix = (
            f"C is {typical:.4g} x {model.name} at every row, so {column} looks like it is in "
            f"other units: pass {_unit_text(column, factor)}"
        )
    elif unit is not None and off.all():
        factor = unit_factor("C", units.get("C", 1.0)) * unit
        name = f" ({C_UNITS[unit]})" if "C" not in units and unit in C_UNITS else ""
        fix = (
            f"C is {typical:.4g} x {model.name} at every row, so C looks like it is in other "
            f"units: pass units={{'C': {factor:g}}}{name}, or give two of N, D, C "
            f"{_leave_out(['C'])}"
        )
    elif unit is not None:
        fix = (
            f"C of these rows is {typical:.4g} x {model.name}: are they in "
            f"{C_UNITS.get(unit, 'other units')} or mistyped? Fix their values (a unit scales "
            "the whole column), or leave these rows out of the table"
        )
    elif constant and off.all() and model.linear_k is not None:
        k = model.linear_k * typical
        fix = (
            f"C is {typical:.4g} x {model.name} at every row: if C counts {k:.4g} N D FLOPs, "
            f"pass compute_model={k:.4g}; else give two of N, D, C, e.g. leave out C (then "
            f"derived from N and D) {_leave_out(['C'])}"
        )
    elif 2 * off.sum() < len(off):  # most rows agree: these few look mistyped
        agree = len(off) - int(off.sum())
        fix = (
            f"the other {agree} rows agree with {model.name}, so these rows look mistyped (their "
            "N, D or C), not the compute model: fix their values, or leave these rows out of "
            "the table; if only their C is wrong, leave out C (then derived from N and D) "
            f"{_leave_out(['C'])}"
        )
    elif not constant and _nominal_spread(ratio):
        low, high = float(np.min(ratio)), float(np.max(ratio))
        budgets = pd.unique(np.asarray(df["C"], float)) if given else ()
        repeated = (
            f", and C holds {len(budgets)} distinct values over {len(ratio)} rows"
            if 0 < len(budgets) <= len(ratio) / 2
            else ""
        )
        fix = (
            f"C / {model.name} varies from {low:.3g} to {high:.3g} across the rows{repeated}: C "
            "looks like a nominal budget (e.g. an isoFLOP line's rounded label), not each run's "
            "compute, so N, D and C cannot all be kept: give two of them, leaving out D (then "
            "derived from N and the budget C: for an isoFLOP fit, whose lines are the budgets) "
            "or C (then derived from N and D: for a law of N and D, such as chinchilla) "
            f"{_leave_out(['D', 'C'])}"
        )
    else:
        fix = (
            "give two of them, or pass the right compute_model=; to give two, leave out C "
            f"(then derived from N and D) or D {_leave_out(['C', 'D'])}"
        )
    if isinstance(data, RunTable) and "C" in data.derived and data.compute_model is not model:
        fix += (
            f" (this table's C was derived at its load under {data.compute_model.name}: to "
            "derive it under another model, load its N and D alone, e.g. "
            "load_runs(runs.df.drop(columns='C'), compute_model=...))"
        )
    return text + fix


# C / model(N, D) of a table whose C is a nominal budget stays within this factor of 1 (an
# isoFLOP line's budget rounded to a half-decade grid, 1e18, 3e18, 1e19, is off by at most
# sqrt(10); Marin's tables: 0.75 to 1.07); ratios spread wider point at other mistakes
NOMINAL_SPREAD = 4.0


def _nominal_spread(ratio) -> bool:
    """Whether C / model(N, D) at every row (``ratio``) lies within a factor of
    :data:`NOMINAL_SPREAD` of 1, as a nominal budget's would."""
    ratio = np.asarray(ratio, float)
    return bool(np.all((ratio >= 1 / NOMINAL_SPREAD) & (ratio <= NOMINAL_SPREAD)))


def _leave_out(columns: list) -> str:
    """The remedy that leaves out one of ``columns`` (canonical names; each alternative), in
    both forms: "(Python: load_runs(..., ignore_columns=['D']) or ...; command line:
    --ignore-column D or ...)". Both take the canonical name, also for a column mapped to it
    (the mapping, given again with the rest of the call, is then left out with the column)."""
    python = " or ".join(f"load_runs(..., ignore_columns=[{c!r}])" for c in columns)
    cli = " or ".join(f"--ignore-column {c}" for c in columns)
    return f"(Python: {python}; command line: {cli})"


def _warn_rounded_twins(out: pd.DataFrame, note: str, accepted, given) -> None:
    """A :class:`PlausibilityWarning` when a given column N or D holds, within a group, two
    values that look like one size written with two roundings (:func:`.cells.rounded_twins`:
    2.15e8 and 214663680): further apart than ``CELL_RTOL``, their runs are separate (N, D)
    cells. It names the values and some of their rows, never an ``accepted`` one: a pair is
    said only while each of its values has rows not accepted (accepting either value's rows
    vets the pair)."""
    quiet = out.index.isin(list(accepted))
    groups = out["group"].to_numpy() if "group" in out else np.zeros(len(out), dtype=int)
    for column in [c for c in ("N", "D") if c in given]:
        found = []
        values = out[column].to_numpy(float)
        for label in pd.unique(groups):
            rows = groups == label
            for short, full in rounded_twins(values[rows]):
                held = [rows & (values == v) & ~quiet for v in (short, full)]
                if all(h.any() for h in held):
                    where = "" if "group" not in out else f" in group {label!r}"
                    found.append((short, full, held, where))
        if found:
            message = _twins_message(column, found, out.index, note)
            warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())


def _twins_message(column: str, found: list, index: pd.Index, note: str) -> str:
    """The warning of :func:`_warn_rounded_twins` for ``column`` (N or D): ``found`` holds
    (rounded value, full value, [their rows' masks], where) for each pair."""
    pairs = "; ".join(
        f"{short:.12g} at rows {rows_text(index[held[0]], 3)} and {full:.12g} at rows "
        f"{rows_text(index[held[1]], 3)}{where}"
        for short, full, held, where in found[:3]
    )
    more = f"; ... ({len(found)} pairs)" if len(found) > 3 else ""
    short, full = found[0][0], found[0][1]
    gap = abs(full / short - 1) * 100
    return (
        f"column {column!r} ({QUANTITY[column]}) holds values that look like one value written "
        f"with two roundings: {pairs}{more} ({note}). They are {gap:.2g}% apart, more "
        f"than the {CELL_RTOL:g} (relative) within which runs share an (N, D) cell, so their "
        "runs are SEPARATE cells (the best run per cell, the hyperparameter and sweep laws "
        "compare runs within a cell). If they are one value, write it alike in every row (e.g. "
        f"df[{column!r}] = df[{column!r}].replace({{{short:.12g}: {full:.12g}}})); if they are "
        "different values, keep them (accepted_rows= with their rows silences this)"
    )


def _absent_unit(key: str, given: list, columns: list) -> str:
    """Why ``units=`` names a column the table lacks (derived, or not there at all)."""
    if key in ("N", "D", "C"):
        return (
            f"units given for {key!r}, but the table has no {key} column: {key} is derived from "
            f"{given[0]} and {given[1]} through the compute model (in {QUANTITY[key]}); give "
            f"units for the columns read ({', '.join(given)}) instead"
        )
    return (
        f"units given for {key!r}, but the table has no {key} column (the columns read are "
        f"{columns}); drop the unit, or map your column (Python: load_runs(..., {key}='name'); "
        f"command line: --column {key}=NAME)"
    )


def _tokens_per_param(df: pd.DataFrame, column: str, given) -> tuple[float, int] | None:
    """(median D/N now, p) such that scaling the given ``column`` (N or D) by m moves the median
    D/N to ``ratio / m**p`` (N) or ``ratio * m**p`` (D): p = 1 when N and D were both given, 2
    when the other one was derived from C (it moves by 1/m too); None when D/N is unknown, or
    when the other one was given and looks scaled too (:func:`_looks_scaled`: a D/N of a scaled
    and an unscaled column ranks neither one's units; :func:`_unit_pairs` ranks both)."""
    if column not in ("N", "D") or column not in given or "N" not in df or "D" not in df:
        return None
    other = "D" if column == "N" else "N"
    if other in given and _looks_scaled(df, other):
        return None
    ratio = float(np.nanmedian(df["D"] / df["N"]))
    if not np.isfinite(ratio) or ratio <= 0:
        return None
    return ratio, 1 if {"N", "D"} <= set(given) else 2


def _looks_scaled(df: pd.DataFrame, column: str) -> bool:
    """True when the median of ``column`` (N parameters or D tokens) of ``df`` lies below its
    ``PLAUSIBLE`` range: the column is likely in larger units."""
    return column in df and float(np.nanmedian(df[column])) < PLAUSIBLE[column][0]


def _both_scaled(df: pd.DataFrame, given) -> bool:
    """True when N and D were both read (``given``, not derived) and both look scaled
    (:func:`_looks_scaled`): their units are then hinted as pairs (:func:`_pair_hint`)."""
    return {"N", "D"} <= set(given) and _looks_scaled(df, "N") and _looks_scaled(df, "D")


def _unit_pairs(df: pd.DataFrame) -> list[tuple[float, list[tuple[str, str]]]]:
    """The (N word, D word) pairs of ``SCALE_WORDS`` that bring the median N (parameters) and
    the median D (tokens) of ``df`` into ``PLAUSIBLE`` and its median D/N into
    ``TOKENS_PER_PARAM``, grouped by the D/N they give: ``[(median D/N, [pairs]), ...]``, the
    group nearest ``TYPICAL_TOKENS_PER_PARAM`` (in decades) first. Pairs a step apart alike
    ({'N': 'thousands', 'D': 'millions'}, {'N': 'millions', 'D': 'billions'}) give one D/N,
    which cannot tell them apart; in a group, the pair whose medians lie nearest the middle of
    ``PLAUSIBLE`` (in decades) comes first."""
    median = {c: float(np.nanmedian(df[c])) for c in ("N", "D")}
    ratio = float(np.nanmedian(df["D"] / df["N"]))
    if not np.isfinite(ratio) or ratio <= 0:
        return []
    middle = {c: float(np.mean(np.log10(PLAUSIBLE[c]))) for c in ("N", "D")}
    groups: dict = {}  # decades between the two units -> (D/N, [(off the middle, pair)])
    for word_n in SCALE_WORDS:
        for word_d in SCALE_WORDS:
            scale = {"N": UNIT_WORDS[word_n], "D": UNIT_WORDS[word_d]}
            scaled = {c: median[c] * scale[c] for c in scale}
            if not all(PLAUSIBLE[c][0] <= scaled[c] <= PLAUSIBLE[c][1] for c in scaled):
                continue
            pair_ratio = ratio * scale["D"] / scale["N"]
            if not TOKENS_PER_PARAM[0] <= pair_ratio <= TOKENS_PER_PARAM[1]:
                continue
            off = sum(abs(np.log10(scaled[c]) - middle[c]) for c in scaled)
            step = round(np.log10(scale["D"] / scale["N"]))
            groups.setdefault(step, (pair_ratio, []))[1].append((off, (word_n, word_d)))
    ordered = sorted(groups.values(), key=lambda g: abs(np.log10(g[0] / TYPICAL_TOKENS_PER_PARAM)))
    return [(r, [pair for _, pair in sorted(pairs)]) for r, pairs in ordered]


def _pair_text(pair: tuple[str, str]) -> str:
    """``{'N': 'millions', 'D': 'billions'}``: a units pair as the ``units=`` dict."""
    return f"{{'N': '{pair[0]}', 'D': '{pair[1]}'}}"


def _pair_hint(df: pd.DataFrame, short: bool = False) -> str:
    """The likely ``units=`` fix when N and D both look scaled (:func:`_both_scaled`): the
    pairs of :func:`_unit_pairs`, those of the most typical D/N first, saying when D/N cannot
    decide between them (pairs a step apart alike give one D/N), then the less likely ones;
    only the first pair, when ``short``."""
    groups = _unit_pairs(df)
    if not groups:
        return (
            "units for both N and D (no pair of the words thousands to trillions brings both "
            "medians and the median D/N into plausible ranges: check what the columns hold)"
        )
    ratio, pairs = groups[0]
    first = f"units={_pair_text(pairs[0])}"
    if short:
        more = len(pairs) > 1 or len(groups) > 1
        return first + (" or another pair of units for N and D" if more else "")
    if len(pairs) == 1:
        hint = f"{first} (median tokens per parameter D/N then {ratio:.3g})"
    else:
        median_n = float(np.nanmedian(df["N"])) * UNIT_WORDS[pairs[0][0]]
        median_d = float(np.nanmedian(df["D"])) * UNIT_WORDS[pairs[0][1]]
        others = " or ".join(_pair_text(p) for p in pairs[1:])
        hint = (
            f"{first} or {others}: each gives the median tokens per parameter D/N {ratio:.3g}, "
            "so D/N cannot decide between them (it fixes only how far apart the two units "
            f"are); the first gives the most typical sizes (median N {median_n:.3g} "
            f"parameters, D {median_d:.3g} tokens)"
        )
    if len(groups) > 1:
        rest = "; ".join(
            f"D/N {r:.3g} with {' or '.join(_pair_text(p) for p in ps[:3])}"
            + (" or ..." if len(ps) > 3 else "")
            for r, ps in groups[1:3]
        )
        hint += (
            f"; less likely, their D/N lying farther from a typical "
            f"{TYPICAL_TOKENS_PER_PARAM:g}: {rest}"
        )
    return hint + ". Pass the units your columns are in"


def _pair_message(df: pd.DataFrame) -> str:
    """The message that N and D (both given) both look scaled, with :func:`_pair_hint`."""
    median_n, median_d = (float(np.nanmedian(df[c])) for c in ("N", "D"))
    return (
        f"columns 'N' (parameters) and 'D' (tokens) have medians {median_n:.3g} and "
        f"{median_d:.3g}, below {PLAUSIBLE['N'][0]:g} and {PLAUSIBLE['D'][0]:g}: both look "
        f"like they are in larger units; pass {_pair_hint(df)}"
    )


def _unit_hint(
    column: str, values, tokens_per_param: tuple[float, int] | None = None, short: bool = False
) -> str:
    """The likely ``units=`` fix for a column whose values are too small. For N or D: the
    multiplier words that bring the column's median into ``PLAUSIBLE`` and (when
    ``tokens_per_param`` = :func:`_tokens_per_param` is known) the median D/N into
    ``TOKENS_PER_PARAM``, the one nearest ``TYPICAL_TOKENS_PER_PARAM`` first; the others that
    fit are listed (the range is wide, so more than one may), unless ``short``."""
    if column == "C":
        return f"units={{'C': {PF_DAY:g}}} for petaFLOP/s-days or units={{'C': 1e18}} for exaFLOPs"
    median = float(np.nanmedian(values))
    low, high = PLAUSIBLE.get(column, (0.0, np.inf))
    fits = []  # (distance in decades from the typical D/N, word, D/N after the unit)
    for word in SCALE_WORDS:
        m = UNIT_WORDS[word]
        if not low <= median * m <= high:
            continue
        if tokens_per_param is None:
            fits.append((0.0, word, None))
            continue
        ratio, power = tokens_per_param
        ratio = ratio / m**power if column == "N" else ratio * m**power
        if TOKENS_PER_PARAM[0] <= ratio <= TOKENS_PER_PARAM[1]:
            fits.append((abs(np.log10(ratio / TYPICAL_TOKENS_PER_PARAM)), word, ratio))
    if not fits:
        word = "billions" if float(np.nanmax(values)) < 1e3 else "millions"
        return f"units={{'{column}': '{word}'}} (or the right multiplier)"
    fits.sort(key=lambda f: f[0])
    _, word, ratio = fits[0]
    hint = f"units={{'{column}': '{word}'}}"
    if short:
        return hint + (" or another multiplier" if len(fits) > 1 else "")
    if ratio is not None:
        hint += f" (median tokens per parameter D/N then {ratio:.3g})"
    if len(fits) > 1:
        others = [f"'{w}'" + (f" (D/N {r:.3g})" if r is not None else "") for _, w, r in fits[1:]]
        hint += (
            f"; ambiguous: {' or '.join(others)} would also give plausible values, so pass the "
            "unit your column is in"
        )
    return hint


def _check_possible(
    out: pd.DataFrame,
    column: str,
    given: list,
    note: str = ROWS_NOTE,
    name=None,
    typed: pd.Series | None = None,
) -> None:
    """Fewer than one parameter or token is impossible: an error naming the rows (the user's
    column ``name``, values as ``typed``) and the fix: when the column's median is plausible,
    those rows are mistyped or in other units (fix or leave them out); else the units of the
    column, or of C when the column was derived from C."""
    if column not in IMPOSSIBLE_BELOW or column not in out:
        return
    values = out[column]
    bad = (values < IMPOSSIBLE_BELOW[column]).to_numpy(bool)
    if not bad.any():
        return
    shown = values if typed is None else typed
    what = {"N": "parameter", "D": "token"}[column]
    median = float(np.nanmedian(values))
    if median >= PLAUSIBLE[column][0]:  # the column is plausible: these rows are off
        fix = _impossible_rows_fix(column, given, median)
    elif column in given and _both_scaled(out, given):
        fix = _pair_message(out)
    elif column in given:
        hint = _unit_hint(column, values, _tokens_per_param(out, column, given))
        fix = f"if {column} is given in larger units, pass {hint}"
    else:
        fix = (
            f"{column} was derived from C, which must be in FLOPs (pass "
            f"{_unit_hint('C', out['C'])})"
        )
    raise RunTableError(
        f"column {_label(column, name)} has values below 1 {what} at "
        f"{_at_rows(out.index[bad], note)} (e.g. {format_values(shown[bad], 3)}): {fix}"
    )


def _impossible_rows_fix(column: str, given: list, median: float) -> str:
    """The fix for rows of ``column`` (N or D) below one parameter or token in a column whose
    ``median`` is plausible: those rows (or, for a derived column, their C) are mistyped or in
    other units; a unit for the column would scale every row."""
    if column in given:
        cause = "are these rows in other units (e.g. billions) or mistyped?"
    else:
        cause = (
            f"{column} was derived from {' and '.join(given)}: are these rows' "
            f"{' or '.join(given[::-1])} in other units (C in FLOPs, not e.g. petaFLOP/s-days) "
            "or mistyped?"
        )
    return (
        f"far from the column's median {median:.3g}: {cause} Fix their values (a unit scales "
        "the whole column), or leave these rows out of the table"
    )


def check_plausible(
    df: pd.DataFrame,
    units: dict | None = None,
    row_note: str | None = None,
    given: list | None = None,
    accepted_rows=None,
    known_rows=None,
) -> list[str]:
    """Warn (:class:`PlausibilityWarning`) about implausible magnitudes of a canonical table:
    N (parameters), D (tokens), C (FLOPs) outside ``PLAUSIBLE`` and tokens per parameter outside
    ``TOKENS_PER_PARAM`` (the column's median: other units; else the rows outside: a mistyped
    row), a median peak learning rate above ``LR_HIGH`` (a log of it, e.g. -log10 lr?), a
    median batch size below ``BATCH_TOKENS_LOW`` tokens (in sequences?), rows whose
    batch size exceeds their training tokens D (in tokens, given a ``units=`` multiplier for
    sequences?), a loss column that looks like a perplexity, and losses far above the table's
    median (diverged runs?).
    Returns the messages. ``row_note`` says what the row labels count (default: 0-based data
    rows for an integer index); ``given`` which of N, D, C were read rather than derived
    (default: all present), for the units hints. ``accepted_rows``: labels of rows vetted as
    real (:func:`load_runs`), never named; the whole-column checks (medians: units) read the
    other rows, and the per-row checks compare those with the whole table's medians.
    ``known_rows``: labels of rows checked before (a fit's runs, beside new ones in
    ``fit.update``): counted in every median like other rows but never named, and with them
    the whole-column messages, said when those rows were loaded, are not repeated."""
    units = units or {}
    note = row_note or _row_note(df.index)
    given = [c for c in ("N", "D", "C") if c in df] if given is None else list(given)
    accepted = df.index.isin(list(accepted_rows or ()))
    known = df.index.isin(list(known_rows or ()))
    quiet = accepted | known  # rows never named
    judged = not known.any()  # whole-column messages (else said at the known rows' load)
    checked = df.loc[~accepted]  # the rows whose columns are judged as a whole
    messages = []

    def say_column(message: str) -> None:  # a whole-column message
        if judged:
            messages.append(message)

    if checked.empty:
        return messages
    names = QUANTITY
    low_columns = []  # N or D with a median too small: likely in larger units
    flagged = quiet.copy()  # rows not to name for their D/N: quiet, or named for N or D
    pair = _both_scaled(checked, given)  # N and D both scaled: one message, units in pairs
    for column, (low, high) in PLAUSIBLE.items():
        if column not in df:
            continue
        median = float(np.median(checked[column]))
        if median < low and pair and column in ("N", "D"):
            low_columns.append(column)
            if column == "N":
                say_column(_pair_message(checked))
        elif median < low:
            if column in given:
                hint = _unit_hint(
                    column, checked[column], _tokens_per_param(checked, column, given)
                )
                fix = f"the values look like they are in larger units; pass {hint}"
                low_columns.append(column)
            else:
                fix = f"it was derived from {' and '.join(given)}: check their units="
            say_column(
                f"column {column!r} ({names[column]}) has median {median:.3g}, below {low:g}: {fix}"
            )
        elif median > high:
            say_column(
                f"column {column!r} ({names[column]}) has median {median:.3g}, above {high:g}: "
                f"is it in other units (or another quantity)? Check the column mapping and units="
            )
        elif column in given or column != "C":  # a derived C follows its N and D rows
            found, rows = _implausible_rows(df, column, given, note, quiet)
            messages += found
            if column != "C":
                flagged |= rows
    if "N" in df and "D" in df:
        ratio = float(np.median(checked["D"] / checked["N"]))
        low, high = TOKENS_PER_PARAM
        if not low <= ratio <= high:
            fix = f"check the units= of {' and '.join(given)}"
            if pair:
                fix = f"likely {_pair_hint(checked, short=True)}"
            for column in [c for c in ("N", "D") if c in low_columns and not pair][:1]:
                ratios = _tokens_per_param(checked, column, given)
                fix = f"likely {_unit_hint(column, checked[column], ratios, short=True)}"
            say_column(
                f"the median tokens per parameter D/N is {ratio:.3g}, outside [{low:g}, "
                f"{high:g}]: N or D is probably in other units ({fix})"
            )
        elif not pair:  # with N and D both scaled, a row's D/N waits for their units
            messages += _implausible_ratio_rows(df, flagged, note)
    if "lr" in df:
        median = float(np.nanmedian(checked["lr"]))
        if median > LR_HIGH:
            say_column(_lr_message(median))
    if "batch_size" in df:
        median = float(np.nanmedian(checked["batch_size"]))
        if median < BATCH_TOKENS_LOW:
            say_column(_batch_message(median))
        if "D" in df:
            messages += _batch_above_tokens_rows(df, quiet, note, units.get("batch_size"))
    if "loss" in df:
        loss = df["loss"].to_numpy(float)
        finite = np.isfinite(loss)
        if (finite & ~accepted).any():
            median = float(np.median(loss[finite & ~accepted]))
            if median > LOSS_MAX:
                say_column(
                    f"column 'loss' has median {median:.3g}: losses in nats or bits per token "
                    f"rarely exceed {LOSS_MAX:g}; is it a perplexity? (pass its logarithm)"
                )
            else:
                if median > LOSS_HIGH:
                    say_column(
                        f"column 'loss' has median {median:.3g}, above {LOSS_HIGH:g} nats per "
                        "token: looks like a perplexity or a loss in bits? pass log(perplexity) "
                        "(or bits x ln 2), the loss in nats"
                    )
                overall = float(np.median(loss[finite]))  # of every run: the rows' yardstick
                far = finite & (loss > LOSS_OUTLIER_FACTOR * overall)
                far &= ~diverged_flags(df) & ~quiet
                if far.any():
                    messages.append(
                        f"{int(far.sum())} run(s) have a loss above {LOSS_OUTLIER_FACTOR:g}x the "
                        f"table's median ({overall:.3g}): {_at_rows(df.index[far], note)} (e.g. "
                        f"{format_values(loss[far], 3)}). Diverged runs? They are kept; exclude "
                        f"them ({EXCLUDE_HINT}), or mark them in a 'diverged' column for a "
                        "hyperparameter law"
                    )
    for message in messages:
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    return messages


def _implausible_rows(
    df: pd.DataFrame, column: str, given: list, note: str, skip: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Messages naming the rows (other than the ``skip`` ones: accepted) whose ``column`` (N
    parameters, D tokens, C FLOPs) lies outside ``PLAUSIBLE`` while the column's median does
    not (one row in other units, or mistyped), and the mask of those rows."""
    low, high = PLAUSIBLE[column]
    values = df[column].to_numpy(float)
    median = float(np.median(values))
    origin = "" if column in given else f", derived from {' and '.join(given)},"
    messages = []
    below, above = (values < low) & ~skip, (values > high) & ~skip
    for bad, side, bound in ((below, "below", low), (above, "above", high)):
        if bad.any():
            messages.append(
                f"column {column!r} ({QUANTITY[column]}){origin} is {side} {bound:g} at "
                f"{_at_rows(df.index[bad], note)} (e.g. {format_values(values[bad], 3)}), far "
                f"from the column's median {median:.3g}: are these rows in other units (e.g. "
                f"millions) or mistyped? Fix their values (a unit scales the whole column), or "
                f"exclude them ({EXCLUDE_HINT})"
            )
    return messages, below | above


def _implausible_ratio_rows(df: pd.DataFrame, flagged: np.ndarray, note: str) -> list[str]:
    """A message naming the rows (other than the ``flagged`` ones) whose tokens per parameter
    D/N lie outside ``TOKENS_PER_PARAM`` while the table's median D/N does not."""
    low, high = TOKENS_PER_PARAM
    ratio = (df["D"] / df["N"]).to_numpy(float)
    median = float(np.median(ratio))
    bad = ((ratio < low) | (ratio > high)) & ~flagged
    if not bad.any():
        return []
    return [
        f"the tokens per parameter D/N of {int(bad.sum())} run(s) lie outside [{low:g}, "
        f"{high:g}] at {_at_rows(df.index[bad], note)} (e.g. {format_values(ratio[bad], 3)}), "
        f"far from the table's median {median:.3g}: is N or D of these rows in other units, "
        f"or mistyped? Fix their values, or exclude them ({EXCLUDE_HINT})"
    ]


def _batch_above_tokens_rows(
    df: pd.DataFrame, quiet: np.ndarray, note: str, unit=None
) -> list[str]:
    """A message naming the rows (other than the ``quiet`` ones) whose batch_size (tokens)
    exceeds their training tokens D: a run of fewer than one optimizer step, most likely a
    batch already in tokens read with a ``units=`` multiplier (``unit``, as given; None
    without one) meant for sequences, or a mistyped row."""
    batch, tokens = df["batch_size"].to_numpy(float), df["D"].to_numpy(float)
    bad = (batch > tokens) & ~quiet
    if not bad.any():
        return []
    factor = 1.0 if unit is None else unit_factor("batch_size", unit)
    if factor > 1:
        text = unit if isinstance(unit, str) else format_value(unit)
        shown = repr(unit) if isinstance(unit, str) else text
        cause = (
            f"batch_size was multiplied by its unit, {shown}: if the column is already in "
            f"tokens, drop that unit (Python: no 'batch_size' in load_runs(..., units=...); "
            f"command line: no --units batch_size={text}); else fix these rows"
        )
    else:
        cause = "Is batch_size in other units than tokens, or are these rows mistyped? Fix them"
    return [
        f"column 'batch_size' (tokens) exceeds the training tokens D of {int(bad.sum())} "
        f"run(s) at {_at_rows(df.index[bad], note)} (e.g. batch_size "
        f"{format_values(batch[bad], 3)} vs D {format_values(tokens[bad], 3)}): fewer than "
        f"one optimizer step per run. {cause}, or exclude them ({EXCLUDE_HINT})"
    ]


def _lr_message(median: float) -> str:
    """The warning for an lr column whose ``median`` is above ``LR_HIGH``."""
    return (
        f"column 'lr' has median {median:.3g}, above {LR_HIGH:g}: lr is the peak learning "
        "rate, and peak learning rates above 1 are rare; is the column a log of it (e.g. "
        "-log10 lr, 3 for 1e-3)? Pass the learning rate itself (for -log10 lr: 10 ** -value)"
    )


def _batch_message(median: float) -> str:
    """The warning for a batch_size column whose ``median`` is below ``BATCH_TOKENS_LOW``."""
    return (
        f"column 'batch_size' has median {median:.3g}, below {BATCH_TOKENS_LOW:g} tokens: "
        "batch_size is in tokens, and this looks like a batch in sequences; pass "
        "units={'batch_size': <sequence length in tokens>} (Python: load_runs(..., "
        "units={'batch_size': 2048}); command line: --units batch_size=2048) for sequences of "
        "2048 tokens"
    )


def as_run_table(runs, **kwargs) -> RunTable:
    """A RunTable as is, or load a DataFrame/path with canonical column names."""
    if isinstance(runs, RunTable):
        return runs
    return load_runs(runs, **kwargs)


def best_in_cell(df: pd.DataFrame) -> np.ndarray:
    """Boolean mask (rows of ``df``) of each (N, D) cell's best run: its lowest-loss converged
    run; cells as :func:`.cells.run_cells` makes them (N and D within ``CELL_RTOL``, and the
    group). A run flagged diverged (column ``diverged``, :func:`diverged_flags`: its loss, if
    any, is a lower bound, not the loss under the cell's hyperparameters) or without a finite
    loss never is a cell's best run, so a cell whose runs all diverged or lack a loss has no
    best run (all its rows are False). Ties in loss go, independent of row order, to the run
    with the smallest ``lr``, then the smallest ``batch_size`` (tokens), then the smallest N
    (params) and D (tokens); runs equal in all of these, to the first in row order."""
    return _best_mask(df, run_cells(df))


def _best_mask(df: pd.DataFrame, cells: np.ndarray) -> np.ndarray:
    """:func:`best_in_cell` of ``df`` given its runs' cells (``cells``: :func:`run_cells`)."""
    order = _best_first(df, cells)
    mask = np.zeros(len(df), bool)
    if order.size:
        ranked = cells[order]
        first = np.r_[True, ranked[1:] != ranked[:-1]]  # the first eligible run of each cell
        mask[order[first]] = True
    return mask


def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``df`` as floats (NaN where missing or not a number; all NaN without it)."""
    if column not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[column], errors="coerce").to_numpy(float, na_value=np.nan)


def _best_first(df: pd.DataFrame, cells: np.ndarray) -> np.ndarray:
    """Positions of the runs that can be a cell's best (converged, finite loss), sorted by
    cell, then loss, lr, batch_size, N and D (NaN last), then row position (a stable sort)."""
    loss = _numeric(df, "loss")
    eligible = np.flatnonzero(np.isfinite(loss) & ~diverged_flags(df))
    keys = [_numeric(df, c)[eligible] for c in ("D", "N", "batch_size", "lr")]
    return eligible[np.lexsort([*keys, loss[eligible], cells[eligible]])]


NO_BEST_RUN = (
    "no converged run with a finite loss in its (N, D) cell (every run of the cell diverged or "
    "has no finite loss): the cell has no best run"
)


def best_run_per_cell(runs: RunTable) -> RunTable:
    """Keep each (N, D) cell's best run (:func:`best_in_cell`: its lowest-loss converged run,
    ties to the smallest lr, then batch size): the loss under (grid-)optimal hyperparameters.
    The other runs are excluded, so a fit records them: the runs of a cell without a converged
    run with a finite loss (every run diverged or lacks a loss) with reason ``NO_BEST_RUN``,
    the rest as not their cell's best run (a diverged run, whatever its loss, never is: its
    loss is a lower bound). The reason counts the cells whose lowest loss was tied."""
    df = runs.df
    cells = run_cells(df)
    best = _best_mask(df, cells)
    has_best = np.isin(cells, cells[best])
    reason = "not the best (lowest-loss converged) run of its (N, D) cell"
    tied = _tied_cells(df, cells, best)
    if tied:
        reason += (
            f"; {tied} cell(s) had runs tied at the lowest loss: kept the one with the smallest "
            "lr, then batch_size"
        )
    return runs.subset(has_best, NO_BEST_RUN).subset(best[has_best], reason)


def _tied_cells(df: pd.DataFrame, cells: np.ndarray, best: np.ndarray) -> int:
    """How many cells have an eligible run (converged, finite loss) other than their best
    (``best``: :func:`best_in_cell`) with the same loss."""
    loss = _numeric(df, "loss")
    eligible = np.isfinite(loss) & ~diverged_flags(df) & ~best
    lowest = pd.Series(loss[best], index=cells[best])
    same = eligible & (loss == lowest.reindex(cells).to_numpy(float))
    return int(np.unique(cells[same]).size)


def complete_compute(model: ComputeModel, N=None, D=None, C=None) -> dict:
    """Given exactly two of N (params), D (tokens), C (FLOPs) as equal-length arrays, the third
    from the compute model: returns {"N", "D", "C"} arrays."""
    q = {k: v for k, v in {"N": N, "D": D, "C": C}.items() if v is not None}
    if len(q) != 2:
        raise ValueError(f"give exactly two of N, D, C; got {sorted(q) or 'none'}")
    if "C" not in q:
        q["C"] = model.flops(q["N"], q["D"])
    elif "D" not in q:
        q["D"] = model.tokens(q["N"], q["C"])
    else:
        q["N"] = model.params_for(q["D"], q["C"])
    return {k: np.asarray(q[k], float) for k in ("N", "D", "C")}


def decades_outside(values, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """How far positive ``values`` lie outside [lo, hi], in decades: (above hi, below lo), each
    the shape of ``values``, 0 inside (the distance an extrapolation is measured in)."""
    x = np.log10(np.asarray(values, float))
    return np.maximum(0.0, x - np.log10(hi)), np.maximum(0.0, np.log10(lo) - x)
