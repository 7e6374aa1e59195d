"""A campaign's proposal holds every run of each picked unit: a plan has one row per unit (its
first run), and an LR x batch sweep at an unseen cell is one unit of several runs. The proposal
was kept as the plan, so a sweep recorded exactly as proposed warned that all but its first run
matched no proposed run, and with lr rounded as logs print them its trained runs were proposed
again. All data SIMULATED (the video-DiT simulator of conftest's ``small_sweep``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.design.campaign import RecordWarning
from bayeslaws.runs import simulate

TARGET = design.HyperparamOpt(N=1.07e9, D=5e10)
QUICK = {"warmup": 100, "draws": 100, "seed": 2}  # a tiny warm-started refit
# two cells the fit has not seen (its runs: 17M, 57M, 260M params x 2B, 5B, 12B tokens), each a
# 2 x 2 LR x batch grid whose lr have 5 significant figures (a log's 3 differ by 0.04-0.3%)
CELLS = {"N": [0.13e9, 0.13e9], "D": [3e9, 8e9]}
LRS, BATCHES = [2.3456e-4, 3.4567e-4], [4e4, 8e4]


@pytest.fixture(scope="module")
def pool() -> pd.DataFrame:
    """The SIMULATED runs of the two unseen cells (N, D, C, lr, batch_size, loss)."""
    runs = simulate.simulate_grid(simulate.VideoDiTTruth(), lr_values=LRS, batch_values=BATCHES,
                                  seed=3, **CELLS)  # fmt: skip
    return runs.drop(columns="source")


def _units(fit, pool: pd.DataFrame) -> pd.DataFrame:
    """The pool as candidate units: one 4-run sweep per unseen cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = design.pool_units(fit, pool.drop(columns="loss"), sweep_size=4)
    assert units.groupby("unit").size().tolist() == [4, 4]
    return units


def _trained(runs: pd.DataFrame, pool: pd.DataFrame, rounded: bool) -> pd.DataFrame:
    """The proposed ``runs`` with their SIMULATED losses, lr at 3 significant figures when
    ``rounded`` (as a training log prints them)."""
    keys = ["N", "D", "lr", "batch_size"]
    out = runs[keys].merge(pool[[*keys, "loss"]], on=keys, how="left")
    assert out["loss"].notna().all() and len(out) == len(runs)
    if rounded:
        out["lr"] = [float(f"{lr:.3g}") for lr in out["lr"]]
        assert (out["lr"] != runs["lr"].to_numpy()).all()
    return out


@pytest.mark.parametrize("rounded", [False, True])
def test_a_recorded_sweep_counts_every_run_and_none_is_proposed_again(
    small_sweep_hp_fit, pool, rounded, tmp_path
):
    """Every run of the picked sweep is proposed (and saved); recorded as trained (lr exact or
    rounded to 3 figures) each matches its proposed run, no RecordWarning, and none of them is
    offered again."""
    fit = small_sweep_hp_fit
    units = _units(fit, pool)
    camp = design.Campaign.start(fit, TARGET, folder=tmp_path / "c", max_draws=100, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = camp.propose(units, k=1)
    runs = camp.proposed_runs()
    assert len(plan) == 1 and plan["n_runs"].iloc[0] == 4
    assert len(runs) == 4 and (runs["unit"] == plan["unit"].iloc[0]).all()
    picked = units[units["unit"] == plan["unit"].iloc[0]]
    assert sorted(runs["lr"] * runs["batch_size"]) == sorted(picked["lr"] * picked["batch_size"])
    with warnings.catch_warnings():  # the tiny fit's sampler trouble
        warnings.simplefilter("ignore")
        saved = design.Campaign.load(tmp_path / "c")
    pd.testing.assert_frame_equal(saved.proposals, camp.proposals, check_dtype=False)
    new = _trained(runs, pool, rounded)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp.record(new, **QUICK)
    ours = [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]
    assert ours == []
    np.testing.assert_allclose(camp.runs["proposed_lr"], runs["lr"], rtol=1e-12)
    np.testing.assert_allclose(camp.runs["proposed_batch_size"], runs["batch_size"], rtol=1e-12)
    # next week: the same runs offered again, each its own unit (the cell is now seen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = camp.propose(picked.drop(columns="unit").reset_index(drop=True), k=4)
    assert again.empty, again[["N", "D", "lr", "batch_size"]]


def test_one_run_units_are_proposed_as_the_plan(small_sweep_hp_fit, pool, tmp_path):
    """Units of one run each: the proposal is the plan's rows (their labels as next_runs gives
    them: a row's position without a unit column, "row i" for a row without a label), and an
    old saved proposal of one row per unit loads and matches as before."""
    fit = small_sweep_hp_fit
    cands = pool.drop(columns="loss").iloc[[0, 3, 5, 6]].reset_index(drop=True)
    for labels in (None, ["a", None, "b", None]):
        given = cands if labels is None else cands.assign(unit=labels)
        camp = design.Campaign.start(fit, TARGET, max_draws=100, seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = camp.propose(
                given,
                k=2,
            )
        runs = camp.proposed_runs()
        expected = [0, 1, 2, 3] if labels is None else ["a", "row 1", "b", "row 3"]
        assert set(plan["unit"]) <= set(expected)
        pd.testing.assert_frame_equal(runs[plan.columns], plan, check_dtype=False)
    # a folder saved with one row per unit (the plan) loads; its runs match as they did
    camp = design.Campaign(fit, TARGET, options={"max_draws": 100, "seed": 1})
    camp.proposals = plan.assign(step=0)
    camp.save(tmp_path / "old")
    with warnings.catch_warnings():  # the tiny fit's sampler trouble
        warnings.simplefilter("ignore")
        old = design.Campaign.load(tmp_path / "old")
    pd.testing.assert_frame_equal(old.proposals, camp.proposals, check_dtype=False)
    new = _trained(plan, pool, rounded=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old.record(new, **QUICK)
    assert not [w for w in caught if issubclass(w.category, RecordWarning)]
    np.testing.assert_allclose(old.runs["proposed_lr"], plan["lr"], rtol=1e-12)


def test_runs_of_plan_expands_units_in_rank_order_with_next_runs_labels():
    """runs_of_plan: every candidate row of each picked unit, in rank order, with the labels
    check_candidates gives (a row without a label "row i", no unit column its position), the
    candidates' own row labels and the unit's plan values; a unit cands lack is refused."""
    from bayeslaws.design.batch import runs_of_plan

    cands = pd.DataFrame(
        {"N": [1e8, 2e8, 3e8, 4e8, 5e8], "unit": ["a", "b", "a", None, "b"]},
        index=list("vwxyz"),
    )
    plan = pd.DataFrame(
        {"N": [2e8, 4e8], "unit": ["b", "row 3"], "rank": [1, 2], "info": [0.5, 0.3]}
    )
    out = runs_of_plan(cands, plan)
    assert out.index.tolist() == ["w", "z", "y"]
    assert out["unit"].tolist() == ["b", "b", "row 3"]
    assert out["rank"].tolist() == [1, 1, 2] and out["info"].tolist() == [0.5, 0.5, 0.3]
    plain = runs_of_plan(cands.drop(columns="unit"), pd.DataFrame({"unit": [3, 0], "rank": [1, 2]}))
    assert plain.index.tolist() == ["y", "v"] and plain["unit"].tolist() == [3, 0]
    assert runs_of_plan(cands, plan.iloc[:0]).empty
    with pytest.raises(ValueError, match=r"plan\['unit'\] names unit\(s\) \['q'\]"):
        runs_of_plan(cands, pd.DataFrame({"unit": ["q"], "rank": [1]}))
