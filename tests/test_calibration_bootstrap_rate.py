"""calibration.bootstrap_rate: NA hits left out, and exact intervals at 0% and 100%."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayeslaws.posterior import calibration as cal


# ---- 5. NA hits in bootstrap_rate ----
def test_bootstrap_rate_leaves_na_hits_out_as_the_mean_does():
    """Hits with NA (decision rows without a truth) gave (nan, nan, nan)."""
    hits = pd.Series(pd.array([True, False, pd.NA, True, True, False], dtype="boolean"))
    rate, lo, hi = cal.bootstrap_rate(hits)
    assert rate == pytest.approx(hits.mean()) == pytest.approx(0.6)
    assert (rate, lo, hi) == cal.bootstrap_rate(np.array([True, False, True, True, False]))
    assert lo <= rate <= hi
    # grouped: an NA hit takes its group entry with it; a group left with no scored hit
    # does not count towards MIN_GROUPS
    groups = np.array([1, 2, 3, 4, 5, 6])
    same = cal.bootstrap_rate(np.array([True, False, True, True, False]), groups[[0, 1, 3, 4, 5]])
    assert cal.bootstrap_rate(hits, groups) == same
    four = pd.Series(pd.array([True, pd.NA, True, False, True], dtype="boolean"))
    rate, lo, hi = cal.bootstrap_rate(four, [1, 2, 3, 4, 5])  # 4 groups with a scored hit
    assert rate == pytest.approx(0.75) and np.isnan(lo) and np.isnan(hi)
    nothing = pd.Series(pd.array([pd.NA, pd.NA], dtype="boolean"))
    assert np.isnan(cal.bootstrap_rate(nothing)).all()
    with pytest.raises(ValueError, match="groups has shape"):
        cal.bootstrap_rate(hits, groups[:3])


# ---- 2. bootstrap_rate at 0% and 100% ----
@pytest.mark.parametrize("k, n", [(23, 23), (0, 23), (7, 15), (5, 5), (1, 9)])
def test_bootstrap_rate_of_independent_points_is_the_exact_interval(k, n):
    """23 hits of 23 gave (1.0, 1.0, 1.0): a zero-width '90% interval'. Independent points now
    get the exact Clopper-Pearson interval (as scipy's binomtest computes it)."""
    hits = np.r_[np.ones(k, bool), np.zeros(n - k, bool)]
    exact = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
    for groups in (None, np.arange(n)[::-1]):  # one point per group: the same
        rate, lo, hi = cal.bootstrap_rate(hits, groups)
        assert rate == pytest.approx(k / n)
        assert (lo, hi) == pytest.approx((exact.low, exact.high), rel=1e-9, abs=1e-12)
        assert hi > lo


def test_bootstrap_rate_of_groups_all_hit_or_all_missed_is_not_zero_width():
    """Groups of several points, every one a hit: every resample gave rate 1. Now the exact
    interval with the groups as trials (5 groups all hit: lower 0.05 ** (1 / 5))."""
    groups = np.arange(15) % 5
    for k in (5, 0):
        rate, lo, hi = cal.bootstrap_rate(np.full(15, k == 5), groups)
        exact = stats.binomtest(k, 5).proportion_ci(confidence_level=0.9, method="exact")
        assert rate == k / 5 and (lo, hi) == pytest.approx((exact.low, exact.high), abs=1e-12)
        assert hi - lo > 0.4
    mixed = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1], bool)
    rate, lo, hi = cal.bootstrap_rate(mixed, groups)  # still the bootstrap over groups
    assert lo < rate < hi
