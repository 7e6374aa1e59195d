"""Design values under the drift and GP-discrepancy models: the widths after a run, the
reweighted target without its drift, and per-point GP draws. All data SIMULATED."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bayeslaws import design
from bayeslaws.design.gaussian import setup

NEAR = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range (60M-6B params, 1B-100B tokens)


LABEL = "L(N=7e+09, D=1.4e+11)"


# a unit beyond the target (it removes the target's drift) and one inside the range (keeps it)
BEYOND_AND_INSIDE = pd.DataFrame({"N": [1e10, 3e9], "D": [2e11, 5e10]})


def _ranked(fit, model: str) -> pd.DataFrame:
    return design.rank_candidates(
        fit, BEYOND_AND_INSIDE, NEAR, model=model, cost=None, max_draws=400
    ).set_index("unit")


def test_width_after_under_the_drift_predicts_the_interval_after_the_run(simulated_fit):
    """Under the drift the target's draws are heavy-tailed (their 90% width is far below the
    Gaussian one of their variance), and width_after = width_now * sqrt(post / prior) mixed that
    quantile width with closed-form variances: a unit removing the whole drift was predicted
    NARROWER than under the fitted law alone (0.026 against 0.029; refits showed 0.039-0.041,
    the Gaussian width of the variance after). The width after is now the rebuilt draws':
    with the drift removed, the Gaussian width of the variance after (to Monte Carlo error);
    with the drift kept, about the draws' own width."""
    drift, none = _ranked(simulated_fit, "drift"), _ranked(simulated_fit, "none")
    now, after = f"width_now[{LABEL}]", f"width_after[{LABEL}]"
    assert drift.loc[0, now] > 3 * none.loc[0, now]  # the drift matters here (not trivial)
    # never narrower than the law alone after the same run: the drift only adds uncertainty
    assert drift.loc[0, after] >= none.loc[0, after]
    # the whole drift removed: the Gaussian width of the variance after (exp of the log scale)
    p = setup(simulated_fit, BEYOND_AND_INSIDE, NEAR, 0, 400, None, "drift")
    post_sd = np.sqrt(p.prior_cov()[0, 0] * np.exp(-2 * drift.loc[0, "info"]))
    z, centre = norm.ppf(0.95), np.median(p.tdraws[:, 0])
    gaussian = np.exp(centre + z * post_sd) - np.exp(centre - z * post_sd)
    np.testing.assert_allclose(drift.loc[0, after], gaussian, rtol=0.1)
    # a unit inside the range keeps the drift (and its heavy tail): the interval barely moves
    assert drift.loc[1, after] <= drift.loc[1, now]
    assert drift.loc[1, after] > 0.9 * drift.loc[1, now]
    # the greedy batch reports the same width for the same first pick
    plan = design.next_runs(
        simulated_fit, BEYOND_AND_INSIDE, NEAR, k=1, model="drift", cost=None, max_draws=400
    )
    assert plan["unit"].iloc[0] == 0
    np.testing.assert_allclose(plan[after].iloc[0], drift.loc[0, after], rtol=1e-9)


def test_width_after_without_drift_is_still_the_information(simulated_fit):
    """Without a drift the width after is width_now * sqrt(post / prior), as before: ln(now /
    after) is the unit's information (nats)."""
    none = _ranked(simulated_fit, "none")
    implied = np.log(none[f"width_now[{LABEL}]"] / none[f"width_after[{LABEL}]"])
    np.testing.assert_allclose(implied, none["info"], rtol=1e-9, atol=1e-12)


# ---- finding 3: the width after a unit removing part of the drift ------------------------------
BEYOND = design.Loss(N=7e10, D=1.4e12)  # beyond the fitted range on N, D and C


BEYOND_LABEL = "L(N=7e+10, D=1.4e+12)"


def natural_width(log_draws: np.ndarray, ci: float = 0.9) -> float:
    """The central ``ci`` width of exp(draws) (natural scale, as width_now)."""
    lo, hi = np.quantile(np.exp(log_draws), [(1 - ci) / 2, (1 + ci) / 2])
    return hi - lo


def test_width_after_a_partial_drift_removal_is_the_models_not_the_draws_chance(simulated_fit):
    """A run at the target's N on few tokens widens the range along N only: it removes the N+
    part of the target's drift (~12% of its variance; the drift is >99.9% of it here). The
    predicted width after is the model's: slopes independent across the axes given the draw's
    scale, the structure the closed-form value (``info``) assumes, so ln(width_now /
    width_after) is that of a large Monte Carlo of the drift state's own slopes (200k draws:
    the natural-scale 90% widths of exp(g @ DP) and exp(g @ left)), on every seed. Rebuilt from
    the 400 draws' own slopes it carried their chance correlations between the axes: 0.00 to
    0.18 nats over seeds for 0.106. A unit inside the range leaves the width."""
    from bayeslaws.design.gaussian import setup
    from bayeslaws.posterior.extrapolation import drift

    cands = pd.DataFrame({"N": [7e10, 3e9], "D": [1e9, 3e10]})  # N+ only; inside the range
    opts = {"cost": None, "max_draws": 400, "model": "drift"}
    rng = np.random.default_rng(11)
    g = drift.sample_slopes(drift.axis_taus(drift.state_of(simulated_fit), 200_000, rng), rng)
    for seed in (0, 3, 4):
        ranked = design.rank_candidates(simulated_fit, cands, BEYOND, seed=seed, **opts)
        ranked = ranked.set_index("unit")
        now, after = (ranked[f"{c}[{BEYOND_LABEL}]"] for c in ("width_now", "width_after"))
        implied = np.log(now / after)
        p = setup(simulated_fit, cands, BEYOND, seed, 400, None, "drift")
        DP, MU = p.drift_terms([])
        assert np.count_nonzero(MU[0]) == 1 and not np.any(MU[1])  # N+ removed; nothing
        want = np.log(natural_width(g @ DP[:, 0]) / natural_width(g @ (DP - MU[0])[:, 0]))
        assert 0.05 < want < 0.2, want  # not trivial
        # 0.035: the natural-scale quantiles of 400 heavy-tailed draws (0.085-0.097 for 0.106)
        assert implied.iloc[0] == pytest.approx(want, abs=0.035), (seed, implied.iloc[0], want)
        assert implied.iloc[1] == pytest.approx(0.0, abs=1e-3)


def test_reweighted_uses_the_target_without_its_drift(simulated_fit):
    """Under the default (drift) model the target's draws carry heavy-tailed drift (kurtosis
    ~25) that no in-range outcome tells anything about: reweighting them gave 0.006-0.007 nats
    where the Gaussian value is ~1e-4. Without the drift (its variance added in closed form)
    the two agree up to Monte Carlo error."""
    cands = pd.DataFrame({"N": [8e7, 4e8, 1.5e9], "D": [3.6e9, 8e9, 9.7e9]})  # inside the range
    b = design.bounds(simulated_fit, cands, NEAR, seed=0)
    print(b[["gaussian", "reweighted", "gaussian_drift"]].to_string())
    assert np.all(b["gaussian"] < 0.01)
    gap = np.abs(b["reweighted"] - b["gaussian"])
    assert np.all(gap <= 1e-3), gap  # the drift's noise: 0.006 nats
    assert np.all(gap <= 3 * b["reweighted_se"] + 1e-5), gap


def test_a_candidates_value_does_not_depend_on_the_others_listed(simulated_fit):
    """Under the default model ("drift") the GP discrepancy of the candidates' observations was
    drawn jointly over the listed candidates: an in-range run was worth 6.6e-5, 7.5e-5 or
    6.8e-5 nats as candidates were added. Now each point's draw is a fixed function of the
    point, so its value is the same in any candidate set (the candidates' from a stream of
    their own: at a target's own point the observation and the target do not share it)."""
    base = pd.DataFrame({"N": [2e8, 1e9], "D": [4e9, 2e10]})
    more = pd.concat(
        [base, pd.DataFrame({"N": [5e8, 3e9], "D": [3e9, 5e10]})], ignore_index=True
    )
    values = []
    for cands in (base, more, more.iloc[::-1]):
        ranked = design.rank_candidates(simulated_fit, cands, NEAR, cost=None, max_draws=300)
        points = list(zip(base.N, base.D, strict=True))
        values.append(ranked.set_index(["N", "D"]).loc[points, "info"])
    np.testing.assert_allclose(values[1].to_numpy(), values[0].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(values[2].to_numpy(), values[0].to_numpy(), rtol=1e-9)


def test_point_normals_are_per_point_and_group():
    """The GP's draws at a point are a fixed function of (seed, point, group): the same in any
    call, independent between points and between groups (two groups' GPs are independent, so
    the same normals for both would correlate their deviations perfectly)."""
    from bayeslaws.posterior.model import point_normals

    alone = point_normals(0, [1e9], [2e10], 500, group="a")
    listed = point_normals(0, [3e8, 1e9], [1e10, 2e10], 500, group="a")
    other = point_normals(0, [1e9], [2e10], 500, group="b")
    np.testing.assert_array_equal(alone[:, 0], listed[:, 1])
    assert abs(np.corrcoef(alone[:, 0], other[:, 0])[0, 1]) < 0.2  # 500 draws: sd 0.045
    assert abs(np.corrcoef(listed[:, 0], listed[:, 1])[0, 1]) < 0.2
    assert np.isfinite(point_normals(0, [0.5], [0.5], 3)).all()  # ln of a value below 1


# ---- a candidate at the target's own point (review rn, finding 1) ------------------------------
def test_a_candidate_at_the_targets_point_is_valued_as_one_beside_it(simulated_fit):
    """The model draws the GP at each point independently (a fixed function of the point), and
    the candidates' observations took theirs from the target's stream: a candidate at the
    target's exact (N, D) shared the target's GP draw and was worth ~4.7x one 0.01% away
    (0.129 against 0.027 nats on a simulated fit), though the GP's correlation there is ~1. The
    candidates' GP draws now come from their own stream: the value is continuous in the
    candidate's position (up to the Monte Carlo error of independent draws)."""
    for N, D in [(3e9, 5e10), (7e9, 1.4e11)]:  # inside the range; just beyond it
        f = np.array([1.0, 1.0001, 1.001])
        cands = pd.DataFrame({"N": N * f, "D": D * f})
        ranked = design.rank_candidates(
            simulated_fit, cands, design.Loss(N=N, D=D), cost=None, model="drift"
        )
        info = ranked.sort_values("N")["info"].to_numpy()
        assert info[1] > 0 and info[2] > 0
        assert info[0] == pytest.approx(info[1], rel=0.3), (N, D, info)
        assert info[0] == pytest.approx(info[2], rel=0.3), (N, D, info)


def test_candidates_gp_draws_are_not_the_targets(simulated_fit):
    """At the target's own point the candidates' observations (without their drift) and the
    target's draws share the law's draw but not the GP's: the difference of the two is the
    difference of two independent GP draws, not 0."""
    from bayeslaws.design import discrepancy

    target = design.Loss(N=3e9, D=5e10)
    cands = pd.DataFrame({"N": [3e9], "D": [5e10]})
    p = setup(simulated_fit, cands, target, 0, None, None, "drift")
    gap = p.obs_mean[:, 0] + simulated_fit.record.scales["loss"] - p.tdraws[:, 0]
    mv = discrepancy.view(simulated_fit, "drift", 0)
    from bayeslaws.posterior.extrapolation import gp

    _, sd = gp.conditional(mv.gp_of(mv.parts[0], None), cands["N"], cands["D"])
    assert sd[0] > 0
    # two independent draws of sd each: the gap's sd is sqrt(2) sd (0 when they were shared)
    assert np.std(gap) == pytest.approx(np.sqrt(2) * sd[0], rel=0.2)


# ---- an N_opt target's drift removal (review rn, finding 2) ------------------------------------
BEYOND_RUN = pd.DataFrame({"N": [3e10, 1e9], "D": [1e12, 2e10]})  # beyond the range; inside it
LINE_DRIFT = "N_opt minimises along the whole isoFLOP line"


def _line_drift_warnings(record) -> list:
    return [w for w in record if LINE_DRIFT in str(w.message)]


def test_nopt_under_drift_warns_that_its_drift_removal_is_credited_at_one_point(simulated_fit):
    """The design removes an N_opt target's drift linearly at one point (the median N_opt on
    its isoFLOP line): a run putting that point inside the range is credited with all of it
    (0.29 nats on a simulated fit, where recomputing the model's N_opt draws with the widened
    range gave ~0.02), though N_opt minimises along the whole line, whose drift beyond the
    widened range stays. Ranked under "drift" it says so, naming model 'none'; not under
    "none", nor when no candidate widens the range towards the point."""
    import warnings

    target = design.NOpt(C=1e23)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        design.rank_candidates(simulated_fit, BEYOND_RUN, target, cost=None, model="drift")
    found = _line_drift_warnings(record)
    assert len(found) == 1, [str(w.message)[:120] for w in record]
    assert issubclass(found[0].category, design.DesignWarning)
    assert "model='none'" in str(found[0].message)
    assert "N_opt(C=1e+23)" in str(found[0].message)
    assert found[0].filename == __file__  # the caller's line
    for cands, model in [(BEYOND_RUN, "none"), (BEYOND_RUN.iloc[[1]], "drift")]:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            design.rank_candidates(simulated_fit, cands, target, cost=None, model=model)
        assert not _line_drift_warnings(record), model


def test_a_loss_targets_drift_removal_is_unchanged(simulated_fit):
    """A loss's drift is measured at its own point, so a run beyond it removes it, as before:
    no warning, and the run's drift coefficients removed are the whole drift there."""
    import warnings

    target = design.Loss(N=2e10, D=6e11)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        p = setup(simulated_fit, BEYOND_RUN, target, 0, None, None, "drift")
        design.rank_candidates(simulated_fit, BEYOND_RUN, target, cost=None, model="drift")
    assert not _line_drift_warnings(record)
    DP, MU = p.drift_terms([])
    assert np.any(DP)
    np.testing.assert_allclose(MU[0], DP)  # the run beyond the point removes all its drift
    assert not np.any(MU[1])  # the run inside the range removes none
