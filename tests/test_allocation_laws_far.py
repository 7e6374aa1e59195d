"""``allocation_laws`` regresses each draw's optimum over budgets; draws far outside the data
(N_opt more than 2 decades outside the fitted sizes, or L_opt below the floor) bend that
regression as they set ``optimal_allocation``'s interval ends. It flags them as
``optimal_allocation`` does (column ``far_outside``, an :class:`ExtrapolationWarning`), and
warns on a ``C_range`` far outside the fitted one (small SIMULATED fit, the session's
``simulated_fit``)."""

from __future__ import annotations

import warnings

import numpy as np

from bayeslaws.posterior import allocation
from bayeslaws.posterior.allocation import ExtrapolationWarning, allocation_laws, tables


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]


def test_allocation_laws_inside_the_data_has_no_far_draws_and_does_not_warn(simulated_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        laws = allocation_laws(simulated_fit, n_budgets=3)
    assert (laws["far_outside"] == 0).all()


def test_allocation_laws_names_draws_far_outside_the_data(simulated_fit, monkeypatch):
    """A stand-in for the drift's pull: the first 10% of draws' N_opt moved 3 decades below
    the fitted sizes at every budget; the column holds that share and the warning names it."""
    real = allocation.allocation_draws
    low = simulated_fit.record.ranges["N"][0]

    def moved(fit_, C, *args, **kwargs):
        out = {k: np.array(v, copy=True) for k, v in real(fit_, C, *args, **kwargs).items()}
        out["N_opt"][: round(0.1 * out["N_opt"].shape[0])] = low * 1e-3
        return out

    monkeypatch.setattr(tables, "allocation_draws", moved)  # allocation_laws' namespace
    laws, said = _caught(lambda: allocation_laws(simulated_fit, n_budgets=3))
    assert np.allclose(laws["far_outside"], 0.1, atol=1e-3)
    far = [m for m in said if "far outside the data" in m]
    assert len(far) == 1 and far[0].startswith("allocation_laws:")
    assert "10.0% of draws" in far[0]


def test_allocation_laws_warns_on_a_budget_range_far_outside_the_fit(simulated_fit):
    high = simulated_fit.record.ranges["C"][1]
    _, said = _caught(
        lambda: allocation_laws(simulated_fit, C_range=(high * 1e4, high * 1e6), n_budgets=3)
    )
    assert any(m.startswith("allocation_laws:") and "outside" in m for m in said), said
