"""Compute-optimal allocation and the near-optimal band (small simulated fits, < 30 s)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws import LawCapabilityError
from bayeslaws.posterior.allocation import (
    allocation_draws,
    allocation_laws,
    near_optimal,
    optimal_allocation,
)
from bayeslaws.runs import compute, simulate

FAST = {"chains": 2, "warmup": 300, "draws": 300}
TRUTH = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
BUDGETS = np.array([1e20, 1e22, 1e24])


def true_n_opt(C, k=6.0):
    t = TRUTH
    G = (t["alpha"] * t["A"] / (t["beta"] * t["B"])) ** (1 / (t["alpha"] + t["beta"]))
    return G * (np.asarray(C) / k) ** (t["beta"] / (t["alpha"] + t["beta"]))


def true_loss(N, D):
    return simulate.chinchilla_loss(**TRUTH, N=N, D=D)


@pytest.fixture(scope="module")
def fit():
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 7), np.geomspace(4e8, 4e10, 7))
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    return bl.fit(df, law="chinchilla", likelihood="gaussian", seed=0, warn=False, **FAST)


def test_closed_form_equals_numerical_minimisation(fit):
    closed = allocation_draws(fit, BUDGETS, method="closed_form")
    numeric = allocation_draws(fit, BUDGETS, method="numerical")
    assert closed["method"] == "closed_form" and numeric["method"] == "numerical"
    np.testing.assert_allclose(closed["N_opt"], numeric["N_opt"], rtol=1e-6)
    np.testing.assert_allclose(closed["L_opt"], numeric["L_opt"], rtol=1e-9)
    assert not numeric["at_boundary"].any()


def test_closed_form_under_a_discrepancy_names_the_discrepancy(fit):
    """Chinchilla under 6ND has a closed form: refused under extrapolation='drift' for the
    discrepancy (the message blamed the law and its compute model)."""
    with pytest.raises(LawCapabilityError, match="ignores the extrapolation's model discrepancy"):
        allocation_draws(fit, BUDGETS, method="closed_form", extrapolation="drift")


def test_draws_held_at_a_kink_of_the_drift_are_counted_and_warned(fit):
    """N_opt draws where the isoFLOP line leaves the fitted range of N or D (the drift's kinks)
    are counted (exactly at N_max and at D_max along the line, not inside or far beyond) and
    warned under extrapolation 'drift'."""
    from bayeslaws.posterior.allocation import drift_kink_share, kink_message

    (n_lo, n_hi), d_hi = fit.record.ranges["N"], fit.record.ranges["D"][1]
    model = fit.compute_model
    C = np.array([6 * n_hi * d_hi * 4.0])  # a budget beyond the corner
    at_n_max = np.full((10, 1), n_hi)  # D = 4 d_hi: past D too, N's kink still switches
    at_d_max = np.full((10, 1), C[0] / (6 * d_hi))  # D = d_hi on the line
    inside = np.full((10, 1), np.sqrt(n_lo * n_hi))  # far from both kinks
    assert drift_kink_share(fit, C, at_n_max, model) == pytest.approx([1.0])
    assert drift_kink_share(fit, C, at_d_max, model) == pytest.approx([1.0])
    assert drift_kink_share(fit, C, inside, model) == pytest.approx([0.0])
    mixed = np.concatenate([at_n_max[:3], inside[:7]])
    assert drift_kink_share(fit, C, mixed, model) == pytest.approx([0.3])
    assert "30% of draws at C = " in kink_message(C, [0.3], "drift")
    assert kink_message(C, [0.01], "drift") == ""  # chance landings near a kink: not warned
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws = allocation_draws(fit, [1e24], extrapolation="drift")
        share = drift_kink_share(fit, [1e24], draws["N_opt"], model)[0]
        optimal_allocation(fit, C=[1e24], extrapolation="drift")
    said = [str(w.message) for w in caught if "kink of the drift" in str(w.message)]
    assert share > 0.05 and said, (share, said)  # this fixture: drift pins draws at 1e24
    with pytest.warns(UserWarning, match=r"target N_opt\(C=1e\+24\): N_opt sits at a kink"):
        bl.design.NOpt(C=1e24).draws(fit, method="drift")  # the design's default model


def test_numerical_minimum_matches_brute_force_grid():
    # one "draw" equal to the truth: the optimiser against a dense brute-force grid
    N = np.exp(np.linspace(np.log(1e7), np.log(1e12), 400_001))
    for C in (1e20, 1e22):
        brute = N[np.argmin(true_loss(N, C / (6 * N)))]
        assert true_n_opt(C) == pytest.approx(brute, rel=1e-4)


def test_allocation_covers_the_true_optimum(fit):
    alloc = optimal_allocation(fit, C=BUDGETS, ci=0.95)
    assert list(alloc["C"]) == list(BUDGETS)
    truth = true_n_opt(BUDGETS)
    assert (alloc["N_opt_lower"] < truth).all() and (truth < alloc["N_opt_upper"]).all()
    assert (alloc["N_opt_lower"] < alloc["N_opt"]).all()
    assert (alloc["N_opt"] < alloc["N_opt_upper"]).all()
    np.testing.assert_allclose(alloc["D_opt"] * alloc["N_opt"] * 6, BUDGETS, rtol=0.02)
    L_true = true_loss(truth, BUDGETS / (6 * truth))
    assert (alloc["L_opt_lower"] < L_true).all() and (L_true < alloc["L_opt_upper"]).all()


def test_compute_model_changes_allocation(fit):
    # C = 12 N D halves the tokens a budget buys: same as C/2 under 6ND
    a12 = optimal_allocation(fit, C=1e22, compute_model=compute.linear(12.0))
    a6 = optimal_allocation(fit, C=5e21)
    assert a12["N_opt"].item() == pytest.approx(a6["N_opt"].item(), rel=1e-6)
    # Yin et al.'s video count with n_ctx = d_model is 6N per token
    video = optimal_allocation(fit, C=1e22, compute_model=compute.video_dit(1024, 1024))
    assert video["N_opt"].item() == pytest.approx(optimal_allocation(fit, C=1e22)["N_opt"].item())
    # a user callable goes through the numerical path and agrees
    user = optimal_allocation(fit, C=1e22, compute_model=compute.custom(lambda n: 6.0 * n))
    assert user["method"].item() == "numerical"
    assert user["N_opt"].item() == pytest.approx(
        optimal_allocation(fit, C=1e22)["N_opt"].item(), rel=1e-5
    )


def test_allocation_laws_recover_the_exponent(fit):
    laws = allocation_laws(fit, ci=0.95)
    a_true = TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])
    row = laws.loc["N_opt"]
    assert row["exponent_lower"] < a_true < row["exponent_upper"]
    # exponents of N_opt and D_opt sum to one under C = 6ND, draw by draw
    assert laws.loc["N_opt", "exponent"] + laws.loc["D_opt", "exponent"] == pytest.approx(1.0)
    assert laws.loc["L_opt", "exponent"] < 0
    # the posterior median exponent equals the posterior median of a_opt
    a_opt = np.median(fit.draws(["a_opt"])["a_opt"])
    assert row["exponent"] == pytest.approx(a_opt, rel=1e-6)


def test_kaplan_fit_uses_numerical_path(fit):
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 5), np.geomspace(4e8, 4e10, 5))
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=2)
    kf = bl.fit(
        df, law="kaplan", likelihood="gaussian", seed=0, warn=False, chains=1, warmup=200, draws=200
    )
    alloc = optimal_allocation(kf, C=[1e20, 1e21])
    assert (alloc["method"] == "numerical").all()
    assert (alloc["at_boundary"] == 0).all()
    assert (np.diff(alloc["N_opt"]) > 0).all()


def test_near_optimal_warns_when_the_passing_sizes_are_not_one_interval(fit, monkeypatch):
    """A profile with two dips (a stand-in for a multimodal posterior) passes sizes on both
    sides of a bump: the band's extent is reported with a warning naming a size inside it that
    fails, instead of being read as one interval. The one-dip profile of the fit warns not."""
    from bayeslaws.posterior.allocation import band

    real = band._profile_log_loss

    def two_dips(fit_, C, N, *args):
        log_L = real(fit_, C, N, *args)
        bump = 0.5 * np.exp(-0.5 * (np.log(N / np.median(N)) / 0.05) ** 2)  # 50% loss, one size
        return log_L + bump

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        one_dip = near_optimal(fit, C=1e22, relative_to="reducible")
    assert one_dip.gap_note == "" and one_dip.short_inside.empty
    monkeypatch.setattr(band, "_profile_log_loss", two_dips)
    with pytest.warns(UserWarning, match="not one interval: N = .* inside the band"):
        out = near_optimal(fit, C=1e22, relative_to="reducible", span_decades=0.5)
    low, high = out.band
    inside = out.table[(out.table["N"] > low) & (out.table["N"] < high)]
    assert (inside["prob_within"] < out.prob).any()
    # the result says so too (a report reads it there: the warning alone went to stderr)
    short = inside[inside["prob_within"] < out.prob]
    pd.testing.assert_frame_equal(out.short_inside, short)
    assert out.gap_note.startswith("the sizes within tolerance at C = 1e+22 are not one interval")


def test_near_optimal_band(fit):
    res = near_optimal(fit, C=1e22, tolerance=0.01)
    t = res.table
    assert res.band is not None and res.smallest is not None
    lo, hi = res.band
    assert lo < res.N_opt < hi
    inside = (t["N"] >= lo) & (t["N"] <= hi)
    assert (t.loc[inside, "prob_within"] >= 0.9).all()
    assert res.smallest["N"] == lo and res.smallest["size_vs_optimal"] < 0
    assert 0 <= res.smallest["excess"] <= 0.01
    # near the optimum the probability is one; far below it, zero
    assert t["prob_within"].max() == pytest.approx(1.0)
    assert t["prob_within"].iloc[0] == 0.0
    # a looser tolerance widens the band; the truth's own band sits inside the loose one
    loose = near_optimal(fit, C=1e22, tolerance=0.05)
    assert loose.band[0] < lo and loose.band[1] > hi
    N = t["N"].to_numpy()
    L = true_loss(N, 1e22 / (6 * N))
    L_opt = true_loss(true_n_opt(1e22), 1e22 / (6 * true_n_opt(1e22)))
    true_smallest = N[np.argmax(L <= 1.01 * L_opt)]
    assert loose.band[0] < true_smallest


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda f: optimal_allocation(f, C=[1e22, -1]), "C must be finite and positive"),
        (lambda f: optimal_allocation(f, C=None), "C is required"),
        (lambda f: optimal_allocation(f, C=1e22, ci=1.5), r"ci must be a number in \(0, 1\)"),
        (lambda f: optimal_allocation(f, C=1e22, method="newton"), "method must be"),
        (lambda f: optimal_allocation(f, C=1e22, group="web"), "group='web'"),
        (lambda f: near_optimal(f, C=[1e21, 1e22]), "C must be a single budget"),
        (lambda f: near_optimal(f, C=1e22, tolerance=0), "tolerance must be"),
        (lambda f: near_optimal(f, C=1e22, prob=2), "prob must be"),
        (lambda f: allocation_laws(f, C_range=(1e22, 1e20)), "C_range must be"),
        # a reversed or NaN grid would report an upside-down band or "no N within tolerance"
        (lambda f: near_optimal(f, C=1e22, span_decades=-1), "span_decades must be a positive"),
        (lambda f: near_optimal(f, C=1e22, span_decades=np.nan), "span_decades must be"),
        (lambda f: near_optimal(f, C=1e22, n_grid=np.int64(2)), "n_grid must be an integer >= 3"),
        (lambda f: near_optimal(f, C=1e22, tolerance=True), "tolerance must be"),
        # a candidate size that leaves less than one token on the budget's isoFLOP line
        (lambda f: near_optimal(f, C=1e22, N=[1e9, 1e22]), r"N = 1e\+22 at C = 1e\+22"),
        # a budget in PF-days (1e21 FLOPs = 11.57): N_opt 0.5 parameters, answered before
        (lambda f: optimal_allocation(f, C=[1e21, 11.57]), r"C = 11.6 give a median [ND]_opt "
         r"below one .*not PF-days"),
        (lambda f: near_optimal(f, C=5.0), r"C = 5 give a median [ND]_opt below one"),
    ],
)
def test_bad_input_names_the_argument(fit, call, message):
    with pytest.raises(ValueError, match=message):
        call(fit)


def test_numpy_scalars_are_numbers(fit):
    """NumPy scalars (e.g. from a config array) are accepted like Python numbers."""
    plain = optimal_allocation(fit, C=1e22, ci=0.8)
    numpy = optimal_allocation(fit, C=np.float32(1e22), ci=np.float32(0.8))
    assert numpy["N_opt"].iloc[0] == pytest.approx(plain["N_opt"].iloc[0], rel=1e-6)
    laws = allocation_laws(fit, n_budgets=np.int64(3), ci=np.float32(0.8))
    assert laws.loc["N_opt", "exponent"] == pytest.approx(
        allocation_laws(fit, n_budgets=3, ci=0.8).loc["N_opt", "exponent"], rel=1e-9
    )
    band = near_optimal(fit, C=1e22, tolerance=np.float32(0.05), relative_to="reducible")
    assert band.tolerance == pytest.approx(0.05)


def _edged(monkeypatch, share: float = 0.2):
    """allocation_draws with the first ``share`` of draws flagged at the search range's edge (a
    stand-in for the "drift" and "model" extrapolations, whose drawn loss can lack an interior
    optimum even inside the fitted range)."""
    from bayeslaws.posterior.allocation import band, tables

    real = tables.allocation_draws

    def edged(fit_, C, *args, **kwargs):
        out = dict(real(fit_, C, *args, **kwargs))
        flags = np.zeros_like(out["at_boundary"], bool)
        flags[: int(share * len(flags))] = True
        out["at_boundary"] = flags
        return out

    for module in (tables, band):  # the callers' namespaces: optimal_allocation, near_optimal
        monkeypatch.setattr(module, "allocation_draws", edged)


def test_draws_at_the_search_edge_warn_naming_budget_share_and_method(fit, monkeypatch):
    """A share of N_opt draws at the isoFLOP search range's edge was reported only in the
    at_boundary column: optimal_allocation and near_optimal now warn, naming the budget, the
    share and the extrapolation, and saying the interval's end is the search's edge, not the
    data's. No draw at the edge, no warning."""
    from bayeslaws.posterior.allocation import SearchEdgeWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        optimal_allocation(fit, C=[1e20, 1e22])
    _edged(monkeypatch)
    said = r"20\.0% of draws at C = 1e\+22 FLOPs .* under extrapolation 'drift'"
    with pytest.warns(SearchEdgeWarning, match=said) as caught:
        out = optimal_allocation(fit, C=1e22, extrapolation="drift")
    assert out["at_boundary"].iloc[0] == pytest.approx(0.2)
    assert "the search range's edge, not the data's" in str(caught[0].message)
    assert str(caught[0].message).startswith("optimal_allocation:")
    with pytest.warns(SearchEdgeWarning, match="near_optimal: N_opt sits at the edge"):
        near_optimal(fit, C=1e22, relative_to="reducible", extrapolation="drift")
    with pytest.warns(SearchEdgeWarning, match="allocation_laws: N_opt sits at the edge"):
        allocation_laws(fit, n_budgets=3, extrapolation="drift")


def test_near_optimal_says_when_its_band_reaches_the_grid_edge(fit):
    """A wide tolerance (50% of the reducible loss) on a narrow grid (0.2 decades each side of
    N_opt) passes every size down to the grid's smallest: the band's lower end was that edge,
    silently. It warns now that the band extends beyond the search, and band_at_edge says on
    which side."""
    from bayeslaws.posterior.allocation import SearchEdgeWarning

    with pytest.warns(SearchEdgeWarning, match="band extends beyond the search"):
        wide = near_optimal(fit, C=1e22, tolerance=0.5, relative_to="reducible", span_decades=0.2)
    assert wide.band[0] == wide.table["N"].iloc[0] and wide.band_at_edge[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        default = near_optimal(fit, C=1e22, relative_to="reducible")
        # sizes given by the caller are the band's whole world: no warning about their edge
        given = near_optimal(fit, C=1e22, relative_to="reducible", N=[default.N_opt])
    assert default.band_at_edge == (False, False)
    assert given.band == (default.N_opt, default.N_opt)


def test_refit_n_opt_stays_inside_the_searched_sizes():
    """A monotone, nearly straight isoFLOP profile made the parabola's vertex fly off the grid
    (to 0 params, or 1e3 below a grid that starts at 1e5); an edge minimum is the edge."""
    from bayeslaws.posterior.fixed_hyperparams import N_GRID, refit_n_opt
    from bayeslaws.runs.compute import linear

    N, D = np.geomspace(1e7, 1e9, 5), np.geomspace(1e9, 1e11, 5)
    for C in (1e10, 1e11, 1e12):
        for p in ([np.log(1.7), -2.0, -2.0, 0.05, 1.5], [np.log(1.7), -2.0, -2.0, 0.3, 0.3]):
            n_opt = refit_n_opt(np.array(p), N, D, C, linear(6))
            assert N_GRID[0] <= n_opt <= N_GRID[-1], (C, p, n_opt)


def test_fixed_vs_optimal_without_a_budget_says_so(simulated_fit):
    with pytest.raises(ValueError, match="C is required"):
        bl.fixed_vs_optimal(simulated_fit, None)


def test_a_new_groups_floor_is_drawn_from_the_group_of_its_optimum(grouped_fit):
    """near_optimal for a new group (group=None on a grouped fit): each draw's floor E and its
    L_opt belong to one new group, so no draw's floor reaches its optimal loss (the floor used
    to come from another new group: some draws had E >= L_opt, a negative reducible loss)."""
    from bayeslaws.posterior.allocation.optimum_draws import floor_draws

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for C in (1e20, 1e21, 1e22):
            L_opt = allocation_draws(grouped_fit, [C], group=None, seed=0)["L_opt"][:, 0]
            floor = floor_draws(grouped_fit, None, 0, "gp")
            assert np.all(floor < L_opt), (C, int(np.sum(floor >= L_opt)))
        near = near_optimal(grouped_fit, 1e21, group=None, seed=0, n_grid=21)
    assert near.reducible_share[1] > 0  # lower end of (L_opt - E) / L_opt
