"""The canonical columns of a run table and how :func:`~.table.load_runs` finds them among a
table's columns: the user's mappings (``N='params'``), columns left out (``ignore_columns=``),
a column named as a canonical one but not read (kept as e.g. ``loss_unused``, with a warning),
names that miss a canonical one only in case, spaces or '-'/'_' or by a unit in brackets
(``'N [params]'``), and what a header that names none of them says (a file read with the wrong
separator). Other columns are kept untouched.

=============  ===========================================================
``N``          model size, parameters
``D``          training tokens
``C``          training compute, FLOPs (``C = compute_model.flops(N, D)``)
``lr``         peak learning rate (optional)
``batch_size`` batch size in tokens (optional)
``loss``       final loss (nats/token, or the paper's loss; must be > 0)
``group``      optional family label (data set, architecture, modality)
=============  ===========================================================
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Hashable

import numpy as np
import pandas as pd

from .checks import ArgumentTypeError
from .messages import PlausibilityWarning, RunTableError
from .warn import user_stacklevel

CANONICAL = ("N", "D", "C", "lr", "batch_size", "loss", "group")
NUMERIC = ("N", "D", "C", "lr", "batch_size", "loss")


# optional columns that every law reading them reads by their exact name besides the canonical
# ones (the ``diverged`` flags; an isoFLOP law's ``run`` labels are not checked here: other
# laws ignore a run column, so a 'Run' column is no near miss for them)
OPTIONAL_EXTRA = ("diverged",)


DERIVABLE = ("N", "D", "C")  # the columns load_runs derives (one of them) through the model


def header_diagnosis(columns: list, canonical) -> str:
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
            elif _plain_name(unit_stripped(name)) == _plain_name(canon):
                notes.append(bracketed_note(name, canon))
    return "".join(f"; {note}" for note in notes)


# a column name with a unit or note after it in brackets: "N [params]", "D (tokens)", "loss (nats)"
BRACKETED = re.compile(r"^(?P<name>.*?\S)\s*(\[[^\[\]]*\]|\([^()]*\))\s*$")

# the units load_runs reads a canonical column in (lr and loss: as given)
READ_UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs", "batch_size": "tokens"}


def unit_stripped(name) -> str:
    """A column name without a unit or note in brackets at its end ("N [params]": "N", "Batch
    Size (tokens)": "Batch Size"); '' for a name that ends in none."""
    found = BRACKETED.match(str(name))
    return found.group("name") if found else ""


def bracketed_note(name: str, canon: str) -> str:
    """Why the column ``name`` (``canon`` with a unit in brackets, :func:`unit_stripped`) was
    not found as ``canon``, and the fix: map it, with ``units=`` when its values are not in the
    units ``canon`` is read in."""
    if canon not in CANONICAL:  # a name the user gave (N='Params' beside 'Params [M]')
        return f"column {name!r} is {canon!r} with a unit in brackets: give its full name"
    unit = READ_UNITS.get(canon)
    scale = (
        f"; {canon} is read in {unit} (other units: add units={{{canon!r}: 'millions'}} or "
        "the like)"
        if unit
        else ""
    )
    return (
        f"column {name!r} looks like {canon!r} with a unit in brackets (read only when mapped): "
        f"map it ({_mapping_forms(canon, name)}){scale}"
    )


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


def near_misses(extra: list, absent: list) -> list[tuple[str, str]]:
    """(the table's column, the canonical name) for each ``extra`` column (kept untouched)
    that equals an ``absent`` canonical or optional name only loosely (:func:`_plain_name`),
    or does so but for a unit in brackets at its end (:func:`unit_stripped`)."""
    plain = {_plain_name(canon): canon for canon in absent}
    found = []
    for column in extra:
        for name in (column, unit_stripped(column)):  # "Batch Size (tokens)" too
            if _plain_name(name) in plain:
                found.append((str(column), plain[_plain_name(name)]))
                break
    return found


def near_miss_message(name: str, canon: str) -> str:
    """Why the column ``name`` is not read as ``canon``, and the fix."""
    if _plain_name(name) != _plain_name(canon):  # a unit in brackets: "lr (peak)"
        return (
            f"column {name!r} looks like {canon!r} with a unit or note in brackets: it is NOT "
            f"used as {canon!r} (kept as an extra column); map it "
            f"({_mapping_forms(canon, name)})"
        )
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


def diverged_like_message(name, read) -> str:
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


def flags_column(df: pd.DataFrame, diverged, mapping: dict) -> pd.DataFrame:
    """``df`` with the user's column ``diverged`` (``load_runs(..., diverged=...)``) renamed to
    'diverged'; as it is for None or 'diverged'. A RunTableError names a column that is not in
    the table, a 'diverged' column besides it, or a column ``mapping`` (canonical -> the
    user's name) also reads as another canonical column."""
    if diverged is None or diverged == "diverged":
        return df
    columns = column_labels(df.columns)
    if diverged not in df.columns:
        raise RunTableError(
            f"column {diverged!r} (given for diverged) is not in the table; the columns read "
            f"are {columns}{header_diagnosis(columns, [diverged])}"
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


def unread_canonical(columns: pd.Index, used: set, mapping: dict) -> dict:
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


def check_column_label(canon: str, user) -> None:
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


def column_of(canon: str, user, columns: pd.Index):
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
            f"the table (its columns: {column_labels(columns)})"
        )
    return user


LEAVABLE = (*CANONICAL, "diverged")  # the canonical names ignore_columns= takes


def ignore_list(ignore) -> list:
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
    names = ignore_list(ignore)
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
                f"columns: {column_labels(pd.Index(list(columns)))}){mapped}; name a column "
                f"of the table, or a canonical column ({', '.join(LEAVABLE)}) that is in it or "
                "mapped to one of its columns"
            )
        for label in (labels[f] for f in found if f in labels):
            if label not in drop:
                drop.append(label)
    return drop, mapping


def column_labels(columns: pd.Index) -> list:
    """The table's column labels for a message, as Python values (shown with repr: 'N', 0)."""
    return columns.tolist()


def index_note(index: pd.Index, wanted) -> str:
    """When columns the table lacks (``wanted``: canonical names or the user's labels) are
    levels of its index (a grouped table, e.g. ``df.groupby(["N", "D"]).mean()``, or
    ``df.set_index("N")``), the fix: "; N, D are in the DataFrame's index ...: pass
    df.reset_index()"; else ''."""
    wanted = {_plain_name(w) for w in wanted if w is not None}
    levels = [str(n) for n in index.names if n is not None and _plain_name(n) in wanted]
    if not levels:
        return ""
    are = "is" if len(levels) == 1 else "are"
    return (
        f"; {', '.join(levels)} {are} in the DataFrame's index, not among its columns (a grouped "
        "table, e.g. df.groupby([...]).mean()?): pass df.reset_index(), which makes the index "
        "columns again"
    )


def flat_columns_check(columns: pd.Index) -> None:
    """A RunTableError for a table whose columns have several levels (a MultiIndex, e.g. from
    ``df.groupby(...).agg({"loss": ["mean", "std"]})``): no column has one name to read it by
    (``"loss"`` would pick both ``("loss", "mean")`` and ``("loss", "std")``)."""
    if columns.nlevels == 1:
        return
    example = "_".join(str(p) for p in columns[0] if str(p))
    raise RunTableError(
        f"the table's columns have {columns.nlevels} levels (a MultiIndex, e.g. from "
        "df.groupby(...).agg({'loss': ['mean', 'std']})), so no column has one name to read it "
        f"by (its first: {columns[0]!r}): flatten them, e.g. df.columns = "
        "['_'.join(str(p) for p in c if str(p)) for c in df.columns] (its first column is "
        f"then {example!r}), and map columns by their new names (e.g. loss='loss_mean')"
    )
