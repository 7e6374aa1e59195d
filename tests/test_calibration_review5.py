"""Review 5 of the calibration harness: budgets without a truth are unscored in the decision
scores (and in choose_default's pooling), and the stacked forms ramp in past the fitted range
(no step in the median at its edge)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script, shared_or_skip

import bayeslaws as bl
from bayeslaws.posterior import allocation
from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior import extrapolation as ex
from bayeslaws.posterior.draws import log_loss_draws, query_frame

HITS = ["in50", "in80", "in90", "in90_bounded"]


# ---- 1: a budget whose truth is NaN is neither hit nor miss ----
def _fake_allocation(monkeypatch, n_budgets: int, seed: int = 0):
    """allocation_draws replaced by draws (1000, n_budgets) around N_opt 1e9 params and L_opt
    2.5, none at the search edge."""
    rng = np.random.default_rng(seed)

    def fake(fit, C, seed=0, extrapolation=None, **kw):
        shape = (1000, n_budgets)
        return {
            "N_opt": np.exp(np.log(1e9) + 0.1 * rng.standard_normal(shape)),
            "L_opt": 2.5 + 0.01 * rng.standard_normal(shape),
            "at_boundary": np.zeros(shape, bool),
        }

    monkeypatch.setattr(allocation, "allocation_draws", fake)


def test_decision_scores_leave_a_budget_without_a_truth_unscored_and_name_it(
    monkeypatch, simulated_fit
):
    """A NaN truth was counted a miss (in90 False), silently: one scorable budget that was hit
    gave N_opt coverage 0.5. Now its hit flags are NA (means skip them), ``scored`` is False
    and an UnscoredWarning names the budget and quantity."""
    _fake_allocation(monkeypatch, 3)
    truth = pd.DataFrame(
        {"C": [1e21, 1e22, 3e22], "N_opt": [1e9, np.nan, 1e9], "L_opt": [2.5, np.nan, np.inf]}
    )
    with pytest.warns(cal.UnscoredWarning) as record:
        out = cal.decision_scores(simulated_fit, truth, "gp")
    (message,) = [str(w.message) for w in record if w.category is cal.UnscoredWarning]
    assert "3 of 6 decision rows" in message
    assert "C=1e+22 N_opt" in message and "C=1e+22 L_opt" in message
    assert "C=3e+22 L_opt" in message and "C=3e+22 N_opt" not in message
    assert out["scored"].tolist() == [True, True, False, False, True, False]
    unscored = out[~out["scored"]]
    assert unscored[HITS].isna().all().all()
    assert unscored["log_error"].isna().all()
    scored = out[out["scored"]]
    assert scored[HITS].notna().all().all() and scored["in90"].all()
    # means over the hit flags count the scored budgets only
    n_opt = out[out["quantity"] == "N_opt"]
    assert n_opt["in90"].mean() == 1.0 and n_opt["in90_bounded"].mean() == 1.0
    assert out.loc[out["quantity"] == "L_opt", "in90"].sum() == 1
    # the median and interval are still reported for an unscored budget
    assert np.isfinite(unscored[["median", "lower90", "upper90"]].to_numpy()).all()
    # a hit flag of an unscored row cannot be read as True or False by mistake
    with pytest.raises(TypeError):
        bool(unscored["in90"].iloc[0])


def test_decision_scores_with_every_truth_finite_warn_nothing_and_keep_their_hits(
    monkeypatch, simulated_fit
):
    _fake_allocation(monkeypatch, 2)
    truth = pd.DataFrame({"C": [1e21, 1e22], "N_opt": [1e9, 1e11], "L_opt": [2.5, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", cal.UnscoredWarning)
        out = cal.decision_scores(simulated_fit, truth, "gp")
    assert out["scored"].all()
    assert out[HITS].notna().all().all()
    by = out.set_index(["C", "quantity"])
    assert by.loc[(1e21, "N_opt"), "in90"] and by.loc[(1e21, "L_opt"), "in90"]
    assert not by.loc[(1e22, "N_opt"), "in90"] and not by.loc[(1e22, "L_opt"), "in90"]
    expected = (out["lower90"] <= out["truth"]) & (out["truth"] <= out["upper90"])
    assert out["in90"].astype(bool).tolist() == expected.tolist()


def test_an_isoflop_curve_without_a_minimum_is_unscored_not_a_miss(monkeypatch, simulated_fit):
    """The docstring's own pipeline: a held-out budget's empirical vertex as the truth. A curve
    without a minimum has a NaN vertex; it is left out, by name, not counted a miss."""
    N = np.geomspace(1e8, 1e10, 7)
    u = np.log(N / 1e9)
    bowl = pd.DataFrame({"C": 1e21, "N": N, "loss": np.exp(np.log(2.5) + 0.05 * u**2)})
    falling = pd.DataFrame({"C": 1e22, "N": N, "loss": np.exp(1.0 - 0.02 * u - 0.001 * u**2)})
    vertices = cal.empirical_vertices(pd.concat([bowl, falling]), n_boot=50)
    assert np.isnan(vertices.loc[vertices["C"] == 1e22, "N_vertex"]).all()
    truth = vertices.rename(columns=lambda c: c.replace("_vertex", "_opt"))
    _fake_allocation(monkeypatch, 2)
    with pytest.warns(cal.UnscoredWarning, match=r"C=1e\+22 N_opt"):
        out = cal.decision_scores(simulated_fit, truth, "gp")
    n_opt = out[out["quantity"] == "N_opt"]
    assert n_opt["scored"].tolist() == [True, False]
    assert n_opt["in90"].mean() == 1.0  # the one scorable budget, hit (was 0.5)


@pytest.fixture(scope="module")
def choose_default():
    return repo_script("benchmarks/choose_default.py", "choose_default_review5")


def _points(method: str = "gp") -> pd.DataFrame:
    """Points-file rows of one split: 4 loss rows (one without a loss: in90 False in the file)
    and 3 N_opt rows (one without a truth: in90 NA)."""
    loss = pd.DataFrame(
        {
            "quantity": "loss",
            "actual": [2.0, 2.1, 2.2, np.nan],
            "median": [2.02, 2.1, 2.0, 2.3],
            "lower90": [1.9, 2.0, 1.9, 2.2],
            "upper90": [2.1, 2.2, 2.1, 2.4],
            "in90": [True, True, False, False],
            "lpd": [1.0, 2.0, 0.0, np.nan],
            "truth": np.nan,
            "log_error": np.nan,
        }
    )
    n_opt = pd.DataFrame(
        {
            "quantity": "N_opt",
            "actual": np.nan,
            "median": [1e9, 2e9, 3e9],
            "lower90": [5e8, 1e9, 2e9],
            "upper90": [2e9, 4e9, 4e9],
            "in90": pd.array([True, False, pd.NA], dtype="boolean"),
            "lpd": np.nan,
            "truth": [1e9, 5e9, np.nan],
            "log_error": [0.0, np.log(2.5), np.nan],
        }
    )
    rows = pd.concat([loss, n_opt], ignore_index=True)
    return rows.assign(part="selection", dataset="d", split="s", method=method)


def test_choose_default_pools_only_scored_points(choose_default):
    """A held-out run without a loss (in90 False in the points file) lowered the pooled loss
    coverage and made the pooled error and lpd NaN; a budget without a truth lowered the N_opt
    coverage. Now only scored rows are pooled."""
    table = choose_default.pooled(_points())
    row = table.loc["gp"]
    assert row["n_loss"] == 3 and row["cov90_loss"] == pytest.approx(2 / 3)
    assert row["error_loss"] == pytest.approx(0.01)  # median of 0.01, 0, 0.091
    assert row["lpd_loss"] == pytest.approx(1.0)
    assert row["n_N_opt"] == 2 and row["cov90_N_opt"] == pytest.approx(0.5)
    assert row["error_N_opt"] == pytest.approx(np.log(2.5) / 2)


def test_choose_default_rewrites_the_recorded_decision_unchanged(choose_default, tmp_path):
    """The stored points files hold no unscored row: pooling scored rows only changes nothing
    in the recorded decision (output/calibration_choice.txt)."""
    stored = choose_default.OUT
    if not (stored / "calibration_points_selection.csv").exists():
        pytest.skip("benchmarks/output/calibration_points_selection.csv is absent")
    shutil.copy(stored / "calibration_points_selection.csv", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert choose_default.main(["--out", str(tmp_path)]) == 0
    expected = (stored / "calibration_choice.txt").read_text()
    assert (tmp_path / "calibration_choice.txt").read_text() == expected


# ---- 2: the stacked forms ramp in past the range, as the discrepancy's step ----
@pytest.fixture(scope="module")
def ray_fit(simulated_fit):
    """A SIMULATED Chinchilla fit (conftest's ``simulated_fit``: 30 runs, 2 x 300 draws; a copy
    sharing its draws) stacked with a second form: the same law with its floor E raised 10.5%
    (ln E + 0.1), stacking weight 0.5 (a hand-made state: no other form is fitted), and a ray
    out of its range in N (the largest-N run's D fixed), at ``DECADES`` past the largest
    training N."""
    fit = bl.Fit(simulated_fit.idata, simulated_fit.record,
                 compute_model=simulated_fit.compute_model, cache={})  # fmt: skip
    post = {k: np.asarray(v, float) for k, v in fit.draws().items() if np.ndim(v) == 1}
    post["e"] = post["e"] + 0.1
    post["E"] = post["E"] * np.exp(0.1)
    other = {
        "law": fit.record.law,
        "law_options": fit.record.law_options,
        "likelihood": fit.likelihood,
        "priors": fit.record.priors,
        "scales": fit.record.scales,
        "groups": fit.record.groups,
        "law_state": fit.record.law_state,
        "posterior": {k: v.tolist() for k, v in post.items()},
    }
    fit.cache["stacking"] = {
        "method": "stacking",
        "laws": ["chinchilla", "higher floor"],
        "weights": {"chinchilla": 0.5, "higher floor": 0.5},
        "others": {"higher floor": other},
    }
    runs = fit.training_runs().df
    i = runs["N"].idxmax()
    query = query_frame(
        fit, N=runs.loc[i, "N"] * 10**DECADES, D=np.full(DECADES.size, runs.loc[i, "D"])
    )
    return fit, query


DECADES = np.array([0.0, 1e-3, 0.02, 0.05, 0.15, 0.3])


def _ray_draws(fit, query, method: str, seed: int = 3) -> np.ndarray:
    return np.asarray(log_loss_draws(fit, query, "new_run", None, seed, method))


def test_stacking_median_is_continuous_at_the_range_edge(ray_fit):
    """Other forms' draws were swapped in as soon as the distance was above 0: 0.001 decades
    past the largest training N the median jumped (0.5% on Epoch; here by the other form's
    share of a 7% higher loss). Now their share ramps in over RAMP decades: 0.001 decades out
    the median is the plain posterior's, to within 0.05%."""
    fit, query = ray_fit
    R = ex.distance.ranges_of(fit)
    d = ex.distance.distance_decades(query["N"], query["D"], query["C"], R)
    np.testing.assert_allclose(d, DECADES, atol=1e-9)
    plain = _ray_draws(fit, query, "none")
    stacked = _ray_draws(fit, query, "stacking")
    full_mixture = ex.stacking.stacked_draws(fit, query, plain, 3)  # every point fully mixed
    med = {k: np.median(np.exp(v), axis=0) for k, v in
           (("plain", plain), ("stacked", stacked), ("mixture", full_mixture))}  # fmt: skip
    # the step the old rule made at 0.001 decades on this fit: well above the tolerance
    assert med["mixture"][1] / med["plain"][1] - 1 > 0.005
    assert abs(med["stacked"][1] / med["plain"][1] - 1) < 5e-4
    # inside the range (d = 0) nothing changes; at d >= RAMP the draws are the full mixture's,
    # the very draws the old rule gave there
    np.testing.assert_array_equal(stacked[:, 0], plain[:, 0])
    far = d >= ex.distance.RAMP
    assert far.sum() == 2
    np.testing.assert_array_equal(stacked[:, far], full_mixture[:, far])


def test_stacked_forms_share_grows_with_the_ramp_and_each_draw_switches_once(ray_fit):
    """At distance d the other form takes its stacking weight (0.5) times min(1, d / RAMP) of
    the draws; along the ray a draw that took it keeps it further out."""
    fit, query = ray_fit
    plain = _ray_draws(fit, query, "none")
    stacked = _ray_draws(fit, query, "stacking")
    other = stacked != plain  # (S, Q)
    expected = 0.5 * np.minimum(1.0, DECADES / ex.distance.RAMP)
    assert plain.shape[0] == 600  # binomial sd of a share: <= 0.021
    np.testing.assert_allclose(other.mean(axis=0), expected, atol=0.08)
    assert other[:, 0].sum() == 0 and other[:, 1].mean() < 0.03
    assert np.all(other[:, :-1] <= other[:, 1:])  # switched once, never back


def test_stacking_discrepancy_ramps_the_forms_in_too(ray_fit):
    """``"stacking_discrepancy"`` mixes the forms by the same ramp before adding the distance
    discrepancy (here with its prior scales, on a copy of the fit sharing its draws: no
    refits)."""
    module_fit, query = ray_fit
    cache = {
        "stacking": module_fit.cache["stacking"],
        ex.distance.CACHE_KEYS[False]: ex.distance.prior_state(reason="test"),
    }
    fit = bl.Fit(module_fit.idata, module_fit.record, compute_model=module_fit.compute_model,
                 cache=cache)  # fmt: skip
    plain = _ray_draws(fit, query, "none")
    disc = _ray_draws(fit, query, "discrepancy")
    both = _ray_draws(fit, query, "stacking_discrepancy")
    mixture = ex.stacking.stacked_draws(fit, query, plain, 3)
    # the discrepancy draws are the same in both methods: what is left is the forms' part
    forms = both - (disc - plain)
    np.testing.assert_allclose(forms[:, 0], plain[:, 0], rtol=0, atol=1e-12)
    near = np.mean(np.abs(forms[:, 1] - plain[:, 1]) > 1e-9)
    assert near < 0.03
    np.testing.assert_allclose(forms[:, -1], mixture[:, -1], rtol=0, atol=1e-12)


@pytest.mark.slow
def test_stacking_median_is_continuous_at_the_edge_of_epochs_range():
    """The reviewer's case (Epoch's Chinchilla points, fitted on C <= 1e21, the three stacked
    forms fitted): 0.001 decades past the largest training N the old rule moved the stacking
    median +0.5%; now it moves as the plain posterior's does, to within 0.05%."""
    shared_or_skip()
    train, _ = cal.epoch_split()
    fit = bl.fit(train, "chinchilla", likelihood="gaussian", chains=2, warmup=300, draws=300,
                 seed=0, warn=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex.stacking.stack(fit, train, seed=0)
    df = train.df
    i = df["N"].idxmax()
    dec = np.array([0.0, 1e-3, 0.3])
    query = query_frame(fit, N=df.loc[i, "N"] * 10**dec, D=np.full(dec.size, df.loc[i, "D"]))
    plain = _ray_draws(fit, query, "none", seed=0)
    stacked = _ray_draws(fit, query, "stacking", seed=0)
    mixture = ex.stacking.stacked_draws(fit, query, plain, 0)
    med = {k: np.median(np.exp(v), axis=0) for k, v in
           (("plain", plain), ("stacked", stacked), ("mixture", mixture))}  # fmt: skip
    assert med["mixture"][1] / med["plain"][1] - 1 > 0.003  # the old step
    assert abs(med["stacked"][1] / med["plain"][1] - 1) < 5e-4
    np.testing.assert_array_equal(stacked[:, 2], mixture[:, 2])
