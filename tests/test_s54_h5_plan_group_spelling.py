"""planning's group is read as every other answer reads it (s54 H5).

``predict``, ``optimal_allocation``, the design and ``fit.update`` take 7, 7.0 and "7" as a
fit's group "7"; ``planning`` compared the text, so ``group=7.0`` (a label read from a float
column) was refused as "not one of the fit's groups ['7', '8']", and a misspelt group got no
"did you mean"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bayeslaws.app import plan

NUMBERED = SimpleNamespace(groups=["7", "8"])  # what the group checks read of a fit
NAMED = SimpleNamespace(groups=["comma", "dclm", "nemotron"])
UNGROUPED = SimpleNamespace(groups=[None])


def test_a_group_given_as_a_float_is_the_fits_group():
    plan.check_planning_group(UNGROUPED, NUMBERED, 7.0)
    assert plan.fit_group(NUMBERED, 7.0) == "7"
    assert plan.fit_group(NUMBERED, 8) == "8"
    assert plan.fit_group(UNGROUPED, 7.0) is None


def test_a_misspelt_group_names_the_close_one():
    with pytest.raises(ValueError, match=r"not one of surface_fit's groups .*did you mean 'dclm'"):
        plan.check_planning_group(UNGROUPED, NAMED, "dclmm")
