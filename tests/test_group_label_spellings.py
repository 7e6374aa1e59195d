"""A fitted group named in another spelling the law accepts (10, 10.0, "10.0" for the group
"10") is measured from its own runs, as the law answers for it: the distances went pooled."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bayeslaws.posterior.extrapolation import distance


def _fit():
    runs = {"group": ["1", "1", "10", "7", "7"], "N": [1e7, 2e7, 3e8, 1e9, 2e9]}
    record = SimpleNamespace(groups=("1", "10", "7"), training_runs=runs, ranges={})
    return SimpleNamespace(record=record)


@pytest.mark.parametrize("spelling", ["10", 10, 10.0, "10.0", np.int64(10)])
def test_every_spelling_of_a_fitted_group_finds_its_own_runs(spelling):
    fit = _fit()
    assert distance.fitted_label(fit, spelling) == "10"
    np.testing.assert_array_equal(
        distance.own_group_rows(fit, spelling), [False, False, True, False, False]
    )
    assert distance.range_words(fit, spelling) == "group '10''s fitted range"


@pytest.mark.parametrize("group", [None, "unknown", 3])
def test_a_new_or_unknown_group_keeps_the_pooled_range(group):
    fit = _fit()
    assert distance.own_group_rows(fit, group) is None
    assert distance.range_words(fit, group) == "the fitted range"


def test_the_fan_chart_draws_the_groups_own_runs_in_any_spelling():
    """fan_points resolved 10.0 as the law does but kept the rows labelled '10.0': none."""
    import pandas as pd

    from bayeslaws.laws import resolve_law
    from bayeslaws.plot.fan_chart import fan_points

    fit = SimpleNamespace(groups=("1", "10"), law=resolve_law("chinchilla"))
    runs = pd.DataFrame(
        {"N": [1e7, 2e7, 3e8], "D": [1e9, 2e9, 3e9], "loss": [3.0, 2.9, 2.5],
         "group": ["1", "1", "10"]}
    )  # fmt: skip
    for spelling in ("10", 10.0, "10.0"):
        points = fan_points(fit, runs, spelling)
        assert points.kept["N"].tolist() == [3e8], spelling
        assert points.sets[0][0] == "runs of group 10"
