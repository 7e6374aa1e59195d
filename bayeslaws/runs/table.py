"""The run table: :class:`RunTable`, the one canonical table of training runs every law is
fitted to (the columns of :mod:`.columns`, in canonical units), and :func:`load_runs`, which
builds it from a file or DataFrame: it maps the user's columns, derives the one of N, D, C not
given through the compute model (default ``C = 6 N D``; all three given must agree to 1%),
reads group labels (:func:`label_key`) and runs the value checks of :mod:`.plausible`.
Rows are never dropped silently: :meth:`RunTable.exclude` removes rows for a stated reason and
the table keeps the record (:class:`Exclusion`), which every fit stores. Rows vetted as real
despite the plausibility checks are named once, in ``accepted_rows``: they are not warned about
again, and the table remembers them. Elsewhere: reading files and cells (:mod:`.reading`),
units (:mod:`.units`), SIMULATED provenance (:mod:`.provenance`), (N, D) cells and best runs
(:mod:`.cells`), the wording of messages (:mod:`.messages`)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .checks import ArgumentTypeError, rows_text
from .columns import (
    CANONICAL,
    DERIVABLE,
    DIVERGED_LIKE,
    NUMERIC,
    OPTIONAL_EXTRA,
    check_column_label,
    column_labels,
    column_of,
    diverged_like_message,
    flags_column,
    flat_columns_check,
    header_diagnosis,
    ignore_list,
    index_note,
    leave_out_columns,
    near_miss_message,
    near_misses,
    unread_canonical,
)
from .compute import ComputeModel, as_compute_model, same_compute_model
from .magnitudes import IMPOSSIBLE_BELOW
from .messages import (
    EXCLUDE_HINT,
    LABELS_NOTE,
    ROWS_NOTE,
    PlausibilityWarning,
    RunTableError,
    at_rows,
    column_label,
    format_value,
    format_values,
    row_note_of,
)
from .plausible import (
    all_positive_finite,
    check_plausible,
    check_positive_finite,
    check_possible,
    warn_rounded_twins,
    warn_stacked_configurations,
)
from .provenance import (
    EXTENTS,
    frame_extent,
    rows_extent,
    simulated_texts,
    source_column,
    sources_note,
)
from .reading import (
    EMPTY_ROWS_REASON,
    drop_empty_rows,
    holds_plain_numbers,
    is_plain_bool,
    numeric_columns,
    parse_diverged,
    read_file,
    to_numeric,
)
from .units import (
    absent_unit_message,
    disagree_message,
    read_units,
    unit_factor,
    unit_factors,
    unit_hint,
)
from .warn import user_stacklevel


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
    exclusions : rows removed on purpose, in order, including the input's entirely empty rows
        :func:`load_runs` dropped (reason :data:`~.reading.EMPTY_ROWS_REASON`; rows by their
        labels, as other exclusions name them: a file's 0-based data rows).
    n_input_rows : rows in the input as given, before any exclusion (its entirely empty rows
        counted).
    accepted_rows : labels of rows the caller vetted as real although the plausibility checks
        would flag them (``load_runs(..., accepted_rows=...)``), in the order of ``df``; they
        are never warned about, and every label is a row of ``df`` (an exclusion drops its
        rows from here too).
    row_note : what the row labels count, as messages say it: ``ROWS_NOTE`` (a file's 0-based
        data rows) or ``LABELS_NOTE`` (a DataFrame's own index), as :func:`load_runs` knew it
        from its input (a RunTable re-loaded keeps its own); None (the default for a table
        built directly), or ``ROWS_NOTE`` for labels that are not non-negative integers, is
        guessed from the index (:func:`row_note_of`). :meth:`at_rows` says rows with it.
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
        guess = row_note_of(self.df.index)
        if self.row_note is None or (self.row_note == ROWS_NOTE and guess != ROWS_NOTE):
            object.__setattr__(self, "row_note", guess)  # only integer labels count data rows
        accepted = accepted_labels(self.df.index, self.accepted_rows, self.row_note)
        object.__setattr__(self, "accepted_rows", accepted)
        if "diverged" in self.df and not is_plain_bool(self.df["diverged"]):
            df = self.df.copy()
            df["diverged"] = parse_diverged(df["diverged"], self.row_note)
            object.__setattr__(self, "df", df)
        object.__setattr__(self, "df", numeric_columns(self.df, self.row_note))
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
            if not holds_plain_numbers(values.dtype):  # e.g. text written into df in place
                values = to_numeric(df, column, self.row_note)
            allow = column == "loss"
            if not all_positive_finite(values, allow):
                check_positive_finite(df.assign(**{column: values}), column, allow, self.row_note)
            low = IMPOSSIBLE_BELOW.get(column)
            if low is not None and (values.to_numpy(float) < low).any():
                check_possible(df, column, given, self.row_note)

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
        return at_rows(labels, self.row_note, limit)

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
        :func:`.cells.best_run_per_cell` on a table with one run per cell)."""
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
        is rewritten later is read from its text again:
        :func:`.provenance.recorded_extent`) and, when there are any, the ``accepted_rows``
        (labels as text) and the ``units`` the columns were read with (:attr:`units`)."""
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
            "mask has missing values (NaN/NA) at positions "
            f"{rows_text(missing, noun='positions')}: give True or False for every row"
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
    labels = list(rows)
    if any(isinstance(r, bool | np.bool_) for r in labels):  # True == 1, False == 0 as labels
        raise ArgumentTypeError(
            "accepted_rows takes row labels, not a True/False mask (True and False would be "
            "read as the labels 1 and 0); pass the labels of the rows, e.g. "
            "df.index[mask].tolist()"
        )
    return labels


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


def _sorted(values) -> list:
    """Values in order: numbers numerically, anything else by its text."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


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


def _read_posinf_loss_as_missing(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` with a loss of +inf (a diverged run's log) read as missing (NaN), as a NaN loss
    is read under ``allow_missing_loss=True``; -inf and other values are left to the checks."""
    if "loss" not in out or not np.isposinf(out["loss"].to_numpy(float)).any():
        return out
    out = out.copy()
    out.loc[np.isposinf(out["loss"].to_numpy(float)), "loss"] = np.nan
    return out


def _read(data, group: str = "group") -> tuple[pd.DataFrame, str]:
    """The input as a DataFrame and its source: a DataFrame or a RunTable as it is (a copy),
    else a file (:func:`~.reading.read_file`, whose column ``group`` is read as text)."""
    if isinstance(data, pd.DataFrame):
        flat_columns_check(data.columns)
        return data.copy(), "DataFrame"
    if isinstance(data, RunTable):
        return data.df.copy(), data.source
    return read_file(data, group)


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
    row_note: str | None = None,
) -> RunTable:
    """Load training runs into a validated :class:`RunTable`.

    Parameters
    ----------
    data : path to a CSV or Parquet file, a DataFrame, or a RunTable. Entirely empty rows
        (every column empty) are dropped with a :class:`PlausibilityWarning`, recorded as an
        exclusion (:attr:`RunTable.exclusions`, so ``record()`` and a fit's provenance name
        them) and counted in :attr:`RunTable.n_input_rows`. A RunTable keeps its compute
        model, exclusions and input row count; the one of N, D, C derived at its load
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
    row_note : what the row labels count in messages (and :attr:`RunTable.row_note`), e.g.
        ``fit.update``'s "row labels of new_runs"; default (None): a file's and a DataFrame with
        the default index's 0-based data rows (:data:`~.messages.ROWS_NOTE`), another
        DataFrame's labels, a RunTable's own.

    Raises
    ------
    RunTableError naming the column and rows on missing columns, non-numeric strings, non-finite
    or non-positive values and inconsistent N, D, C, and a text file's rows with fewer values
    than its header names (a first line ``sep=;``, as Excel writes it, is read as the
    separator). Duplicate rows are reported by a warning,
    and so (:class:`PlausibilityWarning`) are N or D values that look like one value written
    with two roundings (2.15e8 and 214663680: :func:`.cells.rounded_twins`), whose runs would
    be separate (N, D) cells, and a table that stacks configurations: runs at one design point
    whose losses lie apart while a text column varies
    (:class:`~.plausible.StackedConfigurationsWarning`, naming the column and the fix).
    """
    mapping = {"N": N, "D": D, "C": C, "lr": lr, "batch_size": batch_size, "loss": loss}
    mapping["group"] = group
    for canon, user in {**mapping, "diverged": diverged}.items():
        check_column_label(canon, user)
    unit_factors(units)  # a bad unit is an error before the table is read
    if not isinstance(allow_missing_loss, bool | np.bool_):
        raise ArgumentTypeError(
            f"allow_missing_loss must be True or False, got {allow_missing_loss!r}"
        )
    accepted_rows = _label_list(accepted_rows)  # its type, before any reading
    ignore_columns = ignore_list(ignore_columns)
    units = dict(units or {})
    df, source = _read(data, str(group) if group is not None else "group")
    own_sources = source_column(df)  # before mapping: group='source' renames it
    mapping = {canon: column_of(canon, user, df.columns) for canon, user in mapping.items()}
    diverged = column_of("diverged", diverged, df.columns)
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
    if row_note is not None:  # the caller's (fit.update: "row labels of new_runs")
        note = row_note
    elif isinstance(data, pd.DataFrame):
        note = ROWS_NOTE if df.index.equals(pd.RangeIndex(len(df))) else LABELS_NOTE
    else:  # a RunTable says what its labels count (from its own input); a file: data rows
        note = data.row_note if isinstance(data, RunTable) else ROWS_NOTE
    df = flags_column(df, diverged, mapping)
    n_read = len(df)
    kept_accepted = data.accepted_rows if isinstance(data, RunTable) else ()
    accepted = accepted_labels(df.index, list(kept_accepted) + accepted_rows, note)
    df, empty = drop_empty_rows(df, note)
    accepted = tuple(df.index[df.index.isin(list(accepted))].tolist())  # empty rows: gone
    dropped = (Exclusion(EMPTY_ROWS_REASON, empty),) if empty else ()  # recorded, counted
    if df.empty:
        why = f" (its {n_read} rows were all entirely empty)" if n_read else ""
        raise RunTableError(f"the run table from {source} has no rows{why}")
    if df.index.has_duplicates:
        named = [str(n) for n in df.index.names if n is not None]
        remedy = (
            f"pass df.reset_index() (the index {', '.join(map(repr, named))} becomes a column "
            "again; drop=True would discard it)"
            if named
            else "pass df.reset_index(drop=True) (or pd.concat(..., ignore_index=True))"
        )
        raise RunTableError(
            "row labels (the table's index) repeat, e.g. "
            f"{rows_text(df.index[df.index.duplicated()], 5)}: rows are named by their labels in "
            f"messages and exclusions; {remedy}"
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
                columns = column_labels(df.columns)
                raise RunTableError(
                    f"column {user!r} (given for {canon}) is not in the table; the columns read "
                    f"are {columns}{header_diagnosis(columns, [user])}"
                    f"{index_note(df.index, [user])}"
                )
            continue
        used.add(name)
        if canon == "group":
            out["group"] = _group_labels(df[name], name, note)
            continue
        values = to_numeric(df, name, note, canon)
        names[canon], typed[canon] = name, values
        out[canon] = values * unit_factor(canon, units.get(canon, 1.0))

    columns = column_labels(df.columns)
    lacking = [c for c in CANONICAL if c not in out]
    if "loss" not in out:
        raise RunTableError(
            f"no loss column; the columns read are {columns}"
            f"{header_diagnosis(columns, lacking)}{index_note(df.index, [loss, 'loss'])}; pass "
            "loss='your column name' (Python: load_runs(..., loss='name'); command line: "
            "--loss NAME or --column loss=NAME)"
        )
    given = [c for c in ("N", "D", "C") if c in out]
    if len(given) < 2:
        raise RunTableError(
            f"need two of the columns N, D, C; found only {given} among the columns read "
            f"{columns}{header_diagnosis(columns, lacking)}"
            f"{index_note(df.index, [*lacking, *(mapping[c] for c in lacking if c in mapping)])} "
            "(Python: pass N=, D= or C= with your column names to load_runs; command line: "
            "--N NAME, --D NAME, --C NAME or --column N=NAME)"
        )
    for key in units:
        if key not in out:
            raise RunTableError(absent_unit_message(key, given, columns))
    if allow_missing_loss:  # a diverged run logged as +inf: missing, like NaN
        out = _read_posinf_loss_as_missing(out)
    for column in given + [c for c in ("lr", "batch_size", "loss") if c in out]:
        allow = allow_missing_loss and column == "loss"
        check_positive_finite(out, column, allow, note, names[column], typed[column])

    if compute_model is None and isinstance(data, RunTable):
        model = data.compute_model
    else:
        model = as_compute_model(compute_model)
    for column in given:
        check_possible(out, column, given, note, names[column], typed[column])
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
                f"{at_rows(out.index[off], note)} under the compute model {model.name}: C must "
                f"be in FLOPs and D in tokens (pass {unit_hint('C', out['C'])} for other units)"
            )
    else:
        ratio = (out["C"] / model.flops(out["N"], out["D"])).to_numpy(float)
        off = np.abs(1 / ratio - 1) > 0.01
        if off.any():
            raise RunTableError(
                disagree_message(out.index, ratio, off, model, note, units, out)
                + _rederive_note(data, model)
            )

    if kept_c is not None:
        out["C"] = kept_c.reindex(out.index).to_numpy(float)
        check_positive_finite(out, "C", False, note)
    for column in ("N", "D"):
        check_possible(out, column, given, note, names.get(column), typed.get(column))

    extra = [c for c in df.columns if c not in used and c not in CANONICAL]
    # near misses of the columns a table could have meant: not N, D or C when two of them are
    # given (the third is derived on purpose: a 'd' column is then d_model, not tokens)
    derived_ok = len({"N", "D", "C"} & set(resolved)) >= 2 or kept_c is not None
    absent = [
        c for c in CANONICAL
        if c not in resolved and not (derived_ok and c in ("N", "D", "C"))
    ]  # fmt: skip
    absent += [c for c in OPTIONAL_EXTRA if c not in df.columns]
    near = near_misses(extra, absent)
    for name, canon in near:
        message = near_miss_message(name, canon)
        warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    read = (diverged or "diverged") if "diverged" in extra else None  # the flags' own name
    near_names = {name for name, _ in near}  # named above already
    for column in extra:
        looks = DIVERGED_LIKE in str(column).lower() and str(column) not in near_names
        if looks and column != "diverged":
            message = diverged_like_message(column, read)
            warnings.warn(message, PlausibilityWarning, stacklevel=user_stacklevel())
    unread = unread_canonical(df.columns, used, mapping)  # e.g. 'loss' beside loss='val_loss'
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
            f"{at_rows(out.index[dup], note)}. They are kept; if they are copies rather than "
            f"replicates, exclude them ({EXCLUDE_HINT}).",
            stacklevel=user_stacklevel(),
        )
    warn_rounded_twins(out, note, accepted, given)
    warn_stacked_configurations(out, note, accepted)  # several configurations stacked?
    # SIMULATED by the input's own source column, read before any mapping or leaving out (a
    # source column read as the group, or left out, still says which rows are simulated)
    sources = None if own_sources is None else own_sources.loc[out.index]
    source = source + sources_note(sources, source)
    # which of N, D, C the compute model gave (a C restored as the table had it is given)
    derived = tuple(c for c in DERIVABLE if c not in given and (c != "C" or kept_c is None))
    snapshot = out[list(derived)].copy() if derived else None
    read_with = read_units(units, data.units if isinstance(data, RunTable) else {})
    if isinstance(data, RunTable):
        rows = data.n_input_rows or n_read
        # a RunTable keeps its extent unless its own source column says otherwise
        extent = data.simulated if sources is None else rows_extent(simulated_texts(sources))
        return RunTable(
            out, model, source, data.exclusions + dropped, rows, accepted, note, extent, derived,
            snapshot, read_with,
        )
    return RunTable(
        df=out,
        compute_model=model,
        source=source,
        exclusions=dropped,
        n_input_rows=n_read,
        accepted_rows=accepted,
        row_note=note,
        simulated="none" if sources is None else rows_extent(simulated_texts(sources)),
        derived=derived,
        derived_values=snapshot,
        units=read_with,
    )


def _group_labels(values: pd.Series, name: str, note: str) -> pd.Series:
    """The group column as text labels without surrounding spaces (' web' and 'web ' are 'web',
    with a warning naming them); a missing, empty or all-space cell is an error naming the rows
    (a text file's "NA" or "None" is a label: see :func:`.reading.read_text`). Labels that
    :func:`label_key` reads as one label (7, 7.0, "7" and "7.0", as ``fit.update`` matches
    groups) are one group, spelled as that key ("7") when one of them is, with a warning naming
    the spellings merged (a number and the same text, 7 and "7", too): :func:`_merged_spellings`.
    Labels that differ only in case stay separate groups, with a warning."""
    blank = values.isna().to_numpy(bool) | np.array(
        [isinstance(v, str) and not v.strip() for v in values.tolist()], dtype=bool
    )
    if blank.any():
        raise RunTableError(
            f"column {name!r} (group) has missing values at {at_rows(values.index[blank], note)}"
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
            f"column {column_label('group', name)}: labels that differ only in case are SEPARATE "
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
        f"column {column_label('group', name)}: labels that are one label as fit.update reads them "
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
        f"column {column_label('group', name)}: labels "
        f"{', '.join(repr(v) for v in shown[:5])}{more} had "
        f"surrounding spaces at {at_rows(labels.index, note)}: read as "
        f"{', '.join(repr(v) for v in read[:5])}{', ...' if len(read) > 5 else ''}"
    )


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


def _rederive_note(data, model) -> str:
    """What the error for N, D and C that disagree with the compute ``model``
    (:func:`~.units.disagree_message`) adds for a RunTable ``data`` whose C was derived at its
    load under another model: how to derive it under this one; "" otherwise."""
    if isinstance(data, RunTable) and "C" in data.derived and data.compute_model is not model:
        return (
            f" (this table's C was derived at its load under {data.compute_model.name}: to "
            "derive it under another model, load its N and D alone, e.g. "
            "load_runs(runs.df.drop(columns='C'), compute_model=...))"
        )
    return ""


def as_run_table(runs, **kwargs) -> RunTable:
    """A RunTable as is, or load a DataFrame/path with canonical column names."""
    if isinstance(runs, RunTable):
        return runs
    return load_runs(runs, **kwargs)


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
