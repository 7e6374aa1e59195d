"""On a grouped fit, how far a query lies outside the fitted range is measured from the queried
group's own runs (bayeslaws.posterior.extrapolation.distance.group_ranges): the
``*_outside_decades`` columns, the far-value check and the widenings that grow beyond the range
(the distance discrepancy, the drift). A new group and a fit without groups keep the pooled
range. Runs SIMULATED (Chinchilla law, two groups far apart in scale)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import own_cache

import bayeslaws as bl
from bayeslaws.posterior.draws import log_loss_draws, query_frame
from bayeslaws.posterior.extrapolation import distance, drift
from bayeslaws.posterior.model import ModelView
from bayeslaws.runs import PlausibilityWarning

# small's runs: N 5e7..3e8 params, D 1e9..1e10 tokens; large's: N 1e9..1e10, D 2e10..2e11.
# Point 0 is inside small's range; point 1 is 1.22 decades beyond small's N, 1 beyond its D,
# yet inside the pooled range of both groups.
QUERY = {"N": [3e8, 5e9], "D": [1e10, 1e11]}
SMALL_RANGES = {"N": [5e7, 3e8], "D": [1e9, 1e10], "C": [3e17, 1.8e19]}  # 6 N D FLOPs


def _predict(fit, group, method, kind="new_run"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.predict(fit, **QUERY, group=group, kind=kind, extrapolation=method, seed=0)


def _relative_width(table) -> np.ndarray:
    return ((table["upper"] - table["lower"]) / table["median"]).to_numpy()


def test_group_ranges_are_a_fitted_groups_own_runs_and_pooled_otherwise(
    two_scales_grouped, two_scales_small
):
    own = distance.group_ranges(two_scales_grouped, "small")
    for axis, bounds in SMALL_RANGES.items():
        assert own[axis] == pytest.approx(bounds), axis
    assert two_scales_grouped.record.ranges["N"] == pytest.approx(
        [5e7, 1e10]
    )  # pooled: both groups
    assert (
        distance.group_ranges(two_scales_grouped, None) is two_scales_grouped.record.ranges
    )  # a new group: pooled
    assert distance.group_ranges(two_scales_small, None) is two_scales_small.record.ranges


def test_outside_decades_are_measured_from_the_queried_groups_own_runs(two_scales_grouped):
    small = _predict(two_scales_grouped, "small", "none", kind="mean")
    np.testing.assert_allclose(small["N_outside_decades"], [0.0, np.log10(5e9 / 3e8)], atol=1e-9)
    np.testing.assert_allclose(small["D_outside_decades"], [0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(small["C_outside_decades"], [0.0, np.log10(3e21 / 1.8e19)])
    large = _predict(
        two_scales_grouped, "large", "none", kind="mean"
    )  # point 0 below large's N and D
    np.testing.assert_allclose(large["N_outside_decades"], [np.log10(3e8 / 1e9), 0.0])
    new = _predict(two_scales_grouped, None, "none", kind="mean")  # a new group: the pooled range
    for axis in ("N", "D", "C"):
        np.testing.assert_array_equal(new[f"{axis}_outside_decades"], [0.0, 0.0])


def test_far_value_check_reads_the_queried_groups_own_range(two_scales_grouped):
    # 6.5 decades above small's largest N (3e8), 5 above the pooled one (1e10)
    far = {"N": 1e15, "D": 1e10, "kind": "mean", "extrapolation": "none"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(two_scales_grouped, **far, group="small")
    said = [str(w.message) for w in caught if w.category is PlausibilityWarning]
    assert any(m.startswith("N = 1e+15") and "group 'small''s fitted range" in m for m in said)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(two_scales_grouped, **far, group=None)  # a new group: the pooled range, not far
    assert not [w for w in caught if w.category is PlausibilityWarning]


def test_drift_widens_beyond_the_groups_own_range(two_scales_grouped):
    gp_width = _relative_width(_predict(two_scales_grouped, "small", "gp"))
    drift_width = _relative_width(_predict(two_scales_grouped, "small", "drift"))
    # inside small's range the drift adds nothing (same noise and GP draws: equal up to MC)
    assert drift_width[0] == pytest.approx(gp_width[0], rel=0.15)
    # 1.2 decades beyond it the drift's slopes (about tau ~ 0.08 ln-loss per decade per axis,
    # over N+, D+ and C+) widen the interval many times over; the pooled range gave ~1.0x
    assert drift_width[1] > 2.0 * gp_width[1], (gp_width, drift_width)


def test_drift_along_an_isoflop_line_is_measured_from_the_groups_own_range(two_scales_grouped):
    # on the 3e21-FLOP line, N = 5e9 (D = 1e11) is inside the pooled range, beyond small's own
    C, N = 3e21, np.array([5e9])
    D = two_scales_grouped.compute_model.tokens(N, C)
    profiles = {
        m: ModelView.of(two_scales_grouped, m, seed=0).isoflop_profile(
            C, N, two_scales_grouped.compute_model, group="small"
        )
        for m in ("none", "drift")
    }
    # drift minus none: the GP mean (one function, the same in every draw) plus the drift term
    extra = (profiles["drift"] - profiles["none"])[:, 0]
    view = ModelView.of(two_scales_grouped, "drift", seed=0)
    point = drift.point_term(view.slopes, N, D, [C], SMALL_RANGES)[:, 0]  # the same, as a point
    np.testing.assert_allclose(extra - extra.mean(), point - point.mean(), atol=1e-6)
    assert np.std(point) > 0.05  # ln-loss: 1.2 decades beyond small's N, 2.2 beyond its C


@pytest.mark.parametrize("with_state_ranges", [False, True])
def test_distance_discrepancy_grows_beyond_the_groups_own_range(
    two_scales_grouped, with_state_ranges
):
    state = distance.prior_state()  # no scale-out refits: the prior over the scales
    if with_state_ranges:  # a learned state carries the pooled training range
        state["ranges"] = distance.reference_ranges(two_scales_grouped.training_runs().df)
    fit = own_cache(two_scales_grouped, cache={"distance": state})
    query = query_frame(fit, **QUERY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = log_loss_draws(fit, query, "new_run", "small", 0, extrapolation="none")
        widened = log_loss_draws(fit, query, "new_run", "small", 0, extrapolation="discrepancy")
    d = distance.distance_decades(query["N"], query["D"], query["C"], SMALL_RANGES)
    assert d[0] == 0 and d[1] == pytest.approx(np.log10(3e21 / 1.8e19))
    expected = plain + distance.discrepancy_draws(state, d, plain.shape[0], seed=0)
    np.testing.assert_allclose(widened, expected, rtol=0, atol=1e-12)
    assert np.std(widened[:, 1] - plain[:, 1]) > 0.01  # widened where small has no runs


def test_an_ungrouped_fit_keeps_the_pooled_range(two_scales_small):
    ranges = two_scales_small.record.ranges
    table = _predict(two_scales_small, None, "none", kind="mean")
    for axis in ("N", "D", "C"):
        above = np.log10(np.maximum(table[axis] / ranges[axis][1], 1.0))
        np.testing.assert_allclose(table[f"{axis}_outside_decades"], above, atol=1e-12)
    state = dict(distance.prior_state(), ranges=distance.reference_ranges(
        two_scales_small.training_runs().df))  # fmt: skip
    fit = own_cache(two_scales_small, cache={"distance": state})
    query = query_frame(fit, **QUERY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = log_loss_draws(fit, query, "new_run", None, 0, extrapolation="none")
        widened = log_loss_draws(fit, query, "new_run", None, 0, extrapolation="discrepancy")
    d = distance.distance_decades(query["N"], query["D"], query["C"], state["ranges"])
    expected = plain + distance.discrepancy_draws(state, d, plain.shape[0], seed=0)
    np.testing.assert_allclose(widened, expected, rtol=0, atol=1e-12)
