"""What the hyperparameter questions say to a fit that cannot answer them: fixed_vs_optimal
refuses law 'hyperparams' before it draws anything, loss_penalty names both laws that price a
setting, a cells= table without N and D is named by the columns it has, and candidates whose
N column is misnamed say which column to rename (SIMULATED runs)."""

from __future__ import annotations

import pandas as pd
import pytest

from bayeslaws.design.candidates import check_candidates, isoflop_candidates
from bayeslaws.laws.contract import LawCapabilityError
from bayeslaws.posterior import fixed_hyperparams
from bayeslaws.posterior.fixed_hyperparams import fixed_vs_optimal
from bayeslaws.posterior.predict import loss_penalty
from bayeslaws.runs.checks import ArgumentTypeError


def test_fixed_vs_optimal_refuses_law_hyperparams_before_any_draws(
    small_sweep_hp_fit, monkeypatch
):
    def no_draws(*args, **kwargs):
        raise AssertionError("quantity_draws called for a law that cannot answer")

    monkeypatch.setattr(fixed_hyperparams, "quantity_draws", no_draws)
    with pytest.raises(LawCapabilityError, match=r"law 'hyperparams' does not model the loss"):
        fixed_vs_optimal(small_sweep_hp_fit, 1e19, lr=2e-4, batch_size=1e5)


def test_loss_penalty_names_both_laws_that_price_a_setting(simulated_fit):
    with pytest.raises(LawCapabilityError, match=r"fit law 'sweep' or 'hyperparams'"):
        loss_penalty(simulated_fit, 1e9, 2e10, 1e-3, 1e6)


@pytest.mark.parametrize(
    "cells, got",
    [
        (pd.DataFrame({"n": [1e8], "d": [2e9]}), r"got columns \['n', 'd'\]"),
        ([(1e8, 2e9)], r"got list"),
    ],
)
def test_cells_without_n_and_d_are_named_by_what_they_hold(cells, got):
    with pytest.raises(ValueError, match=r"cells must be a DataFrame with columns N .*" + got):
        fixed_hyperparams._design_cells(None, cells)


@pytest.mark.parametrize(
    "columns, rename",
    [
        ({"N": "n"}, r"rename column 'n' to 'N'"),
        ({"N": "N [params]"}, r"rename column 'N \[params\]' to 'N'"),
    ],
)
def test_candidates_without_n_name_the_column_to_rename(simulated_fit, columns, rename):
    cands = isoflop_candidates([1e19, 3e19], 3).rename(columns=columns)
    with pytest.raises(ValueError, match=rf"cands needs column N and one of D, C; .*{rename}"):
        check_candidates(simulated_fit, cands)


def test_candidates_that_are_no_dataframe_are_named_by_type(simulated_fit):
    grouped = isoflop_candidates([1e19, 3e19], 3).groupby("C")
    with pytest.raises(ArgumentTypeError, match=r"cands must be a pandas DataFrame .*got Data"):
        check_candidates(simulated_fit, grouped)
