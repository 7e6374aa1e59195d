"""Backtest and decision-score arguments checked before any fit (review 13, RG): a wrong
extrapolation method in ``methods`` was refused only after the NUTS fit (18.6 s of 2 x 50
draws; minutes at the defaults), a string was read letter by letter ('g', 'p'), and
decision_scores named its arguments by internal names. Data SIMULATED."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaws.posterior import calibration as cal
from bayeslaws.runs.checks import ArgumentTypeError


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
    monkeypatch.setattr(cal, "fit_law", _no_fit)
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
