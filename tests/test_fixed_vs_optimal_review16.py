"""fixed_vs_optimal at a fixed setting far outside the swept range (e.g. a batch in sequences)
says how far out it is (columns lr_outside_decades, batch_size_outside_decades, as predict's)
and is not settled; its result states its units (the shared small SIMULATED sweep's law
"sweep" fit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import with_problems

import bayeslaws as bl
from bayeslaws.posterior import fixed_hyperparams as fh
from bayeslaws.posterior.draws import FAR_DECADES
from bayeslaws.posterior.extrapolation.distance import group_ranges

SETTING_COLUMNS = ["lr_outside_decades", "batch_size_outside_decades"]


def _answer(fit, **setting):
    """The answer at a budget inside the fitted ones, on a copy of ``fit`` whose sampler check
    passed: the tiny shared fit's own problems (1 chain x 150 draws) would lead every verdict
    (tests/test_fixed_vs_optimal_health.py), and these tests read the setting's words."""
    ranges = fit.record.ranges
    C = float(np.sqrt(np.prod(ranges["C"])))
    healthy = with_problems(fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the PlausibilityWarning is tested elsewhere
        return bl.fixed_vs_optimal(healthy, C, n_draws=10, **setting)


def _predicted_distance(fit, lr, batch_size) -> dict:
    """predict's own distances of the setting (lr, batch_size) at the middle fitted cell."""
    ranges = fit.record.ranges
    N, D = (float(np.sqrt(np.prod(ranges[k]))) for k in ("N", "D"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = bl.predict(fit, N=[N], D=[D], lr=[lr], batch_size=[batch_size])
    return {c: float(p[c].iloc[0]) for c in SETTING_COLUMNS}


def test_a_batch_far_below_the_sweep_is_not_settled(small_sweep_sweep_fit):
    """A batch in sequences (far below the swept tokens) was 'settled: ... smaller' with no
    word that the setting lies off the sweep; now the verdict says how far and settled is
    False, and the distances are predict's."""
    fit = small_sweep_sweep_fit
    ranges = group_ranges(fit)
    lr = float(np.sqrt(np.prod(ranges["lr"])))
    batch = ranges["batch_size"][0] / 10 ** (FAR_DECADES["batch_size"][0] + 0.5)
    row = _answer(fit, lr=lr, batch_size=batch).iloc[0]
    expected = _predicted_distance(fit, lr, batch)
    assert expected["batch_size_outside_decades"] < -FAR_DECADES["batch_size"][0]
    assert "an extrapolation of the bowl, not settled by the sweep" in row["verdict"]
    assert not row["settled"]
    assert row["verdict"].startswith(
        f"not settled: the fixed batch_size ({batch:.3g} tokens) lies "
        f"{abs(expected['batch_size_outside_decades']):.2g} decades below the swept range"
    )
    assert f"{row['size_change_median']:+.0%}" in row["verdict"]
    for column in SETTING_COLUMNS:
        assert row[column] == pytest.approx(expected[column])


def test_an_lr_far_above_the_sweep_is_not_settled(small_sweep_sweep_fit):
    fit = small_sweep_sweep_fit
    ranges = group_ranges(fit)
    lr = ranges["lr"][1] * 10 ** (FAR_DECADES["lr"][1] + 0.5)
    batch = float(np.sqrt(np.prod(ranges["batch_size"])))
    row = _answer(fit, lr=lr, batch_size=batch).iloc[0]
    assert f"not settled: the fixed lr ({lr:.3g}) lies " in row["verdict"]
    assert "decades above the swept range" in row["verdict"]
    assert not row["settled"]
    expected = _predicted_distance(fit, lr, batch)
    assert row["lr_outside_decades"] == pytest.approx(expected["lr_outside_decades"])
    assert row["batch_size_outside_decades"] == 0.0


@pytest.fixture(scope="module")
def default_answer(small_sweep_sweep_fit):
    return _answer(small_sweep_sweep_fit)


def test_the_default_setting_is_inside_and_worded_as_before(default_answer):
    """At the derived setting (the middle cell's optimum) the distances are small and the
    verdict is the in-range one."""
    row = default_answer.iloc[0]
    for column, name in zip(SETTING_COLUMNS, ("lr", "batch_size"), strict=True):
        below, above = FAR_DECADES[name]
        assert -below <= row[column] <= above
    assert row["verdict"].startswith(("settled: ", "not settled: the 90% interval"))
    assert "bowl" not in row["verdict"]


def test_the_result_states_its_units(default_answer):
    units = default_answer.attrs.get("units", "")
    for words in ("batch_size in tokens", "C in FLOPs", "in parameters", "D in tokens",
                  "lr as given", "percent"):  # fmt: skip
        assert words in units


def test_off_sweep_threshold_is_far_decades(small_sweep_sweep_fit):
    """Exactly FAR_DECADES out is still on the sweep's reach; beyond it is named."""
    fit = small_sweep_sweep_fit
    below = FAR_DECADES["batch_size"][0]
    setting = {"lr": 1e-3, "batch_size": 1.0}
    swept = group_ranges(fit)
    assert fh.off_sweep(setting, {"batch_size_outside_decades": -below}, swept) == ""
    words = fh.off_sweep(setting, {"batch_size_outside_decades": -below - 0.1}, swept)
    assert words.startswith(f"the fixed batch_size (1 tokens) lies {below + 0.1:.2g} decades below")


def test_verdict_off_the_sweep_is_not_settled_even_when_the_interval_excludes_0():
    off = "the fixed batch_size (256 tokens) lies 2.1 decades below the swept range"
    text = fh._verdict(-0.79, -0.95, -0.41, 0.9, 0.0, None, off)
    assert text == (
        f"not settled: {off}: an extrapolation of the bowl, not settled by the sweep (the size "
        "change there: -79%, 90% interval [-95%, -41%])"
    )
    assert fh._verdict(-0.79, -0.95, -0.41, 0.9, 0.0).startswith("settled: ")
