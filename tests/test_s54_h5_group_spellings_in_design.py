"""A fitted group named in another spelling is that group everywhere in the design (s54 H5).

``predict``, ``optimal_allocation`` and ``fit.update`` read 2, 2.0 and "2" as the fit's group
"2" (:func:`~bayeslaws.laws.contract.resolve_group`), but the design compared labels as text:
a target ``NOpt(C, group=2.0)`` beside candidates of group 2 was taken for another group's (a
false GroupWarning, and runs valued as if they could not widen the target's own range), and a
candidates' ``group`` column read as floats (2.0) was valued as a NEW group's runs. A group's
GP draws at a point also depended on the spelling (2 or 2.0)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import two_group_fit

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.design.candidates import GroupWarning

C_TARGET = 1e21  # FLOPs


@pytest.fixture(scope="module")
def int_grouped_fit():
    """Groups 1 and 2 (integer labels, stored as "1" and "2"): :func:`conftest.two_group_fit`."""
    return two_group_fit(1, 2)


@pytest.fixture(scope="module")
def cands(int_grouped_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return design.isoflop_candidates([3e18, 1e19], 3, fit=int_grouped_fit, group=2)


def batch(fit, cands, target, group=None):
    """The batch and the GroupWarnings it gave (other warnings ignored)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = design.next_runs(fit, cands, target, k=2, group=group)
    return out, [str(w.message) for w in caught if issubclass(w.category, GroupWarning)]


def test_a_target_of_group_2_0_is_group_2s(int_grouped_fit, cands):
    assert int_grouped_fit.groups == ["1", "2"]
    plain, said = batch(int_grouped_fit, cands, design.NOpt(C_TARGET, group=2), group=2)
    assert not said
    spelt, said = batch(int_grouped_fit, cands, design.NOpt(C_TARGET, group=2.0), group=2)
    assert not said, said
    np.testing.assert_allclose(spelt["info"], plain["info"], rtol=1e-6)
    assert spelt["unit"].tolist() == plain["unit"].tolist()


def test_a_group_column_read_as_floats_is_the_fits_group(int_grouped_fit, cands):
    plain, _ = batch(int_grouped_fit, cands, design.NOpt(C_TARGET, group=2), group=2)
    floats, said = batch(int_grouped_fit, cands.assign(group=2.0), design.NOpt(C_TARGET, group=2))
    assert not said, said  # not "valued as runs of a NEW group"
    np.testing.assert_allclose(floats["info"], plain["info"], rtol=1e-6)


def test_a_groups_draws_do_not_depend_on_its_spelling(int_grouped_fit):
    query = {"N": [3e9], "D": [6e10]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_int = bl.predict(int_grouped_fit, **query, group=2, extrapolation="drift")
        by_float = bl.predict(int_grouped_fit, **query, group=2.0, extrapolation="drift")
    for column in ("median", "lower", "upper"):
        assert by_float[column].iloc[0] == by_int[column].iloc[0]
