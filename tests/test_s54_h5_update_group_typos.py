"""A new run's misspelt group is named beside the fitted group it is close to (s54 H5).

``fit.update`` adds runs of a group the fit lacks as a NEW group (a refit, with a
NewGroupsWarning). A label differing only in case was named with the fitted group; a typo
("dclmm" for "dclm") was not, so among many groups nothing said which fitted group was
meant."""

from __future__ import annotations

import pandas as pd
import pytest

from bayeslaws.inference.update import NewGroupsWarning, warn_new_groups

FITTED = pd.DataFrame({"N": [1e8] * 3, "D": [2e9] * 3, "group": ["comma", "dclm", "nemotron"]})


def new_runs(*labels):
    return pd.DataFrame({"N": [2e8] * len(labels), "D": [4e9] * len(labels), "group": labels})


def test_a_typo_names_the_close_fitted_group():
    with pytest.warns(NewGroupsWarning) as caught:
        warn_new_groups(FITTED, new_runs("dclmm", "web"))
    message = str(caught[0].message)
    assert "group(s) ['dclmm', 'web'] that the fit does not have" in message
    assert "'dclmm': did you mean 'dclm'?" in message
    assert "'web'" in message and "did you mean 'web" not in message  # nothing close to web


def test_a_case_difference_is_still_named_as_such():
    cased = "'Comma' differs from the fit's 'comma' only in case"
    with pytest.warns(NewGroupsWarning, match=cased):
        warn_new_groups(FITTED, new_runs("Comma"))
