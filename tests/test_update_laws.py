"""``fit.update`` under laws that exclude runs by rules on the whole table (hyperparams: cells
with no converged run; sweep: diverged runs, runs beyond their cell's fence): the runs the law
left out are put back so the law decides again on the updated table, as a fresh fit would; a
repeated NaN-loss run is refused; law warnings once; new runs' exclusions named in the updated
fit's numbering; fits saved before law-excluded runs were kept still update, with a warning
(SIMULATED runs)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design, small_sweep_grid

import bayeslaws as bl
from bayeslaws.inference import update
from bayeslaws.inference.record import FitRecord
from bayeslaws.inference.update import repeated_runs, split_repeats
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0}
VIDEO = simulate.VideoDiTTruth()


def _quiet_fit(runs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(bl.load_runs(runs, allow_missing_loss=True), warn=False, **TINY, **options)


def _update(fit, new_runs, **options):
    """The updated fit and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        updated = fit.update(new_runs, warn=False, **options)
    return updated, caught


@pytest.fixture(scope="module")
def hp_tables():
    """(old, new): small_sweep_grid() and a 5th (N, D) cell whose 8 runs all diverged (NaN
    loss, rows 36-43: the law leaves the cell out); new: one converged run in that cell, a run
    in a fitted cell and a diverged one there."""
    cell5 = simulate.simulate_grid(
        VIDEO,
        N=[0.05e9],
        D=[4e9],
        lr_values=[1e-4, 1.9e-4, 3.6e-4],
        batch_values=[5e4, 1e5, 2e5],
        seed=3,
    )
    diverged = cell5.iloc[:8].copy()
    diverged["loss"] = np.nan
    old = pd.concat([small_sweep_grid(), diverged], ignore_index=True)
    extra = simulate.simulate_grid(
        VIDEO, N=[0.017e9], D=[2e9], lr_values=[2.6e-4], batch_values=[1.4e5], seed=9
    )
    blown = extra.assign(lr=5e-3, loss=np.nan)
    new = pd.concat([cell5.iloc[8:9], extra, blown], ignore_index=True)
    return old, new


@pytest.fixture(scope="module")
def hp_fits(hp_tables):
    """(fit of old, its update with new and the update's warnings, fresh fit of the union)."""
    old, new = hp_tables
    fitted = _quiet_fit(old, law="hyperparams")
    updated, caught = _update(fitted, new)
    fresh = _quiet_fit(pd.concat([old, new], ignore_index=True), law="hyperparams")
    return fitted, (updated, caught), fresh


def test_hyperparams_update_puts_back_the_cell_the_law_had_left_out(hp_fits):
    fitted, (updated, _), fresh = hp_fits
    assert fitted.n_runs == 36  # the all-diverged cell left out
    assert len(fitted.training_runs().df) == fitted.n_runs  # fitted runs only
    assert len(fitted.record.law_excluded_runs["row"]) == 8
    # the new converged run gives the cell an optimum: its 8 diverged runs are censored now
    assert updated.n_runs == fresh.n_runs == 47
    assert updated.record.law_state == fresh.record.law_state
    assert updated.record.law_state["divergence"]["n_cells_without_converged_run"] == 0
    assert updated.record.data["exclusions"] == []  # no stale "no converged run" reason
    assert len(updated.training_runs().df) == updated.n_runs
    assert list(updated.training_runs().df.index) == list(range(47))
    assert "+ 8 the law had left out" in updated.record.notes[-1]


def test_law_warnings_of_an_update_are_given_once(hp_fits):
    _, (_, caught), _ = hp_fits
    divergence = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
    assert len(divergence) == 1, divergence


def test_a_diverged_run_passed_again_is_told_apart_from_a_retry(hp_tables, hp_fits):
    """NaN != NaN let a diverged run passed again count twice, silently; but a missing loss
    identifies no run: a retry of the same settings (another seed) that diverged again is a new
    run, which a fresh fit of the union keeps too. Finite repeats are refused; diverged ones at
    a diverged run's settings are warned about; a ``run`` column tells them apart."""
    old, _ = hp_tables
    fitted = hp_fits[0]
    with pytest.raises(ValueError, match=r"repeat 1 run\(s\) this fit already has \(rows 0 "):
        fitted.update(old.iloc[[0]], warn=False)  # a converged run passed again
    grid = small_sweep_grid()
    grid.loc[0, "loss"] = np.nan
    assert repeated_runs(grid, grid.iloc[[0, 1]]) == [0, 1]  # NaN equals NaN here
    assert split_repeats(grid, grid.iloc[[0, 1]]) == ([1], [0])  # refused, warned
    seeded = grid.assign(run="seed0")
    retry = seeded.iloc[[0]].assign(run="seed1")
    assert split_repeats(seeded, retry) == ([], [])  # another seed: a new run


def test_a_fit_saved_before_law_exclusions_were_kept_loads_and_updates_with_a_warning(
    hp_tables, hp_fits, tmp_path, monkeypatch
):
    _, new = hp_tables
    fitted = hp_fits[0]
    path = tmp_path / "old.nc"
    to_json = FitRecord.to_json

    def without_field(record):  # the record as bayeslaws wrote it before the field
        raw = json.loads(to_json(record))
        del raw["law_excluded_runs"]
        return json.dumps(raw, sort_keys=True)

    with monkeypatch.context() as patch:
        patch.setattr(FitRecord, "to_json", without_field)
        fitted.save(path)
    with warnings.catch_warnings():  # the tiny fit's sampler trouble, told on loading
        warnings.simplefilter("ignore")
        loaded = bl.load_fit(path)
    assert loaded.record.law_excluded_runs is None
    updated, caught = _update(loaded, new)
    told = [str(w.message) for w in caught if w.category is update.LawExclusionsWarning]
    assert len(told) == 1 and "the 8 run(s) its record lists as excluded" in told[0]
    assert updated.n_runs == 36 + 3  # the old fit's law-excluded runs stay out
    reasons = [e["reason"] for e in updated.record.data["exclusions"]]
    assert any(r.startswith("cells with no converged run") for r in reasons)


def test_sweep_update_reexamines_the_fence_and_keeps_diverged_runs_out():
    """Row 0 lies just beyond its cell's fence (Q3 + 3 IQR) and row 20 (another cell) has a
    NaN loss; four new runs in row 0's cell widen its spread so the fence keeps row 0, while
    row 20 stays out: the update agrees with a fresh fit of the union (76 runs, 1 excluded)."""
    grid = simulate.simulate_grid(
        VIDEO,
        N=[0.017e9] * 3 + [0.13e9] * 3,
        D=[2e9, 5e9, 12e9] * 2,
        lr_values=[1e-4, 1.4e-4, 1.9e-4, 3.6e-4],
        batch_values=[5e4, 1e5, 2e5],
        seed=0,
    )
    cell = grid[(grid.N == 0.017e9) & (grid.D == 2e9)]
    old = grid.copy()
    old.loc[cell.index[0], "loss"] = cell.loss.min() * 1.063
    old.loc[20, "loss"] = np.nan
    new = simulate.simulate_grid(
        VIDEO, N=[0.017e9], D=[2e9], lr_values=[3e-5, 6e-4], batch_values=[2.5e4, 4e5], seed=4
    )
    fitted = _quiet_fit(old, law="sweep")
    assert fitted.record.law_state["divergence"]["n_excluded"] == 2
    updated, _ = _update(fitted, new)
    assert updated.n_runs == len(old) + len(new) - 1 == 75
    state = updated.record.law_state["divergence"]
    assert state["n_excluded"] == 1 and state["reasons"] == ["1 with a missing (NaN) or +inf loss"]
    assert updated.record.notes[0].startswith("1 of 76 runs excluded from the bowls")
    exclusions = updated.record.data["exclusions"]
    assert [(e["rows"], e.get("by")) for e in exclusions] == [(["20"], "law")]


def test_new_runs_exclusions_name_their_rows_in_the_updated_fit():
    N, D = chinchilla_design(4, 4)
    old = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    fitted = _quiet_fit(old, likelihood="gaussian", screen="off")
    new = simulate.simulate_chinchilla_runs(
        {**TRUTH, "N": N[:4], "D": D[:4] * 1.7}, noise_sd=0.01, seed=2
    )
    runs = bl.load_runs(new)
    runs = runs.exclude(runs.df.index == 1, "bad node")
    updated, _ = _update(fitted, runs, screen="off")
    (entry,) = updated.record.data["exclusions"]
    start = len(old)  # row k of new_runs is row start + k of the updated fit
    assert entry["rows"] == [str(start + 1)] and entry["rows_in_new_runs"] == ["1"]
    trained = updated.training_runs().df
    assert start + 1 not in trained.index  # the label names no fitted run
    assert list(trained.index) == list(range(start)) + [start, start + 2, start + 3]
    assert trained.loc[start + 2, "loss"] == pytest.approx(new.loc[2, "loss"])


def test_a_campaign_counts_the_runs_its_fit_was_given(hp_tables, hp_fits):
    """A campaign's guardrails counted only the fitted runs: the 8 runs of a cell the law left
    out (all diverged) could be proposed again, and an update now puts them back, so recording
    the repeat was refused. The guardrails count every run the fit was given."""
    from bayeslaws.design.campaign import fitted_runs

    old, _ = hp_tables
    fitted = hp_fits[0]
    counted = fitted_runs(fitted)
    assert fitted.n_runs == 36 and len(counted) == len(old) == 44
    cell = counted[(counted["N"] == 0.05e9) & (counted["D"] == 4e9)]
    assert len(cell) == 8
