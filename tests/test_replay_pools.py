"""The design replay's pools: held-out runs apart, the V-optimal target, Epoch's removed points.

The design-replay path (bayeslaws/app/replay/, benchmarks/design_replay.py):

1. a pool whose candidates include held-out runs (a strategy could buy the runs it is scored
   on) or that has no candidate run is refused, naming the pool and the rows; the built-in
   pools are disjoint and still load;
2. the V-optimal baseline's target points are sampled from every held-out run's setting: they
   do not depend on the held-out losses or divergence flags (outcomes of the target region);
3. the Epoch pool keeps the record of the 5 highest-loss points removed before its split, and
   the benchmark's log line says so;
4. the diagnosis line labels a candidate's value as a design value, not information.

Fast: no NUTS fit. Toy pools are SIMULATED; the built-in pools read ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script, shared_or_skip

from bayeslaws import design
from bayeslaws.app import replay
from bayeslaws.runs.reading import diverged_flags


def _loss_pool(**changes) -> replay.Pool:
    """A small SIMULATED loss pool (N params, D tokens, C = 6ND FLOPs, loss) and a held-out
    region of three larger runs."""
    N = np.repeat([1e8, 2e8, 4e8], 3)
    D = 20 * N * np.tile([0.5, 1.0, 2.0], 3)
    runs = pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 2 + 400 / N**0.3})
    runs.index = [f"r{i}" for i in range(len(runs))]
    held = pd.DataFrame({"N": [1e9, 2e9, 4e9], "D": [2e10, 4e10, 8e10]})
    held["C"] = 6 * held["N"] * held["D"]
    held["loss"] = 2 + 400 / held["N"] ** 0.3
    held.index = ["h0", "h1", "h2"]
    fields = {
        "name": "tiny (SIMULATED)",
        "kind": "loss",
        "runs": runs,
        "held_out": held,
        "law": "chinchilla",
        "targets": [design.Loss(N=held["N"].to_numpy(), D=held["D"].to_numpy())],
        "start_size": 3,
        "simulated": True,
    }
    return replay.Pool(**{**fields, **changes})


def _sweep_pool(n_held: int = 60, diverged=(), **changes) -> replay.Pool:
    """A SIMULATED LR x batch pool (law "sweep") at two small cells, and ``n_held`` held-out
    runs at a larger cell, those at positions ``diverged`` flagged diverged (loss NaN)."""
    rng = np.random.default_rng(0)
    rows = []
    for N, D in ((1e8, 2e9), (2e8, 4e9)):
        for lr in (1e-3, 2e-3, 4e-3):
            for bs in (2**18, 2**19):
                rows.append((N, D, lr, bs))
    runs = pd.DataFrame(rows, columns=["N", "D", "lr", "batch_size"])
    runs["C"] = 6 * runs["N"] * runs["D"]
    runs["loss"] = 3.0 + 0.01 * rng.standard_normal(len(runs))
    runs.index = [f"r{i}" for i in range(len(runs))]
    held = pd.DataFrame(
        {
            "N": 1e9,
            "D": 2e10,
            "lr": np.geomspace(1e-4, 1e-2, n_held),
            "batch_size": np.tile([2**18, 2**19, 2**20], n_held)[:n_held].astype(float),
        }
    )
    held["C"] = 6 * held["N"] * held["D"]
    held["loss"] = 2.5 + 0.01 * rng.standard_normal(n_held)
    held["diverged"] = False
    at = list(diverged)
    held.loc[at, "loss"] = np.nan
    held.loc[at, "diverged"] = True
    held.index = [f"h{i}" for i in range(n_held)]
    fields = {
        "name": "sweep (SIMULATED)",
        "kind": "hyperparams",
        "runs": runs,
        "held_out": held,
        "law": "sweep",
        "targets": [design.HyperparamOpt(N=[1e9], D=[2e10], which="all")],
        "start_size": 4,
        "simulated": True,
    }
    return replay.Pool(**{**fields, **changes})


# ---- 1. candidates disjoint from the held-out runs; no empty pool -------------------------------
def test_a_pool_whose_candidates_include_held_out_runs_is_refused_naming_them():
    """A strategy could buy the very runs it is scored on (a random batch at 25% of a
    user-built Epoch pool bought held-out 'h1', 'h12', 'h3', 'h19'): now refused, naming the
    candidate and held-out rows and their count."""
    pool = _loss_pool()
    leaked = pd.concat([pool.runs, pool.held_out.loc[["h2", "h0"]]])
    with pytest.raises(ValueError, match=r"2 candidate run\(s\) have the setting \(N, D\)") as err:
        _loss_pool(runs=leaked)
    message = str(err.value)
    assert "'tiny (SIMULATED)'" in message
    assert "['h2', 'h0']" in message and "held-out row(s) ['h0', 'h2']" in message
    # the same setting under another label and a round-off of the tokens is the same run
    copy = pool.held_out.loc[["h1"]].rename(index={"h1": "r99"})
    copy["D"] *= 1 + 1e-12
    with pytest.raises(ValueError, match=r"\['r99'\] match 1 held-out row\(s\) \['h1'\]"):
        _loss_pool(runs=pd.concat([pool.runs, copy]))
    # checked again when a campaign starts (the pool may have been changed since)
    pool.runs = leaked
    with pytest.raises(ValueError, match="could buy the runs it is scored on"):
        replay.replay(pool, ("random",), (0,))


def test_an_lr_batch_pool_compares_the_whole_setting():
    """On an LR x batch pool a candidate at a held-out cell is refused only when its lr and
    batch size match a held-out run's too (another point of the same cell is a different run)."""
    pool = _sweep_pool(n_held=6)
    other = pool.held_out.iloc[[0]].assign(lr=0.5).rename(index={"h0": "r99"})  # lr 0.5: not held
    assert _sweep_pool(n_held=6, runs=pd.concat([pool.runs, other])).runs.index[-1] == "r99"
    same = pool.held_out.iloc[[3]].rename(index={"h3": "r99"})
    with pytest.raises(ValueError, match=r"\(N, D, lr, batch_size\).*\['r99'\].*\['h3'\]"):
        _sweep_pool(n_held=6, runs=pd.concat([pool.runs, same]))


def test_an_empty_pool_is_refused_naming_it():
    """An empty pool was accepted (compute 0) and failed later inside the fit with a message
    that did not name the pool."""
    pool = _loss_pool()
    with pytest.raises(ValueError, match=r"pool 'tiny \(SIMULATED\)' has no candidate runs"):
        _loss_pool(runs=pool.runs.iloc[:0])


def test_held_out_overlap_is_empty_for_disjoint_tables():
    pool = _loss_pool()
    cands, held = replay.held_out_overlap(pool.runs, pool.held_out)
    assert cands.empty and held.empty
    cands, held = replay.held_out_overlap(pool.runs, pool.runs.iloc[[4, 1]])
    assert list(cands) == ["r1", "r4"] and list(held) == ["r4", "r1"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: replay.epoch_pool(),
        lambda: replay.steplaw_pool(),
        lambda: replay.porian_pool(),
        lambda: replay.compendium_pool("llama_3"),
        lambda: replay.compendium_pool("marin_202603", "comma"),
        lambda: replay.compendium_pool("marin_202603", "dclm"),
        lambda: replay.compendium_pool("marin_202603", "nemotron"),
    ],
    ids=["epoch", "steplaw", "porian", "llama_3", "marin_comma", "marin_dclm", "marin_nemotron"],
)
def test_the_built_in_pools_are_disjoint_and_load(make):
    shared_or_skip()
    pool = make()
    cands, held = replay.held_out_overlap(pool.runs, pool.held_out)
    assert cands.empty and held.empty
    assert len(pool.runs) and len(pool.held_out)


# ---- 2. the V-optimal target reads settings only ------------------------------------------------
def _settings(target) -> np.ndarray:
    return np.column_stack([target.N * np.ones(len(target.lr)), target.lr, target.batch_size])


def test_vopt_target_samples_every_held_out_setting_whatever_its_outcome():
    """The target dropped held-out runs flagged diverged (a flag read off their losses) before
    sampling its points: outcome information from the target region given to one baseline."""
    few = _sweep_pool(n_held=10, diverged=[1, 4, 7])
    target = replay.vopt_target(few)
    assert len(target.lr) == 10  # all of them, the diverged ones included (7 before)
    np.testing.assert_array_equal(target.lr, few.held_out["lr"].to_numpy())
    clean, flagged = _sweep_pool(n_held=60), _sweep_pool(n_held=60, diverged=range(0, 60, 3))
    for seed in (0, 3):
        a, b = replay.vopt_target(clean, seed), replay.vopt_target(flagged, seed)
        assert len(a.lr) == replay.VOPT_MAX_POINTS
        np.testing.assert_array_equal(_settings(a), _settings(b))  # the losses are not read


def test_steplaw_vopt_target_is_sampled_from_all_held_out_runs():
    shared_or_skip()
    pool = replay.steplaw_pool()
    assert diverged_flags(pool.held_out).any()  # the flags the old target read
    want = pool.held_out.sample(replay.VOPT_MAX_POINTS, random_state=0)
    target = replay.vopt_target(pool, 0)
    np.testing.assert_array_equal(target.lr, want["lr"].to_numpy())
    np.testing.assert_array_equal(target.batch_size, want["batch_size"].to_numpy())


# ---- 3. Epoch's removed points are on record ----------------------------------------------------
def test_epoch_pool_records_the_points_removed_before_its_split():
    """``epoch_chinchilla()`` removes its 5 highest-loss points (a RunTable exclusion); the
    Pool kept only the rows and said '217 runs' without saying 5 of 222 were removed."""
    shared_or_skip()
    pool = replay.epoch_pool()
    assert len(pool.runs) == 217 and len(pool.held_out) == 23
    (removed,) = pool.exclusions
    assert removed.count == 5 and "highest-loss" in removed.reason
    assert "5 runs removed before the split: the 5 highest-loss points" in pool.note
    assert "))" not in pool.note  # the reason's own parenthesis closes alone
    dr = repo_script("benchmarks/design_replay.py", "bench_design_replay_review7")
    line = dr.pool_line("epoch", pool)
    assert line.startswith("epoch: 217 candidate runs (5 more removed before the split), ")
    assert "highest-loss" in line
    # a pool with nothing removed says nothing about it
    assert "removed" not in dr.pool_line("tiny", _loss_pool())


# ---- 4. the diagnosis labels the value as a design value -----------------------------------------
def test_the_diagnosis_line_calls_the_value_a_design_value(monkeypatch):
    """The "info" criterion's value can be negative under a drift model (Epoch's costliest
    candidate: -1.049): the line said "is worth -1.049 nats", as if it were information."""
    dr = repo_script("benchmarks/design_replay.py", "bench_design_replay_review7_diag")
    pool = _loss_pool()
    cands = pool.runs[["N", "D", "C"]].assign(unit=range(len(pool.runs)))
    ranked = pd.DataFrame({"flops": cands["C"].to_numpy(), "info": -1.049})
    monkeypatch.setattr(dr.design, "next_runs", lambda *a, **k: pd.DataFrame({"unit": [0]}))
    monkeypatch.setattr(dr.design, "rank_candidates", lambda *a, **k: ranked)
    line = dr.batch_profile(pool, None, pool.runs.index[:3], cands, "info")
    assert (
        "alone has design value (nats; can be negative under a drift model, where it is not a "
        "mutual information) -1.049" in line
    )
    assert "worth" not in line
