"""Queries far outside the fitted range: the warnings name the farthest value, not only the
first (a grid of budgets or sizes given in increasing order put the nearest first), and the GP
discrepancy's hyperparameter search stays finite and silent when a step tries a tiny
lengthscale (it leaked numpy's overflow warnings on a Farseer fit of Epoch's points)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.posterior.allocation.distance import range_message
from bayeslaws.posterior.draws import check_range
from bayeslaws.posterior.extrapolation.gp import _neg_log_posterior
from bayeslaws.posterior.outside import ExtrapolationWarning


def test_plausibility_warning_names_the_farthest_value(simulated_fit):
    """Two sizes far above on one side: the message's head is the first one's distance, and
    the farthest is named with its own (it was not: "lies 7.0 decades" stood for both)."""
    high = float(simulated_fit.record.ranges["N"][1])
    near, far = 7.0, 12.0
    query = pd.DataFrame({"N": [high * 10**near, high * 10**far], "D": [1e10, 1e10]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messages = check_range(simulated_fit, query, cautions=False)
    (on_n,) = [m for m in messages if m.startswith("N = ")]
    assert on_n.startswith(f"N = {high * 10**near:.3g} (positions [0, 1]) lies {near:.1f}"), on_n
    farthest = f"(above), the farthest N = {high * 10**far:.3g} at position 1, {far:.1f} decades"
    assert farthest in on_n, on_n


def test_plausibility_warning_without_a_farther_value_is_as_before(simulated_fit):
    high = float(simulated_fit.record.ranges["N"][1])
    query = pd.DataFrame({"N": [high * 1e8, high * 1e8], "D": [1e10, 1e10]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messages = check_range(simulated_fit, query, cautions=False)
    (on_n,) = [m for m in messages if m.startswith("N = ")]
    assert "farthest" not in on_n and "(above): is it in other units?" in on_n, on_n


def test_allocation_range_message_names_the_farthest_unnamed_budget():
    """Five budgets beyond the range, in increasing order: the first three are named, and of
    the other two the farthest (it said only "and 2 more budgets")."""
    C = [1e23, 1e24, 1e25, 1e26, 1e28]
    decades = np.log10(np.asarray(C) / 1e20)
    message = range_message(C, {"C_outside_decades": decades}, {"C": [1e18, 1e20]})
    assert f"and 2 more budgets, the farthest C = {C[-1]:.3g} FLOPs (C {decades[-1]:.2g} " in (
        message
    ), message


def test_optimal_allocation_warning_names_the_largest_budget(simulated_fit):
    high = float(simulated_fit.record.ranges["C"][1])
    C = high * 10.0 ** np.arange(3, 8)  # 3 to 7 decades above, nearest first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.optimal_allocation(simulated_fit, C=C)
    (message,) = [str(w.message) for w in caught if w.category is ExtrapolationWarning]
    assert f"the farthest C = {C[-1]:.3g} FLOPs (C 7 decades above" in message, message


def test_gp_search_at_a_tiny_lengthscale_is_finite_and_silent():
    """A step of the L-BFGS search to ln ell = ln 1e-160 squared distances past float64's
    range: overflow and inf * 0 = NaN in the gradient, each a numpy RuntimeWarning at the
    user's predict. Now the kernel's limit: the lengthscale's gradient is its prior's alone."""
    rng = np.random.default_rng(0)
    U, r = rng.standard_normal((12, 2)), 0.01 * rng.standard_normal(12)
    log_params = np.log([0.01, 1e-160, 1.0, 0.01])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = _neg_log_posterior(log_params, U, r)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert np.isclose(grad[1], log_params[1])  # d/d ln ell of ln(ell)^2 / 2; the kernel is 0


def test_gp_search_at_absurd_hyperparameters_backs_off():
    """ell = exp(-800) = 0 exactly (0 / 0 on the kernel's diagonal): a large finite value, no
    warning, as for a kernel that is not positive definite."""
    rng = np.random.default_rng(0)
    U, r = rng.standard_normal((8, 2)), 0.01 * rng.standard_normal(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = _neg_log_posterior(np.array([-4.0, -800.0, 0.0, -4.0]), U, r)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def _edge_draws(C: float, N_opt: float, at_boundary: bool, S: int = 20) -> dict:
    """Allocation draws (S, 1) at budget C (FLOPs) searched over N in [1e3, 1e12] params."""
    N = np.full((S, 1), N_opt)
    return {
        "N_opt": N,
        "D_opt": C / (6 * N),
        "L_opt": np.full((S, 1), 3.0),
        "at_boundary": np.full((S, 1), at_boundary),
        "search_lo": np.full((S, 1), 1e3),
        "search_hi": np.full((S, 1), 1e12),
    }


def test_below_one_token_at_the_search_top_says_the_law_runs_to_the_edge():
    """Farseer on Epoch's points at C = 1e12 FLOPs: most draws' loss still falls at the largest
    size searched, where 1e12 FLOPs leave 0.17 tokens. The refusal blamed the units alone."""
    from bayeslaws.posterior.allocation.edges import refuse_below_one

    C = np.array([1e12])
    with pytest.raises(ValueError, match="below one token") as error:
        refuse_below_one(C, _edge_draws(1e12, 1e12, True), (1.4e18, 1.3e22))
    assert "in 100% of the draws the law's loss still falls at the largest size searched, N = " \
        f"{1e12:.3g} params" in str(error.value), str(error.value)


def test_below_one_token_inside_the_search_blames_the_units_alone():
    from bayeslaws.posterior.allocation.edges import refuse_below_one

    with pytest.raises(ValueError, match="below one token") as error:
        refuse_below_one(np.array([1e12]), _edge_draws(1e12, 1e12, False), (1.4e18, 1.3e22))
    assert "largest size searched" not in str(error.value)
