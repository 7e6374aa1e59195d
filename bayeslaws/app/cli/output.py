"""The result tables and the notes printed with them that several commands share: inputs
echoed to full precision (:func:`exact_text`, :func:`result_table`), the tokens note on
batch sizes and the note that a grouped fit asked without ``--group`` answers for a new group.
"""

from __future__ import annotations

import re
import sys

from .hints import COMMAND, with_cli_hints

# columns that echo the user's inputs: printed to full precision (131072, not 1.3107e+05)
INPUT_COLUMNS = ("N", "D", "C", "lr", "batch_size")


def exact_text(value: float) -> str:
    """The shortest %g text (at least 5 significant figures' form) that reads back as value."""
    for digits in range(5, 18):
        text = f"{value:.{digits}g}"
        if float(text) == value:
            return text
    return repr(value)


def result_table(df, echoed=INPUT_COLUMNS) -> str:
    """A result table as text: the ``echoed`` input columns exactly, results (and inputs
    derived from the others, e.g. D from N and C) to 5 significant figures."""
    import pandas as pd

    exact = {c: exact_text for c in echoed if c in df and df[c].dtype.kind == "f"}
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        return df.to_string(index=False, float_format="{:.5g}".format, formatters=exact)


# batch sizes are in tokens throughout (runs, fits, predictions, candidates)
BATCH_COLUMN = re.compile(r"^(batch_size|B_opt_\w+)$|B_opt\(")


def batch_note(table) -> str:
    """A line saying that the table's batch sizes (a batch_size or B_opt column) are in tokens;
    "" when it has none."""
    if not any(BATCH_COLUMN.search(str(c)) for c in table.columns):
        return ""
    return (
        "note: batch sizes (batch_size, B_opt) are in tokens (sequences x sequence length); "
        "learning rates as in the run table"
    )


def say_new_group(fit, group) -> None:
    """A grouped fit asked without --group answers for a new group: say so on stderr (with
    the package's note when the groups' spread depends on its prior, and how to set that
    prior on the command line)."""
    from bayeslaws.posterior.draws import spread_prior_note

    if group is None and len(fit.groups) > 1:
        note = spread_prior_note(fit)  # '' unless the groups' spread is mostly its prior
        print(
            with_cli_hints(
                f"note: a fit of {len(fit.groups)} groups ({', '.join(map(str, fit.groups))}) "
                f"asked without --group: the answer is for a NEW group (wider); {note}--group "
                "NAME for a fitted one",
                COMMAND[0],
            ),
            file=sys.stderr,
        )
