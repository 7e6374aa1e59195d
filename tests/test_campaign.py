"""The design campaign: budgets, campaign-wide guardrails, the drift a run removes, the
warm-started refit (Fit.update) and the saved campaign state. All data SIMULATED."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, shared_or_skip

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.inference.update import initial_values
from bayeslaws.runs import simulate

TARGET = design.Loss(N=7e9, D=1.4e11)  # beyond the simulated fit's runs (<= 6e9, <= 1e11)


@pytest.fixture(scope="module")
def cands():
    return design.isoflop_candidates(C=[1e19, 1e20, 1e21], n_per_budget=7)


@pytest.fixture(scope="module")
def ranked(simulated_fit, cands):
    return design.rank_candidates(simulated_fit, cands, TARGET)


def test_budget_gives_the_best_affordable_batch(simulated_fit, cands, ranked):
    budget = 2.5e20  # FLOPs: the 1e21 isoFLOP runs are out of reach
    plan = design.next_runs(simulated_fit, cands, TARGET, k=None, budget=budget)
    assert len(plan) >= 2
    assert plan["flops"].sum() <= budget * (1 + 1e-9)
    assert plan["cumulative_flops"].iloc[-1] == pytest.approx(plan["flops"].sum())
    # the first pick is the best value per FLOP among the affordable units
    affordable = ranked[ranked["flops"] <= budget]
    assert plan["unit"].iloc[0] == affordable["unit"].iloc[0]
    # the budget is filled: no unit left out fits in what is left
    left = budget - plan["flops"].sum()
    rest = ranked[~ranked["unit"].isin(plan["unit"])]
    assert not (rest["flops"] <= left).any()
    # ranked by information alone, the most informative unit is unaffordable: the budget binds
    free = design.next_runs(simulated_fit, cands, TARGET, k=1, cost=None)
    assert free["flops"].iloc[0] > budget
    capped = design.next_runs(simulated_fit, cands, TARGET, k=1, cost=None, budget=budget)
    best_cheap = design.rank_candidates(simulated_fit, cands, TARGET, cost=None)
    best_cheap = best_cheap[best_cheap["flops"] <= budget]
    assert capped["unit"].iloc[0] == best_cheap["unit"].iloc[0]
    # k and budget together: at most k units, within the budget
    two = design.next_runs(simulated_fit, cands, TARGET, k=2, budget=budget)
    assert len(two) <= 2 and two["flops"].sum() <= budget * (1 + 1e-9)
    # nothing affordable: an empty plan, not an error, and a warning that says why
    with pytest.warns(UserWarning, match=r"budget 1e\+17 FLOPs affords no candidate unit"):
        none = design.next_runs(simulated_fit, cands, TARGET, k=None, budget=1e17)
    assert none.empty
    # more units asked for than there are: all of them, and a warning that says so
    three = cands[cands["C"] == 1e19] if "C" in cands else cands.iloc[:3]
    with pytest.warns(UserWarning, match=r"asked for k=50 units, picked \d+: there are only"):
        design.next_runs(simulated_fit, three, TARGET, k=50)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"k": None}, "needs a budget"),
        ({"budget": -1.0}, "budget"),
        ({"budget": [1e20, 2e20]}, "budget"),
        ({"criterion": "d_opt"}, "criterion"),
        ({"cost_power": -1}, "cost_power"),
        ({"model": "exact"}, "model"),
    ],
)
def test_bad_design_options_name_the_argument(simulated_fit, cands, kwargs, word):
    with pytest.raises(ValueError, match=re.escape(word)):
        design.next_runs(simulated_fit, cands, TARGET, **kwargs)


def test_guardrails_hold_across_batches(simulated_fit, cands):
    first = design.next_runs(simulated_fit, cands, TARGET, k=3)
    again = design.next_runs(simulated_fit, cands, TARGET, k=3)
    assert again["unit"].tolist() == first["unit"].tolist()  # the same posterior: the same picks
    rails = design.Guardrails().after(first[["N", "D"]])
    second = design.next_runs(simulated_fit, cands, TARGET, k=3, guardrails=rails)
    before = set(zip(first["N"], first["D"], strict=True))
    assert not before & set(zip(second["N"], second["D"], strict=True))  # no design point twice
    # a cap per (N, D) cell over the campaign, counting earlier runs
    pool = pd.DataFrame({"N": [6e8] * 4 + [2e9] * 2, "D": [1e10] * 4 + [2e10] * 2})
    pool["unit"] = [f"run {i}" for i in range(len(pool))]
    capped = design.Guardrails(max_repeats=None, ratio_diversity=False, max_per_cell=2)
    earlier = pd.DataFrame({"N": [6e8], "D": [1e10]})
    plan = design.next_runs(
        simulated_fit, pool, TARGET, k=4, cost=None, guardrails=capped.after(earlier)
    )
    assert (np.isclose(plan["N"], 6e8)).sum() == 1  # 2 per cell, one of them trained before
    with pytest.raises(ValueError, match="lack column"):
        design.Guardrails().after(pd.DataFrame({"N": [1e9]}))


def test_value_counts_the_drift_a_run_removes(simulated_fit):
    """Beyond the training range the target carries a drift no run inside the range tells
    about; a run that moves the range towards the target removes part of it."""
    inside = pd.DataFrame({"N": [3e8, 1e9], "D": [6e9, 2e10]})
    beyond = pd.DataFrame({"N": [7e9, 2e10], "D": [1.4e11, 5e10]})  # above N and D ranges
    cands = pd.concat([inside, beyond], ignore_index=True)
    b = design.bounds(simulated_fit, cands, TARGET, model="drift", n_outer=50, seed=0)
    gain = b["gaussian_drift"] - b["gaussian"]
    print(b[["N", "D", "gaussian", "gaussian_drift"]])
    assert np.all(gain >= -1e-9)
    np.testing.assert_allclose(gain[:2], 0.0, atol=1e-9)  # inside: nothing removed
    assert np.all(gain[2:] > 0.05)
    # ranked by value alone, the run at the target beats every run inside the range, and by a
    # larger factor than without the model discrepancy
    drift = design.rank_candidates(simulated_fit, cands, TARGET, cost=None, model="drift")
    plain = design.rank_candidates(simulated_fit, cands, TARGET, cost=None, model="none")
    ratio = {}
    for name, table in (("drift", drift), ("none", plain)):
        info = table.set_index("N")["info"]
        ratio[name] = info.loc[7e9] / info.loc[[3e8, 1e9]].max()
    print(ratio)
    assert ratio["drift"] > 1.0
    assert ratio["drift"] > ratio["none"]


def _train(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SIMULATED training of planned runs (the truth of conftest's simulated fit)."""
    N, D = rows["N"].to_numpy(float), rows["D"].to_numpy(float)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=seed)


def test_warm_start_begins_at_posterior_draws(simulated_fit):
    import functools

    from numpyro.infer.util import constrain_fn

    law = simulated_fit.law
    runs = simulated_fit.training_runs()
    prepared = law.prepare(runs)
    priors = law.priors(simulated_fit.likelihood, simulated_fit.priors)
    static = {**prepared.static, "priors": priors, "likelihood": simulated_fit.likelihood}
    model = functools.partial(law.model, **static)
    init = initial_values(simulated_fit, model, prepared.data, chains=2, seed=5)
    draws = simulated_fit.draws()
    for c in range(2):
        values = constrain_fn(model, (), prepared.data, {k: v[c] for k, v in init.items()})
        rows = [np.where(np.isclose(draws[k], float(values[k]), rtol=1e-5))[0] for k in values]
        common = set(rows[0]).intersection(*map(set, rows[1:]))
        assert common, f"chain {c} does not start at one posterior draw"


def test_campaign_loop_saves_and_reloads(simulated_fit, cands, tmp_path):
    folder = tmp_path / "campaign"
    camp = design.Campaign.start(simulated_fit, TARGET, folder=folder, max_draws=300)
    plan = camp.propose(cands, budget=3e20)
    assert 0 < plan["flops"].sum() <= 3e20 * (1 + 1e-9)
    trained = _train(plan, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new_fit = camp.record(trained, warmup=150, draws=150, seed=3)
    assert new_fit.n_runs == simulated_fit.n_runs + len(plan)
    assert any("warm-started" in note for note in new_fit.record.notes)
    post = new_fit.summary()
    for name in ("alpha", "beta"):  # the refit still recovers the simulated truth
        assert post.loc[name, "5%"] - 0.05 <= TRUTH[name] <= post.loc[name, "95%"] + 0.05
    assert simulated_fit.n_runs == 30  # the old fit is unchanged
    # the saved state is the same campaign
    again = design.Campaign.load(folder)
    assert again.step == camp.step == 1
    assert len(again.runs) == len(plan) and len(again.proposals) == len(plan)
    assert again.target == TARGET and again.options == {"max_draws": 300}
    a = bl.predict(camp.fit, N=7e9, D=1.4e11)
    b = bl.predict(again.fit, N=7e9, D=1.4e11)
    np.testing.assert_allclose(a["median"], b["median"], rtol=1e-9)
    nxt, nxt_loaded = camp.propose(cands, k=3), again.propose(cands, k=3)
    assert nxt["unit"].tolist() == nxt_loaded["unit"].tolist()
    # the trained runs are never proposed again (campaign-wide repeat cap)
    done = set(zip(np.round(np.log(plan["N"]), 6), np.round(np.log(plan["D"]), 6), strict=True))
    keys = zip(np.round(np.log(nxt["N"]), 6), np.round(np.log(nxt["D"]), 6), strict=True)
    assert not done & set(keys)
    with pytest.raises(FileNotFoundError, match="holds no campaign"):
        design.Campaign.load(tmp_path / "nothing")


def _toy_pool(N, D, flops_factor: float = 6.0, grid: bool = False):
    """A SIMULATED loss pool of runs (N params, D tokens) whose C is ``flops_factor`` N D (a
    nominal budget when it is not 6), the paper grid by C when ``grid``."""
    from bayeslaws.app import replay

    runs = pd.DataFrame({"N": N, "D": D})
    runs["C"] = flops_factor * runs["N"] * runs["D"]
    runs.index = [f"r{i}" for i in range(len(runs))]
    return replay.Pool(
        name="toy (SIMULATED)",
        kind="loss",
        runs=runs,
        held_out=runs.iloc[:0],
        law="chinchilla",
        targets=[design.Loss(N=1e10, D=2e11)],
        start_size=3,
        grid=runs.sort_values("C").index if grid else None,
        simulated=True,
    )


def test_replay_strategies_spend_within_the_budget(simulated_fit):
    """Every strategy spends the pool's own C: on a pool whose C is 1.07 x 6ND, ours and vopt
    filled the budget by the fit's 6ND and so overspent it in the pool's C (up to 1.07x)."""
    from bayeslaws.app import replay

    rng = np.random.default_rng(0)
    N = np.repeat([1e8, 2e8, 4e8, 8e8], 5)
    pool = _toy_pool(N, 20 * N * rng.uniform(0.5, 2, len(N)), flops_factor=1.07 * 6, grid=True)
    # vopt's target: the losses at 3 settings beyond the pool (a pool may not hold them)
    pool.held_out = pool.runs.nlargest(3, "C").assign(N=lambda t: 4 * t["N"])
    replay.check_pool(pool)
    runs = pool.runs
    start = pool.start(0)
    assert list(start) == list(runs.sort_values("C").index[:3])  # the cheapest runs
    left = runs.loc[start, "C"].sum()
    for fraction in (0.1, 0.2, 0.3):
        budget = fraction * pool.compute - left
        for strategy in replay.STRATEGIES:
            new = replay.choose(
                strategy, pool, simulated_fit, start, budget, np.random.default_rng(1),
                max_draws=100,
            )  # fmt: skip
            assert len(new) and not set(new) & set(start), strategy
            spent = runs.loc[new, "C"].sum()
            assert spent <= budget * (1 + 1e-9), (strategy, fraction, spent / budget)
    grid = replay.choose("grid", pool, None, start, budget, None)
    assert list(grid) == [i for i in pool.grid if i not in set(start)][: len(grid)]
    assert replay.r_squared([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert replay.r_squared([1.0, 2.0, 3.0], [3.0, 9.0, -4.0]) == -1.0  # clipped as SL2


def test_ours_designs_on_a_pool_whose_c_is_a_nominal_budget(simulated_fit):
    """A pool's C is its nominal budget (Marin's differs from 6ND by up to 26%): "ours" designs
    on N and D and costs the candidates by the pool's C instead of refusing the pool (a C column
    that disagrees with the compute model)."""
    from bayeslaws.app import replay

    N = np.repeat([1e8, 3e8, 1e9], 3)
    pool = _toy_pool(N, 20 * N * np.tile([0.5, 1.0, 2.0], 3), flops_factor=1.2 * 6)
    start = pool.start(0)
    new = replay.choose("ours", pool, simulated_fit, start, 0.5 * pool.compute, None, max_draws=50)
    assert len(new) and not set(new) & set(start)


def test_replay_ours_trains_a_twin_in_another_group(simulated_fit):
    """On a pool with groups, a run trained in group a does not block its twin in group b: ours
    spends a budget that covers every remaining run on all of them (the repeat cap ignored the
    group and stranded the twins' budget)."""
    from bayeslaws.app import replay

    N = np.array([1e8, 2e8, 4e8, 8e8])
    one = _toy_pool(N, 20 * N).runs
    runs = pd.concat([one.assign(group="a"), one.assign(group="b")], ignore_index=True)
    runs.index = [f"r{i}" for i in range(len(runs))]
    pool = _toy_pool(N, 20 * N)
    pool.runs = runs
    trained = runs.index[(runs["group"] == "a") & (runs["N"] <= 2e8)]
    rest = runs.drop(index=trained)
    new = replay.choose(
        "ours", pool, simulated_fit, trained, 1.01 * rest["C"].sum(), None, max_draws=50
    )
    assert set(new) == set(rest.index)


def test_design_replay_figure(tmp_path):
    from bayeslaws import plot

    rows = [
        {
            "pool": "toy",
            "simulated": True,
            "strategy": s,
            "seed": seed,
            "budget": b,
            "spent": b,
            "error": e * (1 + seed) / (1 + 10 * b),
            "r2": 1 - e,
            "coverage": 0.9,
        }
        for s, e in (("ours", 0.1), ("random", 0.2))
        for seed in (0, 1)
        for b in (0.0, 0.01, 0.05)
    ]
    fig = plot.design_replay(pd.DataFrame(rows), metrics=("error", "r2", "coverage"))
    assert len(fig.axes) == 3
    assert "SIMULATED" in fig.axes[0].get_title()
    assert len(fig.axes[0].get_lines()) == 4  # per strategy: the median line and the seeds
    plot.save(fig, tmp_path / "replay.png")
    assert (tmp_path / "replay.png").stat().st_size > 0
    with pytest.raises(ValueError, match="replay history"):
        plot.design_replay(pd.DataFrame({"pool": ["a"]}))


def test_update_table_keeps_what_the_law_reads(simulated_fit):
    """New runs of a loss surface need no lr / batch size even when the fitted runs (best runs
    of an LR x batch sweep) carry them; the columns left out are named."""
    from dataclasses import replace

    from bayeslaws.inference import Fit
    from bayeslaws.inference.update import combined_runs

    data = dict(simulated_fit.record.training_runs)
    n = len(data["N"])
    data = {**data, "lr": [1e-3] * n, "batch_size": [1e6] * n}
    swept = Fit(simulated_fit.idata, replace(simulated_fit.record, training_runs=data))
    new = _train(pd.DataFrame({"N": [7e9], "D": [1.4e11]}), seed=2)
    runs, dropped = combined_runs(swept, new)
    assert len(runs) == n + 1 and dropped == ["lr", "batch_size"]
    # the fitted runs keep their row labels (here with row 3 left out), the new one follows
    labelled = Fit(swept.idata, replace(swept.record, training_runs={**data, "row": [
        r for r in range(n + 1) if r != 3]}))  # fmt: skip
    assert list(combined_runs(labelled, new)[0].df.index) == [r for r in range(n + 2) if r != 3]
    assert "lr" not in runs.df
    with pytest.raises(ValueError, match="loss"):
        combined_runs(swept, new.drop(columns="loss"))
    with pytest.raises(ValueError, match="'group' column but the fit is not grouped"):
        combined_runs(swept, new.assign(group="other corpus"))
    grouped = Fit(swept.idata, replace(swept.record, training_runs={**data, "group": ["a"] * n}))
    with pytest.raises(ValueError, match=r"lack the 'group' column .* \['a'\]"):
        combined_runs(grouped, new)


def tiny_replay_pool():
    """A SIMULATED isoFLOP pool of 15 runs (3 budgets x 5 sizes, the Chinchilla truth) with one
    held-out budget (5 runs): start 6 cheapest runs, grid budget by budget."""
    from bayeslaws.app import replay
    from bayeslaws.posterior import splits

    train, held = splits.simulated_split(
        "correct", seed=3, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )
    held = held.assign(C=1e21)  # one budget (6 N D differs in the last bits)
    pool = replay.isoflop_pool("tiny (SIMULATED)", train, held, simulated=True)
    pool.start_size = 6
    return pool


def test_replay_many_equals_sequential_replay():
    """One task per (strategy, seed) in process gives replay's tables in replay's order (each
    task fits its own start design: the same fit replay shares between strategies)."""
    from bayeslaws.app import replay
    from bayeslaws.inference.compilation import enable_compilation_cache

    enable_compilation_cache()  # as every batch worker: repeated fits read their kernels
    pool = tiny_replay_pool()
    options = dict(budgets=(0.1,), sampler={"chains": 2, "warmup": 60, "draws": 60})
    history, components = replay.replay(pool, ("random", "grid"), (0,), **options)
    seen = []
    many, many_components = replay.replay_many(
        tiny_replay_pool, ("random", "grid"), (0,), show_progress=False,
        checkpoint=lambda h, c: seen.append(len(h)), **options,
    )  # fmt: skip
    assert history["strategy"].tolist() == ["random", "random", "grid", "grid"]
    assert history["n_runs"].tolist()[::2] == [6, 6] and (history["n_runs"] >= 6).all()
    timing = ["seconds"]
    pd.testing.assert_frame_equal(many.drop(columns=timing), history.drop(columns=timing))
    pd.testing.assert_frame_equal(many_components, components)
    assert seen == [2, 4]  # a checkpoint per finished campaign, the finished ones in order
    with pytest.raises(ValueError, match="names must be unique"):
        replay.replay_many(pool, ("random",), (0, 0), **options)
    with pytest.raises(ValueError, match="unknown strategy 'best'"):
        replay.replay_many(pool, ("best",), (0,), **options)
    with pytest.raises(TypeError, match="pool must be a replay.Pool"):
        replay.replay_many("tiny", ("random",), (0,), **options)


def test_update_of_a_one_chain_fit_gives_draws_that_predict(simulated_runs):
    """One chain: NumPyro takes initial values without a chain axis (they had one, and the
    refit's draws came back (draws, 1), which predict refused)."""
    base = bl.fit(
        simulated_runs, likelihood="gaussian", chains=1, warmup=60, draws=40, seed=0, warn=False
    )
    new = pd.DataFrame({"N": [8e9, 9e9], "D": [1.2e11, 1.5e11], "loss": [1.95, 1.93]})
    refit = base.update(new, warmup=40, draws=40, seed=1, warn=False)
    assert refit.n_runs == base.n_runs + 2
    assert refit.idata.posterior["alpha"].shape == (1, 40)
    row = bl.predict(refit, N=1e10, D=2e11, kind="new_run").iloc[0]
    assert row["lower"] < row["median"] < row["upper"]


def test_replay_scores_every_strategy_under_the_pools_report_method():
    """A pool scored under the design's prediction (the GP pattern plus the drift beyond the
    training range) reports that interval, not the package default's, which is blind to the
    distance to the held-out budget; the default is scored beside it (SIMULATED pool)."""
    from bayeslaws.app import replay
    from bayeslaws.design.discrepancy import design_method

    pool = tiny_replay_pool()
    assert pool.report_method == "gp"  # isoFLOP pools: N_opt as the law allocates it
    pool.extrapolation = None
    assert pool.report_method == design_method(None) == "drift"
    start, fit, _ = replay.fit_start(pool, 0, {"chains": 2, "warmup": 60, "draws": 60})
    summary, table = replay.score(pool, fit, also=("gp",))
    assert summary["extrapolation"] == "drift"
    reported = table[table["extrapolation"] == "drift"].reset_index(drop=True)
    default = table[table["extrapolation"] == "gp"].reset_index(drop=True)
    assert len(reported) == len(default) == len(pool.truth)
    drift = replay.decision_table(pool, fit, method="drift")
    np.testing.assert_allclose(
        reported[["median", "lower", "upper"]], drift[["median", "lower", "upper"]]
    )
    # the held-out budget lies beyond the fitted range: the drift widens its N_opt interval
    assert (reported["half_width"] > default["half_width"]).all()
    np.testing.assert_allclose(
        reported["half_width"], 0.5 * np.log(reported["upper"] / reported["lower"])
    )
    assert summary["half_width"] == pytest.approx(reported["half_width"].median())
    assert summary["coverage_gp"] == pytest.approx(default["hit"].mean())
    assert summary["error_gp"] == pytest.approx(default["log_error"].mean())
    assert summary["coverage"] == pytest.approx(reported["hit"].mean())
    pool.extrapolation = "gp"
    assert replay.score(pool, fit, also=())[0]["error"] == pytest.approx(summary["error_gp"])


def test_replay_calibrates_the_drift_of_every_fit_when_the_pool_asks(monkeypatch):
    """With ``calibrate_drift`` the start fit carries its own scale-out update of the drift
    rate (what the design and the scores then draw), without it the shipped population."""
    from bayeslaws.app import replay
    from bayeslaws.app.replay import fits
    from bayeslaws.app.replay import steps as replay_steps
    from bayeslaws.posterior.extrapolation import drift

    monkeypatch.setattr(fits, "DRIFT_CALIBRATION", {"chains": 1, "warmup": 40, "draws": 40})
    pool = tiny_replay_pool()
    options = {"chains": 2, "warmup": 60, "draws": 60}
    _, plain, _ = replay.fit_start(pool, 0, options)
    assert drift.state_of(plain)["source"] == "population"
    pool.calibrate_drift = True
    _, fit, _ = replay.fit_start(pool, 0, options)
    state = drift.state_of(fit)
    assert state["splits"] and state != drift.population_state()
    sources, score = [], replay.score
    monkeypatch.setattr(
        replay_steps, "score", lambda p, f, *a, **k: sources.append(drift.state_of(f)["source"])
        or score(p, f, *a, **k),
    )  # fmt: skip
    steps = replay.campaign_steps(
        pool, "random", 0, (pool.start(0), fit, 0.0), budgets=(0.5,), options=options
    )
    rows = [row for row, _ in steps]
    assert rows[-1]["n_runs"] > rows[0]["n_runs"]
    assert sources == [state["source"]] * 2  # the campaign's refit is calibrated too
    assert "scale-out" in state["source"]


def test_campaign_reports_what_it_designs_for_and_calibrates_every_fit(
    simulated_runs, cands, tmp_path, monkeypatch
):
    """report(): the target under the design's model (GP pattern plus drift: wider than the
    package default's for a target beyond the runs); calibrate_drift: the start fit and each
    refit carry their own scale-out update of the drift rate, kept across save and load."""
    from bayeslaws.design import discrepancy
    from bayeslaws.design.targets import target_draws
    from bayeslaws.posterior.extrapolation import drift

    monkeypatch.setattr(discrepancy, "DRIFT_CALIBRATION", {"chains": 1, "warmup": 40, "draws": 40})
    fit = bl.fit(
        simulated_runs, likelihood="gaussian", seed=1, chains=2, warmup=100, draws=100, warn=False
    )
    plain = design.Campaign.start(fit, TARGET, max_draws=200)
    assert drift.state_of(fit)["source"] == "population"  # not calibrated unless asked
    report = plain.report()
    assert report["target"].tolist() == TARGET.labels() and (report["method"] == "drift").all()
    draws, _, _ = target_draws(fit, TARGET, 0, "drift")
    np.testing.assert_allclose(report["upper"], np.exp(np.quantile(draws, 0.95, axis=0)))
    np.testing.assert_allclose(report["median"], np.exp(np.median(draws, axis=0)))
    default, _, _ = target_draws(fit, TARGET, 0, "gp")
    assert report["half_width"].iloc[0] > 0.5 * np.ptp(np.quantile(default, [0.05, 0.95]))
    assert (plain.report(ci=0.5)["half_width"] < report["half_width"]).all()

    camp = design.Campaign.start(
        fit, TARGET, folder=tmp_path / "c", calibrate_drift=True, max_draws=200
    )
    calibrated = drift.state_of(camp.fit)
    assert "scale-out" in calibrated["source"] and calibrated["splits"]
    plan = camp.propose(cands, k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new_fit = camp.record(_train(plan, seed=5), warmup=100, draws=100, seed=2)
    assert "scale-out" in drift.state_of(new_fit)["source"]
    assert drift.state_of(new_fit) != calibrated  # the refit's own splits
    again = design.Campaign.load(tmp_path / "c")
    assert again.calibrate_drift
    assert drift.state_of(again.fit)["source"] == drift.state_of(new_fit)["source"]


def test_steplaw_pool_is_fitted_and_designed_with_the_sweep_law():
    """The Step Law replay pool fits law ``"sweep"`` (default options); on such a fit the
    decision target (HyperparamOpt: eta_opt, B_opt and the loss at the optimum, the sweep law's
    ``loss``) draws under the design's method, V-optimal's target is the held-out runs' loss
    (off the optimum) and the decision table lines up with the truth's labels. Real Step Law
    runs: the 24-run start design, one short chain."""
    from bayeslaws.app import replay
    from bayeslaws.app.replay.scores import component_label
    from bayeslaws.design.discrepancy import design_method
    from bayeslaws.posterior import quantity_draws, query_frame

    shared_or_skip()  # real Step Law runs
    pool = replay.steplaw_pool()
    assert pool.law == "sweep" and pool.fit_options == {}
    start, fit, _ = replay.fit_start(pool, 0, {"chains": 1, "warmup": 30, "draws": 30})
    assert fit.law.name == "sweep" and len(start) == 24
    assert len(fit.posterior().state["cells"]["N"]) == 6  # > the surface's 5 parameters
    target = pool.targets[0]
    draws = target.draws(fit, 0, design_method(None))
    assert draws.shape == (30, 6) and np.isfinite(draws).all()
    query = query_frame(fit, N=target.N, D=target.D)
    mean = quantity_draws(fit, query, kind="mean", seed=0)
    np.testing.assert_allclose(draws[:, :2], np.log(mean["eta_opt"]))
    np.testing.assert_allclose(draws[:, 4:], np.log(mean["loss"]))  # loss at the optimum
    vopt = replay.vopt_target(pool)
    runs = vopt.draws(fit, 0)
    at_optimum = design.Loss(N=vopt.N, D=vopt.D).draws(fit, 0)
    assert runs.shape == at_optimum.shape == (30, replay.VOPT_MAX_POINTS)
    assert (runs >= at_optimum - 1e-12).all() and (runs > at_optimum).any()
    table = replay.decision_table(pool, fit)
    cells = list(zip(target.N, target.D, strict=True))
    labels = [component_label(q, n, d) for q in ("eta_opt", "B_opt", "loss_opt") for n, d in cells]
    assert table["label"].tolist() == labels
    assert np.isfinite(table[["median", "lower", "upper"]].to_numpy()).all()
    assert (table["lower"] < table["median"]).all() and (table["median"] < table["upper"]).all()
    observed, predicted = replay.held_out_predictions(pool, fit)
    assert len(observed) == len(predicted) > 100 and np.isfinite(predicted).all()


def test_update_redoes_a_stuck_warm_refit_cold(simulated_runs):
    """A warm refit whose R-hat exceeds ``cold_above`` is redone cold: the same draws as a cold
    fit of the combined runs, its warm-up the fit's own or the update's (100: the fit's 60, at
    least 100), whichever is more (forced here with a bar no R-hat meets); with
    ``cold_above=None`` the warm refit stands and its sampler warnings reach the caller."""
    from bayeslaws.inference.diagnostics import SamplerWarning
    from bayeslaws.inference.update import combined_runs

    settings = dict(likelihood="gaussian", chains=2, draws=40)
    base = bl.fit(simulated_runs, warmup=60, seed=0, warn=False, **settings)
    new = pd.DataFrame({"N": [8e9, 9e9], "D": [1.2e11, 1.5e11], "loss": [1.95, 1.93]})
    redone = base.update(new, seed=1, warn=False, cold_above=1e-9)
    assert "redone cold (100 warm-up iterations)" in redone.record.notes[-1]
    cold = bl.fit(combined_runs(base, new)[0], warmup=100, seed=1, warn=False, **settings)
    np.testing.assert_allclose(
        redone.idata.posterior["alpha"].values, cold.idata.posterior["alpha"].values
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = base.update(new, seed=1, cold_above=None)
    assert "cold" not in kept.record.notes[-1]
    assert not np.allclose(
        kept.idata.posterior["alpha"].values, cold.idata.posterior["alpha"].values
    )
    warned = any(issubclass(w.category, SamplerWarning) for w in caught)
    assert warned == bool(kept.diagnostics.problems)
    with pytest.raises(ValueError, match="cold_above must be a positive R-hat"):
        base.update(new, cold_above=0)


def test_a_replaced_proposal_does_not_count_as_earlier_runs(simulated_fit):
    """Proposing again in the same step replaces the step's proposal: its picks are not earlier
    runs for the guardrails, so the larger batch still holds the best points."""
    N, D = np.meshgrid(np.geomspace(1e8, 1e10, 4), np.geomspace(2e9, 2e11, 3))
    grid = pd.DataFrame({"N": N.ravel(), "D": D.ravel()})
    camp = design.Campaign.start(simulated_fit, TARGET, model="none", max_draws=200)
    two = camp.propose(grid, k=2)
    three = camp.propose(grid, k=3)
    assert three["unit"].tolist()[:2] == two["unit"].tolist()
    assert len(camp.proposals) == 3 and (camp.proposals["step"] == 0).all()


def test_simulated_isoflop_pool_has_one_vertex_per_held_out_budget():
    """The SIMULATED compendium-shaped pools build (their curves' points share their budget
    exactly, so each held-out curve has a finite empirical vertex: the truth ours is scored on)."""
    from bayeslaws.app import replay

    for shape, (budgets, per_budget, n_held) in replay.COMPENDIUM_SHAPES.items():
        pool = replay.simulated_isoflop_pool(shape)
        assert pool.simulated
        assert pool.runs["C"].nunique() == len(budgets) - n_held
        assert len(pool.truth) == n_held
        assert np.isfinite(pool.truth["truth"].to_numpy(float)).all()
        assert len(pool.runs) == (len(budgets) - n_held) * per_budget


class _Started(Exception):
    """Raised by the stand-in fit: the campaign got as far as its first fit."""


def _start_cells(monkeypatch, **kwargs) -> set:
    """The (N, D) cells simulate_campaign fits first (its start design), without fitting."""
    from bayeslaws.app import campaign

    seen = []

    def first_fit(table, **options):
        seen.append(set(zip(table.df["N"], table.df["D"], strict=True)))
        raise _Started

    monkeypatch.setattr(campaign, "fit_law", first_fit)
    with pytest.raises(_Started):
        campaign.simulate_campaign("grid", max_steps=0, **kwargs)
    return seen[0]


def test_default_start_fits_any_grid(monkeypatch):
    """The default start took positions 0, 1, 4, 5 of the grid, which only fit the paper grid
    (a custom grid of fewer than 6 cells: IndexError). It is now the grid's 4 cheapest cells
    by FLOPs; the paper grid keeps its old start (its two smallest models at its two smallest
    token budgets: the four cheapest cells but for (0.057B, 4B) instead of (0.017B, 8B)), in any
    row order. A grid of fewer than 4 cells is refused, naming grid."""
    from bayeslaws.app import campaign

    paper = campaign.paper_grid()
    old = set(zip(paper["N"].iloc[[0, 1, 4, 5]], paper["D"].iloc[[0, 1, 4, 5]], strict=True))
    grid = pd.DataFrame({"N": [3e8, 1e8, 2e8, 1e8, 4e8], "D": [1e10, 2e9, 4e9, 8e9, 2e10]})
    flops = 6 * grid["N"] * grid["D"]
    cheapest = grid.loc[flops.nsmallest(4).index]
    expected = set(zip(cheapest["N"], cheapest["D"], strict=True))
    assert _start_cells(monkeypatch, grid=grid) == expected
    assert _start_cells(monkeypatch) == old
    assert _start_cells(monkeypatch, grid=paper.sample(frac=1, random_state=0)) == old
    with pytest.raises(ValueError, match="grid must hold at least 4"):
        campaign.simulate_campaign("grid", grid=paper.iloc[:3], max_steps=0)


TINY = {"chains": 1, "warmup": 100, "draws": 100}


def test_simulated_campaign_fits_under_the_truths_compute_model(monkeypatch):
    """A truth with C = 8ND: the fit loads its runs under 8ND (it used 6ND, so its N_opt and
    ours' FLOPs per candidate disagreed with the truth's N_opt and budget)."""
    from bayeslaws.app import campaign

    models = []
    real_fit = campaign.fit_law

    def fit_law(table, **options):
        models.append(table.compute_model.linear_k)
        return real_fit(table, **options)

    monkeypatch.setattr(campaign, "fit_law", fit_law)
    truth = simulate.VideoDiTTruth(flops_per_param_token=8.0)
    res = campaign.simulate_campaign(
        "ours", 0, truth=truth, batch=1, max_steps=1, fit_options=TINY, max_draws=50
    )
    assert models and set(models) == {8.0}
    n_opt = res.history[res.history["target"].str.startswith("N_opt")]
    np.testing.assert_allclose(n_opt["truth"], truth.n_opt(1e22))
    np.testing.assert_allclose(res.runs["C"], 8 * res.runs["N"] * res.runs["D"])


def test_simulated_campaign_never_trains_a_cell_twice():
    """Every strategy draws from the cells not yet trained: ours (with the campaign-wide
    guardrails) and random re-trained the start's cells while new ones were left."""
    from bayeslaws.app import campaign

    pool = pd.concat([campaign.paper_start(), campaign.paper_grid().iloc[[15, 11]]])
    res = campaign.simulate_campaign(
        ("ours", "ours_no_cost", "random"), 0, pool=pool, batch=1, max_steps=3,
        fit_options=TINY, max_draws=50,
    )  # fmt: skip
    for strategy, runs in res.runs.groupby("strategy"):
        assert not runs.duplicated(["N", "D"]).any(), strategy
        assert len(runs) == len(pool), strategy  # every new cell trained, then no more


def test_campaign_saves_numpy_option_values(simulated_fit, tmp_path):
    """A seed np.int64(3) (e.g. from np.arange) is saved as 3 and loads: it made json.dumps fail
    after fit.nc was written, leaving a folder that load refused. An option that cannot be
    saved is refused, naming it, before anything is written."""
    folder = tmp_path / "camp"
    design.Campaign.start(
        simulated_fit, TARGET, folder=folder, seed=np.int64(3), ci=np.float64(0.8)
    )
    again = design.Campaign.load(folder)
    assert again.options == {"seed": 3, "ci": 0.8}
    assert type(again.options["seed"]) is int
    with pytest.raises(ValueError, match="option seed=.* cannot be saved"):
        design.Campaign.start(simulated_fit, TARGET, folder=tmp_path / "bad", seed=object())
    assert not (tmp_path / "bad").exists()


def test_a_recorded_run_with_a_numeric_run_label_looks_repeated_as_the_fit_stores_it():
    """A fit stores run labels as text ("7"); a recorded run with run=7 at the same point and
    loss was not seen as a repeat (7 != "7"). A missing label on either side does not decide."""
    from bayeslaws.runs.repeats import looks_repeated

    earlier = pd.DataFrame(
        {"N": [1e8, 2e8], "D": [2e9, 4e9], "loss": [3.0, 2.9], "run": ["7", "8"]}
    )
    recorded = pd.DataFrame(
        {"N": [1e8, 2e8, 1e8], "D": [2e9, 4e9, 2e9], "loss": [3.0, 2.9, 3.0], "run": [7, np.nan, 9]}
    )
    assert looks_repeated(recorded, earlier) == {0: 0, 1: 1}  # run 9 is another run
    older = earlier.assign(run=["7.0", "nan"])  # as fits saved before labels were text wrote them
    assert looks_repeated(recorded, older) == {0: 0, 1: 1}


def test_replay_labels_simulated_data_in_both_tables():
    """A replay's component table carries the pool's ``simulated`` flag as its history does (it
    had none, though Pool promises simulated data are labelled so everywhere); the flag follows
    the pool, appended after the older columns (SIMULATED pool)."""
    from bayeslaws.app import replay

    pool = tiny_replay_pool()
    options = {"chains": 1, "warmup": 60, "draws": 60}
    start = replay.fit_start(pool, 0, options)
    for flag in (True, False):
        pool.simulated = flag
        steps = replay.campaign_steps(pool, "random", 0, start, budgets=(), options=options)
        ((row, table),) = list(steps)
        assert row["simulated"] is flag
        assert len(table) and (table["simulated"] == flag).all()
        assert list(table.columns[-5:]) == ["pool", "strategy", "seed", "budget", "simulated"]


def test_simulated_campaign_labels_its_tables_and_records_the_truth():
    """Both tables of simulate_campaign say their data are simulated and from which truth (a
    truth passed in was recorded nowhere); the Campaign keeps the truth itself."""
    from bayeslaws.app import campaign
    from bayeslaws.inference.diagnostics import SamplerWarning

    truth = simulate.VideoDiTTruth(noise_sd=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerWarning)
        res = campaign.simulate_campaign("grid", 0, truth=truth, max_steps=0, fit_options=TINY)
    for frame in (res.history, res.runs):
        assert frame["simulated"].eq(True).all() and len(frame)
        assert frame["truth_model"].eq("VideoDiTTruth(noise_sd=0.001)").all()
    assert res.truth is truth
    assert res.history["failure"].isna().all()
    assert campaign.truth_model(simulate.VideoDiTTruth()) == "VideoDiTTruth()"
    assert list(res.history.columns[-3:]) == ["max_r_hat", "min_ess_bulk", "sampler_ok"]


def test_a_failed_campaign_step_keeps_what_finished(monkeypatch):
    """A fit (or a choice of runs) that raises stopped every campaign and lost the history: it
    now stops its own campaign only, its step's rows say why, the others run on, and the error
    first error is re-raised at the end, with a note naming each failure and the finished
    tables attached."""
    from bayeslaws.app import campaign
    from bayeslaws.inference.diagnostics import SamplerWarning

    real_fit, sizes = campaign.fit_law, []

    def fit_law(table, **options):  # the first fit of 5 runs (random's, step 1) raises
        sizes.append(len(table.df))
        if sizes.count(5) == 1 and len(table.df) == 5:
            raise RuntimeError("NUTS blew up")
        return real_fit(table, **options)

    def next_runs(*args, **kwargs):
        raise ValueError("no candidates")

    monkeypatch.setattr(campaign, "fit_law", fit_law)
    monkeypatch.setattr(campaign, "next_runs", next_runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerWarning)
        with pytest.raises(ValueError, match="no candidates") as caught:  # the first failure
            campaign.simulate_campaign(
                ("random", "ours", "grid"), 0, batch=1, max_steps=1, fit_options=TINY
            )
    note = "\n".join(caught.value.__notes__)
    assert "2 of 3 campaigns failed" in note
    assert "ours seed 0 step 0: choosing the next runs failed: ValueError: no candidates" in note
    assert "random seed 0 step 1: the fit failed: RuntimeError: NUTS blew up" in note
    h = caught.value.campaign.history
    steps = h.groupby("strategy", sort=False)["step"].max().to_dict()
    assert steps == {"random": 1, "ours": 0, "grid": 1}  # grid ran to the end
    failed = h[h["failure"].notna()]
    assert set(zip(failed["strategy"], failed["step"], strict=True)) == {("ours", 0), ("random", 1)}
    assert failed.loc[failed["strategy"] == "random", "median"].isna().all()
    assert failed.loc[failed["strategy"] == "ours", "median"].notna().all()  # its fit finished
    assert h.loc[h["failure"].isna(), "median"].notna().all()
    trained = caught.value.campaign.runs.groupby("strategy", sort=False).size().to_dict()
    assert trained == {"random": 5, "ours": 4, "grid": 5}  # random's step-1 run was trained


def test_recorded_groups_are_the_fits_groups_whatever_their_type():
    """A recorded table whose group column reads as floats (7.0) was compared as "7.0" with the
    fit's group "7": its repeat went unseen, it matched no proposal, and the campaign's runs
    kept a group the fit does not have (R7)."""
    from bayeslaws.design.campaign import match_runs, text_groups
    from bayeslaws.runs.repeats import looks_repeated

    earlier = pd.DataFrame({"N": [1e8], "D": [2e9], "loss": [3.0], "group": ["7"]})
    recorded = pd.DataFrame({"N": [1e8], "D": [2e9], "loss": [3.0], "group": [7.0]})
    assert looks_repeated(recorded, earlier) == {0: 0}
    proposal = pd.DataFrame({"N": [1e8], "D": [2e9]})
    assert match_runs(recorded, proposal, group="7").tolist() == [0]
    assert text_groups(recorded, ["7", "8"])["group"].tolist() == ["7"]
    assert text_groups(recorded.assign(group=[" web"]), ["7"])["group"].tolist() == ["web"]


def test_the_failure_note_says_others_ran_on_only_when_some_did():
    from bayeslaws.app.campaign import failure_note

    one = [("random", 0, 1, "the fit failed: RuntimeError: x")]
    assert "(the others ran on)" in failure_note(one, 2)
    both = one + [("grid", 0, 0, "the fit failed: RuntimeError: y")]
    assert "2 of 2 campaigns failed and stopped:" in failure_note(both, 2)
