"""Reading a run table from the command line: ``load_runs`` with the command's column
mapping, units, compute model and ignored columns, the row exclusion
(``--exclude-rows`` with ``--exclude-reason``, and ``--where COLUMN=VALUE``: the rows of one
configuration) and ``--keep-diverged``, and the one-line message naming the runs without a
loss.
"""

from __future__ import annotations

import contextlib
import re
import warnings

from .errors import CLIError
from .files import existing_file
from .hints import warnings_shown, with_cli_hints
from .values import column_mapping, row_conditions, unit_multipliers

# load_runs' message for a loss with missing values: "column 'loss' has ..." or, for another
# name, "column 'Final Loss' (loss) has ..."; or a loss logged as +inf (a diverged run), which
# load_runs(allow_missing_loss=True) reads as missing
LOSS_MISSING = re.compile(
    r"(?:column 'loss'|\(loss\)) (?:has missing values|must be finite and positive.*\+inf)"
)


def read_runs(path: str, args, what: str = "run table"):
    """A run table from a CSV/Parquet file with the command's column mapping and row exclusion
    (``--exclude-rows`` with ``--exclude-reason``, then ``--where`` (:func:`_keep_where`), each
    recorded in the table and so in the fit; ``--keep-diverged`` keeps runs with a missing or
    +inf loss, as diverged runs)."""
    import bayeslaws as bl
    from bayeslaws.runs import RunTableError
    from bayeslaws.runs.plausible import no_loss_message

    p = existing_file(path, what)
    if p.stat().st_size == 0:
        raise CLIError(f"{what} {path!r} is empty (no header, no rows)")
    options = {**column_mapping(args), "units": unit_multipliers(getattr(args, "units", None))}
    if getattr(args, "compute_model", None) is not None:
        options["compute_model"] = args.compute_model
    if getattr(args, "keep_diverged", False):
        options["allow_missing_loss"] = True  # NaN or +inf losses kept as diverged runs
    if getattr(args, "ignore_column", None):  # left out by load_runs, recorded in its source
        options["ignore_columns"] = args.ignore_column
    command = getattr(args, "command", None)
    conditions = row_conditions(getattr(args, "where", None))  # unreadable: before the table
    first: list = []
    try:
        with warnings_shown(first), stacked_check_deferred(conditions):
            runs = bl.load_runs(p, **options)
    except RunTableError as err:
        if not LOSS_MISSING.search(str(err)):
            raise CLIError(with_cli_hints(str(err), command)) from None
        # runs with no loss (missing or +inf): read them, exclude those the user leaves out,
        # and name every one still there; the first load's warnings (rows dropped, ...) are
        # not said again
        try:
            with warnings_shown([], unless=first), stacked_check_deferred(conditions):
                runs = bl.load_runs(p, **{**options, "allow_missing_loss": True})
        except RunTableError as other:  # e.g. a loss of 0 or -inf besides
            raise CLIError(with_cli_hints(str(other), command)) from None
        runs = _keep_where(_exclude_rows(runs, args), conditions, options, _excluded_text(args))
        lossless = list(runs.df.index[runs.df["loss"].isna()])
        if lossless:
            excluded = getattr(args, "exclude_rows", None) or []
            still = (
                f", still after --exclude-rows {' '.join(excluded)} (give those rows too)"
                if excluded else ""
            )
            message = no_loss_message(lossless, options.get("loss"), still=still)
            raise CLIError(with_cli_hints(message, command)) from None
        return runs
    return _keep_where(_exclude_rows(runs, args), conditions, options, _excluded_text(args))


def _excluded_text(args) -> list[str]:
    """``--exclude-rows ...`` as typed, in a list ([] without it): what left rows out before
    ``--where``."""
    rows = getattr(args, "exclude_rows", None)
    return [f"--exclude-rows {' '.join(rows)}"] if rows else []


@contextlib.contextmanager
def stacked_check_deferred(conditions):
    """With ``--where`` conditions, load_runs' check for stacked configurations
    (:class:`~bayeslaws.runs.plausible.StackedConfigurationsWarning`) is not said of the whole
    file: :func:`_keep_where` runs it on the rows the conditions keep."""
    from bayeslaws.runs.plausible import StackedConfigurationsWarning

    with warnings.catch_warnings():
        if conditions:
            warnings.simplefilter("ignore", StackedConfigurationsWarning)
        yield


def _row_label(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def _exclude_rows(runs, args):
    rows = getattr(args, "exclude_rows", None)
    reason = getattr(args, "exclude_reason", None)
    if not rows:
        if reason:
            raise CLIError("--exclude-reason given without --exclude-rows")
        return runs
    if not reason or not reason.strip():
        raise CLIError(
            "--exclude-rows needs --exclude-reason TEXT (the reason is stored in the fit file)"
        )
    labels = [_row_label(r) for r in rows]
    index = list(runs.df.index)
    unknown = [r for r in labels if r not in index]
    if unknown:
        raise CLIError(
            f"--exclude-rows: no row(s) {unknown} in the table (row labels are the data rows "
            f"counted from 0: {index[0]} to {index[-1]})"
        )
    mask = runs.df.index.isin(labels)
    shown = ", ".join(str(r) for r in labels)
    return runs.exclude(mask, f"{reason.strip()} (rows {shown}; excluded on the command line)")


SHOWN_VALUES = 10  # a --where that matches no row names this many of the column's values


def rows_where(values, wanted: str):
    """Boolean array (n_rows,): where the column ``values`` (a Series) holds ``wanted`` (text
    as typed): the same text (surrounding spaces aside; True/False in any case for a column of
    booleans), or, when both are numbers, the same number to a relative 1e-9 (``1e21`` is
    ``1e+21`` and ``1000000000000000000000``)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        text = values.astype(str).str.lower().to_numpy()
        return text == wanted.lower()
    same = values.astype(str).str.strip().to_numpy() == wanted
    try:
        number = float(wanted)
    except ValueError:
        return same
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        close = np.isclose(numbers, number, rtol=1e-9, atol=0.0)
    return same | close


def _keep_where(runs, conditions, options: dict, earlier: list[str] = ()):
    """``runs`` with only the rows that meet every ``--where`` condition (column, value as
    typed), the others left out with the condition as the reason (one exclusion each); a
    column named by the user's name of a mapped canonical column (``options``: load_runs'
    mapping) is read as that column, in the table's own units (its values divided by its
    ``--units`` multiplier). A column the table lacks, or a condition no row meets, is a
    CLIError naming the columns, or the column's values; ``earlier`` (text, e.g.
    ``--exclude-rows 3``) and the conditions before it are named when they left rows out."""
    mapped = {name: canon for canon, name in options.items() if isinstance(name, str)}
    earlier = list(earlier)
    for column, wanted in conditions:
        name = column if column in runs.df else mapped.get(column, column)
        if name not in runs.df:
            raise CLIError(
                f"--where {column}={wanted}: the table has no column {column!r}; its columns "
                f"are {[str(c) for c in runs.df.columns]}"
            )
        values = as_given(runs, name)
        keep = rows_where(values, wanted)
        if not keep.any():
            left = list(dict.fromkeys(values.astype(str)))
            shown = left[:SHOWN_VALUES] + (["..."] if len(left) > SHOWN_VALUES else [])
            where = f"left after {' '.join(earlier)}" if earlier else "of the table"
            its = "the values left are" if earlier else "its values are"
            raise CLIError(
                f"--where {column}={wanted}: no row {where} holds {wanted!r} in column "
                f"{column!r}; {its} {shown}"
            )
        runs = runs.subset(keep, f"not {column}={wanted} (--where on the command line)")
        earlier.append(f"--where {column}={wanted}")
    if conditions:  # the check load_runs left to the rows kept (stacked_check_deferred)
        from bayeslaws.runs.plausible import warn_stacked_configurations

        warn_stacked_configurations(runs.df, runs.row_note, runs.accepted_rows)
    return runs


def as_given(runs, column: str):
    """The Series ``runs.df[column]`` in the table's own units: divided by the multiplier the
    column was read with (``--units``, :attr:`~bayeslaws.runs.RunTable.units`), if any."""
    factor = runs.units.get(column, 1.0)
    return runs.df[column] if factor == 1.0 else runs.df[column] / factor
