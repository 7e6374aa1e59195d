"""bl.predict and bl.loss_penalty warn (ExtrapolationWarning) when a point lies more than
WARN_DECADES outside the fitted range, as the allocation does; nearer points show in the
``*_outside_decades`` columns alone; and the plan and the design, which state the distances
themselves, add no such warning. Session fits of tests/conftest.py; no new NUTS fit here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.app import plan
from bayeslaws.posterior import ExtrapolationWarning, range_stated
from bayeslaws.posterior.allocation import WARN_DECADES


def _caught(call, *args, **kwargs):
    """(``call``'s result, every warning it issued)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    return result, caught


def _extrapolation(caught, caller: str = "") -> list:
    """The ExtrapolationWarnings among ``caught`` (those of ``caller`` when given)."""
    return [
        w
        for w in caught
        if issubclass(w.category, ExtrapolationWarning)
        and str(w.message).startswith(f"{caller}:" if caller else "")
    ]


def _range(fit, axis: str) -> tuple[float, float]:
    low, high = fit.record.ranges[axis]
    return float(low), float(high)


def test_predict_far_above_warns_naming_distance_positions_and_range(simulated_fit):
    """3 decades above the largest fitted N: one warning, naming the point's position, its N
    and distances (as the table's columns give them) and the fitted range."""
    n_lo, n_hi = _range(simulated_fit, "N")
    d_lo, d_hi = _range(simulated_fit, "D")
    N = [n_lo * 2, n_hi * 10**3]  # inside, then 3 decades above
    table, caught = _caught(bl.predict, simulated_fit, N=N, D=[d_hi, d_hi])
    far = _extrapolation(caught)
    assert len(far) == 1, [str(w.message) for w in caught]
    message = str(far[0].message)
    assert message.startswith("predict: extrapolating more than 2 decades outside the fitted")
    row = table.iloc[1]
    assert row["N_outside_decades"] > WARN_DECADES
    assert f"position 1: N = {N[1]:.3g} ({row['N_outside_decades']:.2g} decades above)" in message
    assert f"C = {row['C']:.3g} ({row['C_outside_decades']:.2g} decades above)" in message
    assert "position 0" not in message  # the point inside is not named
    assert f"N [{n_lo:.3g}, {n_hi:.3g}] parameters" in message
    assert "N_outside_decades" in message
    assert far[0].filename == __file__  # at the user's line


def test_predict_far_below_warns_too(simulated_fit):
    """A D 2.5 decades below the smallest fitted D (short of the 3 decades where the
    other-units check warns) is extrapolation too, named 'below'."""
    n_lo, _ = _range(simulated_fit, "N")
    d_lo, _ = _range(simulated_fit, "D")
    table, caught = _caught(bl.predict, simulated_fit, N=n_lo, D=d_lo / 10**2.5)
    far = _extrapolation(caught, "predict")
    assert len(far) == 1
    d = table["D_outside_decades"].iloc[0]
    assert d < -WARN_DECADES
    assert f"({abs(d):.2g} decades below)" in str(far[0].message)


def test_predict_inside_or_one_decade_out_does_not_warn(simulated_fit):
    """Inside the range, or one decade beyond it in N, D and C: the columns say so, no
    warning (the everyday use of a law)."""
    n_lo, n_hi = _range(simulated_fit, "N")
    d_lo, d_hi = _range(simulated_fit, "D")
    c_hi = _range(simulated_fit, "C")[1]
    N = [np.sqrt(n_lo * n_hi), n_hi * 10]
    table, caught = _caught(bl.predict, simulated_fit, N=N, C=[c_hi / 10, c_hi * 10])
    assert not _extrapolation(caught), [str(w.message) for w in _extrapolation(caught)]
    distances = table.filter(like="_outside_decades").abs().to_numpy()
    assert distances.max() <= WARN_DECADES and distances.max() > 0.5


def test_predict_warning_silenced_where_the_caller_states_the_range(simulated_fit):
    """range_stated() (the report's and plan's way) and the private _range_noted silence it."""
    n_hi, d_hi = _range(simulated_fit, "N")[1], _range(simulated_fit, "D")[1]
    far = {"N": n_hi * 10**3, "D": d_hi}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with range_stated():
            bl.predict(simulated_fit, **far)
    assert not _extrapolation(caught)
    _, caught = _caught(bl.predict, simulated_fit, **far, _range_noted=True)
    assert not _extrapolation(caught)


def test_loss_penalty_warns_once_as_itself(small_sweep_sweep_fit):
    """loss_penalty far out: one warning, its own (not predict's as well)."""
    fit = small_sweep_sweep_fit
    n_hi, d_hi = _range(fit, "N")[1], _range(fit, "D")[1]
    lr, batch = (float(np.sqrt(np.prod(_range(fit, a)))) for a in ("lr", "batch_size"))
    table, caught = _caught(bl.loss_penalty, fit, n_hi * 10**3, d_hi, lr, batch)
    far = _extrapolation(caught)
    assert [str(w.message).split(":")[0] for w in far] == ["loss_penalty"]
    assert f"({table['N_outside_decades'].iloc[0]:.2g} decades above)" in str(far[0].message)


# ---- the package's own callers, which state the distances themselves -----------------------
def test_plan_states_the_target_distances_without_predicts_warning(
    small_sweep_sweep_fit, monkeypatch
):
    """planning and hp_value at a target 2.5 decades beyond the fit: predict's and
    loss_penalty's warnings are not added to the plan's (the report states the target's
    distances; the allocation's own warning at the budget stays)."""
    fit = small_sweep_sweep_fit
    n_hi, d_hi = _range(fit, "N")[1], _range(fit, "D")[1]
    N_t, D_t = n_hi * 10**2.5, d_hi
    budget = float(fit.compute_model.flops(N_t, D_t))
    monkeypatch.setattr(plan, "next_runs_plan", lambda *a, **k: {})  # the design: below
    p, caught = _caught(plan.planning, fit, target_N=N_t, target_D=D_t, budget=budget)
    assert p["loss"]["N_outside_decades"].iloc[0] > WARN_DECADES  # the target is that far out
    said = [str(w.message) for w in caught] + list(p["warnings"])
    assert not [m for m in said if m.startswith(("predict:", "loss_penalty:"))], said
    batch = pd.DataFrame(
        {"N": [n_hi], "D": [d_hi], "flops": [1e19], "rank": [1],
         "width_now[eta_opt]": [1.0], "width_after[eta_opt]": [0.9]}
    )  # fmt: skip
    _, caught = _caught(plan.hp_value, fit, fit, batch, N_t, D_t, seed=0)
    assert not _extrapolation(caught), [str(w.message) for w in caught]
    runs = pd.DataFrame({"N": [N_t], "D": [D_t], "C": [budget], "unit": ["u1"]})
    _, caught = _caught(plan.with_hp_settings, runs, fit)
    assert not _extrapolation(caught)


@pytest.mark.parametrize("caller", ["optimal_allocation", "near_optimal"])
def test_allocation_message_unchanged_in_form(caller):
    """The allocation's sentence (now built by the shared extrapolation_sentence) keeps its
    form: caller, distance, range, note and columns."""
    from bayeslaws.posterior.allocation import range_message

    outside = {"C_outside_decades": np.array([3.0]), "N_outside_decades": np.array([1.0])}
    ranges = {"C": [1e18, 1e20], "N": [1e7, 1e9]}
    message = range_message([1e23], outside, ranges, caller, "a note")
    assert message.startswith(f"{caller}: extrapolating more than 2 decades outside the fitted")
    assert (
        "(C [1e+18, 1e+20] FLOPs, N [1e+07, 1e+09] parameters): C = 1e+23 FLOPs "
        "(C 3 decades above, N_opt 1 decades above)" in message
    )
    assert "holding that far out; a note (" in message


def test_replay_scores_held_out_runs_beyond_the_fit_without_predicts_warning(simulated_fit):
    """A replay scores its fits on held-out runs beyond them (the backtest's point): no
    predict warning per scored step."""
    from types import SimpleNamespace

    from bayeslaws.app.replay import scores

    n_hi, d_hi = _range(simulated_fit, "N")[1], _range(simulated_fit, "D")[1]
    held_out = pd.DataFrame({"N": [n_hi * 10**3], "D": [d_hi], "loss": [2.0]})
    pool = SimpleNamespace(kind="loss", held_out=held_out, report_method="none")
    (_, pred), caught = _caught(scores.held_out_predictions, pool, simulated_fit)
    assert np.isfinite(pred).all()
    assert not _extrapolation(caught, "predict"), [str(w.message) for w in caught]
    _, caught = _caught(scores.decision_table, pool, simulated_fit)
    assert not _extrapolation(caught, "predict"), [str(w.message) for w in caught]
