"""``predict`` and ``loss_penalty`` report how far a setting (lr, batch_size) lies outside the swept
range, as N's and D's distances are (the session's tiny sweep fits)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.runs import PlausibilityWarning


@pytest.mark.parametrize("fixture", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_predict_and_loss_penalty_say_how_far_a_setting_is_outside_the_sweep(fixture, request):
    """lr 35x above the largest swept lr came back as a confident penalty with no flag: the
    setting's distance outside the fitted range is a column, as N's and D's are (0 inside)."""
    fit = request.getfixturevalue(fixture)
    lr_low, lr_high = fit.record.ranges["lr"]
    b_low, b_high = fit.record.ranges["batch_size"]
    lr = [np.sqrt(lr_low * lr_high), 35 * lr_high]
    batch = [np.sqrt(b_low * b_high), 20 * b_high]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)  # within 2 decades: no warning
        table = bl.predict(fit, N=0.057e9, D=5e9, lr=lr, batch_size=batch, extrapolation="none")
        penalty = bl.loss_penalty(fit, 0.057e9, 5e9, lr, batch, kind="mean")
    for out in (table, penalty):
        assert out["lr_outside_decades"].tolist() == pytest.approx([0.0, np.log10(35)])
        assert out["batch_size_outside_decades"].tolist() == pytest.approx([0.0, np.log10(20)])
        assert out["N_outside_decades"].tolist() == [0.0, 0.0]
    with pytest.warns(PlausibilityWarning, match=r"lr = .* decades outside the fitted range"):
        bl.predict(fit, N=0.057e9, D=5e9, lr=300 * lr_high, batch_size=b_high)  # 100x: warned
