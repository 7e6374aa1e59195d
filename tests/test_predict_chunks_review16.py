"""bl.predict evaluates a large query in row blocks: the draws were (S, Q) arrays for the whole
query at once (2,000 draws x 1e5 points of kind="new_run" peaked at 8.1 GB), so memory grew
with Q without bound. Now a query of more than ``PREDICT_BLOCK_ENTRIES`` draws x points is
drawn and summarised a block of rows at a time. The constant is made tiny here so that a few
points make several blocks; memory and time are not measured. Session fits of
tests/conftest.py (SIMULATED Chinchilla runs); no new NUTS fit here."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import own_cache

import bayeslaws as bl
from bayeslaws.posterior import ExtrapolationWarning
from bayeslaws.posterior.extrapolation import gp
from bayeslaws.posterior.model import ModelView

predict_module = importlib.import_module("bayeslaws.posterior.predict")  # not bl.predict
ROWS_PER_BLOCK = 3


def _blocked(monkeypatch, fit, rows: int = ROWS_PER_BLOCK) -> None:
    """Blocks of ``rows`` query points for ``fit`` (raising=False: the constant is new)."""
    entries = rows * fit.posterior().n_draws
    monkeypatch.setattr(predict_module, "PREDICT_BLOCK_ENTRIES", entries, raising=False)


def _caught(call, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    return result, caught


def _query(fit, n: int = 10) -> dict:
    """``n`` points across and beyond the fitted range (N params, D tokens)."""
    (n_lo, n_hi), (d_lo, d_hi) = fit.record.ranges["N"], fit.record.ranges["D"]
    return {
        "N": np.geomspace(float(n_lo), float(n_hi) * 30, n),
        "D": np.geomspace(float(d_hi) * 20, float(d_lo), n),
    }


def _rows_per_call(monkeypatch) -> list:
    """The number of query points of every ModelView.draws call (the one place draws are made)."""
    seen = []
    original = ModelView.draws

    def spy(self, query, **kwargs):
        seen.append(len(query))
        return original(self, query, **kwargs)

    monkeypatch.setattr(ModelView, "draws", spy)
    return seen


@pytest.mark.parametrize("kind", ["mean", "new_run"])
def test_a_large_query_is_drawn_a_block_at_a_time(simulated_fit, monkeypatch, kind):
    """No draws call holds more than PREDICT_BLOCK_ENTRIES draws x points."""
    _blocked(monkeypatch, simulated_fit)
    seen = _rows_per_call(monkeypatch)
    table, _ = _caught(bl.predict, simulated_fit, **_query(simulated_fit), kind=kind)
    assert len(table) == 10 and table.index.tolist() == list(range(10))
    assert sum(seen) == 10 and max(seen) <= ROWS_PER_BLOCK, seen


def test_a_query_under_the_limit_is_drawn_at_once_as_before(simulated_fit, monkeypatch):
    """Under the limit: one draws call of the whole query, its answer that of quantity_draws and
    summarise_draws on the whole query (the seed path committed outputs rest on)."""
    seen = _rows_per_call(monkeypatch)
    query = _query(simulated_fit)
    table, _ = _caught(bl.predict, simulated_fit, **query, kind="new_run", seed=3)
    assert seen == [10]
    frame, _ = _caught(bl.posterior.draws.query_frame, simulated_fit, **query)
    draws = bl.posterior.draws.quantity_draws(simulated_fit, frame, kind="new_run", seed=3)
    expected, _ = predict_module.summarise_draws(simulated_fit, frame, draws, 0.9, "new_run")
    pd.testing.assert_frame_equal(table, expected)


@pytest.mark.parametrize("extrapolation", ["gp", "none", "drift"])
def test_mean_in_blocks_equals_the_whole_query_exactly(simulated_fit, monkeypatch, extrapolation):
    """kind="mean" draws depend on the point and the seed only: blocks change nothing."""
    query = _query(simulated_fit)
    whole, _ = _caught(bl.predict, simulated_fit, **query, extrapolation=extrapolation)
    _blocked(monkeypatch, simulated_fit)
    blocked, _ = _caught(bl.predict, simulated_fit, **query, extrapolation=extrapolation)
    pd.testing.assert_frame_equal(blocked, whole)


def test_mean_in_blocks_of_a_new_group_equals_the_whole_query(two_scales_grouped, monkeypatch):
    """A new group's deviation is drawn once per call, shared by every block."""
    fit = two_scales_grouped
    query = _query(fit)
    whole, _ = _caught(bl.predict, fit, **query)
    _blocked(monkeypatch, fit)
    blocked, _ = _caught(bl.predict, fit, **query)
    pd.testing.assert_frame_equal(blocked, whole)


def test_new_run_blocks_draw_independent_noise_close_to_the_whole_query(
    simulated_fit, monkeypatch
):
    """One point asked 12 times in blocks of 3: every row's bounds are Monte Carlo estimates of
    the same quantiles (close to the unblocked answer's), reproducible, and no two blocks
    repeat one noise stream (rows 0 and 3 would then be equal)."""
    (n_lo, n_hi), (d_lo, d_hi) = simulated_fit.record.ranges["N"], simulated_fit.record.ranges["D"]
    point = {"N": np.full(12, np.sqrt(float(n_lo) * float(n_hi))),
             "D": np.full(12, np.sqrt(float(d_lo) * float(d_hi)))}  # fmt: skip
    whole, _ = _caught(bl.predict, simulated_fit, **point, kind="new_run")
    _blocked(monkeypatch, simulated_fit)
    blocked, _ = _caught(bl.predict, simulated_fit, **point, kind="new_run")
    again, _ = _caught(bl.predict, simulated_fit, **point, kind="new_run")
    pd.testing.assert_frame_equal(blocked, again)
    width = float((whole["upper"] - whole["lower"]).mean())
    for column in ("median", "lower", "upper"):
        assert np.abs(blocked[column] - whole[column]).max() < 0.1 * width, column
    firsts = blocked["upper"].to_numpy()[::ROWS_PER_BLOCK]  # the first row of every block
    assert len(np.unique(firsts)) == len(firsts), firsts


def test_warnings_are_issued_once_with_positions_in_the_whole_query(simulated_fit, monkeypatch):
    """Far points in several blocks: one ExtrapolationWarning naming whole-query positions, one
    unstable-mean warning naming rows of several blocks."""
    (_, n_hi), (_, d_hi) = simulated_fit.record.ranges["N"], simulated_fit.record.ranges["D"]
    inside = (3e8, 6e9)
    far = (float(n_hi) * 300, float(d_hi) * 1e3)
    points = [inside] * 4 + [far] + [inside] * 2 + [far]  # far at positions 4 and 7
    N, D = (np.array(v) for v in zip(*points, strict=True))
    whole, caught_whole = _caught(bl.predict, simulated_fit, N=N, D=D, extrapolation="drift")
    _blocked(monkeypatch, simulated_fit)
    blocked, caught = _caught(bl.predict, simulated_fit, N=N, D=D, extrapolation="drift")
    pd.testing.assert_frame_equal(blocked, whole)
    extrapolating = [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert len(extrapolating) == 1, extrapolating
    assert "position 4:" in extrapolating[0] and "position 7:" in extrapolating[0]
    unstable = [str(w.message) for w in caught if "extreme draws" in str(w.message)]
    assert len(unstable) == 1 and "at rows 4, 7 rests" in unstable[0], unstable
    assert sorted(map(str, (w.message for w in caught))) == sorted(
        map(str, (w.message for w in caught_whole))
    )


def test_the_new_group_warning_and_the_gp_fit_happen_once(two_scales_grouped, monkeypatch):
    """A new group of a grouped fit, kind="new_run" in blocks: one new-group warning, one GP
    fit (cached in fit.cache), whatever the number of blocks."""
    fit = own_cache(two_scales_grouped)
    fits = []
    original = gp.fit_state
    monkeypatch.setattr(gp, "fit_state", lambda *a, **k: fits.append(1) or original(*a, **k))
    _blocked(monkeypatch, fit)
    table, caught = _caught(bl.predict, fit, **_query(fit), kind="new_run")
    assert table[["median", "lower", "upper"]].notna().all().all()
    new_group = [w for w in caught if "NEW, unseen group" in str(w.message)]
    assert len(new_group) == 1, [str(w.message) for w in caught]
    assert len(fits) == 1



def test_a_sweep_at_settings_in_blocks_equals_the_whole_query(small_sweep_sweep_fit, monkeypatch):
    """Law "sweep" at (lr, batch_size), kind="mean": the blocks' draws are the whole query's."""
    fit = small_sweep_sweep_fit
    query = {"N": np.repeat([0.017e9, 0.26e9], 4), "D": np.repeat([2e9, 12e9], 4),
             "lr": np.tile([1e-4, 3.6e-4], 4), "batch_size": np.tile([5e4, 2e5], 4)}  # fmt: skip
    whole, _ = _caught(bl.predict, fit, **query)
    _blocked(monkeypatch, fit)
    blocked, _ = _caught(bl.predict, fit, **query)
    pd.testing.assert_frame_equal(blocked, whole)
