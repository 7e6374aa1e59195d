"""A design target N_opt(C) whose draws put the optimum far outside the fitted N range (the
drift does so in a few percent of draws at budgets inside the data) says so: those draws weigh
on the target's spread and on the runs' values (small SIMULATED fit, ``simulated_fit``)."""

from __future__ import annotations

import warnings

import numpy as np

from bayeslaws import design
from bayeslaws.design import targets

FAR = "decades outside the fitted range of N"


def _messages(target, fit, method):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws = target.draws(fit, seed=0, method=method)
    return draws, [str(w.message) for w in caught]


def test_n_opt_target_with_draws_far_outside_the_data_warns(simulated_fit, monkeypatch):
    """10% of draws moved 3 decades below the fitted N: the warning names the share; the
    target's draws are those draws' log N_opt, unchanged."""
    real = targets.allocation_draws
    low = simulated_fit.record.ranges["N"][0]

    def moved(fit, C, *args, **kwargs):
        out = {k: np.array(v, copy=True) for k, v in real(fit, C, *args, **kwargs).items()}
        out["N_opt"][: out["N_opt"].shape[0] // 10] = low * 1e-3
        return out

    monkeypatch.setattr(targets, "allocation_draws", moved)
    C = float(np.sqrt(np.prod(simulated_fit.record.ranges["C"])))
    draws, messages = _messages(design.NOpt(C=C), simulated_fit, "none")
    said = [m for m in messages if FAR in m]
    assert len(said) == 1 and "in 10.0% of draws" in said[0], messages
    assert np.sum(draws[:, 0] == np.log(low * 1e-3)) == draws.shape[0] // 10


def test_n_opt_target_inside_the_data_does_not_warn(simulated_fit):
    """Under the fitted law alone, at a budget inside the data, no draw is far out."""
    C = float(np.sqrt(np.prod(simulated_fit.record.ranges["C"])))
    _, messages = _messages(design.NOpt(C=C), simulated_fit, "none")
    assert not [m for m in messages if FAR in m], messages
