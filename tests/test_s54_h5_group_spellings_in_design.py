"""A fitted group named in another spelling is that group everywhere in the design (s54 H5).

``predict``, ``optimal_allocation`` and ``fit.update`` read 2, 2.0 and "2" as the fit's group
"2" (:func:`~bayeslaws.laws.contract.resolve_group`), but the design compared labels as text:
a target ``NOpt(C, group=2.0)`` beside candidates of group 2 was taken for another group's (a
false GroupWarning, and runs valued as if they could not widen the target's own range), and a
candidates' ``group`` column read as floats (2.0) was valued as a NEW group's runs. A group's
GP draws at a point also depended on the spelling (2 or 2.0).

The guardrails and the pool read a group the same way (s54 M2): runs trained as group "2" did
not count against candidates of group=2.0 (or a group column of 2.0), which were picked again; a
pool column of 2 was refused beside group=2.0; and a plan's group column kept the float 2.0."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import two_group_fit

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.design.candidates import GroupWarning, check_far, pool_groups
from bayeslaws.design.guardrails import run_keys

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


def quiet_batch(fit, cands, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return design.next_runs(fit, cands, design.NOpt(C_TARGET, group=2), k=2, **kwargs)


def test_a_run_key_reads_2_0_and_2_as_one_group():
    runs = pd.DataFrame({"N": [1e8], "D": [2e9]})
    as_text = run_keys(runs.assign(group="2"))
    assert run_keys(runs.assign(group=2.0)) == as_text
    assert run_keys(runs, group=2.0) == as_text


@pytest.mark.parametrize("spelling", ["argument", "column"])
def test_runs_trained_as_group_2_block_candidates_of_group_2_0(int_grouped_fit, cands, spelling):
    trained = design.Guardrails(max_repeats=1).after(cands.assign(group="2"))
    assert len(quiet_batch(int_grouped_fit, cands, group=2, guardrails=trained)) == 0
    if spelling == "argument":
        out = quiet_batch(int_grouped_fit, cands, group=2.0, guardrails=trained)
    else:
        out = quiet_batch(int_grouped_fit, cands.assign(group=2.0), guardrails=trained)
    assert len(out) == 0  # every candidate was trained already, in the same group


def test_a_plans_group_column_holds_the_fits_label(int_grouped_fit, cands):
    out = quiet_batch(int_grouped_fit, cands.assign(group=2.0))
    assert out["group"].tolist() == [int_grouped_fit.groups[1]] * len(out)


def test_a_group_column_at_odds_with_group_names_the_fits_label(int_grouped_fit, cands):
    with pytest.raises(ValueError, match="valued as group '2' while the guardrails count them"):
        quiet_batch(int_grouped_fit, cands.assign(group=1), group=2.0)


def test_a_pool_column_of_2_agrees_with_group_2_0(int_grouped_fit):
    pool = pd.DataFrame({"N": [1e8], "D": [2e9], "group": [2]})
    fitted = int_grouped_fit.groups[1]  # "2"
    assert pool_groups(int_grouped_fit, pool, 2.0) == [fitted]
    assert pool_groups(int_grouped_fit, pool.drop(columns="group"), 2.0) == [fitted]


def test_far_candidates_of_one_group_in_two_spellings_get_one_message(int_grouped_fit):
    high = float(int_grouped_fit.record.ranges["N"][1])
    spelt = pd.Series([2.0, "2"], dtype=object)  # one group, two spellings
    far = pd.DataFrame({"N": [high * 1e8] * 2, "D": [1e10] * 2, "group": spelt})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_far(int_grouped_fit, far)
    on_n = [str(w.message) for w in caught if str(w.message).startswith("N = ")]
    assert len(on_n) == 1 and "(positions [0, 1])" in on_n[0], on_n
