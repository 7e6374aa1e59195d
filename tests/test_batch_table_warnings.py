"""BatchResult.table() says which warnings each task had (it gave only their number: a user
scanning a batch of 40 fits could not tell which fit had which problem)."""

from __future__ import annotations

import warnings

import pandas as pd

from bayeslaws.inference.batch import InProcessExecutor, TaskResult, map_tasks


class DriftWarning(UserWarning):
    """A category of this test's own, to tell apart from UserWarning in the table."""


def warn_by_item(item: str) -> str:
    """Warns as ``item`` asks: "quiet" none, "drift" a two-line DriftWarning twice, "both"
    that and a UserWarning."""
    if item in ("drift", "both"):
        for _ in range(2):
            warnings.warn("the loss drifts\nsee the second line", DriftWarning, stacklevel=1)
    if item == "both":
        warnings.warn("few runs", UserWarning, stacklevel=1)
    return item


def test_the_table_names_each_tasks_warnings_by_their_first_lines():
    """The table's ``warnings`` column was a count only; ``warnings_text`` now holds each
    warning's first line (its category first), a repeated one once with its count."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the batch's summary warning
        result = map_tasks(
            warn_by_item,
            ["quiet", "drift", "both"],
            InProcessExecutor(),
            names=["q", "d", "b"],
            show_progress=False,
        )
    table = result.table()
    assert table["warnings"].tolist() == [0, 2, 3]  # the count is kept
    assert pd.isna(table.loc["q", "warnings_text"])  # None, as "error" for a task that did not fail
    drift = "DriftWarning: the loss drifts (x2)"
    assert table.loc["d", "warnings_text"] == drift
    assert table.loc["b", "warnings_text"] == f"{drift} | UserWarning: few runs"
    assert "second line" not in table.loc["b", "warnings_text"]  # in result[i].warnings
    assert any("second line" in text for text in result[1].warnings)


def test_warnings_text_is_none_without_warnings_and_counts_a_repeated_one():
    assert TaskResult(0, "t").warnings_text() is None
    assert TaskResult(0, "t", warnings=["UserWarning: a", "UserWarning: a"]).warnings_text() == (
        "UserWarning: a (x2)"
    )
