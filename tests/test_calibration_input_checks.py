"""Calibration harness arguments checked up front (before any fit), with errors naming the
argument. Data SIMULATED."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior import splits
from bayeslaws.posterior.calibration import backtesting
from bayeslaws.runs.checks import ArgumentTypeError, UnknownNameError


# ---- 3. bad input, named ----
def _draws(q: int) -> np.ndarray:
    return np.log(2.0) + 0.01 * np.random.default_rng(0).standard_normal((50, q))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: splits.simulated_optimum("x", 1e21), UnknownNameError, "kind must be one of"),
        (lambda: splits.simulated_optimum("correct", -1), ValueError, "C must be finite"),
        (lambda: splits.simulated_optimum("correct", 1e9), ValueError, "C must be above"),
        (lambda: splits.epoch_split(cut="abc"), ValueError, "cut must be a positive number"),
        (lambda: splits.epoch_split(c_max=float("nan")), ValueError, "c_max must be a positive"),
        (lambda: cal.score([-2.0, 2.1], _draws(2)), ValueError, "actual must hold losses > 0"),
        (lambda: cal.score([2.0, 2.1, 2.2], _draws(2)), ValueError, "log_draws must be"),
        (lambda: cal.interval_table([2.0, 2.1], _draws(3)), ValueError, "log_draws must be"),
        (lambda: cal.score([2.0, 2.1], _draws(2), levels=(1.5,)), ValueError, "levels must be"),
        (lambda: cal.score([2.0, np.nan], _draws(2), rows=["a"]), ValueError, "rows must hold"),
        (lambda: cal.bootstrap_rate([1, 0, 1, 1, 0, 1], ci=2), ValueError, "ci must be"),
        (lambda: cal.bootstrap_rate([1, 0.5, 1, 1, 0]), ValueError, "hits must be flags"),
        (
            lambda: cal.empirical_vertices(pd.DataFrame({"N": [1.0, 2.0, 3.0]})),
            UnknownNameError,
            "points lacks column(s) ['C', 'loss']",
        ),
        (
            lambda: cal.decision_scores(None, pd.DataFrame({"C": [1e22]}), "none"),
            UnknownNameError,
            "truth lacks column(s) ['N_opt', 'L_opt']",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_argument(call, error, message):
    """Each gave a silent answer (an unknown kind: the Chinchilla truth; a negative loss
    scored), a NumPy message (arange, broadcast, quantile, float conversion) or a bare
    KeyError/IndexError. Now an error naming the argument."""
    with pytest.raises(error, match=re.escape(message)):
        call()


@pytest.mark.parametrize("k", [0, -6.0, float("nan"), float("inf")])
def test_a_compute_model_number_that_is_not_positive_is_named_as_compute_model(k):
    """optimal_allocation(..., compute_model=0) named flops_per_param_token, an argument the
    caller never passed (runs.compute.linear's); as_compute_model names compute_model."""
    from bayeslaws.runs.compute import as_compute_model

    with pytest.raises(ValueError, match=r"compute_model, a number k for C = k N D, must be"):
        as_compute_model(k)


def _no_fit(*args, **kwargs):
    raise AssertionError("fitted before the arguments were checked")


@pytest.fixture(scope="module")
def split():
    return cal.simulated_split(
        "correct", seed=4, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )


BAD_METHODS = {
    "gp": (ArgumentTypeError, r"^methods must be a list or tuple of extrapolation methods, "),
    ("gpz",): (ValueError, r"^methods: \['gpz'\] not among the extrapolation methods"),
    (): (ValueError, r"^methods is empty"),
    3: (ArgumentTypeError, r"^methods must be a list or tuple"),
}


@pytest.mark.parametrize("methods", list(BAD_METHODS), ids=repr)
def test_backtest_checks_methods_before_fitting(monkeypatch, split, methods):
    train, test = split
    monkeypatch.setattr(backtesting, "fit_law", _no_fit)
    error, message = BAD_METHODS[methods]
    with pytest.raises(error, match=message):
        cal.backtest(train, test, methods=methods)
    with pytest.raises(error, match=message):  # before the batch (not a failed task)
        cal.backtests([("a", train, test)], methods=methods)


def test_decision_scores_names_method_and_truths_rows(simulated_fit):
    truth = pd.DataFrame({"C": [1e21, -1.0], "N_opt": [1e9, 2e9], "L_opt": [2.0, 1.9]})
    truth.index = ["near", "bad"]
    with pytest.raises(ValueError, match=r"^method must be one of .* got 'gpx'"):
        cal.decision_scores(simulated_fit, truth.iloc[:1], method="gpx")
    bad_C = r"^truth: column 'C' must be finite and positive; bad at rows bad "
    with pytest.raises(ValueError, match=bad_C):
        cal.decision_scores(simulated_fit, truth, method="none")
    ok = cal.decision_scores(simulated_fit, truth.iloc[:1], method="none")
    assert list(ok["quantity"]) == ["N_opt", "L_opt"] and np.isfinite(ok["median"]).all()
