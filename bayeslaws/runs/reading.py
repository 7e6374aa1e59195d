"""Reading a run table's input: CSV, TSV and Parquet files (encodings, Excel's ``sep=`` line,
data rows wider or narrower than the header, a header below a title, blank lines, entirely empty
rows) and its cells: numbers (with remedies for thousands separators, K/M/B/T suffixes and the
texts of failed runs) and diverged-run flags."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .checks import ArgumentTypeError, bool_cells
from .columns import NUMERIC
from .messages import (
    ROWS_NOTE,
    PlausibilityWarning,
    RunTableError,
    at_rows,
    column_label,
    format_value,
    row_note_of,
)
from .units import UNIT_WORDS
from .warn import user_stacklevel

# spellings of the optional ``diverged`` column (compared after strip().lower())
DIVERGED_TRUE = ("true", "yes", "y", "t", "1", "1.0")
DIVERGED_FALSE = ("false", "no", "n", "f", "0", "0.0")


def numeric_columns(df: pd.DataFrame, note: str) -> pd.DataFrame:
    """``df`` with its numeric canonical columns (N, D, C, lr, batch_size, loss) held in
    NumPy numbers: text and nullable (``Float64``, ``Int64``) columns are read as floats
    (missing as NaN); a RunTableError names the rows of values that are no numbers (or
    True/False). The frame itself when every such column already is (no copy)."""
    dtypes = df.dtypes
    odd = [c for c in NUMERIC if c in dtypes.index and not holds_plain_numbers(dtypes[c])]
    if not odd:
        return df
    df = df.copy()
    for column in odd:
        df[column] = to_numeric(df, column, note)
    return df


def holds_plain_numbers(dtype) -> bool:
    """Whether a column of ``dtype`` holds NumPy numbers (float, int), which read as floats
    without a copy that can fail (not text, objects, or pandas' nullable Float64 / Int64)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "fiu"


def not_number_kind(dtype) -> str:
    """What a column of ``dtype`` holds when it holds values that are no real numbers but that
    ``pd.to_numeric`` would read as ones: "dates or times" (datetime64, with or without a time
    zone; a period), "time spans" (timedelta64: nanoseconds), "complex numbers" (their
    imaginary part dropped); '' for any other dtype."""
    if isinstance(dtype, pd.DatetimeTZDtype | pd.PeriodDtype):
        return "dates or times"
    kind = getattr(dtype, "kind", "")
    return {"M": "dates or times", "m": "time spans", "c": "complex numbers"}.get(kind, "")


def is_plain_bool(values) -> bool:
    return isinstance(values, pd.Series) and values.dtype == bool


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
    if is_plain_bool(values):
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
            f"column {column_label('diverged', name)} must hold true/false flags (True/False, 1/0, "
            "yes/no, y/n, t/f "
            f"in any case; an empty cell means not diverged); unreadable values at {shown}{more} "
            f"({note})"
        )
    return pd.Series(np.asarray(flags, dtype=bool), index=values.index, name=values.name)


def diverged_flags(df: pd.DataFrame) -> np.ndarray:
    """The ``diverged`` column of ``df`` as a boolean array (all False without the column)."""
    if "diverged" not in df:
        return np.zeros(len(df), dtype=bool)
    return parse_diverged(df["diverged"], row_note_of(df.index)).to_numpy(dtype=bool)


def _blank(values: pd.Series) -> pd.Series:
    """Cells that are empty: missing, or (text columns) an empty or all-space string."""
    missing = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        missing |= values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return missing


# the reason of the exclusion that records the entirely empty rows dropped at read time
EMPTY_ROWS_REASON = (
    "entirely empty rows (every column empty, e.g. trailing ',,,' lines of a spreadsheet "
    "export), dropped when the table was read"
)


def drop_empty_rows(df: pd.DataFrame, note: str) -> tuple[pd.DataFrame, tuple]:
    """The table without rows in which every column is empty (e.g. the trailing ',,,' lines of
    a spreadsheet export), with a warning naming them, and the labels of the rows dropped (in
    the order of ``df``; () when none); other rows are never dropped here."""
    if df.empty or len(df.columns) == 0:
        return df, ()
    empty = np.ones(len(df), dtype=bool)
    for i in range(len(df.columns)):
        empty &= _blank(df.iloc[:, i]).to_numpy(dtype=bool)
    if not empty.any():
        return df, ()
    warnings.warn(
        f"{int(empty.sum())} entirely empty row(s) dropped (every column empty, e.g. trailing "
        f"',,,' lines of a spreadsheet export): {at_rows(df.index[empty], note)}",
        PlausibilityWarning,
        stacklevel=user_stacklevel(),
    )
    return df.loc[~empty], tuple(df.index[empty].tolist())


def read_file(data, group: str = "group") -> tuple[pd.DataFrame, str]:
    """A run table file (``data``: its path) as a DataFrame and its source (the path); a text
    file's column ``group`` is read as text without pandas' NA words ("NA", "None", ... are
    labels; an empty cell is ""). Anything but a path is an ArgumentTypeError (a DataFrame or
    a RunTable is read by the loader itself: :func:`~.table.load_runs`)."""
    if not isinstance(data, str | os.PathLike):
        raise ArgumentTypeError(
            "data must be a path to a CSV/Parquet file, a DataFrame or a RunTable; got "
            f"{type(data).__name__}{frame_remedy(data)}"
        )
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(missing_file_message(data))
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
        return read_text(path, "\t" if tab else ",", group), str(path)
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
        remedy = encoding_remedy(path) if isinstance(err, UnicodeDecodeError) else ""
        raise RunTableError(
            f"could not parse {str(path)!r} as a table ({type(err).__name__}: {message})"
            f"{remedy}"
        ) from None


def frame_remedy(data) -> str:
    """How to make a DataFrame of ``data``, a pandas object that is none: a Series (e.g.
    ``df.groupby(["N", "D"])["loss"].mean()``) or a grouped table (``df.groupby(...)``); ''
    for anything else."""
    if isinstance(data, pd.Series):
        return (
            " (e.g. df.groupby([...])['loss'].mean()): pass series.reset_index(), a DataFrame "
            "whose index levels are columns again"
        )
    if isinstance(data, pd.api.typing.DataFrameGroupBy | pd.api.typing.SeriesGroupBy):
        return (
            ", a grouped table: pass the DataFrame itself (its groups as a column, group='name'), "
            "or aggregate it and pass the result's .reset_index() (e.g. "
            "df.groupby([...]).mean().reset_index())"
        )
    return ""


# a URL ("https://...", "s3://..."): its scheme, then "://"
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def missing_file_message(data) -> str:
    """Why the run table ``data`` (a path, str or os.PathLike, that does not exist) is not
    read, quoting it as given (``Path`` would make "https://..." "https:/..."): for a URL,
    that URLs are not read, with the remedies."""
    given = data if isinstance(data, str) else os.fspath(data)
    if isinstance(given, str) and URL.match(given):
        return (
            f"run table {given!r} is a URL: load_runs reads files, not URLs; download the file "
            "and pass its path, or pass pd.read_csv(url)"
        )
    return f"run table {given!r} does not exist"


def _open_text(path: Path, errors: str = "strict"):
    """A text file (UTF-8, a BOM skipped; gzip-compressed when its name ends in .gz) opened
    for reading with newline='' (for the csv module)."""
    import gzip

    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors=errors, newline="")
    return open(path, encoding="utf-8-sig", errors=errors, newline="")


def encoding_remedy(path: Path) -> str:
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


def read_text(path: Path, sep: str, group: str) -> pd.DataFrame:
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
        f"{at_rows([r for r, _, _ in short])}, on line(s) {lines} of the file"
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


def to_numeric(
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
    kind = not_number_kind(raw.dtype)
    if kind:  # pandas would read them as nanoseconds, or drop an imaginary part
        raise RunTableError(
            f"column {column!r} holds {kind} ({raw.dtype}), not real numbers, at "
            f"{at_rows(df.index, note)}; map the right column, or convert it to plain numbers "
            "yourself"
        )
    flags = bool_cells(raw)
    if flags.any():
        raise RunTableError(
            f"column {column!r} holds True/False values, not numbers, at "
            f"{at_rows(df.index[flags], note)}; map the right column (a boolean column would be "
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
            f"column {column!r} has non-numeric values at {at_rows(df.index[bad], note)} "
            f"(e.g. {examples}){remedy}"
        )
    return values.astype(float)


def number_cells(df: pd.DataFrame, column: str, name: str, note: str = ROWS_NOTE) -> pd.Series:
    """``df[column]`` of a table given as input beside a fit (design candidates, design cells)
    as floats, missing as NaN: text that spells a number ("1e9", e.g. read from a file) is that
    number, other text a RunTableError naming the column and rows (:func:`to_numeric`).
    True/False values are an :class:`~.checks.ArgumentTypeError` naming ``name`` (the caller's
    words for the column, e.g. ``"cands['N']"``) and the rows: a boolean read as 0/1 is never a
    size, a count or a cost. Rows are ``df``'s index labels, ``note`` says what they count. The
    range of the values is the caller's to check."""
    flagged = bool_cells(df[column])
    if flagged.any():
        raise ArgumentTypeError(
            f"{name} holds True/False values, not numbers, at {at_rows(df.index[flagged], note)}"
            ": map the right column (a boolean column would be read as 0/1)"
        )
    return to_numeric(df, column, note)


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
