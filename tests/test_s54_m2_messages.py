"""Posterior messages and reading mended in s54 M2: the allocation warning names an unnamed
budget as "the farthest" only when it is farther than the named ones; a D_opt below one token
at the top of a search names the largest size searched (not the median N_opt) for a law that
gives no search range of its own; the GP hyperparameter search backs off from an overflowing
kernel with one finite value; ``fixed_vs_optimal(cells=...)`` refuses True/False with the
candidates' remedy (one reading of both, :func:`~bayeslaws.runs.reading.number_cells`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaws.design.candidates import number_column
from bayeslaws.laws.optimum import search_range
from bayeslaws.posterior.allocation.distance import range_message
from bayeslaws.posterior.allocation.edges import refuse_below_one
from bayeslaws.posterior.extrapolation.gp import _log_posterior_terms, _neg_log_posterior
from bayeslaws.posterior.fixed_hyperparams import cells_numbers
from bayeslaws.runs.checks import ArgumentTypeError


def allocation_message(C) -> str:
    """The allocation range message of budgets C (FLOPs) above a fitted range up to 1e20."""
    decades = np.log10(np.asarray(C) / 1e20)
    return range_message(C, {"C_outside_decades": decades}, {"C": [1e18, 1e20]})


def test_no_unnamed_budget_is_the_farthest_when_a_named_one_is_farther():
    message = allocation_message([1e28, 1e23, 1e24, 1e25, 1e26])
    assert "and 2 more budgets." in message, message
    assert "farthest" not in message, message


def test_the_farthest_unnamed_budget_is_still_named_when_it_is_farthest():
    C = [1e26, 1e23, 1e24, 1e25, 1e28]
    assert f"and 2 more budgets, the farthest C = {C[-1]:.3g} FLOPs" in allocation_message(C)


def test_below_one_token_at_the_top_names_the_largest_size_searched():
    """A law that gives no search range of its own (no search_lo, search_hi): the top is
    the whole search range's, not the draws' median N_opt (a coarse step below it here)."""
    C = np.array([1e6])  # FLOPs: the top of the search, 1e9 params, leaves under one token
    top = float(np.exp(search_range(C)[1][0]))
    N = np.full((5, 1), top * 0.98)  # within a coarse step of the top, flagged
    draws = {"N_opt": N, "D_opt": C / (6 * N), "at_boundary": np.ones((5, 1), bool)}
    with pytest.raises(ValueError, match="below one token") as error:
        refuse_below_one(C, draws)
    assert f"largest size searched, N = {top:.3g} params" in str(error.value), str(error.value)


def test_an_overflowing_kernel_backs_off_with_the_searchs_one_value():
    from scipy import linalg

    rng = np.random.default_rng(0)
    U, r = rng.standard_normal((6, 2)), 0.01 * rng.standard_normal(6)
    log_params = np.log([1e200, 1.0, 1.0, 0.01])  # eta**2 overflows: K holds inf
    with np.errstate(over="ignore", invalid="ignore"):
        value, grad = _log_posterior_terms(log_params, U, r, linalg)
    assert np.isfinite(value) and (value, grad.tolist()) == (
        _neg_log_posterior(log_params, U, r)[0], [0.0] * 4
    )


def test_cells_and_candidates_refuse_true_false_alike():
    flags = pd.DataFrame({"N": [1e8, 2e8], "D": pd.Series([2e9, True], dtype=object)})
    with pytest.raises(ArgumentTypeError) as for_cells:
        cells_numbers(flags)
    with pytest.raises(ArgumentTypeError) as for_cands:
        number_column(flags, "D")
    remedy = "map the right column (a boolean column would be read as 0/1)"
    assert str(for_cells.value).startswith("cells['D'] holds True/False values, not numbers")
    assert str(for_cands.value).startswith("cands['D'] holds True/False values, not numbers")
    assert remedy in str(for_cells.value) and remedy in str(for_cands.value)
