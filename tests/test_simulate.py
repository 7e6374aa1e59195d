"""Tests of bayeslaws.runs.simulate and the bundled tables it generates (fast: NumPy only)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayeslaws.runs import load_runs
from bayeslaws.runs import simulate as sim

REPO = Path(__file__).resolve().parents[1]
TRUTH = sim.VideoDiTTruth()
SIZES = (0.017e9, 0.057e9, 0.13e9, 0.26e9)


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "make_datasets", REPO / "data" / "make_datasets.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load_script()


@pytest.fixture(scope="module")
def sweep():
    return sim.simulate_video_dit_sweep(seed=20251121)


# ---- published laws and unit conversion ------------------------------------------------------
def test_yin_laws_reproduce_marked_cells():
    # PAPERS.md: at N = 1.07B, T = 4B: B = 6.8e4 tokens, eta = 1.86e-4; at 10B: 1.43e5, 1.78e-4.
    np.testing.assert_allclose(sim.yin_b_opt(1.07e9, 4e9), 6.8e4, rtol=0.01)
    np.testing.assert_allclose(sim.yin_eta_opt(1.07e9, 4e9), 1.86e-4, rtol=0.01)
    np.testing.assert_allclose(sim.yin_b_opt(1.07e9, 1e10), 1.43e5, rtol=0.01)
    np.testing.assert_allclose(sim.yin_eta_opt(1.07e9, 1e10), 1.78e-4, rtol=0.01)
    # direct evaluation in billions
    assert sim.yin_b_opt(2e9, 3e9) == pytest.approx(2.18e4 * 3**0.81 * 2**0.19)
    assert sim.yin_eta_opt(2e9, 3e9) == pytest.approx(2e-4 * 3**-0.045 * 2**-0.162)
    assert TRUTH.b_opt(0.3e9, 5e9) == pytest.approx(sim.yin_b_opt(0.3e9, 5e9))
    assert TRUTH.eta_opt(0.3e9, 5e9) == pytest.approx(sim.yin_eta_opt(0.3e9, 5e9))


# ---- anchors (a)-(d), recomputed from the hard-coded constants -------------------------------
def _loss_star(N, D):
    t = TRUTH
    return t.E + t.A / N**t.alpha + t.B / D**t.beta


def test_anchor_a_1p07b_at_10b_tokens():
    assert _loss_star(1.07e9, 1e10) == pytest.approx(0.51266, abs=5e-5)
    assert TRUTH.loss_star(1.07e9, 1e10) == pytest.approx(_loss_star(1.07e9, 1e10))


def test_anchor_e_1p07b_at_4b_tokens():
    assert _loss_star(1.07e9, 4e9) == pytest.approx(0.5185, abs=5e-5)


def test_anchor_b_0p72b_at_5p85e20():
    D = 5.85e20 / (6 * 0.72e9)
    assert 1.35e11 < D < 1.40e11  # "about 135-140B tokens"
    assert _loss_star(0.72e9, D) == pytest.approx(0.50352, abs=5e-5)


def test_anchor_c_compute_optimal_allocation():
    t = TRUTH
    # Minimise L*(N, C/(6N)) over a fine log-N grid at each budget: the surface's own optimum.
    logN = np.linspace(np.log(1e6), np.log(1e13), 200_001)
    for C in (1e18, 1e20, 5.85e20, 1e22, 1e24):
        N = np.exp(logN)
        n_star = N[np.argmin(_loss_star(N, C / (6 * N)))]
        assert n_star == pytest.approx(0.8705 * C**0.4294, rel=2e-3)
        assert t.n_opt(C) == pytest.approx(n_star, rel=2e-3)
    assert t.n_opt(5.85e20) == pytest.approx(0.72e9, rel=0.01)
    assert t.n_opt(1e22) == pytest.approx(2.43e9, rel=0.01)
    assert t.n_opt_exponent == pytest.approx(0.4294, abs=1e-6)
    assert t.d_opt(1e22) * 6 * t.n_opt(1e22) == pytest.approx(1e22)


def test_anchor_d_small_model_losses_and_flat_optimum():
    N, D = np.meshgrid(SIZES, np.linspace(2e9, 12e9, 11))
    L = _loss_star(N, D)
    assert L.min() > 0.50 and L.max() < 0.55
    assert np.all(np.diff(_loss_star(np.array(SIZES), 4e9)) < 0)  # bigger is better
    # flat optimum: +-30% in N at fixed compute moves the loss by well under 1%
    C = 5.85e20
    n0 = TRUTH.n_opt(C)
    l0 = _loss_star(n0, C / (6 * n0))
    for f in (0.7, 1.3):
        assert 0 < _loss_star(f * n0, C / (6 * f * n0)) / l0 - 1 < 0.01


def test_bowl_agrees_with_1p07b_grid(script):
    grid = script.yin_grid_1p07b()
    pred = TRUTH.loss(grid["N"], grid["D"], grid["lr"], grid["batch_size"])
    resid = grid["loss"].to_numpy() - pred
    for tokens in (4e9, 1e10):
        r = resid[grid["D"].to_numpy() == tokens]
        # after a per-budget offset, the shape matches to ~ the grid's roughness
        assert np.sqrt(np.mean((r - r.mean()) ** 2)) < 6e-4
        assert abs(r.mean()) < 2e-3
    # LR direction flat, batch direction steeper (at 4B tokens, optimal batch row/LR column)
    g4 = grid[grid["D"] == 4e9]
    lr_span = TRUTH.loss(1.07e9, 4e9, g4["lr"].unique(), 8.2e4)
    b_span = TRUTH.loss(1.07e9, 4e9, 1.7e-4, g4["batch_size"].unique())
    assert np.ptp(lr_span) < 1.5e-3
    assert np.ptp(b_span) > 2 * np.ptp(lr_span)


def test_bowl_minimum_is_the_optimum():
    N, D = 0.13e9, 6e9
    eta, b = TRUTH.eta_opt(N, D), TRUTH.b_opt(N, D)
    u = np.linspace(-2, 2, 401)
    uu, vv = np.meshgrid(u, u)
    excess = TRUTH.bowl(N, D, eta * np.exp(uu), b * np.exp(vv))
    assert excess.min() >= 0
    i, j = np.unravel_index(np.argmin(excess), excess.shape)
    assert abs(u[i]) < 1e-9 and abs(u[j]) < 1e-9
    # steeper above the optimal LR than below
    assert TRUTH.bowl(N, D, eta * np.e, b) > TRUTH.bowl(N, D, eta / np.e, b)
    with pytest.raises(ValueError):
        sim.VideoDiTTruth(k_cross=0.01)


# ---- the sweep ---------------------------------------------------------------------------------
def test_sweep_shape_and_grids_bracket_the_optimum(sweep):
    assert len(sweep) == 4 * 4 * 6 * 6
    assert list(sweep.columns) == ["N", "D", "C", "lr", "batch_size", "loss", "source"]
    expected = "simulated: bayeslaws.runs.simulate.simulate_video_dit_sweep seed=20251121"
    assert (sweep["source"] == expected).all()
    np.testing.assert_allclose(sweep["C"], 6 * sweep["N"] * sweep["D"])
    for (n, d), cell in sweep.groupby(["N", "D"]):
        lrs, bss = np.sort(cell["lr"].unique()), np.sort(cell["batch_size"].unique())
        assert len(lrs) == 6 and len(bss) == 6
        np.testing.assert_allclose(lrs[1:] / lrs[:-1], 1.5, rtol=0.05)
        np.testing.assert_allclose(bss[1:] / bss[:-1], 2.0)
        eta, b = TRUTH.eta_opt(n, d), TRUTH.b_opt(n, d)
        assert lrs[0] < eta < lrs[-1], (n, d)
        assert bss[0] < b < bss[-1], (n, d)
        # the noiseless grid argmin is an interior cell
        clean = np.asarray(TRUTH.loss(cell["N"], cell["D"], cell["lr"], cell["batch_size"]))
        best = cell.iloc[int(np.argmin(clean))]
        assert lrs[0] < best["lr"] < lrs[-1] and bss[0] < best["batch_size"] < bss[-1]
    assert sweep["loss"].between(0.50, 0.57).all()


def test_sweep_reproducible_and_seed_dependent(sweep):
    again = sim.simulate_video_dit_sweep(seed=20251121)
    pd.testing.assert_frame_equal(sweep, again)
    other = sim.simulate_video_dit_sweep(seed=1)
    design = ["N", "D", "lr", "batch_size"]
    np.testing.assert_array_equal(other[design], sweep[design])
    assert not np.allclose(other["loss"], sweep["loss"])
    rng_based = sim.simulate_video_dit_sweep(seed=np.random.default_rng(20251121))
    np.testing.assert_allclose(rng_based["loss"], sweep["loss"])


def test_script_regenerates_the_committed_csvs_byte_for_byte(script, tmp_path):
    """``make_datasets.py --out DIR`` writes the two tables elsewhere (it could only overwrite
    data/), and they equal the committed files byte for byte."""
    script.main(["--out", str(tmp_path / "fresh")])
    for committed in (script.SWEEP_FILE, script.GRID_FILE):
        assert (tmp_path / "fresh" / committed.name).read_bytes() == committed.read_bytes()


def test_bundled_csvs_hold_their_seed_source_and_marked_optima(script):
    """What the tables say of themselves (the byte-for-byte regeneration is the test above)."""
    assert script.SWEEP_SEED == 20251121
    bundled = pd.read_csv(REPO / "data" / "video_dit_sweep_simulated.csv")
    assert "seed=20251121" in bundled["source"].iloc[0]
    grid = pd.read_csv(REPO / "data" / "yin2025_grid_1p07B.csv")
    assert len(grid) == 36
    marked = grid[grid["marked_optimum"]]
    assert sorted(zip(marked["D"], marked["batch_size"], marked["lr"], strict=True)) == [
        (4e9, 8.2e4, 1.7e-4),
        (1e10, 1.6e5, 1.7e-4),
    ]
    assert grid["source"].str.contains("2411.17470").all()


def test_noise_sd_matches_stated_value():
    # sd of log(loss / truth); Monte Carlo relative error of an sd from n draws ~ 1/sqrt(2n)
    for sd, n_sizes in ((TRUTH.noise_sd, 1), (0.01, 3)):
        N = np.geomspace(1e7, 1e9, 10 * n_sizes)
        df = sim.simulate_grid(TRUTH, N, 4e9, [1e-4, 2e-4, 4e-4], [2e4, 4e4, 8e4, 1.6e5], 7, sd)
        clean = TRUTH.loss(df["N"], df["D"], df["lr"], df["batch_size"])
        r = np.log(df["loss"] / clean)
        se = 1 / np.sqrt(2 * len(r))
        assert abs(r.std(ddof=1) / sd - 1) < 4 * se
        assert abs(r.mean()) < 4 * sd / np.sqrt(len(r))
    # the bundled sweep itself
    sweep = sim.simulate_video_dit_sweep(seed=3)
    r = np.log(sweep["loss"] / TRUTH.loss(sweep["N"], sweep["D"], sweep["lr"], sweep["batch_size"]))
    assert abs(r.std(ddof=1) / TRUTH.noise_sd - 1) < 4 / np.sqrt(2 * len(r))
    zero = sim.simulate_video_dit_sweep(seed=3, noise_sd=0.0)
    clean = TRUTH.loss(zero["N"], zero["D"], zero["lr"], zero["batch_size"])
    np.testing.assert_allclose(zero["loss"], clean)


def test_grid_points_give_each_size_its_default_grid_of_that_shape():
    """grid_points=(3, 2): each size's default grid (video_dit_grids) with 3 LR and 2 batch
    values, the same table as passing those grids by hand (SIMULATED)."""
    sizes, tokens = (0.017e9, 0.13e9), (2e9, 8e9)
    small = sim.simulate_video_dit_sweep(5, sizes, tokens, grid_points=(3, 2))
    grids = {n: sim.video_dit_grids(TRUTH, n, tokens, 3, 2) for n in sizes}
    by_hand = sim.simulate_video_dit_sweep(
        5, sizes, tokens,
        lr_grid={n: g[0] for n, g in grids.items()},
        batch_grid={n: g[1] for n, g in grids.items()},
    )
    pd.testing.assert_frame_equal(small, by_hand)
    assert (small.groupby(["N", "D"]).size() == 6).all()


def test_simulate_grid_per_cell_grids():
    df = sim.simulate_grid(
        TRUTH, [1e8, 2e8], [4e9, 8e9], [[1e-4, 2e-4], [3e-4]], [[1e4], [1e4, 2e4, 4e4]], seed=0
    )
    assert len(df) == 2 * 1 + 1 * 3
    assert (
        df["source"].iloc[0].startswith("simulated: bayeslaws.runs.simulate.simulate_grid seed=0")
    )
    with pytest.raises(ValueError):
        sim.simulate_grid(TRUTH, [1e8, 2e8], 4e9, [[1e-4]], [1e4])


# ---- Liang et al. ------------------------------------------------------------------------------
def test_liang_truth_and_isoflop_design():
    truth = sim.LiangTruth()
    assert truth.n_opt(1.5e21) == pytest.approx(958.3e6, rel=0.005)
    assert truth.n_coef == pytest.approx(8.94e-4, rel=0.002)
    assert truth.n_opt(1e18) == pytest.approx(0.0009 * 1e18**0.5681, rel=0.01)
    assert truth.l_opt(1.5e21) == pytest.approx(0.6325, abs=5e-4)
    C = 3e18
    assert truth.d_opt(C) * 6 * truth.n_opt(C) == pytest.approx(C)
    # 3x off the optimum: a 2-5% rise
    assert 1.02 < truth.loss(3 * truth.n_opt(C), C) / truth.l_opt(C) < 1.05
    assert 1.02 < truth.loss(truth.n_opt(C) / 3, C) / truth.l_opt(C) < 1.05

    budgets = (1e17, 3e17, 6e17, 1e18, 3e18, 6e18)
    df = sim.simulate_liang_isoflop(seed=0)
    assert list(df.columns) == ["N", "D", "C", "loss", "source"]
    assert len(df) == 6 * 9
    np.testing.assert_allclose(6 * df["N"] * df["D"], df["C"])
    for C in budgets:
        # noiseless argmin over a fine N grid is N_opt(C)
        N = np.geomspace(truth.n_opt(C) / 30, truth.n_opt(C) * 30, 100_001)
        n_star = N[np.argmin(truth.loss(N, C))]
        assert n_star == pytest.approx(truth.n_opt(C), rel=1e-3)
        # design spans about +-1 decade around the optimum
        sizes = df.loc[df["C"] == C, "N"]
        assert sizes.min() == pytest.approx(truth.n_opt(C) / 10)
        assert sizes.max() == pytest.approx(truth.n_opt(C) * 10)
    clean = sim.simulate_liang_isoflop(seed=0, noise_sd=0.0)
    np.testing.assert_allclose(clean["loss"], truth.loss(clean["N"], clean["C"]))
    r = np.log(df["loss"] / clean["loss"])
    assert 0.5 * truth.noise_sd < r.std() < 1.5 * truth.noise_sd
    steep = sim.simulate_liang_isoflop(seed=0, curvature=0.05, noise_sd=0.0)
    assert (steep["loss"] >= clean["loss"] - 1e-12).all()
    assert not sim.simulate_liang_isoflop(seed=1)["loss"].equals(df["loss"])


# ---- Chinchilla --------------------------------------------------------------------------------
def test_chinchilla_runs():
    params = {
        "E": 1.8,
        "A": 480.0,
        "B": 2000.0,
        "alpha": 0.35,
        "beta": 0.37,
        "N": np.geomspace(1e7, 1e10, 50),
        "D": np.geomspace(1e9, 1e12, 50),
    }
    df = sim.simulate_chinchilla_runs(params, noise_sd=0.02, seed=4)
    assert list(df.columns) == ["N", "D", "C", "loss", "source"]
    clean = sim.chinchilla_loss(1.8, 480.0, 2000.0, 0.35, 0.37, df["N"], df["D"])
    r = np.log(df["loss"] / clean)
    assert 0.6 * 0.02 < r.std() < 1.4 * 0.02
    again = sim.simulate_chinchilla_runs({**params, "noise_sd": 0.02, "seed": 4})
    pd.testing.assert_frame_equal(df, again)
    t = sim.simulate_chinchilla_runs(params, noise_sd=0.02, seed=4, likelihood="student_t")
    assert "likelihood=student_t" in t["source"].iloc[0]
    with pytest.raises(ValueError):
        sim.simulate_chinchilla_runs(params, likelihood="cauchy")
    with pytest.raises(KeyError):
        sim.simulate_chinchilla_runs({"E": 1.0})


# ---- every simulator output is a valid run table -----------------------------------------------
def test_load_runs_accepts_every_simulator(sweep, script):
    outputs = [
        sweep,
        sim.simulate_grid(TRUTH, 1e8, 4e9, [1e-4, 2e-4], [1e4, 2e4], seed=0),
        sim.simulate_liang_isoflop(seed=0),
        sim.simulate_chinchilla_runs(
            {"E": 1.8, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "N": [1e8, 1e9], "D": 1e10}
        ),
        script.yin_grid_1p07b(),
    ]
    for df in outputs:
        runs = load_runs(df)
        assert len(runs) == len(df)
        np.testing.assert_allclose(runs.df["loss"], df["loss"])
    runs = load_runs(REPO / "data" / "video_dit_sweep_simulated.csv")
    assert len(runs) == 576 and "batch_size" in runs.df


# ---- argument checks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sim.simulate_grid(TRUTH, [-1e8], [1e9], [1e-4], [1e5]), r"N must be finite"),
        (lambda: sim.simulate_grid(TRUTH, [1e8], [np.nan], [1e-4], [1e5]), r"D must be finite"),
        (
            lambda: sim.simulate_grid(TRUTH, [1e8], [1e9], [1e-4], [1e5], noise_sd=np.nan),
            r"noise_sd must be a finite number >= 0",
        ),
        (
            lambda: sim.simulate_grid(TRUTH, [1e8], [1e9], [1e-4], [1e5], noise_sd=-1),
            r"noise_sd must be a finite number >= 0",
        ),
        (
            lambda: sim.simulate_grid(TRUTH, [1e8], [1e9], [1e-4], [1e5], seed=None),
            r"seed must be a non-negative integer",
        ),
        (lambda: sim.simulate_video_dit_sweep(seed="a"), r"seed must be a non-negative integer"),
        (lambda: sim.simulate_video_dit_sweep(seed=-1), r"seed must be a non-negative integer"),
        (lambda: sim.simulate_video_dit_sweep(sizes=(0.0,)), r"sizes must be finite"),
        (
            lambda: sim.simulate_video_dit_sweep(grid_points=3),
            r"grid_points must be two integers",
        ),
        (
            lambda: sim.simulate_video_dit_sweep(grid_points=(3, 0)),
            r"grid_points\[1\] must be an integer >= 1",
        ),
        (lambda: sim.simulate_liang_isoflop(n_per_budget=0), r"n_per_budget must be an integer"),
        (lambda: sim.simulate_liang_isoflop(budgets=(-1e18,)), r"budgets must be finite"),
        (lambda: sim.simulate_liang_isoflop(budgets=()), r"budgets must be finite"),
        (lambda: sim.simulate_liang_isoflop(seed=None), r"seed must be a non-negative integer"),
        (lambda: sim.simulate_liang_isoflop(spread_decades=-1), r"spread_decades must be"),
        (lambda: sim.simulate_liang_isoflop(noise_sd=np.inf), r"noise_sd must be"),
        (lambda: _chinchilla(noise_sd=-0.1), r"noise_sd must be a finite number >= 0"),
        (lambda: _chinchilla(D=[-1e9, 1e9]), r"D must be finite and positive"),
        (lambda: _chinchilla(likelihood="t", df=0), r"df \(Student-t degrees of freedom\)"),
        (lambda: _chinchilla(seed=1.5), r"seed must be a non-negative integer"),
    ],
)
def test_simulators_refuse_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _chinchilla(**kwargs):
    params = {"E": 1.0, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "N": [1e8, 2e8], "D": 1e9}
    params.update({k: kwargs.pop(k) for k in ("N", "D") if k in kwargs})
    return sim.simulate_chinchilla_runs(params, **kwargs)


def test_simulators_accept_numpy_seeds_generators_and_zero_noise():
    a = sim.simulate_grid(TRUTH, 1e8, 4e9, [1e-4], [1e4], seed=np.int64(3), noise_sd=0)
    np.testing.assert_allclose(a["loss"], TRUTH.loss(1e8, 4e9, 1e-4, 1e4))
    b = sim.simulate_liang_isoflop(seed=np.random.default_rng(0), n_per_budget=3)
    assert len(b) == 18
    c = _chinchilla(seed=np.int32(2))
    pd.testing.assert_frame_equal(c, _chinchilla(seed=2))


# ---- noise_sd is a scale; Generator provenance; truth fields; scalar grids; None keys -----------
def test_student_t_noise_sd_is_the_scale_not_the_sd():
    # Documents the behaviour (docs-only fix): eps ~ t(df) scaled by noise_sd has sd
    # noise_sd * sqrt(df / (df - 2)), i.e. sqrt(2) noise_sd at df = 4; Gaussian noise: noise_sd.
    # t(4) has no 4th moment, so the sd's Monte Carlo error is not 1/sqrt(2n): over 200 seeds the
    # ratio below stayed within 1.3% of 1 at n = 200,000; 4% is far from a wrong sd's 1/1.41.
    n, sd = 200_000, 0.01
    params = {"E": 1.7, "A": 400.0, "B": 400.0, "alpha": 0.34, "beta": 0.28, "N": 1e8}
    params["D"] = np.full(n, 1e10)
    clean = sim.chinchilla_loss(1.7, 400.0, 400.0, 0.34, 0.28, 1e8, 1e10)
    t = sim.simulate_chinchilla_runs(params, noise_sd=sd, seed=11, likelihood="student_t", df=4)
    r = np.log(t["loss"] / clean)
    assert r.std(ddof=1) / (sd * np.sqrt(2)) == pytest.approx(1, abs=0.04)
    assert abs(np.median(r)) < 3 * sd / np.sqrt(n)  # the median loss is the truth
    g = sim.simulate_chinchilla_runs(params, noise_sd=sd, seed=11)
    r = np.log(g["loss"] / clean)
    assert r.std(ddof=1) / sd == pytest.approx(1, abs=4 / np.sqrt(2 * n))


def test_generator_seed_label_identifies_the_generator_state():
    label = r"seed=Generator\([0-9a-f]{12}\)"
    calls = [
        lambda g: sim.simulate_video_dit_sweep(seed=g, sizes=(1e8,), tokens=(4e9,)),
        lambda g: sim.simulate_grid(TRUTH, 1e8, 4e9, [1e-4, 2e-4], [1e4], seed=g),
        lambda g: sim.simulate_liang_isoflop(seed=g, n_per_budget=3),
        lambda g: _chinchilla(seed=g),
    ]
    for call in calls:
        g = np.random.default_rng(1)
        first, second = call(g)["source"].iloc[0], call(g)["source"].iloc[0]
        assert re.search(label, first) and re.search(label, second), first
        assert first != second  # the same Generator, advanced: a different table, a different label
        assert call(np.random.default_rng(1))["source"].iloc[0] == first  # same state, same label
        assert call(np.random.default_rng(2))["source"].iloc[0] != first
    source = _chinchilla(seed=3)["source"].iloc[0]
    assert "seed=3 truth=chinchilla_loss(" in source and source.endswith(" likelihood=gaussian")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: sim.LiangTruth(k=-0.05), r"LiangTruth\.k must be a finite number >= 0"),
        (lambda: sim.LiangTruth(k=np.inf), r"LiangTruth\.k must be"),
        (lambda: sim.LiangTruth(noise_sd=-0.01), r"LiangTruth\.noise_sd must be"),
        (lambda: sim.LiangTruth(noise_sd=np.nan), r"LiangTruth\.noise_sd must be"),
        (lambda: sim.LiangTruth(n_coef=0.0), r"LiangTruth\.n_coef must be a finite number > 0"),
        (lambda: sim.LiangTruth(l_exp=np.nan), r"LiangTruth\.l_exp must be a finite number"),
        (lambda: sim.VideoDiTTruth(noise_sd=-1e-3), r"VideoDiTTruth\.noise_sd must be"),
        (lambda: sim.VideoDiTTruth(noise_sd=np.nan), r"VideoDiTTruth\.noise_sd must be"),
        (lambda: sim.VideoDiTTruth(k_lr=np.nan), r"VideoDiTTruth\.k_lr must be"),
        (lambda: sim.VideoDiTTruth(A=-1.0), r"VideoDiTTruth\.A must be a finite number > 0"),
        (lambda: sim.VideoDiTTruth(eta_coef=np.inf), r"VideoDiTTruth\.eta_coef must be"),
        (lambda: sim.VideoDiTTruth(flops_per_param_token=0), r"flops_per_param_token must be"),
    ],
)
def test_truths_refuse_bad_fields_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_truth_checks_keep_defaults_and_overrides():
    assert sim.LiangTruth().k == 0.025 and sim.VideoDiTTruth().noise_sd == 7e-4
    assert sim.LiangTruth(k=0, noise_sd=0).k == 0
    steep = sim.simulate_liang_isoflop(seed=0, curvature=0.05, n_per_budget=3)
    assert len(steep) == 18
    with pytest.raises(ValueError, match="curvature must be"):
        sim.simulate_liang_isoflop(curvature=-0.05)


def test_simulate_grid_accepts_scalar_grids_like_the_sweep():
    scalar = sim.simulate_grid(TRUTH, 1e8, 4e9, 1.7e-4, 8192.0, seed=0)
    listed = sim.simulate_grid(TRUTH, 1e8, 4e9, [1.7e-4], [8192.0], seed=0)
    pd.testing.assert_frame_equal(scalar, listed)
    both = sim.simulate_grid(TRUTH, [1e8, 2e8], 4e9, np.float64(1.7e-4), [8192.0], seed=0)
    assert len(both) == 2 and (both["lr"] == 1.7e-4).all()
    sweep = sim.simulate_video_dit_sweep(lr_grid=1.7e-4, batch_grid=8192.0)
    assert len(sweep) == 16 and (sweep["lr"] == 1.7e-4).all()
    for bad in ("fast", None, [1e-4, "x"]):
        with pytest.raises(ValueError, match="lr_values must be a number, a 1-D grid"):
            sim.simulate_grid(TRUTH, 1e8, 4e9, bad, [8192.0])


def test_chinchilla_treats_none_keys_as_not_given():
    base = {"E": 1.0, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "N": [1e8, 2e8], "D": 1e9}
    default = sim.simulate_chinchilla_runs(base)
    nones = sim.simulate_chinchilla_runs({**base, "noise_sd": None, "seed": None, "df": None})
    pd.testing.assert_frame_equal(nones, default)
    assert "seed=0 " in default["source"].iloc[0]  # seed None (keyword and key) means 0
    t = sim.simulate_chinchilla_runs({**base, "df": None}, likelihood="t")
    pd.testing.assert_frame_equal(t, sim.simulate_chinchilla_runs(base, likelihood="t", df=4.0))
