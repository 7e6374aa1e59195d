"""bayeslaws.design with a grouped fit: the candidates' group label, the target's group and the
centre of isoFLOP lines must line up with the fit's groups, or a GroupWarning says they do not
(review r1: a misspelt label, a target's default new group and a new group's isoFLOP centre were
all silent)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.posterior import allocation_draws

OPTS = {"cost": None, "max_draws": 100, "seed": 0, "model": "none"}


def _cell(fit) -> tuple[float, float]:
    train = fit.record.training_runs
    return float(np.median(train["N"])), float(np.median(train["D"]))


def _cands(fit) -> pd.DataFrame:
    N0, D0 = _cell(fit)
    return pd.DataFrame({"N": [N0, 3 * N0, 10 * N0], "D": [D0, 2 * D0, 10 * D0]})


def _group_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, design.GroupWarning)]


def _rank(fit, cands, target, **kw) -> pd.DataFrame:
    return design.rank_candidates(fit, cands, target, **OPTS, **kw).sort_values("unit")


def test_an_unknown_group_label_is_valued_as_a_new_group_with_a_warning(grouped_fit):
    """A label the fit does not know ("a" for "A") was valued as a new group silently; it still
    is (a new data set's candidates carry their own label), but a warning names the label, the
    fit's groups and the nearest one."""
    cands = _cands(grouped_fit)
    N0, D0 = _cell(grouped_fit)
    target = design.Loss(N=30 * N0, D=30 * D0)  # a new group's: only the label can warn
    with pytest.warns(
        UserWarning,
        match=r"cands\['group'\] is 'a', which is not one of the fit's groups \['A', 'B'\] "
        r"\(did you mean 'A'\?\): the candidates are valued as runs of a NEW group",
    ) as record:
        typo = _rank(grouped_fit, cands.assign(group="a"), target)
    assert len(_group_warnings(record)) == 1
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        new = _rank(grouped_fit, cands, target)
        fresh = _rank(grouped_fit, cands.assign(group="webtext"), target)
    np.testing.assert_array_equal(typo["info"], new["info"])  # valued as a new group, as before
    np.testing.assert_array_equal(fresh["info"], new["info"])
    (message,) = _group_warnings(record)  # the unseen label only; no label: nothing to say
    assert "'webtext'" in message and "did you mean" not in message


def test_a_target_of_another_group_than_the_candidates_warns(grouped_fit):
    """B's candidates valued against a target left at its default (a NEW group's, much wider)
    or another fitted group's were ranked silently; a warning names the target's components,
    both groups and the fix. The target is never re-grouped: its widths stay a new group's."""
    cands = _cands(grouped_fit)
    N0, D0 = _cell(grouped_fit)
    far = {"N": 30 * N0, "D": 30 * D0}
    new, of_a = design.Loss(**far), design.Loss(**far, group="A")
    of_b = design.Loss(**far, group="B")
    label = new.labels()[0]
    as_b = cands.assign(group="B")
    with pytest.warns(
        UserWarning,
        match=rf"valued as runs of group 'B', but the target is {re.escape(label)} for a NEW "
        r"group .*give it group='B'",
    ):
        ranked_new = _rank(grouped_fit, as_b, new)
    with pytest.warns(UserWarning, match=r"runs of group 'B', but the target is .* for group 'A'"):
        _rank(grouped_fit, cands, of_a, group="B")
    with pytest.warns(
        UserWarning, match=r"valued as runs of a NEW group .* for group 'B'.* pass group="
    ):
        design.next_runs(grouped_fit, cands, of_b, k=1, **OPTS)
    other = design.Loss(N=10 * N0, D=10 * D0)
    with pytest.warns(UserWarning, match=r"the target is L\(.*\) for a NEW group") as record:
        _rank(grouped_fit, as_b, [of_b, other])  # only the part of another group is named
    assert label not in _group_warnings(record)[0]
    # groups that agree: nothing to say
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ranked_b = _rank(grouped_fit, as_b, of_b)
        both_new = _rank(grouped_fit, cands, new)
        _rank(grouped_fit, cands, design.AllParameters(), group="B")
    assert _group_warnings(record) == []
    width = f"width_now[{label}]"
    np.testing.assert_array_equal(ranked_new[width], both_new[width])  # still a new group's
    assert ranked_new[width].iloc[0] > ranked_b[width].iloc[0]  # wider than B's own


def test_isoflop_lines_centre_on_the_groups_n_opt(grouped_fit):
    """isoflop_candidates(C, fit=grouped_fit) centred on a new group's N_opt whatever group the
    runs were for; group= centres them on that fitted group's (a label the fit does not know is
    refused, as by predict), and without it a warning says the centre is a new group's."""
    N0, D0 = _cell(grouped_fit)
    C = np.array([6 * N0 * D0, 60 * N0 * D0])
    model = grouped_fit.compute_model

    def centre(cands):
        return cands["N"].to_numpy().reshape(len(C), 3)[:, 1]

    def median_n_opt(group):
        return np.median(allocation_draws(grouped_fit, C, model, group)["N_opt"], axis=0)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        of_b = design.isoflop_candidates(C, 3, fit=grouped_fit, group="B")
    assert _group_warnings(record) == []
    np.testing.assert_allclose(centre(of_b), median_n_opt("B"), rtol=1e-12)
    with pytest.warns(UserWarning, match=r"group=None, so the lines centre on a NEW group's"):
        of_new = design.isoflop_candidates(C, 3, fit=grouped_fit)
    np.testing.assert_allclose(centre(of_new), median_n_opt(None), rtol=1e-12)
    with pytest.raises(ValueError, match=r"group='b' is not one of the fit's groups \['A', 'B'\]"):
        design.isoflop_candidates(C, 3, fit=grouped_fit, group="b")
    with pytest.raises(ValueError, match=r"group='B' chooses the fitted group .* give fit="):
        design.isoflop_candidates(C, 3, group="B")
    with pytest.raises(ValueError, match=r"group='B' chooses .* and no center="):
        design.isoflop_candidates(C, 3, fit=grouped_fit, group="B", center=[N0, N0])


PLAIN_OPTS = {"cost": None, "max_draws": 100, "seed": 0}


def test_the_candidates_group_column_is_the_group_they_are_valued_as(grouped_fit, simulated_fit):
    """A group column was used by the guardrails but not by the values: candidates labelled "B"
    were valued as group= ("A", or a new group when None). One label with group=None is used;
    a disagreement, or several groups in one table, is refused for a grouped fit."""
    N0 = float(np.median(grouped_fit.record.training_runs["N"]))
    D0 = float(np.median(grouped_fit.record.training_runs["D"]))
    cands = pd.DataFrame({"N": [N0, 3 * N0, 10 * N0], "D": [D0, 2 * D0, 10 * D0]})
    target = design.Loss(N=30 * N0, D=30 * D0, group="B")
    opts = {**PLAIN_OPTS, "model": "none"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_b = design.rank_candidates(grouped_fit, cands, target, group="B", **opts)
        column = design.rank_candidates(grouped_fit, cands.assign(group="B"), target, **opts)
        as_new = design.rank_candidates(grouped_fit, cands, target, **opts)
    np.testing.assert_array_equal(
        column.sort_values("unit")["info"], as_b.sort_values("unit")["info"]
    )
    assert not np.allclose(as_new.sort_values("unit")["info"], as_b.sort_values("unit")["info"])
    with pytest.raises(ValueError, match=r"cands\['group'\] is 'B' but group='A'"):
        design.next_runs(grouped_fit, cands.assign(group="B"), target, group="A", k=1, **opts)
    with pytest.raises(ValueError, match=r"cands\['group'\] holds several groups \['A', 'B'\]"):
        design.rank_candidates(grouped_fit, cands.assign(group=["A", "B", "A"]), target, **opts)
    # a label the fit has not seen: a new group (as group=None), not an error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unseen = design.rank_candidates(grouped_fit, cands.assign(group="new"), target, **opts)
    np.testing.assert_array_equal(
        unseen.sort_values("unit")["info"], as_new.sort_values("unit")["info"]
    )
    # a fit without groups: values do not depend on a group; the column labels runs only
    ranked = design.rank_candidates(simulated_fit, cands.assign(group=["a", "b", "a"]), **opts)
    assert len(ranked) == 3


def test_an_unknown_group_is_refused_before_any_group_warning(grouped_fit):
    """group='zzz' for a fit of groups A and B warned that the target is another group's, then
    was refused: the refusal comes first, alone."""
    train = grouped_fit.record.training_runs
    N0, D0 = float(np.median(train["N"])), float(np.median(train["D"]))
    cands = pd.DataFrame({"N": [N0, 3 * N0], "D": [D0, 2 * D0]})
    target = design.Loss(N=10 * N0, D=10 * D0, group="A")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"group='zzz' is not one of the fit's groups"):
            design.next_runs(grouped_fit, cands, target, k=1, group="zzz", model="none")
        with pytest.raises(ValueError, match=r"group='zzz' is not one of the fit's groups"):
            design.rank_candidates(grouped_fit, cands, target, group="zzz", model="none")
    assert [w for w in record if issubclass(w.category, design.GroupWarning)] == []
