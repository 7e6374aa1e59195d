"""The bowls' default colour scale with one run per cell: most runs' excess loss is 0 (each is
its cell's best run), so the upper quartile and the fence above it are 0, and every other run got
the top colour; the scale now never ends below the 90th percentile of the drawn runs."""

from __future__ import annotations

import numpy as np

from bayeslaws.plot.sweep_maps import _default_clip

FLOOR = 90  # percentile: the scale ends at or above it


def test_a_sweep_of_mostly_best_runs_is_not_clipped_at_zero():
    excess = np.array([0.0] * 8 + [5.0, 50.0])  # percent above each cell's best run
    vmax, words = _default_clip(excess)
    assert vmax >= np.percentile(excess, FLOOR) > 0
    assert list(excess[excess > vmax]) == [50.0]  # only the far run in the top colour
    assert f"{FLOOR}th percentile" in words and "IQR" not in words, words


def test_the_fence_still_clips_runs_far_off_the_bowls():
    excess = np.concatenate([np.linspace(0.0, 10.0, 95), np.full(5, 500.0)])
    vmax, words = _default_clip(excess)
    assert vmax < np.percentile(excess, 95) and "IQR above" in words, words
