"""map_tasks records each worker warning's category, and warn_again raises it again with that
category (a UserWarning when the category's module is not imported) (review 8)."""

from __future__ import annotations

import warnings

import pytest

from bayeslaws.inference import batch
from bayeslaws.inference.batch import InProcessExecutor, TaskResult, map_tasks


def test_warn_again_keeps_a_category_it_cannot_find_in_the_text():
    """A category whose module this process has not imported is not imported for it: a
    UserWarning keeps its name in the text."""
    result = TaskResult(
        index=0, name="t",
        warnings=["GoneWarning: from a worker", "RuntimeWarning: overflow"],
        warning_categories=["nowhere_imported.module:GoneWarning", "builtins:RuntimeWarning"],
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch.warn_again([result], "lbl")
    assert [(w.category, str(w.message)) for w in caught] == [
        (UserWarning, "lbl: 't': GoneWarning: from a worker"),
        (RuntimeWarning, "lbl: 't': overflow"),
    ]


class ReviewWarning(UserWarning):
    """A warning class of this module, raised by a task."""


def warns(item):
    warnings.warn(f"item {item}", ReviewWarning, stacklevel=1)
    return item


def test_a_task_records_each_warnings_category():
    with pytest.warns(UserWarning, match="1 of 1 tasks warned in their workers"):
        result = map_tasks(warns, [1], InProcessExecutor(), show_progress=False)
    assert result[0].warnings == ["ReviewWarning: item 1"]
    assert result[0].warning_categories == [f"{__name__}:ReviewWarning"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch.warn_again(result, "map_tasks")
    assert [(w.category, str(w.message)) for w in caught] == [
        (ReviewWarning, "map_tasks: 'task0': item 1")
    ]
