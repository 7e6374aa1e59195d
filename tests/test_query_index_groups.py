"""Answers keep the row labels of pandas inputs; a grouped fit asked without ``group=`` says
once that it answers for a new group; loss_penalty names its required sizes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.posterior import quantity_draws, query_frame

NEW_GROUP = "answers for a NEW, unseen group"


def _fresh(fit):
    """Another Fit object with the same draws and cache: once-per-fit notes are said again."""
    cache = {k: fit.cache[k] for k in fit.cache.keys()}
    return bl.Fit(fit.idata, fit.record, compute_model=fit.compute_model, cache=cache)


def _said(caught) -> list[str]:
    return [str(w.message) for w in caught if NEW_GROUP in str(w.message)]


# ---- row labels of pandas inputs --------------------------------------------------------------
def test_predict_keeps_the_row_labels_of_series_inputs(simulated_fit, simulated_runs):
    """The pandas idiom ``table.assign(pred=predict(...)["median"])`` aligns by label: on a
    sorted (permuted) table each row must get its own prediction, not another row's."""
    table = simulated_runs.df.sort_values("D", ascending=False).iloc[:12]
    assert not table.index.equals(pd.RangeIndex(len(table)))  # labels are not positions
    pred = bl.predict(simulated_fit, N=table["N"], D=table["D"])
    pd.testing.assert_index_equal(pred.index, table.index)
    by_position = bl.predict(simulated_fit, N=table["N"].to_numpy(), D=table["D"].to_numpy())
    assigned = table.assign(pred=pred["median"])
    np.testing.assert_allclose(assigned["pred"], by_position["median"], rtol=1e-12)
    np.testing.assert_allclose(pred["N"], table["N"])  # each labelled row holds its own query


def test_a_series_broadcast_with_a_scalar_keeps_its_labels(simulated_fit):
    N = pd.Series([1e9, 3e8, 2e9], index=["c", "a", "b"], name="N")
    pred = bl.predict(simulated_fit, N=N, D=2e10)
    assert list(pred.index) == ["c", "a", "b"]
    np.testing.assert_allclose(pred["N"], N.to_numpy())
    plain = bl.predict(simulated_fit, N=[1e9, 3e8], D=[2e10, 2e10])
    assert list(plain.index) == [0, 1]  # no Series: rows numbered by position, as before


def test_series_with_different_row_labels_are_refused_by_name(simulated_fit):
    N = pd.Series([1e9, 2e9], index=[3, 7])
    D = pd.Series([2e10, 4e10], index=[7, 3])
    with pytest.raises(ValueError, match=r"N, D are pandas Series with different indexes"):
        bl.predict(simulated_fit, N=N, D=D)
    ok = bl.predict(simulated_fit, N=N.to_numpy(), D=D.to_numpy())  # by position: as asked
    assert len(ok) == 2


def test_optimal_allocation_keeps_the_labels_of_a_series_of_budgets(simulated_fit):
    C = pd.Series([1e22, 1e20], index=["big", "small"])
    table = bl.optimal_allocation(simulated_fit, C=C)
    assert list(table.index) == ["big", "small"]
    np.testing.assert_allclose(table.loc["big", "C"], 1e22)
    assert table.loc["big", "N_opt"] > table.loc["small", "N_opt"]


def test_loss_penalty_names_n_and_d_as_required(simulated_fit):
    """loss_penalty takes N and D (no C): a missing one is named as such, not as 'give exactly
    two of N, D, C' (a C it does not accept)."""
    with pytest.raises(ValueError, match=r"N \(params\) and D \(tokens\) are both required.*D"):
        bl.loss_penalty(simulated_fit, 1e8, None, 3e-4, 2**16)


# ---- group=None on a grouped fit ----------------------------------------------------------------
CALLS = {
    "predict": lambda fit, **kw: bl.predict(fit, N=[1e9, 2e9], D=2e10, **kw),
    "optimal_allocation": lambda fit, **kw: bl.optimal_allocation(fit, C=[1e21], **kw),
    "allocation_laws": lambda fit, **kw: bl.allocation_laws(fit, n_budgets=3, **kw),
    "near_optimal": lambda fit, **kw: bl.near_optimal(fit, 1e21, n_grid=21, **kw),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_new_group_answer_is_announced_once_per_fit(grouped_fit, name):
    fit = _fresh(grouped_fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CALLS[name](fit, group="A")  # a fitted group: nothing to say
        assert _said(caught) == []
        CALLS[name](fit)
        CALLS[name](fit)
        bl.predict(fit, N=1e9, D=2e10)  # another function, same fit: said already
    said = _said(caught)
    assert len(said) == 1, said
    assert said[0].startswith(f"{name}: group=None on a fit of 2 groups (A, B)")
    assert "wider" in said[0] and "pass group='A' (or another of fit.groups)" in said[0]
    assert caught[[str(w.message) for w in caught].index(said[0])].filename == __file__


def test_the_new_group_note_leaves_the_numbers_and_can_be_left_to_the_caller(grouped_fit):
    fit = _fresh(grouped_fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet = bl.predict(fit, N=[1e9, 2e9], D=2e10, seed=3, _new_group_noted=True)
        assert _said(caught) == []  # the caller says it itself; the fit's note is not used up
        loud = bl.predict(fit, N=[1e9, 2e9], D=2e10, seed=3)
        assert len(_said(caught)) == 1
    pd.testing.assert_frame_equal(quiet, loud)
    draws = quantity_draws(fit, query_frame(fit, N=[1e9, 2e9], D=2e10), group=None, seed=3)
    np.testing.assert_allclose(loud["median"], np.median(draws["loss"], axis=0), rtol=1e-12)


def test_a_fit_without_groups_says_nothing_of_groups(simulated_fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(_fresh(simulated_fit), N=1e9, D=2e10)
    assert _said(caught) == []
