"""Whether a run table is SIMULATED, decided from structured information (a ``source`` column
whose texts start with "simulated", the extent a provenance records), never from a file name:
a table's extent ("all", "partly" or "none") and the notes its source text carries."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

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


def source_column(df: pd.DataFrame) -> pd.Series | None:
    """The input table's own ``source`` column (texts, index: row labels), as read, before
    load_runs maps or leaves out columns; None without one (or with two: an error later)."""
    if "source" not in df.columns:
        return None
    column = df["source"]
    return None if isinstance(column, pd.DataFrame) else column


def rows_extent(said: np.ndarray) -> str:
    """"all", "partly" or "none" of the rows ``said`` (booleans) simulated."""
    if not said.any():
        return "none"
    return "all" if said.all() else "partly"


def frame_extent(df: pd.DataFrame) -> str:
    """How much of ``df`` is SIMULATED by its ``source`` column (:func:`simulated_rows`):
    "all", "partly" or "none" (an empty table or one without the column: "none")."""
    return rows_extent(simulated_rows(df))


def simulated_note(df: pd.DataFrame, source: str = "") -> str:
    """What to add to a table's ``source`` when its ``source`` column says rows are simulated
    (as bayeslaws' simulators write it: "simulated: ..."), so that every fit, report and figure
    that names the data says SIMULATED whatever the file is called; "" when none are (or the
    ``source`` already carries such a note: :func:`simulated_extent`; a file name holding the
    word SIMULATED is no note)."""
    return sources_note(df["source"] if "source" in df else None, source)


def sources_note(sources: pd.Series | None, source: str = "") -> str:
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
